"""The global search box (Ctrl+K): searches as you type, shows grouped hits in a popup.

Every keystroke starts a search on the database thread. A generation counter makes
sure a slow, older search never overwrites the results of a newer one, and a search
still queued when the next key arrives is dropped before it runs.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QFrame, QLineEdit, QListView, QVBoxLayout, QWidget

from touchpoint.ui.backend import Backend, Op
from touchpoint.ui.theme import icon
from touchpoint.ui.widgets.html_delegate import HTML_ROLE, HtmlDelegate

if TYPE_CHECKING:
    from touchpoint.services.search import SearchHit

HIT_ROLE = 0x0101  # Qt.UserRole + 1
HEADER_ROLE = 0x0102
MAX_HITS = 30
MIN_CHARS = 2  # one letter matches half the book: slow to find, useless to read
GROUP_ICONS = {
    "customer": "customer",
    "contact": "customers",
    "interaction": "log",
    "followup": "followups",
}


def _search(ws: Any, query: str) -> tuple[list[SearchHit], bool]:
    """The hits, and whether records from a big pull still wait to be indexed."""
    from touchpoint.services.search import index_catching_up, search  # database thread

    return search(ws, query, limit=MAX_HITS), index_catching_up(ws)


def highlighted(value: str) -> str:
    """Escape the text, then turn the search marks into bold."""
    escaped = html.escape(value, quote=False)
    from touchpoint.services.search import MARK_END, MARK_START  # loaded by the search

    return escaped.replace(MARK_START, "<b>").replace(MARK_END, "</b>")


class SearchPopup(QFrame):
    """The grouped results under the search box; a child of the window, never a grab."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("SearchPopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#SearchPopup { background: palette(base); border: 1px solid palette(mid);"
            " border-radius: 6px; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.view = QListView(self)
        self.view.setAccessibleName("Search results")
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.view.setItemDelegate(HtmlDelegate(self.view))
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.setUniformItemSizes(False)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.model = QStandardItemModel(self)
        self.view.setModel(self.model)
        layout.addWidget(self.view)
        self.hide()


class SearchBox(QLineEdit):
    open_hit = Signal(object)  # SearchHit
    results_ready = Signal(int)  # number of hits shown, after the popup is filled

    def __init__(self, backend: Backend, window: QWidget) -> None:
        super().__init__(window)
        self._backend = backend
        self._window = window
        self.setObjectName("GlobalSearch")
        self.setAccessibleName("Search")
        self.setPlaceholderText("Search customers, contacts, notes and follow-ups   (Ctrl+K)")
        self.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.setClearButtonEnabled(True)
        self.popup = SearchPopup(window)
        self.popup.view.clicked.connect(self._activate_index)
        self._generation = 0
        self._shown_generation = 0
        self._pending: Op[Any] | None = None
        self.hits: list[SearchHit] = []
        self._open_on_ready = False
        # Coalesce keys typed in the same event-loop turn (a paste, fast typing) into one search.
        self._kick = QTimer(self)
        self._kick.setSingleShot(True)
        self._kick.setInterval(0)
        self._kick.timeout.connect(self._start_search)
        self.textEdited.connect(lambda _t: self._kick.start())
        self.textChanged.connect(self._maybe_clear)
        self.returnPressed.connect(self.activate_current)
        window.installEventFilter(self)

    # --- searching ----------------------------------------------------------------
    def focus_and_select(self) -> None:
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.selectAll()
        if self.text().strip() and self.popup.model.rowCount():
            self._place_popup()

    def _maybe_clear(self, text: str) -> None:
        if not text.strip():
            self._generation += 1
            self._drop_pending()
            self.hits = []
            self.popup.model.clear()
            self.popup.hide()

    def _drop_pending(self) -> None:
        if self._pending is not None and not self._pending.done:
            self._pending.cancel()
        self._pending = None

    def _start_search(self) -> None:
        query = self.text().strip()
        if len(query) < MIN_CHARS:
            self._open_on_ready = False
            self._generation += 1  # a search still running for a longer text is stale now
            self._drop_pending()
            self.popup.hide()
            return
        self._generation += 1
        generation = self._generation
        self._drop_pending()
        op = self._backend.query(lambda ws: _search(ws, query)).success(
            lambda found: self._show(generation, query, found[0], catching_up=found[1])
        )
        op.failure(lambda exc: self._show(generation, query, []))
        self._pending = op
        op.run()

    def _show(
        self, generation: int, query: str, hits: list[SearchHit], *, catching_up: bool = False
    ) -> None:
        if generation != self._generation:
            return  # an older search finishing late: newer results win
        self._shown_generation = generation
        self.hits = hits
        model = self.popup.model
        model.clear()
        if not self.popup.isVisible():  # give the rows their real width before measuring
            self.popup.setFixedWidth(max(self.width(), 420))
            self.popup.setMinimumWidth(0)
            self.popup.setMaximumWidth(16777215)
        first_hit_row = -1
        if catching_up:  # first, where it is seen
            note = QStandardItem()
            note.setData(
                "<i style='color:gray'>Records from the last sync are still being indexed"
                " for search: some may not show yet.</i>",
                HTML_ROLE,
            )
            note.setFlags(Qt.ItemFlag.NoItemFlags)
            model.appendRow(note)
        if not hits:
            item = QStandardItem()
            item.setData(f"<i>Nothing matches “{html.escape(query)}”</i>", HTML_ROLE)
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            model.appendRow(item)
        from touchpoint.services.search import grouped

        for group, group_hits in grouped(hits).items():
            header = QStandardItem()
            header.setData(
                f"<span style='font-size:small'><b>{html.escape(group.upper())}</b></span>",
                HTML_ROLE,
            )
            header.setData(True, HEADER_ROLE)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            model.appendRow(header)
            for hit in group_hits:
                item = QStandardItem()
                item.setIcon(icon(GROUP_ICONS.get(hit.entity, "search")))
                title = highlighted(hit.title) or html.escape(hit.customer_name or "")
                parts = [title]
                if hit.entity != "customer" and hit.customer_name:
                    parts.append(
                        f"<span style='color:gray'> · {html.escape(hit.customer_name)}</span>"
                    )
                if hit.snippet and hit.snippet != hit.title:
                    parts.append(f"<br><span style='color:gray'>{highlighted(hit.snippet)}</span>")
                item.setData("".join(parts), HTML_ROLE)
                item.setData(hit, HIT_ROLE)
                item.setData(hit.plain_title, Qt.ItemDataRole.AccessibleTextRole)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                model.appendRow(item)
                if first_hit_row < 0:
                    first_hit_row = model.rowCount() - 1
        if first_hit_row >= 0:
            self.popup.view.setCurrentIndex(model.index(first_hit_row, 0))
        self._place_popup()
        self.results_ready.emit(len(hits))
        if self._open_on_ready:
            self._open_on_ready = False
            self._activate_index(self.popup.view.currentIndex())

    def _place_popup(self) -> None:
        popup = self.popup
        top_left = self.mapTo(self._window, QPoint(0, self.height() + 2))
        rows = popup.model.rowCount()
        height = min(460, 12 + sum(max(popup.view.sizeHintForRow(r), 18) for r in range(rows)))
        popup.setGeometry(top_left.x(), top_left.y(), max(self.width(), 420), height)
        popup.show()
        popup.raise_()
        popup.view.doItemsLayout()  # row heights depend on the width just set

    # --- keys ----------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        if self.popup.isVisible() and key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            self._move(1 if key == Qt.Key.Key_Down else -1)
            return
        if key == Qt.Key.Key_Escape:
            if self.popup.isVisible():
                self.popup.hide()
            else:
                self.clear()
                self.clearFocus()
            return
        super().keyPressEvent(event)

    def _move(self, step: int) -> None:
        view, model = self.popup.view, self.popup.model
        row = view.currentIndex().row()
        for _ in range(model.rowCount()):
            row = (row + step) % max(model.rowCount(), 1)
            if model.index(row, 0).data(HIT_ROLE) is not None:
                view.setCurrentIndex(model.index(row, 0))
                view.scrollTo(model.index(row, 0))
                return

    def activate_current(self) -> None:
        """Enter: open the selected hit (the best one unless the arrows moved)."""
        if self._kick.isActive() or (self._pending is not None and not self._pending.done):
            # Enter typed right after the last key: open the best hit when it arrives.
            self._open_on_ready = True
            return
        if self.popup.isVisible():
            self._activate_index(self.popup.view.currentIndex())

    def _activate_index(self, index: Any) -> None:
        hit = index.data(HIT_ROLE) if index is not None and index.isValid() else None
        if hit is None:
            return
        self.popup.hide()
        self.open_hit.emit(hit)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        moved = event.type() in (QEvent.Type.Resize, QEvent.Type.Move)
        if watched is self._window and moved and self.popup.isVisible():
            self._place_popup()
        return False

    def focusOutEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        # A click in the popup does not take focus (NoFocus), so this is a real leave.
        QTimer.singleShot(150, self._hide_if_unfocused)

    def _hide_if_unfocused(self) -> None:
        if not self.hasFocus():
            self.popup.hide()
