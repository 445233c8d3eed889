"""Light, dark or the system's look, through a palette on the Fusion style; SVG icons.

Icons load from ``touchpoint/ui/resources`` beside this module: a source checkout, an
installed wheel and the PyInstaller bundle all keep them there (importlib.resources
would find them too, but loading it costs the start a few milliseconds). SVG stays
sharp at any DPI.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QGraphicsObject, QWidget

THEMES = ("system", "light", "dark")

# Shared accents: readable on both palettes.
ACCENT = "#1f6feb"
WARN = "#c0392b"
OK = "#2e7d32"
MUTED = "#7a8699"


RESOURCES = Path(__file__).resolve().with_name("resources")


def _resource(*parts: str) -> str:
    return str(RESOURCES.joinpath(*parts))


ICON_STROKE = "#5b6b7f"


@cache
def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/<name>.svg``; white when checked or selected."""
    path = _resource("icons", f"{name}.svg")
    result = QIcon(path)
    try:
        with open(path, encoding="utf-8") as f:
            light = f.read().replace(ICON_STROKE, "#ffffff").encode()
    except OSError:
        return result
    renderer = QSvgRenderer(QByteArray(light))
    for size in (16, 24, 32, 48, 64):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap, QIcon.Mode.Normal, QIcon.State.On)
        result.addPixmap(pixmap, QIcon.Mode.Selected, QIcon.State.Off)
    return result


@cache
def app_icon() -> QIcon:
    return QIcon(_resource("app.svg"))


def is_dark(theme: str) -> bool:
    if theme == "dark":
        return True
    if theme == "light":
        return False
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def _dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor("#1e2329"), QColor("#161a1f"), QColor("#e6e9ee")
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#1b2026"))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor("#2b323b"))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8893a2"))
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor("#262c34"))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor("#ff6b6b"))
    p.setColor(QPalette.ColorRole.Link, QColor("#58a6ff"))
    p.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.Mid, QColor("#3a424d"))
    p.setColor(QPalette.ColorRole.Midlight, QColor("#2f3640"))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7480"))
    return p


def _light_palette() -> QPalette:
    p = QPalette()
    p.setColor(QPalette.ColorRole.Window, QColor("#f5f6f8"))
    p.setColor(QPalette.ColorRole.WindowText, QColor("#1d2430"))
    p.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#f7f8fa"))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor("#fffbe6"))
    p.setColor(QPalette.ColorRole.ToolTipText, QColor("#1d2430"))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8a94a3"))
    p.setColor(QPalette.ColorRole.Text, QColor("#1d2430"))
    p.setColor(QPalette.ColorRole.Button, QColor("#eef0f3"))
    p.setColor(QPalette.ColorRole.ButtonText, QColor("#1d2430"))
    p.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    p.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.Mid, QColor("#c9ced6"))
    p.setColor(QPalette.ColorRole.Midlight, QColor("#e3e6eb"))
    return p


STYLE = """
#NavRail { background: palette(base); border-right: 1px solid palette(mid); }
#NavRail QToolButton { border: none; border-radius: 8px; padding: 6px 2px; min-width: 72px; }
#NavRail QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); }
#NavRail QToolButton:hover:!checked { background: palette(midlight); }
QFrame#Card { background: palette(base); border: 1px solid palette(midlight); border-radius: 8px; }
QLabel#CardTitle { font-weight: 600; }
QLabel#PageTitle { font-size: 18pt; font-weight: 600; }
QLabel#Muted { color: palette(placeholder-text); }
QLabel#FieldError { color: %(warn)s; }
QLabel#Warning { color: %(warn)s; }
QLabel#BigWarning { color: %(warn)s; font-size: 13pt; font-weight: 600; }
QLabel#BigNumber { font-size: 16pt; font-weight: 600; }
QListWidget::item { padding: 3px 2px; }
QLineEdit#GlobalSearch { padding: 5px 8px; border-radius: 6px; }
QProgressBar { background: palette(mid); border: none; border-radius: 3px; }
QProgressBar::chunk { background: palette(highlight); border-radius: 3px; }
""" % {"warn": WARN}  # noqa: UP031 - the style sheet has literal braces

# Fusion outlines a check box in the window colour made darker, which vanishes on the dark
# palette: an outline and a filled, ticked box of our own there.
DARK_STYLE = """
QCheckBox::indicator, QGroupBox::indicator {
    width: 14px; height: 14px; border: 1px solid #8893a2; border-radius: 3px;
    background: #161a1f;
}
QCheckBox::indicator:checked, QGroupBox::indicator:checked {
    background: %(accent)s; border-color: %(accent)s; image: url(%(check)s);
}
QCheckBox::indicator:disabled { border-color: #4a525d; }
QCheckBox::indicator:checked:disabled { background: #3a424d; border-color: #3a424d; }
"""


def apply_theme(app: QApplication, theme: str = "system") -> None:
    """Fusion everywhere (the same look on every OS) with a light or dark palette."""
    app.setStyle("Fusion")
    dark = is_dark(theme)
    app.setPalette(_dark_palette() if dark else _light_palette())
    check = Path(_resource("icons", "check.svg")).as_posix()
    app.setStyleSheet(STYLE + (DARK_STYLE % {"accent": ACCENT, "check": check} if dark else ""))


def style_chart(chart: QGraphicsObject) -> None:
    """A chart in the window's colours: QtCharts' dark theme on the dark palette (not a
    white panel), the panel in the base colour, text and grid from the palette. Call it
    before adding series (the chart theme sets their colours) and again after axes."""
    from PySide6.QtCharts import QChart

    palette = QApplication.palette()
    text = palette.color(QPalette.ColorRole.Text)
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    assert isinstance(chart, QChart)
    if not chart.series():
        chart.setTheme(
            QChart.ChartTheme.ChartThemeDark if dark else QChart.ChartTheme.ChartThemeLight
        )
    chart.setBackgroundBrush(palette.color(QPalette.ColorRole.Base))
    chart.setBackgroundPen(QPen(palette.color(QPalette.ColorRole.Midlight)))
    chart.setTitleBrush(text)
    chart.legend().setLabelColor(text)
    grid = palette.color(QPalette.ColorRole.Mid)
    for axis in chart.axes():
        axis.setLabelsColor(text)
        axis.setTitleBrush(text)
        axis.setLinePenColor(grid)
        axis.setGridLineColor(grid)


def visible_check_boxes(view: QWidget) -> None:
    """Fusion outlines a check box in the window colour made darker, which vanishes on
    the dark palette's base: a lighter window colour for this view alone shows the box
    (the view's background is the base colour, unchanged)."""
    palette = view.palette()
    if palette.color(QPalette.ColorRole.Base).lightness() < 128:
        palette.setColor(QPalette.ColorRole.Window, QColor("#b4bcc8"))
        view.setPalette(palette)
