"""A slim bar offering to undo a soft delete (or a drop of emails) for a few seconds."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

log = logging.getLogger(__name__)


class UndoBar(QFrame):
    """``show_undo(message, undo)`` shows the bar; Undo (or Ctrl+Z) calls ``undo`` once."""

    undone = Signal()
    expired = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UndoBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Undo bar")
        self.setStyleSheet("#UndoBar { background: palette(tool-tip-base); border-radius: 4px; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        self.message = QLabel()
        self.message.setAccessibleName("Undo message")
        self.message.setWordWrap(True)  # a drop's result can name several files
        self.countdown = QLabel()
        self.countdown.setAccessibleName("Seconds left to undo")
        self.countdown.setStyleSheet("color: palette(placeholder-text);")
        self.button = QPushButton("&Undo  (Ctrl+Z)")
        self.button.setAccessibleName("Undo")
        self.button.clicked.connect(self.undo)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.countdown)
        layout.addWidget(self.button)
        self._shortcut = QShortcut(QKeySequence.StandardKey.Undo, parent or self)
        self._shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._shortcut.activated.connect(self._shortcut_undo)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self._undo: Callable[[], None] | None = None
        self._left = 0
        self.hide()

    def show_undo(self, message: str, undo: Callable[[], None] | None, seconds: int = 8) -> None:
        """Offer ``undo`` for ``seconds``; a newer offer replaces an older one. Without
        ``undo`` the bar only says ``message`` (a result with nothing to take back)."""
        self._undo = undo
        self._left = max(1, int(seconds))
        self.message.setText(message)
        self.message.setToolTip(message)
        self.button.setVisible(undo is not None)
        self._show_left()
        self._timer.start()
        self.show()
        self.raise_()

    @property
    def active(self) -> bool:
        return self._undo is not None

    def undo(self) -> None:
        action, self._undo = self._undo, None
        self._close()
        if action is None:
            return
        try:
            action()
        except Exception:  # the bar must not take the window down with it
            log.exception("undo failed")
            return
        self.undone.emit()

    def expire(self) -> None:
        """The offer ran out: forget it (the delete stays)."""
        self._undo = None
        self._close()
        self.expired.emit()

    def _shortcut_undo(self) -> None:
        if self._undo is not None:
            self.undo()

    def _tick(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self.expire()
        else:
            self._show_left()

    def _show_left(self) -> None:
        self.countdown.setText(f"{self._left} s")

    def _close(self) -> None:
        self._timer.stop()
        self.hide()
