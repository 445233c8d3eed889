"""The contacts part of the customer profile: list, add, edit in place, delete with undo.

A compact form opens under the list (Ctrl+Shift+N adds, F2 or Enter on a contact edits);
Enter (Ctrl+Enter in the notes, where Enter starts a new line) or Save stores it, Esc
cancels, and each field shows its validation message beside it. Phones are shown in
their international form; the service stores them as E.164.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain.enums import Channel, DecisionRole
from touchpoint.domain.photos import Photo
from touchpoint.domain.values import display_phone
from touchpoint.services import customers
from touchpoint.services.records import ContactView
from touchpoint.ui.backend import Backend
from touchpoint.ui.contact_photo import picture_text, thumbnail
from touchpoint.ui.errors import field_errors, show_error
from touchpoint.ui.theme import WARN
from touchpoint.ui.undo_bar import UndoBar

ID_ROLE = Qt.ItemDataRole.UserRole
# (service field, label); the form's rows in order.
ROWS = (
    ("name", "&Name"),
    ("title", "&Title"),
    ("decision_role", "&Role"),
    ("emails", "E&mail"),
    ("phones", "&Phone"),
    ("preferred_channel", "Pre&ferred channel"),
    ("do_not_contact", ""),
    ("notes", "N&otes"),
    ("photo", "Pict&ure"),
)

# Problems name a single email or phone ("email"); they belong beside the list's field.
ALIASES = {"email": "emails", "phone": "phones", "decision role": "decision_role"}
ALIASES |= {"preferred channel": "preferred_channel", "do not contact": "do_not_contact"}
PICTURE_FILES = "Pictures (*.jpg *.jpeg *.png *.gif *.webp);;All files (*)"
PHOTO_SIZE = 40  # the picture beside each contact, in logical pixels
ROWS_SHOWN = 3  # contacts shown whole before the list scrolls
NOTES_LINES_IN_LIST = 3  # the list shows the start of the notes; the tooltip all of them


def notes_preview(notes: str | None) -> str:
    """The first lines of the notes, line breaks kept, with '…' when there is more."""
    if not notes:
        return ""
    lines = notes.splitlines()
    shown = "\n".join(lines[:NOTES_LINES_IN_LIST])
    return shown + ("…" if len(lines) > NOTES_LINES_IN_LIST else "")


def _shown(item: dict[str, Any], *, phone: bool = False) -> str:
    """An email or phone as listed; one an import kept as written says so, to be fixed."""
    text = str(item.get("value"))
    if item.get("unverified"):
        return f"{text} (unverified)"
    return display_phone(text) if phone else text


def contact_text(p: ContactView) -> str:
    """Lines for the list: name, title and role; first email and phone; start of the notes."""
    bits = [b for b in (p.title, p.decision_role) if b]
    text = p.name + (f" — {', '.join(bits)}" if bits else "")
    reach = [_shown(e) for e in p.emails[:1]] + [_shown(x, phone=True) for x in p.phones[:1]]
    if reach:
        text += "\n" + " · ".join(reach)
    if p.do_not_contact:
        text += "  (do not contact)"
    if p.notes:
        text += "\n" + notes_preview(p.notes)
    return text


def _first(items: list[dict[str, Any]]) -> str:
    return str(items[0].get("value") or "") if items else ""


def _replace_first(items: list[dict[str, Any]], typed: str) -> list[dict[str, Any]]:
    """The form edits the first email/phone; the others (and its label) are kept."""
    rest = [dict(i) for i in items[1:]]
    if not typed:
        return rest
    label = str(items[0].get("label") or "work") if items else "work"
    return [{"label": label, "value": typed}, *rest]


class NotesEdit(QPlainTextEdit):
    """Several lines of notes: Enter starts a new line, Ctrl+Enter saves, Tab moves on."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)

    @staticmethod
    def _is_submit(event: QKeyEvent) -> bool:
        return event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and bool(
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        )

    def event(self, event: QEvent) -> bool:
        # The profile's own Ctrl+Enter (create customer) must not take the key from here.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self._is_submit(event)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self._is_submit(event):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ContactEditor(QWidget):
    """Contacts of one customer; ``set_contacts`` fills it from the profile's read."""

    saved = Signal(str)  # contact id

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.customer_id: str | None = None
        self.contacts: list[ContactView] = []
        self.editing: ContactView | None = None  # None while adding

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Contacts")
        self.list.setMinimumHeight(90)
        self.list.setWordWrap(True)  # the profile's left pane is narrow: wrap, no side scrolling
        self.list.setIconSize(QSize(PHOTO_SIZE, PHOTO_SIZE))  # each person's picture or initials
        self.list.itemActivated.connect(lambda _item: self.start_edit())
        self.list.currentItemChanged.connect(lambda *_a: self._update_buttons())
        column.addWidget(self.list)

        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add contact")
        self.add_button.setAccessibleName("Add contact")
        self.add_button.setToolTip("Add a contact (Ctrl+Shift+N)")
        self.add_button.clicked.connect(self.start_add)
        self.edit_button = QPushButton("Edit")
        self.edit_button.setAccessibleName("Edit contact")
        self.edit_button.setToolTip("Edit the selected contact (F2 or Enter)")
        self.edit_button.clicked.connect(self.start_edit)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName("Delete contact")
        self.delete_button.setToolTip("Delete the selected contact (Del; can be undone)")
        self.delete_button.clicked.connect(self.delete_selected)
        for b in (self.add_button, self.edit_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        column.addLayout(buttons)

        self.undo_bar = UndoBar(self)
        self._sync_undo_shortcut()
        self.undo_bar.undone.connect(self._sync_undo_shortcut)
        self.undo_bar.expired.connect(self._sync_undo_shortcut)
        column.addWidget(self.undo_bar)

        self.form = QFrame(self)
        self.form.setObjectName("Card")
        self.form.setAccessibleName("Contact form")
        grid = QGridLayout(self.form)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        self.form_title = QLabel("")
        self.form_title.setObjectName("CardTitle")
        grid.addWidget(self.form_title, 0, 0, 1, 2)
        self.editors: dict[str, QWidget] = {}
        self.messages: dict[str, QLabel] = {}
        self.role = QComboBox()
        self.role.addItem("—", None)
        for role in DecisionRole:
            self.role.addItem(role.value.capitalize(), role.value)
        self.channel = QComboBox()
        self.channel.addItem("—", None)
        for ch in Channel:
            self.channel.addItem(ch.value.capitalize(), ch.value)
        self.do_not_contact = QCheckBox("&Do not contact")
        # Each field takes two grid rows: the editor, then its message right under it
        # (the left pane is too narrow for a third column).
        for index, (key, label) in enumerate(ROWS):
            row = 1 + 2 * index
            editor: QWidget
            if key == "decision_role":
                editor = self.role
            elif key == "preferred_channel":
                editor = self.channel
            elif key == "do_not_contact":
                editor = self.do_not_contact
            elif key == "notes":
                # Several lines: Enter starts a new one, Tab leaves, Ctrl+Enter saves.
                self.notes = NotesEdit()
                self.notes.submitted.connect(self.save)
                self.notes.setFixedHeight(self.notes.fontMetrics().lineSpacing() * 4 + 12)
                self.notes.setToolTip("Notes (Enter: new line, Ctrl+Enter: save)")
                self.notes.textChanged.connect(lambda: self.clear_error("notes"))
                editor = self.notes
            elif key == "photo":
                editor = self._picture_row()
            else:
                line = QLineEdit()
                line.returnPressed.connect(self.save)
                line.textEdited.connect(lambda _t, k=key: self.clear_error(k))
                editor = line
            name = label.replace("&", "") or "Do not contact"
            editor.setAccessibleName(f"Contact {name.lower()}")
            if label:
                caption = QLabel(label)
                caption.setBuddy(self.choose_picture if key == "photo" else editor)
                grid.addWidget(caption, row, 0)
            grid.addWidget(editor, row, 1)
            message = QLabel("")
            message.setStyleSheet(f"color: {WARN};")
            message.setWordWrap(True)
            message.setAccessibleName(f"{name} problem")
            message.hide()
            grid.addWidget(message, row + 1, 1)
            self.editors[key] = editor
            self.messages[key] = message
        # Without a picture the form shows the initials of the name being typed.
        self._line("name").textChanged.connect(lambda _text: self._show_picture())
        actions = QHBoxLayout()
        actions.addStretch(1)
        self.save_button = QPushButton("&Save")
        self.save_button.setAccessibleName("Save contact")
        self.save_button.setToolTip("Save the contact (Enter)")
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel contact editing")
        self.cancel_button.setToolTip("Close the form without saving (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        actions.addWidget(self.save_button)
        actions.addWidget(self.cancel_button)
        grid.addLayout(actions, 1 + 2 * len(ROWS), 0, 1, 2)
        column.addWidget(self.form)
        self.form.hide()

        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.form, activated=self.cancel)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        edit = QShortcut(QKeySequence(Qt.Key.Key_F2), self.list, activated=self.start_edit)
        edit.setContext(Qt.ShortcutContext.WidgetShortcut)
        remove = QShortcut(
            QKeySequence(QKeySequence.StandardKey.Delete), self.list, activated=self.delete_selected
        )
        remove.setContext(Qt.ShortcutContext.WidgetShortcut)
        self._update_buttons()

    def _picture_row(self) -> QWidget:
        """The person's picture as it will be saved, with Choose… and Remove."""
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        self.picture = QLabel()
        self.picture.setFixedSize(PHOTO_SIZE, PHOTO_SIZE)
        self.picture.setAccessibleName("Contact picture")
        self.choose_picture = QPushButton("Choose…")
        self.choose_picture.setAccessibleName("Choose contact picture")
        self.choose_picture.setToolTip("A JPEG, PNG, GIF or WebP picture, at most 700 KB")
        self.choose_picture.clicked.connect(self._choose_picture)
        self.remove_picture = QPushButton("Remove")
        self.remove_picture.setAccessibleName("Remove contact picture")
        self.remove_picture.clicked.connect(lambda: self._set_picture(None))
        line.addWidget(self.picture)
        line.addWidget(self.choose_picture)
        line.addWidget(self.remove_picture)
        line.addStretch(1)
        row.setFocusProxy(self.choose_picture)  # a problem with the picture focuses Choose…
        self._photo: Photo | None = None
        self._photo_changed = False
        return row

    def _choose_picture(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Choose a picture", "", PICTURE_FILES)
        if path:
            self.set_picture_file(Path(path))

    def set_picture_file(self, path: Path) -> None:
        """The picture in ``path`` for the person (checked by the service on Save)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.messages["photo"].setText(f"cannot read {path.name}: {exc.strerror or exc}")
            self.messages["photo"].show()
            return
        self._set_picture(Photo(data=data))

    def _set_picture(self, photo: Photo | None) -> None:
        self.clear_error("photo")
        self._photo = photo
        self._photo_changed = True
        self._show_picture()

    def _show_picture(self) -> None:
        name = self._line("name").text().strip() or "?"
        ratio = self.picture.devicePixelRatioF()
        self.picture.setPixmap(thumbnail(self._photo, name, PHOTO_SIZE, ratio))
        self.picture.setToolTip(picture_text(self._photo))
        self.remove_picture.setEnabled(self._photo is not None)

    # --- filling -----------------------------------------------------------------
    def set_contacts(self, customer_id: str, contacts: list[ContactView]) -> None:
        if customer_id != self.customer_id:
            self.cancel()
            self.undo_bar.expire()
        self.customer_id = customer_id
        self.contacts = list(contacts)
        keep = self.selected_id()
        self.list.clear()
        ratio = self.list.devicePixelRatioF()
        for p in contacts:
            item = QListWidgetItem(contact_text(p))
            item.setData(ID_ROLE, p.id)
            item.setIcon(QIcon(thumbnail(p.photo, p.name, PHOTO_SIZE, ratio)))
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, picture_text(p.photo))
            item.setToolTip(p.notes or p.name)
            self.list.addItem(item)
            if p.id == keep:
                self.list.setCurrentItem(item)
        if self.editing is not None and all(p.id != self.editing.id for p in contacts):
            self.cancel()  # the contact being edited was deleted elsewhere
        self._fit_rows()
        self._update_buttons()

    def _fit_rows(self) -> None:
        """Room for the first few contacts whole (picture and lines); more scroll."""
        rows = min(self.list.count(), ROWS_SHOWN)
        need = sum(max(self.list.sizeHintForRow(r), PHOTO_SIZE) for r in range(rows))
        self.list.setMinimumHeight(max(90, need + 2 * self.list.frameWidth() + 4))

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(ID_ROLE)) if item is not None else None

    def _selected(self) -> ContactView | None:
        cid = self.selected_id()
        return next((p for p in self.contacts if p.id == cid), None)

    def _update_buttons(self) -> None:
        has = self.list.currentItem() is not None
        self.edit_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    # --- the form ------------------------------------------------------------------
    def start_add(self) -> None:
        if self.customer_id is None:
            return
        self.editing = None
        self.form_title.setText("New contact")
        self._fill(None)

    def start_edit(self) -> None:
        contact = self._selected()
        if contact is None:
            return
        self.editing = contact
        self.form_title.setText(f"Edit {contact.name}")
        self._fill(contact)

    def _fill(self, p: ContactView | None) -> None:
        self.clear_errors()
        self._line("name").setText(p.name if p else "")
        self._line("title").setText(p.title or "" if p else "")
        self._line("emails").setText(_first(p.emails) if p else "")
        phone = _first(p.phones) if p else ""
        self._line("phones").setText(display_phone(phone) if phone else "")
        self.notes.setPlainText(p.notes or "" if p else "")
        self.role.setCurrentIndex(max(0, self.role.findData(p.decision_role if p else None)))
        self.channel.setCurrentIndex(
            max(0, self.channel.findData(p.preferred_channel if p else None))
        )
        self.do_not_contact.setChecked(bool(p and p.do_not_contact))
        self._photo = p.photo if p else None
        self._photo_changed = False
        self._show_picture()
        self.form.show()
        self._line("name").setFocus(Qt.FocusReason.OtherFocusReason)
        self._line("name").selectAll()

    def _line(self, key: str) -> QLineEdit:
        editor = self.editors[key]
        assert isinstance(editor, QLineEdit)
        return editor

    def typed(self) -> dict[str, Any]:
        """The form as service fields; for an edit only what changed."""
        p = self.editing
        fields: dict[str, Any] = {
            "name": self._line("name").text().strip(),
            "title": self._line("title").text().strip() or None,
            "decision_role": self.role.currentData(),
            "preferred_channel": self.channel.currentData(),
            "do_not_contact": self.do_not_contact.isChecked(),
            "notes": self.notes.toPlainText().strip() or None,
        }
        email = self._line("emails").text().strip()
        phone = self._line("phones").text().strip()
        if p is None:
            fields["emails"] = [email] if email else []
            fields["phones"] = [phone] if phone else []
            if self._photo is not None:
                fields["photo"] = self._photo
            return fields
        changed = {k: v for k, v in fields.items() if getattr(p, k) != v}
        if email != _first(p.emails):
            changed["emails"] = _replace_first(p.emails, email)
        shown = display_phone(_first(p.phones)) if p.phones else ""
        if phone != shown:  # an unchanged phone is not sent back in its display form
            changed["phones"] = _replace_first(p.phones, phone)
        if self._photo_changed and self._photo != p.photo:
            changed["photo"] = self._photo
        return changed

    def save(self) -> None:
        if not self.form.isVisible() or self.customer_id is None:
            return
        fields = self.typed()
        self.clear_errors()
        editing, customer_id = self.editing, self.customer_id
        if editing is not None and not fields:
            self.cancel()
            return
        if editing is None:
            op = self._backend.write(lambda ws: customers.add_contact(ws, customer_id, fields))
        else:
            op = self._backend.write(lambda ws: customers.edit_contact(ws, editing.id, fields))
        op.success(self._saved).failure(self._save_failed).run()

    def _saved(self, view: ContactView) -> None:
        self.form.hide()
        self.editing = None
        self.saved.emit(view.id)
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)
        for i in range(self.list.count()):
            if self.list.item(i).data(ID_ROLE) == view.id:
                self.list.setCurrentRow(i)

    def _save_failed(self, exc: Exception) -> None:
        problems = field_errors(exc)
        if not problems:
            show_error(self, exc)
            return
        first: QWidget | None = None
        for field, problem in problems.items():
            key = field.split(".", 1)[0].split("[", 1)[0]
            key = ALIASES.get(key, key)
            target = key if key in self.messages else "name"
            self.messages[target].setText(problem)
            self.messages[target].show()
            first = first or self.editors[target]
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)

    def clear_error(self, key: str) -> None:
        self.messages[key].clear()
        self.messages[key].hide()

    def clear_errors(self) -> None:
        for key in self.messages:
            self.clear_error(key)

    def cancel(self) -> None:
        if not self.form.isVisible():
            return
        self.form.hide()
        self.editing = None
        self.clear_errors()
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- delete with undo -------------------------------------------------------------
    def delete_selected(self) -> None:
        contact = self._selected()
        if contact is None:
            return
        if self.editing is not None and self.editing.id == contact.id:
            self.cancel()
        cid, name = contact.id, contact.name

        def deleted(_view: Any) -> None:
            self.undo_bar.show_undo(f"Deleted contact {name}", lambda: self._restore(cid))
            self._sync_undo_shortcut()

        self._backend.write(lambda ws: customers.delete_contact(ws, cid)).success(deleted).run()

    def _restore(self, contact_id: str) -> None:
        self._backend.write(lambda ws: customers.restore_contact(ws, contact_id)).run()

    def _sync_undo_shortcut(self) -> None:
        # The window has its own undo bar (customer delete) with Ctrl+Z: ours claims the
        # key only while it has something to undo, so the two never clash.
        self.undo_bar._shortcut.setEnabled(self.undo_bar.active)
