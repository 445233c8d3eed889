"""The daily report as a printable PDF, drawn by Qt itself: no browser involved.

The body is the same HTML as the browser page, laid out by ``QTextDocument`` on
A4 pages of a ``QPdfWriter``; the charts are QtCharts drawn offscreen into images
the document shows. Each page gets a footer with the period, the generation time
and "page n of m".
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QHorizontalBarSeries,
    QHorizontalStackedBarSeries,
    QLineSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextDocument,
    QTextFrame,
    QTextTable,
)
from PySide6.QtWidgets import QApplication, QGraphicsScene

from touchpoint.reports import format as fmt
from touchpoint.reports.html import GREEN, MUTED, RED, report_body, report_tz
from touchpoint.services.reports import DailyReport

RESOLUTION = 300  # dots per inch of the PDF's coordinate system
CHART_SCALE = 3  # chart images drawn at 3x their layout size: sharp when printed
CHART_H = 230  # a chart's layout height (720 wide)
MANY_REPS = 15
FONT = "DejaVu Sans"
BLUE = "#3b6ea8"
AMBER = "#d99a21"
PURPLE = "#6a4fa3"


def ensure_app() -> QApplication:
    """QtCharts needs a QApplication; the command line makes an offscreen one."""
    app = QApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])
    return app  # type: ignore[return-value]


# --- charts -----------------------------------------------------------------------


def _chart(title: str) -> QChart:
    ensure_app()  # a chart made without an application crashes the process
    chart = QChart()
    chart.setTitle(title)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.setBackgroundRoundness(0)
    chart.setMargins(QMarginsF(4, 4, 4, 4).toMargins())
    title_font = QFont(FONT, 10)
    title_font.setBold(True)
    chart.setTitleFont(title_font)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    chart.legend().setFont(QFont(FONT, 8))
    return chart


def _axes(
    chart: QChart,
    series: Sequence[object],
    labels: list[str],
    top: float,
    *,
    angle: int = 0,
    scores: bool = False,
    horizontal: bool = False,
) -> None:
    x = QBarCategoryAxis()
    x.append(labels)
    x.setLabelsFont(QFont(FONT, 7 if len(labels) > 12 else 8))
    if angle and not horizontal:
        x.setLabelsAngle(angle)
    x.setTruncateLabels(False)  # "maria.keller", never "mar..."
    y = QValueAxis()
    # Whole, nice steps (0, 5, 10...), the HTML page's: never "2.3 interactions".
    high, step = (5.0, 1.0) if scores else fmt.nice_scale(top)
    y.setRange(0, high)
    y.setTickCount(round(high / step) + 1)
    y.setLabelFormat("%.0f")
    y.setLabelsFont(QFont(FONT, 8))
    if horizontal:  # one row per rep: names down the left, counts along the bottom
        chart.addAxis(x, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(y, Qt.AlignmentFlag.AlignBottom)
        x.setReverse(True)  # the first rep at the top, as in the tables
    else:
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    for s in series:
        s.attachAxis(x)  # type: ignore[attr-defined]
        s.attachAxis(y)  # type: ignore[attr-defined]


def _bar_set(name: str, colour: str, values: Sequence[float]) -> QBarSet:
    bars = QBarSet(name)
    bars.setColor(QColor(colour))
    bars.setBorderColor(QColor(colour))
    bars.append([float(v) for v in values])
    return bars


def many_reps(count: int) -> bool:
    """Past this many reps, per-rep charts lie on their side: a row per rep stays readable."""
    return count > MANY_REPS


def chart_height(report: DailyReport, name: str) -> int:
    """A chart's layout height: per-rep charts of a big team grow a row per rep."""
    per_rep = name == "promises" or report.days == 1
    if name == "satisfaction":
        count = len([r for r in report.reps if r.satisfaction is not None])
    else:
        count = len(report.reps)
    if per_rep and many_reps(count):
        return 70 + 16 * count
    return CHART_H


def _nice_top(values: Sequence[float]) -> float:
    return max([*values, 1.0])


def activity_chart(report: DailyReport) -> QChart:
    """Activity against goal: per day over a week, per rep for a single day."""
    if report.days > 1:
        chart = _chart("Interactions per day")
        labels = [d.day.strftime("%a %d") for d in report.activity_by_day]
        goals = [d.goal for d in report.activity_by_day]
        has_goal = any(g is not None for g in goals)
        # Against a goal, count only the kinds that have one (calls and visits, not notes).
        values = [d.toward_goal if has_goal else d.interactions for d in report.activity_by_day]
        bars = QBarSeries()
        bars.append(
            _bar_set(
                "interactions of kinds with a daily goal" if has_goal else "interactions",
                BLUE,
                values,
            )
        )
        chart.addSeries(bars)
        series: list[object] = [bars]
        if has_goal:
            chart.setTitle("Interactions per day against the daily goal")
            line = QLineSeries()
            line.setName("daily goal")
            pen = QPen(QColor(RED))
            pen.setWidthF(2)
            pen.setStyle(Qt.PenStyle.DashLine)
            line.setPen(pen)
            for n, g in enumerate(goals):
                if g is not None:  # no goal on a day off: the line stops there
                    line.append(QPointF(n, g))
            chart.addSeries(line)
            series.append(line)
        _axes(chart, series, labels, _nice_top([*values, *(g or 0 for g in goals)]))
        return chart
    reps = report.reps
    goal = [r.goal_total or 0 for r in reps]
    has_goal = any(goal)
    # Without goals there is nothing to count against: each rep's interactions, all kinds.
    chart = _chart("Interactions against goal, per rep" if has_goal else "Interactions per rep")
    labels = [report.display(r.rep) for r in reps]
    if has_goal:
        done = [sum(g.done for g in r.goals if g.goal) for r in reps]
    else:
        done = [r.interactions for r in reps]
    side = many_reps(len(reps))
    bars = QHorizontalBarSeries() if side else QBarSeries()
    bars.append(
        _bar_set("interactions of kinds with a goal" if has_goal else "interactions", BLUE, done)
    )
    if has_goal:
        bars.append(_bar_set("goal", "#c7d3e3", goal))
    chart.addSeries(bars)
    _axes(
        chart,
        [bars],
        labels,
        _nice_top([*done, *goal]),
        angle=-45 if len(reps) > 8 else 0,
        horizontal=side,
    )
    return chart


def promises_chart(report: DailyReport) -> QChart:
    chart = _chart("Promises due: kept, late and overdue, per rep")
    reps = report.reps
    side = many_reps(len(reps))
    series = QHorizontalStackedBarSeries() if side else QStackedBarSeries()
    series.append(_bar_set("kept", GREEN, [r.promises.kept for r in reps]))
    series.append(_bar_set("late", AMBER, [r.promises.late for r in reps]))
    series.append(_bar_set("overdue", RED, [r.promises.overdue for r in reps]))
    chart.addSeries(series)
    top = _nice_top([r.promises.due for r in reps])
    _axes(
        chart,
        [series],
        [report.display(r.rep) for r in reps],
        top,
        angle=-45 if len(reps) > 8 else 0,
        horizontal=side,
    )
    return chart


def satisfaction_chart(report: DailyReport) -> QChart | None:
    """Average satisfaction per day (a week) or per rep (a day); None with no scores."""
    if report.team.scored == 0:
        return None
    per = "per day" if report.days > 1 else "per rep"
    chart = _chart(f"Average satisfaction {per} (1 to 5)")
    if report.days > 1:
        points = {p.day: p.average for p in report.satisfaction_by_day}
        labels = [d.day.strftime("%a %d") for d in report.activity_by_day]
        values = [points.get(d.day, 0.0) for d in report.activity_by_day]
    else:
        scored = [r for r in report.reps if r.satisfaction is not None]
        labels = [report.display(r.rep) for r in scored]
        values = [r.satisfaction or 0.0 for r in scored]
    side = report.days == 1 and many_reps(len(labels))
    bars = QHorizontalBarSeries() if side else QBarSeries()
    bars.append(_bar_set("average", PURPLE, values))
    chart.addSeries(bars)
    chart.legend().setVisible(False)
    _axes(
        chart,
        [bars],
        labels,
        5.0,
        angle=-45 if len(labels) > 8 else 0,
        scores=True,
        horizontal=side,
    )
    return chart


def chart_image(chart: QChart, width: int, height: int) -> QImage:
    """Draw a chart offscreen into an image ``CHART_SCALE`` times its layout size."""
    scene = QGraphicsScene()
    scene.addItem(chart)
    chart.resize(QSizeF(width, height))
    scene.setSceneRect(QRectF(0, 0, width, height))
    image = QImage(width * CHART_SCALE, height * CHART_SCALE, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    scene.render(
        painter, QRectF(0, 0, width * CHART_SCALE, height * CHART_SCALE), scene.sceneRect()
    )
    painter.end()
    scene.removeItem(chart)
    return image


# --- pages ------------------------------------------------------------------------


def _tables(frame: QTextFrame) -> Iterator[QTextTable]:
    for child in frame.childFrames():
        if isinstance(child, QTextTable):
            yield child
        yield from _tables(child)


def _row_lines(doc: QTextDocument, table: QTextTable, row: int) -> tuple[float, float, float]:
    """A table row's top, the bottom of its first line and the bottom of its last line,
    in the document's coordinates (0s for a row with no text)."""
    layout = doc.documentLayout()
    top = first = bottom = None
    for column in range(table.columns()):
        cell = table.cellAt(row, column)
        block = cell.firstCursorPosition().block()
        last = cell.lastCursorPosition().block()
        while block.isValid():
            rect = layout.blockBoundingRect(block)
            lines = block.layout()
            for n in range(lines.lineCount()):
                line = lines.lineAt(n)
                y0 = rect.top() + line.y()
                y1 = y0 + line.height()
                top = y0 if top is None else min(top, y0)
                if n == 0 and block == cell.firstCursorPosition().block():
                    first = y1 if first is None else max(first, y1)
                bottom = y1 if bottom is None else max(bottom, y1)
            if block == last:
                break
            block = block.next()
    return top or 0.0, first or 0.0, bottom or 0.0


def _across(top: float, bottom: float, page_h: float) -> bool:
    return bottom > top and int(top // page_h) != int((bottom - 0.5) // page_h)


def rows_across_pages(doc: QTextDocument, page_h: float) -> list[list[str]]:
    """The table rows whose lines fall on two pages (their cells' first lines)."""
    split = []
    for table in _tables(doc.rootFrame()):
        for row in range(table.rows()):
            top, _first, bottom = _row_lines(doc, table, row)
            if _across(top, bottom, page_h):
                split.append(
                    [table.cellAt(row, c).firstCursorPosition().block().text()
                     for c in range(table.columns())]
                )  # fmt: skip
    return split


def keep_rows_together(doc: QTextDocument, page_h: float) -> None:
    """Never split a table row across two pages.

    Qt's layout moves a row to the next page only when its first line does not fit, so
    a row of two-line cells ("American Manufacturing Miller" / "Co.") could end one page
    and start the next. Here such a row gets just enough top padding (less than a line)
    that its first line no longer fits: Qt then moves the whole row. Row by row from the
    top, as each move shifts the rows after it."""
    for _ in range(1000):  # a bound never reached: each pass moves one row to a new page
        found = None
        for table in _tables(doc.rootFrame()):
            for row in range(table.rows()):
                top, first, bottom = _row_lines(doc, table, row)
                if _across(top, bottom, page_h) and bottom - top < page_h / 2:
                    found = table, row, (int(top // page_h) + 1) * page_h - first + 1
                    break
            if found:
                break
        if found is None:
            return
        table, row, push = found
        for column in range(table.columns()):
            cell = table.cellAt(row, column)
            cell_format = cell.format().toTableCellFormat()
            cell_format.setTopPadding(cell_format.topPadding() + push)
            cell.setFormat(cell_format)


def render_pdf(report: DailyReport, path: str | os.PathLike[str]) -> int:
    """Write the report to ``path`` (overwriting it) and return its number of pages."""
    ensure_app()
    tz = report_tz(report)
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION)
    writer.setTitle(f"{fmt.title(report)}, {report.period_text}")
    writer.setCreator("Touchpoint")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(16, 14, 16, 12),
            QPageLayout.Unit.Millimeter,
        )
    )
    area = writer.pageLayout().paintRectPixels(RESOLUTION)
    width = area.width()
    footer_h = int(RESOLUTION * 0.35)  # about 9 mm
    body_h = area.height() - footer_h

    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(writer)
    doc.setDefaultFont(QFont(FONT, 9))
    doc.setDocumentMargin(0)
    doc.setPageSize(QSizeF(width, body_h))
    doc.setDefaultStyleSheet(
        "h1 { font-size: 16pt; } h2 { font-size: 12pt; color: #1f3b5c; }"
        " h3 { font-size: 10pt; } th { font-weight: bold; }"
    )

    # Charts are laid out 720 px wide (a browser's idea of a page), then shown full width.
    layout_w = 720
    charts: dict[str, str] = {}
    # An empty chart tells a manager nothing: the tables say "nothing in this period".
    made = {
        "activity": activity_chart(report)
        if report.team.interactions or report.goals_set
        else None,
        "promises": promises_chart(report) if report.team.promises.due else None,
        "satisfaction": satisfaction_chart(report),
    }
    # QTextDocument sizes images in 96-dpi pixels whatever its paint device: scale to fit.
    shown_w = int(width * 96 / RESOLUTION)
    for name, chart in made.items():
        if chart is None:
            continue
        layout_h = chart_height(report, name)
        shown_h = int(shown_w * layout_h / layout_w)
        image = chart_image(chart, layout_w, layout_h)
        url = f"chart://{name}"
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
        charts[name] = f'<p><img src="{url}" width="{shown_w}" height="{shown_h}"></p>'

    doc.setHtml(report_body(report, charts=charts, charts_after=many_reps(len(report.reps))))
    keep_rows_together(doc, body_h)
    pages = doc.pageCount()

    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write the PDF to {path}")
    try:
        footer_font = QFont(FONT, 7)
        left_text = (
            f"Touchpoint · {fmt.title(report)} · {report.period_text} · "
            f"generated {fmt.generated(report, tz)} ({report.timezone})"
        )
        for page in range(pages):
            if page:
                writer.newPage()
            painter.save()
            painter.translate(0, -page * body_h)
            doc.drawContents(painter, QRectF(0, page * body_h, width, body_h))
            painter.restore()
            painter.setPen(QPen(QColor("#c8d1dc"), 2))
            line_y = body_h + footer_h * 0.3
            painter.drawLine(QPointF(0, line_y), QPointF(width, line_y))
            painter.setFont(footer_font)
            painter.setPen(QColor(MUTED))
            text_rect = QRectF(0, line_y, width, footer_h - footer_h * 0.3)
            painter.drawText(
                text_rect,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                left_text,
            )
            painter.drawText(
                text_rect,
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                f"page {page + 1} of {pages}",
            )
    finally:
        painter.end()
    return pages


def write_pdf(report: DailyReport, path: str | os.PathLike[str]) -> int:
    """Write the PDF atomically (a finished file or none) and return its page count."""
    from touchpoint.policy import check_export_format
    from touchpoint.services.activity_export import atomic_target

    check_export_format("pdf")
    with atomic_target(path) as temp:
        pages = render_pdf(report, temp)
        if not Path(temp).stat().st_size:
            raise OSError(f"Qt wrote an empty PDF for {path}")
    return pages
