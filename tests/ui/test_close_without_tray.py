"""Without a system tray, closing the window says that reminders stop, and asks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMessageBox

from touchpoint.ui.backend import Backend
from touchpoint.ui.main_window import MainWindow


def _window(qtbot: Any, backend: Backend, settings: QSettings) -> MainWindow:
    window = MainWindow(backend, settings, reminders=False)
    qtbot.addWidget(window)
    window.ask_before_close = True  # as the app sets it when there is no tray
    window.show()
    return window


def _close_by_hand(window: MainWindow) -> None:
    """What the title bar's close button sends: a close event from the window system."""
    event = QCloseEvent()
    event.spontaneous = lambda: True  # type: ignore[method-assign]
    window.closeEvent(event)
    if event.isAccepted():
        window.close()


def _answer(box: QMessageBox, text: str, *, never: bool = False) -> None:
    checkbox = box.checkBox()
    assert checkbox is not None
    checkbox.setChecked(never)
    button = next(b for b in box.buttons() if b.text() == text)
    button.click()


def test_closing_says_reminders_stop_and_can_be_kept_open(
    qtbot: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    window = _window(qtbot, backend, settings)
    _close_by_hand(window)
    box = window.close_box
    assert box is not None and box.isVisible() and window.isVisible()
    assert "reminders stop" in box.text()
    _answer(box, "Keep Touchpoint open")
    qtbot.waitUntil(lambda: window.close_box is None)
    assert window.isVisible()

    _close_by_hand(window)
    box = window.close_box
    assert box is not None
    _answer(box, "Close, reminders stop", never=True)
    qtbot.waitUntil(lambda: not window.isVisible())
    idle()
    # Asked not to ask again: the next window closes at once.
    again = _window(qtbot, backend, settings)
    _close_by_hand(again)
    assert again.close_box is None and not again.isVisible()


def test_quit_and_closing_from_code_do_not_ask(
    qtbot: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    window = _window(qtbot, backend, settings)
    window.close()  # the app quitting closes its windows so
    assert window.close_box is None and not window.isVisible()
    again = _window(qtbot, backend, settings)
    again._close_confirmed = True  # what Quit (Ctrl+Q) sets before it closes
    _close_by_hand(again)
    assert again.close_box is None and not again.isVisible()
