"""Ask for a moment as people type it (fri 10:00, +2d, tomorrow 8:00), showing what it
will be understood as before it is accepted, as the log form does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain import dates


class WhenDialog(QDialog):
    def __init__(
        self,
        title: str,
        label: str,
        text: str,
        *,
        now: Callable[[], datetime],
        tz: tzinfo,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._now, self._tz = now, tz
        self.edit = QLineEdit(text, self)
        self.edit.setAccessibleName(title)
        self.edit.selectAll()
        self.understood = QLabel(self)
        self.understood.setAccessibleName("Understood as")
        self.understood.setStyleSheet("color: palette(placeholder-text);")
        prompt = QLabel(label, self)
        prompt.setBuddy(self.edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (prompt, self.edit, self.understood, self.buttons):
            layout.addWidget(widget)
        self.edit.textChanged.connect(self._changed)
        self._changed()
        self.setMinimumWidth(420)

    def moment(self) -> datetime | None:
        text = self.edit.text().strip()
        if not text:
            return None
        try:
            return dates.parse_when(text, now=self._now(), tz=self._tz)
        except ValueError:
            return None

    def _changed(self) -> None:
        moment = self.moment()
        if moment is None:
            self.understood.setText("type a date: fri 10:00, +2d, tomorrow 8:00, 2026-12-01")
        else:
            shown = moment.astimezone(self._tz).strftime("%a %d %b %Y, %H:%M")
            self.understood.setText(f"→ {shown}")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(moment is not None)

    def value(self) -> str:
        return self.edit.text().strip()
