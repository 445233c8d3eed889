"""A small satisfaction trend chart (QtCharts): scores 1-5 over time."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCharts import (
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QScatterSeries,
    QValueAxis,
)
from PySide6.QtCore import QDateTime, QMargins, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from touchpoint.ui.theme import ACCENT, style_chart


class SatisfactionChart(QChartView):
    def __init__(self, parent: QWidget | None = None) -> None:
        chart = QChart()
        style_chart(chart)
        chart.legend().hide()
        chart.setBackgroundVisible(False)
        chart.setMargins(QMargins(0, 0, 0, 0))
        chart.layout().setContentsMargins(0, 0, 0, 0)
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(110)
        self.setAccessibleName("Satisfaction trend")
        self._line = QLineSeries()
        pen = QPen(QColor(ACCENT))
        pen.setWidth(2)
        self._line.setPen(pen)
        self._dots = QScatterSeries()
        self._dots.setMarkerSize(6)
        self._dots.setColor(QColor(ACCENT))
        self._dots.setBorderColor(QColor(ACCENT))
        chart.addSeries(self._line)
        chart.addSeries(self._dots)
        self._x = QDateTimeAxis()
        self._x.setFormat("d MMM")
        self._x.setTickCount(3)
        self._y = QValueAxis()
        self._y.setRange(0.5, 5.5)
        self._y.setTickCount(5)
        self._y.setLabelFormat("%d")
        self._y.setTickInterval(1)
        self._y.setTickType(QValueAxis.TickType.TicksDynamic)
        self._y.setTickAnchor(1)
        for axis, side in (
            (self._x, Qt.AlignmentFlag.AlignBottom),
            (self._y, Qt.AlignmentFlag.AlignLeft),
        ):
            font = axis.labelsFont()
            font.setPointSizeF(max(font.pointSizeF() - 2, 7))
            axis.setLabelsFont(font)
            axis.setGridLineColor(QColor(128, 128, 128, 50))
            axis.setLabelsColor(self.palette().text().color())
            chart.addAxis(axis, side)
            self._line.attachAxis(axis)
            self._dots.attachAxis(axis)
        self.points: list[tuple[datetime, int]] = []

    def set_points(self, points: list[tuple[datetime, int]]) -> None:
        """Scores oldest first."""
        self.points = list(points)
        xs = [QDateTime.fromSecsSinceEpoch(int(when.timestamp())) for when, _ in points]
        self._line.clear()
        self._dots.clear()
        for x, (_, score) in zip(xs, points, strict=True):
            self._line.append(float(x.toMSecsSinceEpoch()), float(score))
            self._dots.append(float(x.toMSecsSinceEpoch()), float(score))
        if xs:
            first, last = xs[0], xs[-1]
            if first == last:
                first, last = first.addDays(-15), last.addDays(15)
            self._x.setRange(first, last)
