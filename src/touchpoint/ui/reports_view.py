"""Reports: activity against goal, promises kept, satisfaction and who is going quiet.

The page shows the figures of :func:`touchpoint.services.reports.daily_report` for the
chosen reps and days, so they are the exported report's figures exactly. Exports run
in the background with a progress bar and a cancel button; the PDF is drawn here, on
the UI thread, because QtCharts needs it.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QDate, QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.errors import Cancelled
from touchpoint.policy import allowed_export_formats
from touchpoint.reports import format as fmt
from touchpoint.reports.html import report_tz
from touchpoint.services import goals, reports
from touchpoint.storage.workspace import Changes, Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.theme import style_chart

WATCHED = ("interaction", "followup", "customer")
CUSTOMER_ROLE = Qt.ItemDataRole.UserRole + 1
ALL = ("all", "")


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _bars(name: str, colour: str, values: list[float]) -> QBarSet:
    bars = QBarSet(name)
    bars.setColor(QColor(colour))
    bars.setBorderColor(QColor(colour))
    bars.append([float(v) for v in values])
    return bars


def _axes(chart: QChart, series: list[Any], labels: list[str], top: float) -> None:
    x = QBarCategoryAxis()
    x.append(labels)
    font = x.labelsFont()
    font.setPointSizeF(font.pointSizeF() * 0.85)  # day labels fit under narrow bars
    x.setLabelsFont(font)
    y = QValueAxis()
    y.setRange(0, max(top, 1.0))
    y.applyNiceNumbers()
    y.setLabelFormat("%.0f")
    chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    for s in series:
        s.attachAxis(x)
        s.attachAxis(y)
    style_chart(chart)


class ReportsView(QWidget):
    open_customer = Signal(str)
    loaded = Signal()
    exported = Signal(str)  # the path written

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.report: reports.DailyReport | None = None
        self._book: goals.GoalBook | None = None
        self._stale = True
        self._choices_loaded = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Reports")
        heading.setObjectName("PageTitle")
        layout.addWidget(heading)

        filters = QHBoxLayout()
        self.who = QComboBox(self)
        self.who.setAccessibleName("Reps")
        self.who.setMinimumContentsLength(24)
        self.first = QDateEdit(self)
        self.last = QDateEdit(self)
        for edit, name in ((self.first, "From"), (self.last, "To")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
        self.refresh_button = QPushButton("Show", self)
        self.refresh_button.clicked.connect(self.refresh)
        for label, widget in (("Who", self.who), ("From", self.first), ("To", self.last)):
            filters.addWidget(QLabel(label))
            filters.addWidget(widget)
        filters.addWidget(self.refresh_button)
        filters.addStretch(1)
        layout.addLayout(filters)

        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)

        charts = QGridLayout()
        self.activity_chart = self._chart_view("Activity per day against goal")
        self.promises_chart = self._chart_view("Promises due per day")
        self.satisfaction_chart = self._chart_view("Satisfaction per day")
        charts.addWidget(self.activity_chart, 0, 0)
        charts.addWidget(self.promises_chart, 0, 1)
        charts.addWidget(self.satisfaction_chart, 0, 2)
        layout.addLayout(charts, 2)

        quiet_title = QLabel("Customers going quiet")
        quiet_title.setObjectName("CardTitle")
        layout.addWidget(quiet_title)
        self.quiet = QTableWidget(0, 5, self)
        self.quiet.setTabKeyNavigation(False)  # Tab leaves the table
        self.quiet.setAccessibleName("Customers going quiet")
        self.quiet.setHorizontalHeaderLabels(["Customer", "Owner", "Last touch", "Score", "Why"])
        self.quiet.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.quiet.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.quiet.verticalHeader().setVisible(False)
        self.quiet.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.quiet.itemActivated.connect(self._activated)
        layout.addWidget(self.quiet, 2)

        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text in (
            ("pdf", "Report as PDF…"),
            ("xlsx", "Report as Excel…"),
            ("html", "Report as HTML…"),
            ("activity-csv", "Activity as CSV…"),
            ("activity-xlsx", "Activity as Excel…"),
        ):
            if not allowed_export_formats([key.rsplit("-", 1)[-1]], backend.ws.policy):
                continue  # the machine policy does not allow this format
            button = QPushButton(text, self)
            button.clicked.connect(lambda _=False, k=key: self._ask_and_export(k))
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addStretch(1)
        self.status = QLabel("", self)
        self.status.setObjectName("Muted")
        buttons.addWidget(self.status)
        layout.addLayout(buttons)

        backend.changes_applied.connect(self._on_changes)
        self._set_exporting(False)

    # --- loading ---------------------------------------------------------------------
    def _chart_view(self, title: str) -> QChartView:
        chart = QChart()
        chart.setTitle(title)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        style_chart(chart)
        view = QChartView(chart, self)
        view.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.setMinimumHeight(220)
        view.setAccessibleName(title)
        return view

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "satisfaction_chart"):
            # The theme changed (Settings): the charts take the new palette, then their
            # figures again (a chart theme sets its series' colours).
            for view in (self.activity_chart, self.promises_chart, self.satisfaction_chart):
                style_chart(self._reset(view))
            if self.report is not None:
                self._show(self.report)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.load()

    def load(self) -> None:
        """Fill the rep and team choices (once), then show the figures."""
        if self._choices_loaded:
            self.refresh()
            return

        def choices(ws: Workspace) -> tuple[goals.GoalBook, dict[str, str], date]:
            book = goals.load_goals(ws)
            people = sorted(goals.reps_in_data(ws) | book.known_reps())
            return book, goals.display_names(ws, book, people), reports.report_period(ws)[0]

        self._backend.query(choices).success(self._fill_choices).run()

    def _fill_choices(self, result: tuple[goals.GoalBook, dict[str, str], date]) -> None:
        book, people, yesterday = result
        self._book = book
        self.who.clear()
        self.who.addItem("All reps", ALL)
        for name in sorted(book.teams):
            self.who.addItem(f"Team {name}", ("team", name))
        for rep, name in people.items():  # shown by name, chosen by email
            self.who.addItem(name if name == rep else f"{name} ({rep})", ("rep", rep))
        self.last.setDate(_qdate(yesterday))
        self.first.setDate(_qdate(yesterday - timedelta(days=6)))
        self._choices_loaded = True
        self.refresh()

    def refresh(self) -> None:
        first, last = _pydate(self.first.date()), _pydate(self.last.date())
        kind, value = self.who.currentData() or ALL
        if first > last:
            self.summary.setText(f"“From” ({first}) is after “To” ({last}).")
            return
        self._stale = False

        def compute(ws: Workspace) -> reports.DailyReport:
            reps = goals.resolve_reps(
                ws, rep=value if kind == "rep" else None, team=value if kind == "team" else None
            )
            scope = f"team {value}" if kind == "team" else (value or "all reps")
            return reports.daily_report(ws, first, last, reps=reps, scope=scope)

        self._backend.query(compute).success(self._show).run()

    def _on_changes(self, changes: Changes, _initiator: object) -> None:
        if any(changes.touches(e) for e in WATCHED):
            self._stale = True
            if self.isVisible():
                self.refresh()

    # --- showing -----------------------------------------------------------------------
    def _show(self, report: reports.DailyReport) -> None:
        self.report = report
        team = report.team
        goal = team.goal_total
        against = (
            f"{fmt.percent(100 * sum(g.done for g in team.goals if g.goal) / goal)} of goal"
            if goal
            else "no goals set"
        )
        self.summary.setText(
            f"<b>{team.interactions}</b> interactions ({against}) · promise-keeping "
            f"<b>{fmt.rate(team.promises)}</b> ({team.promises.kept} kept, "
            f"{team.promises.late} late, {team.promises.overdue} overdue) · satisfaction "
            f"<b>{fmt.score(team.satisfaction)}</b> (change {fmt.change(team.satisfaction_change)})"
            f" · <b>{report.quiet_total}</b> going quiet · {report.hygiene.incomplete} of "
            f"{report.hygiene.checked} profiles incomplete"
        )
        # "Tu" over "17" for a week of bars in a third of the window (on one line they
        # were cut to "Tu …"); past ten days only the day of the month fits.
        days = report.activity_by_day
        labels = [
            f"{d.day.strftime('%a')[:2]}<br>{d.day.day}" if len(days) <= 10 else str(d.day.day)
            for d in days
        ]
        self._activity(labels, report)
        self._promises(labels, report)
        self._satisfaction(labels, report)
        self._quiet(report)
        self.loaded.emit()

    def _reset(self, view: QChartView) -> QChart:
        chart = view.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        return chart

    def _activity(self, labels: list[str], report: reports.DailyReport) -> None:
        chart = self._reset(self.activity_chart)
        days = report.activity_by_day
        has_goal = any(d.goal is not None for d in days)
        values = [d.toward_goal if has_goal else d.interactions for d in days]
        bars = QBarSeries()
        bars.append(_bars("toward goal" if has_goal else "interactions", "#3b6ea8", values))
        chart.addSeries(bars)
        series: list[Any] = [bars]
        top = max(values, default=0)
        if has_goal:
            line = QLineSeries()
            line.setName("goal")
            pen = QPen(QColor("#b3261e"))
            pen.setWidthF(2)
            pen.setStyle(Qt.PenStyle.DashLine)
            line.setPen(pen)
            for n, d in enumerate(days):
                if d.goal is not None:  # no goal on a day off: the line stops there
                    line.append(QPointF(n, d.goal))
                    top = max(top, d.goal)
            chart.addSeries(line)
            series.append(line)
        _axes(chart, series, labels, top * 1.1)

    def _promises(self, labels: list[str], report: reports.DailyReport) -> None:
        chart = self._reset(self.promises_chart)
        per_day = [report.promises_by_day.get(d.day) for d in report.activity_by_day]
        series = QStackedBarSeries()
        series.append(_bars("kept", "#1b7f3b", [p.kept if p else 0 for p in per_day]))
        series.append(_bars("late", "#d99a21", [p.late if p else 0 for p in per_day]))
        series.append(_bars("overdue", "#b3261e", [p.overdue if p else 0 for p in per_day]))
        chart.addSeries(series)
        _axes(chart, [series], labels, max((p.due for p in per_day if p), default=0) * 1.1)

    def _satisfaction(self, labels: list[str], report: reports.DailyReport) -> None:
        chart = self._reset(self.satisfaction_chart)
        points = {p.day: p.average for p in report.satisfaction_by_day}
        line = QLineSeries()
        line.setName("average")
        line.setPointsVisible(True)
        for n, d in enumerate(report.activity_by_day):
            if d.day in points:
                line.append(QPointF(n, points[d.day]))
        chart.addSeries(line)
        chart.legend().setVisible(False)
        _axes(chart, [line], labels, 5.0)

    def _quiet(self, report: reports.DailyReport) -> None:
        tz = report_tz(report)
        self.quiet.setRowCount(len(report.quiet))
        for row, q in enumerate(report.quiet):
            cells = [
                q.name,
                report.display(q.owner),
                fmt.local_day(q.last_touch, tz) or "never",
                fmt.score(q.satisfaction),
                q.reason,
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(CUSTOMER_ROLE, q.customer_id)
                self.quiet.setItem(row, col, item)
        if report.quiet_more:  # a cut list says how many more there are
            self.quiet.setRowCount(len(report.quiet) + 1)
            self.quiet.setItem(len(report.quiet), 0, QTableWidgetItem(fmt.more(report.quiet_more)))
        self.quiet.resizeColumnsToContents()

    def _activated(self, item: QTableWidgetItem) -> None:
        customer_id = item.data(CUSTOMER_ROLE)
        if customer_id:
            self.open_customer.emit(customer_id)

    # --- exporting -----------------------------------------------------------------------
    def _ask_and_export(self, key: str) -> None:
        suffix = key.rsplit("-", maxsplit=1)[-1]
        path, _ = QFileDialog.getSaveFileName(
            self, "Export", f"touchpoint-{key}.{suffix}", f"*.{suffix}"
        )
        if path:
            self.export(key, Path(path))

    def _set_exporting(self, busy: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(not busy)

    def export(self, key: str, path: Path) -> None:
        """Write the shown report (pdf, xlsx, html) or the shown range's activity
        (activity-csv, activity-xlsx) to ``path``."""
        report = self.report
        if report is None:
            return
        if key == "pdf":
            # QtCharts draws on the UI thread; the figures were computed in the background.
            from touchpoint.reports.pdf import write_pdf

            try:
                pages = write_pdf(report, path)
            except Exception as exc:
                self.status.setText(f"The PDF was not written: {getattr(exc, 'message', exc)}")
                return
            self._done(path, f"{pages} pages")
            return
        self._set_exporting(True)
        if key in ("xlsx", "html"):

            def write(ws: Workspace, progress: Any) -> str:
                if key == "xlsx":
                    from touchpoint.reports.xlsx import write_workbook

                    write_workbook(report, path)
                else:
                    from touchpoint.reports.html import write_html

                    write_html(report, str(path))
                return "the report"

            label = "Writing the report…"
        else:
            from touchpoint.services import activity_export

            scope = activity_export.ExportScope(
                first=report.first,
                last=report.last,
                reps=None if report.scope == "all reps" else tuple(r.rep for r in report.reps),
                label=report.scope,
            )

            def write(ws: Workspace, progress: Any) -> str | None:
                try:
                    result = activity_export.export_activity(
                        ws, scope, path, key.split("-")[1], progress=progress
                    )
                except Cancelled:
                    return None  # the file was never made; say so below
                return f"{result.rows} interactions"

            label = "Exporting activity…"
        (
            self._backend.query(write)
            .with_progress(label, self)
            .success(lambda what: self._done(path, what))
            .failure(self._failed)
            .run()
        )

    def _done(self, path: Path, what: str | None) -> None:
        self._set_exporting(False)
        if what is None:
            self.status.setText("Export cancelled; nothing was written")
            return
        self.status.setText(f"Wrote {what} to {path}")
        self.exported.emit(str(path))

    def _failed(self, exc: Exception) -> None:
        self._set_exporting(False)
        self.status.setText(f"Nothing was written: {getattr(exc, 'message', exc)}")
