"""Every screen and dialog, at a small laptop's 1024x640 and at 1920x1080, in both themes:
no label, button or check box whose text does not fit (font metrics against geometry),
and (in the light theme at one size) every focusable control with an accessible name.

A widget that elides its text by design says so with the ``elided`` property.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtGui
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QFontMetrics, QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QPushButton,
    QStyle,
    QStyleOptionButton,
    QWidget,
)

from touchpoint.services import demo
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.main_window import MainWindow
from touchpoint.ui.theme import apply_theme

SIZES = ((1024, 640), (1920, 1080))
# A real message (see tests/fixtures/import/real/README.md) to no one in the demo book.
UNKNOWN_EMAIL = (
    Path(__file__).parents[1] / "fixtures" / "import" / "real" / "mailparser-mail_test_17.eml"
)


def _plain(text: str) -> str:
    """The text as drawn: mnemonic ampersands gone, a doubled one kept."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _label_problem(label: QLabel) -> str | None:
    text = label.text()
    if not text or (label.pixmap() is not None and not label.pixmap().isNull()):
        return None
    rect = label.contentsRect()
    inset = 2 * label.margin() + max(label.indent(), 0)
    if label.wordWrap():
        # Wrapped text needs its height for the width it has.
        need = label.heightForWidth(label.width())
        if need > label.height() + 2:
            return f"wraps to {need} px in {label.height()} px"
        return None
    if label.textFormat() == Qt.TextFormat.RichText or QtGui.Qt.mightBeRichText(text):
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        doc.setHtml(text)
        width = doc.idealWidth()
    else:
        metrics = QFontMetrics(label.font())
        shown = _plain(text) if label.buddy() is not None else text
        width = max(metrics.horizontalAdvance(line) for line in shown.split("\n"))
    if width > rect.width() - inset + 1:
        return f"needs {width:.0f} px, has {rect.width() - inset}"
    return None


def _button_problem(button: QAbstractButton) -> str | None:
    text = _plain(button.text())
    if not text:
        return None
    style = button.style()
    metrics = QFontMetrics(button.font())
    width = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
    if not button.icon().isNull():
        width += button.iconSize().width() + 4
    if isinstance(button, QCheckBox):
        opt = QStyleOptionButton()
        opt.initFrom(button)
        width += style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, opt, button)
        width += style.pixelMetric(QStyle.PixelMetric.PM_CheckBoxLabelSpacing, opt, button)
    else:
        margin = style.pixelMetric(QStyle.PixelMetric.PM_ButtonMargin, None, button)
        frame = style.pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, button)
        width += 2 * margin + 2 * frame
        if isinstance(button, QPushButton) and button.menu() is not None:
            width += style.pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, button)
    if width > button.width() + 1:
        return f"needs {width} px, has {button.width()}"
    return None


def clipped(root: QWidget) -> list[str]:
    """Every visible label, push button and check box under ``root`` whose text is cut."""
    found: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible() or widget.property("elided"):
            continue
        problem = None
        if isinstance(widget, QLabel):
            problem = _label_problem(widget)
        elif isinstance(widget, (QPushButton, QCheckBox)):
            problem = _button_problem(widget)
        if problem:
            text = widget.text().replace("\n", " ")[:60]  # type: ignore[attr-defined]
            found.append(f"{type(widget).__name__} {text!r}: {problem}")
    return found


def unnamed(root: QWidget) -> list[str]:
    """Every visible control that takes focus by Tab but has no accessible name (a
    button's or check box's own text counts as its name, as a screen reader reads it)."""
    found = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible() or not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        if widget.accessibleName().strip():
            continue
        if isinstance(widget, QAbstractButton) and _plain(widget.text()).strip():
            continue
        parent = widget.parentWidget()
        if isinstance(parent, QComboBox) or (
            isinstance(parent, QAbstractScrollArea) and parent.viewport() is widget
        ):  # a part of a named control: the combo box's editor, a view's viewport
            continue
        if widget.objectName().startswith("qt_") and parent and parent.accessibleName():
            continue  # Qt's own part of a named control (a spin box's editor, a tab bar)
        found.append(f"{type(widget).__name__} {widget.objectName()!r} in {_path(widget)}")
    return found


def tab_traps(root: QWidget) -> list[str]:
    """Every visible table where Tab walks the cells instead of leaving the table."""
    return [
        f"{type(view).__name__} {view.accessibleName()!r}"
        for view in root.findChildren(QAbstractItemView)
        if view.isVisible() and view.tabKeyNavigation()
    ]


def _path(widget: QWidget) -> str:
    names = []
    parent = widget.parentWidget()
    while parent is not None and len(names) < 3:
        names.append(parent.accessibleName() or type(parent).__name__)
        parent = parent.parentWidget()
    return " < ".join(names)


@pytest.fixture
def book(ws: Workspace) -> Workspace:
    demo.generate_demo(ws, customers=12, reps=["maria@example.com", "tom.weber@example.com"])
    return ws


def _settle(qtbot: Any, backend: Backend) -> None:
    qtbot.waitUntil(lambda: backend.pending == 0, timeout=20_000)
    QApplication.processEvents()
    qtbot.wait(30)
    QApplication.processEvents()


def _top_dialog(window: MainWindow, before: set[int]) -> QWidget | None:
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible() and widget is not window and id(widget) not in before:
            return widget
    return None


def _first_run(window: MainWindow, backend: Backend, *, offline: bool = False) -> None:
    """The first-run wizard as an empty book shows it (its offline page with ``offline``)."""
    from touchpoint.services.provisioning import FirstRunState
    from touchpoint.ui.first_run import FirstRunWizard

    state = FirstRunState(
        empty=True,
        server="",
        email="",
        ca_bundle=None,
        server_locked=False,
        signed_in=False,
        demo_allowed=True,
    )
    wizard = FirstRunWizard(state, backend, window, open_import=lambda: None)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.show()
    if offline:
        wizard.next()


IMPORT_CSV = (
    "Company Name,Contact Full Name,E-mail Address,Business Phone,Mobile Phone,"
    "Street Address,City,Country,Industry,Favourite Colour,Company\n"
    "Acme Logistics International GmbH,Jana Weber-Schmidt,jana.weber@acme.example,"
    "+49 30 1234567,+49 170 1234567,Hauptstraße 1,Berlin,Germany,Logistics,blue,Acme\n"
)


def _import_csv(window: MainWindow, folder: Path) -> None:
    """The import dialog with a CSV file's columns, their fields and the dry run."""
    from touchpoint.ui.import_dialog import ImportDialog

    path = folder / "customers from another CRM.csv"
    path.write_text(IMPORT_CSV, encoding="utf-8")
    window.open_import()
    dialog = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, ImportDialog) and w.isVisible()
    )
    dialog.set_file(path)


def every_screen(
    qtbot: Any, window: MainWindow, backend: Backend, folder: Path | None = None
) -> Iterator[tuple[str, QWidget]]:
    """Each page, the profile's tabs and each dialog, shown and settled in turn."""
    for key in window.pages:
        window.show_page(key)
        _settle(qtbot, backend)
        yield key, window
    first = window.customers.list.model.index(0, 0).data(0x0101)
    window.open_customer(first)
    qtbot.waitUntil(lambda: window.customers.profile.data is not None, timeout=20_000)
    _settle(qtbot, backend)
    profile = window.customers.profile
    for tab in range(profile.tabs.count()):
        profile.tabs.setCurrentIndex(tab)
        _settle(qtbot, backend)
        yield f"profile tab {tab}", window
    profile.tabs.setCurrentIndex(0)
    window.new_customer()
    _settle(qtbot, backend)
    yield "new customer", window
    profile._cancel_new()
    window.open_customer(first)
    _settle(qtbot, backend)

    dialogs: list[tuple[str, Callable[[], Any]]] = [
        ("log", window.log_interaction),
        ("settings", window.open_settings),
        ("import", window.open_import),
        *(
            [("import, a CSV file's columns", lambda: _import_csv(window, folder))]
            if folder is not None
            else []
        ),
        ("export", window.open_export),
        ("about", window.open_about),
        ("shortcuts", window.show_shortcuts),
        ("conflicts", window.open_conflicts),
        ("interaction", lambda: profile.open_interaction(profile.timeline_model.items[0].id)),
        ("first run", lambda: _first_run(window, backend)),
        ("first run, offline", lambda: _first_run(window, backend, offline=True)),
        # A real message no customer has the addresses of, dropped: the window asks.
        ("email chooser", lambda: window.email_drop.drop([UNKNOWN_EMAIL])),
    ]
    for name, open_it in dialogs:
        before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
        open_it()
        qtbot.waitUntil(lambda b=before: _top_dialog(window, b) is not None, timeout=10_000)
        _settle(qtbot, backend)
        dialog = _top_dialog(window, before)
        assert dialog is not None
        yield name, dialog
        if hasattr(dialog, "ask_discard"):
            dialog.ask_discard = lambda: True
        dialog.close()
        qtbot.waitUntil(lambda d=dialog: not d.isVisible())
        _settle(qtbot, backend)


def _window(qtbot: Any, backend: Backend, tmp_path: Path, size: tuple[int, int]) -> MainWindow:
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(backend, settings, reminders=False)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def themed(qapp: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    apply_theme(qapp, request.param)
    yield request.param
    apply_theme(qapp, "light")


@pytest.mark.parametrize("themed", ["light", "dark"], indirect=True)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_no_text_is_cut_on_any_screen(  # noqa: PLR0917 - fixtures
    qtbot: Any, book: Workspace, backend: Backend, tmp_path: Path, size: Any, themed: str
) -> None:
    window = _window(qtbot, backend, tmp_path, size)
    assert window.width() <= size[0] and window.height() <= size[1]
    problems = []
    for name, root in every_screen(qtbot, window, backend, tmp_path):
        problems += [f"{name}: {p}" for p in clipped(root)]
    window.close()
    assert not problems, "\n".join(problems)


def test_every_control_has_an_accessible_name_and_tab_leaves_every_table(
    qtbot: Any, book: Workspace, backend: Backend, tmp_path: Path
) -> None:
    window = _window(qtbot, backend, tmp_path, (1280, 800))
    problems = []
    for name, root in every_screen(qtbot, window, backend, tmp_path):
        problems += [f"{name}: {p}" for p in unnamed(root)]
        problems += [f"{name}: Tab is trapped in {p}" for p in tab_traps(root)]
    window.close()
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_checks_see_a_cut_text_and_a_nameless_control(qtbot: Any) -> None:
    """The checks themselves: a label too narrow for its text and a line edit without a
    name are found; the same label given room, or marked as elided, is not."""
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout

    root = QWidget()
    qtbot.addWidget(root)
    layout = QVBoxLayout(root)
    label = QLabel("Adams Materials Boston Co.")
    label.setFixedWidth(60)
    edit = QLineEdit()
    layout.addWidget(label)
    layout.addWidget(edit)
    root.show()
    assert any("Adams Materials" in p for p in clipped(root))
    assert any("QLineEdit" in p for p in unnamed(root))
    label.setProperty("elided", True)
    edit.setAccessibleName("Name")
    assert clipped(root) == [] and unnamed(root) == []
    label.setProperty("elided", False)
    label.setFixedWidth(400)
    assert clipped(root) == []
