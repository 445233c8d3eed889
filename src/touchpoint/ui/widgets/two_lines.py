"""A cell of two lines that never hides its second part.

Text of two parts ("notes\\nwords") shows each part on its own line, each cut with an
ellipsis; text of one part wraps over both lines. Word wrap alone would let long
notes push the customer's words out of a two-line row.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QTextLayout
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem


def two_lines(text: str, font: QFont, width: int) -> tuple[str, str]:
    """The two lines a cell ``width`` pixels wide shows for ``text`` in ``font``."""
    metrics = QFontMetrics(font)
    first, sep, second = text.partition("\n")
    second = " ".join(second.split())
    if not sep:
        layout = QTextLayout(first, font)
        layout.beginLayout()
        line = layout.createLine()
        line.setLineWidth(max(width, 1))
        fits = line.textLength()
        layout.endLayout()
        if fits < len(first):
            first, second = first[:fits].rstrip(), first[fits:].lstrip()
    elide = Qt.TextElideMode.ElideRight
    return metrics.elidedText(first, elide, width), metrics.elidedText(second, elide, width)


class TwoLineDelegate(QStyledItemDelegate):
    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)  # type: ignore[arg-type]
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")  # opt.text has no "\n"
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, opt.widget)
        rect = rect.adjusted(2, 0, -2, 0)
        first, second = two_lines(text, opt.font, rect.width())
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(role))
        spacing = QFontMetrics(opt.font).lineSpacing()
        top = rect.top() + max(0, (rect.height() - 2 * spacing) // 2)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        painter.drawText(QRect(rect.left(), top, rect.width(), spacing), align, first)
        painter.drawText(QRect(rect.left(), top + spacing, rect.width(), spacing), align, second)
        painter.restore()
