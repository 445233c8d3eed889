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
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QWidget

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
""" % {"warn": WARN}  # noqa: UP031 - the style sheet has literal braces


def apply_theme(app: QApplication, theme: str = "system") -> None:
    """Fusion everywhere (the same look on every OS) with a light or dark palette."""
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if is_dark(theme) else _light_palette())
    app.setStyleSheet(STYLE)


def visible_check_boxes(view: QWidget) -> None:
    """Fusion outlines a check box in the window colour made darker, which vanishes on
    the dark palette's base: a lighter window colour for this view alone shows the box
    (the view's background is the base colour, unchanged)."""
    palette = view.palette()
    if palette.color(QPalette.ColorRole.Base).lightness() < 128:
        palette.setColor(QPalette.ColorRole.Window, QColor("#b4bcc8"))
        view.setPalette(palette)
