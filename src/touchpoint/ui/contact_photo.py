"""A contact's picture as a small round thumbnail, or their initials in a circle.

The picture is scaled here, with Qt, to the size it is shown at (never stored scaled):
cropped to a square from its middle, smoothed, clipped to a circle. A contact with no
picture, one whose bytes Qt cannot read, or one that is only a link (never fetched)
gets the placeholder: the initials of their name on a colour chosen by the name, so a
person keeps their colour from one screen to the next.
"""

from __future__ import annotations

import functools
import hashlib

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QImageReader, QPainter, QPainterPath, QPixmap

from touchpoint.domain.photos import Photo

# Colours for the initials: dark enough for white letters on either theme.
PLACEHOLDER_COLOURS = ("#1f6feb", "#2e7d32", "#8e44ad", "#c0392b", "#b9770e", "#117a8b", "#5b6b7f")


def initials(name: str) -> str:
    """'Jana Novak' -> 'JN', 'Mr. John Doe Sr.' -> 'JD', 'acme' -> 'A'."""
    words = [w for w in name.replace(",", " ").split() if w[:1].isalnum()]
    words = [
        w for w in words if w.rstrip(".").casefold() not in {"mr", "mrs", "ms", "dr", "sr", "jr"}
    ]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][0].upper()
    return (words[0][0] + words[-1][0]).upper()


def _colour(name: str) -> QColor:
    digest = hashlib.blake2s(name.casefold().encode("utf-8"), digest_size=2).digest()
    return QColor(PLACEHOLDER_COLOURS[int.from_bytes(digest) % len(PLACEHOLDER_COLOURS)])


def _circle(size: int, ratio: float) -> tuple[QPixmap, QPainter, QPainterPath]:
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    path = QPainterPath()
    path.addEllipse(QRectF(0, 0, size, size))
    return pixmap, painter, path


@functools.lru_cache(maxsize=256)
def square_image(data: bytes, pixels: int) -> QImage | None:
    """The middle square of a picture, ``pixels`` wide, or None when Qt cannot read it.

    Read through QImageReader with the square and the size asked for, so a large JPEG
    is decoded at the size shown, not whole; kept, since the profile shows the same
    people again at every refresh."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)  # a phone's picture taken sideways, upright
    size = reader.size()
    if size.isValid() and not reader.transformation():
        side = min(size.width(), size.height())
        reader.setClipRect(
            QRect((size.width() - side) // 2, (size.height() - side) // 2, side, side)
        )
        reader.setScaledSize(QSize(pixels, pixels))
        image = reader.read()
    else:  # a size read only when decoding, or turned: crop and scale after reading
        image = reader.read()
        if not image.isNull():
            side = min(image.width(), image.height())
            image = image.copy(
                (image.width() - side) // 2, (image.height() - side) // 2, side, side
            )
    if image.isNull():
        return None
    if image.width() != pixels or image.height() != pixels:
        image = image.scaled(
            pixels,
            pixels,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return image


def thumbnail(photo: Photo | None, name: str, size: int = 40, ratio: float = 1.0) -> QPixmap:
    """A round ``size`` x ``size`` (logical pixels) picture of the person, or initials."""
    pixels = round(size * ratio)
    image = square_image(photo.data, pixels) if photo is not None and photo.data else None
    pixmap, painter, path = _circle(size, ratio)
    if image is not None:
        painter.setClipPath(path)
        painter.drawImage(QRectF(0, 0, size, size), image)
    else:
        painter.fillPath(path, _colour(name))
        font = QFont(painter.font())
        font.setPixelSize(max(8, int(size * 0.4)))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, initials(name))
    painter.end()
    return pixmap


def picture_text(photo: Photo | None) -> str:
    """What a screen reader and the tooltip say about the picture."""
    if photo is None:
        return "No picture"
    if photo.url:
        return f"Picture linked at {photo.url} (not fetched)"
    return "Picture"
