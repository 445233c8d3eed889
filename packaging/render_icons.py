"""Renders resources/touchpoint.svg into the icon files installers need.

    .venv/bin/python packaging/render_icons.py OUT_DIR [--ico] [--icns]

Writes OUT_DIR/hicolor/SIZExSIZE/apps/touchpoint.png for the Linux icon theme, and with
--ico a Windows touchpoint.ico, with --icns a macOS touchpoint.icns. Qt draws the SVG
(offscreen), so no other image tool is needed.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SOURCE = Path(__file__).resolve().parents[1] / "resources" / "touchpoint.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# macOS icon types by pixel size (PNG payloads).
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}


def render(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def write_ico(path: Path, pngs: dict[int, bytes]) -> None:
    """A Windows .ico holding PNG images (Vista and later read them)."""
    sizes = [s for s in (16, 24, 32, 48, 64, 128, 256) if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    path.write_bytes(header + entries + blobs)


def write_icns(path: Path, pngs: dict[int, bytes]) -> None:
    chunks = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
        for size, kind in ICNS_TYPES.items()
    )
    path.write_bytes(b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks)


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        print(f"error: {SOURCE} is not a valid SVG", file=sys.stderr)
        return 1
    pngs = {size: render(renderer, size) for size in SIZES}
    for size, blob in pngs.items():
        target = out / "hicolor" / f"{size}x{size}" / "apps" / "touchpoint.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    if "--ico" in argv:
        write_ico(out / "touchpoint.ico", pngs)
    if "--icns" in argv:
        write_icns(out / "touchpoint.icns", pngs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
