"""Customer facts edited in place, each field with its validation message beside it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain.enums import CustomerKind, CustomerStatus
from touchpoint.services.insights import CustomFieldValue
from touchpoint.services.records import CustomerView

# (key, label, kind): kind is "line", "text" or a tuple of choices.
FIELDS: tuple[tuple[str, str, Any], ...] = (
    ("name", "&Name", "line"),
    ("kind", "Kind", tuple(k.value for k in CustomerKind)),
    ("status", "&Status", tuple(s.value for s in CustomerStatus)),
    ("emails", "&Email", "line"),
    ("phones", "&Phone", "line"),
    ("website", "&Website", "line"),
    ("industry", "&Industry", "line"),
    ("segment", "Segment", "line"),
    ("owner", "&Owner", "line"),
    ("territory", "&Territory", "line"),
    ("address.street", "Street", "line"),
    ("address.postcode", "Postcode", "line"),
    ("address.city", "City", "line"),
    ("address.country", "Country", "line"),
    ("tags", "Ta&gs", "line"),
    ("yearly_potential", "Yearly potential", "line"),
    ("currency", "Currency", "line"),
    ("notes", "Notes", "text"),
)
PLACEHOLDERS = {
    "emails": "info@example.com, sales@example.com",
    "phones": "+49 30 1234567",
    "website": "example.com",
    "tags": "key, retail",
    "yearly_potential": "25000",
    "currency": "EUR",
    "address.country": "DE",
}
# Field names in service errors -> form keys.
ALIASES = {
    "email": "emails",
    "phone": "phones",
    "yearly potential": "yearly_potential",
    "address": "address.street",
    "addresses": "address.street",
}
_CUSTOM_ERROR = re.compile(r"custom field '(.+)'")


def form_key(error_field: str) -> str:
    """The form key a service error's field name belongs to."""
    if m := _CUSTOM_ERROR.fullmatch(error_field):
        return f"custom.{m.group(1)}"
    return ALIASES.get(error_field, error_field)


def _values(items: list[dict[str, Any]]) -> str:
    return ", ".join(str(i.get("value", "")) for i in items if i.get("value"))


def shown_value(customer: CustomerView | None, key: str) -> str:
    """What a field shows for a customer (empty for a new one)."""
    if customer is None:
        return ""
    if key in ("emails", "phones"):
        return _values(getattr(customer, key))
    if key.startswith("address."):
        first = customer.addresses[0] if customer.addresses else {}
        return str(first.get(key.split(".", 1)[1]) or "")
    if key == "tags":
        return ", ".join(customer.tags)
    value = getattr(customer, key, None)
    return "" if value is None else str(value)


def patch_for(customer: CustomerView | None, key: str, text: str) -> dict[str, Any]:
    """The service patch that stores ``text`` typed into field ``key``."""
    text = text.strip()
    if key in ("emails", "phones"):
        # A value kept as it was (its label, and an import's "unverified" mark) stays so.
        kept = {
            str(i.get("value", "")).casefold(): i
            for i in (getattr(customer, key) if customer else [])
        }
        values = [v.strip() for v in text.split(",") if v.strip()]
        return {
            key: [
                dict(kept[v.casefold()])
                if v.casefold() in kept and kept[v.casefold()].get("value") == v
                else {"label": (kept.get(v.casefold()) or {}).get("label") or "work", "value": v}
                for v in values
            ]
        }
    if key.startswith("address."):
        part = key.split(".", 1)[1]
        addresses = [dict(a) for a in (customer.addresses if customer else [])]
        first = addresses[0] if addresses else {"label": "office"}
        first[part] = text or None
        return {"addresses": [first, *addresses[1:]]}
    if key == "tags":
        return {"tags": [t.strip() for t in text.split(",") if t.strip()]}
    return {key: text or None}


class _NotesEdit(QPlainTextEdit):
    committed = Signal()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        self.committed.emit()


class FactsForm(QWidget):
    """Emits ``commit(key, text)`` when a field is left with a changed value."""

    commit = Signal(str, str)
    edited = Signal(str)  # any typing (the new-customer form watches for duplicates)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setVerticalSpacing(4)
        self.editors: dict[str, QWidget] = {}
        self.rows: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._shown: dict[str, str] = {}
        self.form_error = QLabel("")
        self.form_error.setObjectName("FieldError")
        self.form_error.setWordWrap(True)
        self.form_error.hide()
        for key, label, kind in FIELDS:
            self._add(key, label, kind)
        self.layout_.addRow(self.form_error)

    def _add(self, key: str, label: str, kind: Any, choices: list[str] | None = None) -> None:
        editor: QWidget
        plain_label = label.replace("&", "")
        if isinstance(kind, tuple) or choices is not None:
            combo = QComboBox(self)
            if choices is not None:
                combo.addItem("", "")
            for choice in choices if choices is not None else kind:
                combo.addItem(choice, choice)
            combo.activated.connect(lambda _i, k=key: self._commit(k))
            editor = combo
        elif kind == "text":
            notes = _NotesEdit(self)
            notes.setTabChangesFocus(True)
            notes.setFixedHeight(70)
            notes.committed.connect(lambda k=key: self._commit(k))
            notes.textChanged.connect(lambda k=key: self.edited.emit(k))
            editor = notes
        else:
            line = QLineEdit(self)
            line.setPlaceholderText(PLACEHOLDERS.get(key, ""))
            line.editingFinished.connect(lambda k=key: self._commit(k))
            line.textEdited.connect(lambda _t, k=key: self._edited(k))
            editor = line
        editor.setAccessibleName(plain_label)
        editor.setObjectName(f"field.{key}")
        error = QLabel("", self)
        error.setObjectName("FieldError")
        error.setAccessibleName(f"{plain_label} problem")
        error.setWordWrap(True)
        error.hide()
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(editor)
        column.addWidget(error)
        label_widget = QLabel(label, self)
        label_widget.setBuddy(editor)
        self.layout_.addRow(label_widget, box)
        self.editors[key] = editor
        self.errors[key] = error
        self.rows[key] = box

    # --- values ------------------------------------------------------------------
    def text(self, key: str) -> str:
        editor = self.editors[key]
        if isinstance(editor, QComboBox):
            return str(editor.currentData() or "")
        if isinstance(editor, QPlainTextEdit):
            return editor.toPlainText()
        assert isinstance(editor, QLineEdit)
        return editor.text()

    def set_text(self, key: str, value: str) -> None:
        editor = self.editors[key]
        editor.blockSignals(True)
        if isinstance(editor, QComboBox):
            at = editor.findData(value)
            if at < 0 and value:
                editor.addItem(value, value)
                at = editor.count() - 1
            editor.setCurrentIndex(max(at, 0))
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(value)
        else:
            assert isinstance(editor, QLineEdit)
            editor.setText(value)
            editor.setCursorPosition(0)
        editor.blockSignals(False)
        self._shown[key] = value

    def fill(self, values: dict[str, str], *, keep_focused: bool = True) -> None:
        """Show stored values; the field being typed in and fields with a problem are kept."""
        for key, value in values.items():
            if key not in self.editors:
                continue
            editor = self.editors[key]
            if keep_focused and (editor.hasFocus() or self.has_error(key)):
                self._shown[key] = value
                continue
            self.set_text(key, value)

    def set_custom_fields(self, fields: list[CustomFieldValue]) -> None:
        """Add (once) a row per custom field definition."""
        for f in fields:
            key = f"custom.{f.key}"
            if key not in self.editors:
                kind = "line" if f.type != "choice" else tuple(f.choices)
                self._add(
                    key, f.label, kind, choices=list(f.choices) if f.type == "choice" else None
                )

    def set_row_visible(self, key: str, visible: bool) -> None:
        self.layout_.setRowVisible(self.rows[key], visible)

    def _edited(self, key: str) -> None:
        self.edited.emit(key)

    def _commit(self, key: str) -> None:
        text = self.text(key)
        if text.strip() == self._shown.get(key, "").strip() and not self.has_error(key):
            return
        self.commit.emit(key, text)

    def mark_saved(self, key: str, value: str) -> None:
        self._shown[key] = value
        self.clear_error(key)

    # --- problems ----------------------------------------------------------------
    def show_errors(self, problems: dict[str, str]) -> list[str]:
        """Show each problem beside its field; returns the keys shown."""
        shown: list[str] = []
        unplaced: list[str] = []
        for field, problem in problems.items():
            key = form_key(field)
            label = self.errors.get(key)
            if label is None:
                unplaced.append(f"{field}: {problem}")
                continue
            label.setText(problem)
            label.show()
            shown.append(key)
        self.form_error.setText("\n".join(unplaced))
        self.form_error.setVisible(bool(unplaced))
        if shown:
            first = self.editors[shown[0]]
            first.setFocus(Qt.FocusReason.OtherFocusReason)
        return shown

    def clear_error(self, key: str) -> None:
        if key in self.errors:
            self.errors[key].hide()
            self.errors[key].setText("")

    def clear_errors(self) -> None:
        for key in self.errors:
            self.clear_error(key)
        self.form_error.hide()

    def has_error(self, key: str) -> bool:
        label = self.errors.get(key)
        return label is not None and not label.isHidden()

    def error_text(self, key: str) -> str:
        return self.errors[key].text() if self.has_error(key) else ""

    def values(self) -> dict[str, str]:
        return {key: self.text(key) for key in self.editors}

    def on_commit(self, cb: Callable[[str, str], None]) -> None:
        self.commit.connect(cb)
