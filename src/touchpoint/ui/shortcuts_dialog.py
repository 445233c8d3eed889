"""Help > Keyboard shortcuts (Ctrl+/): every shortcut of the window, read from its
actions, so the list is never out of date."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

# Keys that belong to a list or a field rather than to an action (said once, here).
IN_LISTS = (
    ("Lists", "Open the current row", "Enter"),
    ("Lists", "Leave the list", "Tab / Shift+Tab"),
)


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None, rows: list[tuple[str, str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        intro = QLabel("Every command with a key. F6 moves between the parts of the window.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Shortcuts")
        self.tree.setHeaderLabels(["Where", "Command", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        for where, text, keys in [*rows, *IN_LISTS]:
            self.tree.addTopLevelItem(QTreeWidgetItem([where, text, keys]))
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 620)
        self.tree.setFocus(Qt.FocusReason.OtherFocusReason)
