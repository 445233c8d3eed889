"""An item delegate that paints a little HTML (bold matches, muted snippets)."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

HTML_ROLE = Qt.ItemDataRole.UserRole + 100


class HtmlDelegate(QStyledItemDelegate):
    """Paints ``HTML_ROLE`` (falling back to the display text) as rich text.

    Laid-out documents are cached by (text, width): a popup of 30 hits is measured
    and painted many times while it opens, and layout is the slow part. Row sizes are
    cached too, by (text, view width, icon or not, font): the list asks for each row's
    size three or four times per fill (layout, scroll to the current row, the popup's
    height, the layout at its new size), and working out the text's width each time
    cost more than the rest of the fill.
    """

    CACHE = 256

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._docs: OrderedDict[tuple[str, int, str], QTextDocument] = OrderedDict()
        self._sizes: OrderedDict[tuple[str, int, bool, str], QSize] = OrderedDict()

    def _document(
        self,
        option: QStyleOptionViewItem,
        index: QModelIndex,
        width: int,
        *,
        selected: bool = False,
    ) -> QTextDocument:
        html = index.data(HTML_ROLE)
        text = str(html) if html is not None else str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if selected:  # muted parts would vanish on the highlight colour
            text = text.replace("color:gray", "color:#dfe8fb")
        key = (text, max(width, 50), option.font.key())
        doc = self._docs.get(key)
        if doc is not None:
            self._docs.move_to_end(key)
            return doc
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(2)
        if html is None:
            doc.setPlainText(text)
        else:
            doc.setHtml(text)
        doc.setTextWidth(key[1])
        self._docs[key] = doc
        if len(self._docs) > self.CACHE:
            self._docs.popitem(last=False)
        return doc

    @staticmethod
    def _text_width(option: QStyleOptionViewItem) -> int:
        """The width text wraps at: the text rect of a row as wide as the view (the item
        is not laid out yet), computed as paint computes it, so both use one layout."""
        widget = option.widget
        viewport = getattr(widget, "viewport", None)
        if viewport is None or widget is None:
            return option.rect.width()
        row = QStyleOptionViewItem(option)
        row.rect = QRect(0, 0, viewport().width(), max(option.rect.height(), 1))
        style = widget.style()
        return style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, row, widget).width()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)  # type: ignore[arg-type]
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        doc = self._document(opt, index, text_rect.width(), selected=selected)  # type: ignore[arg-type]
        ctx = QAbstractTextDocumentLayout.PaintContext()
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(role))
        painter.save()
        painter.translate(text_rect.topLeft())
        painter.setClipRect(QRectF(0, 0, text_rect.width(), text_rect.height()))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(  # noqa: N802 - Qt override
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        html = index.data(HTML_ROLE)
        widget = option.widget
        viewport = getattr(widget, "viewport", None)
        key = None
        if html is not None and viewport is not None:
            has_icon = index.data(Qt.ItemDataRole.DecorationRole) is not None
            key = (str(html), viewport().width(), has_icon, option.font.key())
            size = self._sizes.get(key)
            if size is not None:
                return QSize(size)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)  # type: ignore[arg-type]
        doc = self._document(opt, index, self._text_width(opt))  # type: ignore[arg-type]
        base = super().sizeHint(option, index)
        size = QSize(base.width(), max(base.height(), int(doc.size().height()) + 2))
        if key is not None:
            self._sizes[key] = size
            if len(self._sizes) > self.CACHE:
                self._sizes.popitem(last=False)
        return QSize(size)
