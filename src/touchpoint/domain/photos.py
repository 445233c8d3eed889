"""A contact's picture: what Touchpoint accepts, and the form it is stored and synced in.

A picture is kept as ``{"type": "image/jpeg", "data": "<base64>"}`` in the contact's
``photo`` field (one field, so a sync merges type and bytes together), or as
``{"url": "https://..."}`` when a card only links to one: a link is kept as written
and never fetched. Only JPEG, PNG, GIF and WebP are accepted, told by their first
bytes (a card's TYPE is often wrong or missing).

Fields travel to the Hub as JSON, and the Hub's door takes at most 1,000,000 bytes
for one field (``sync.protocol.MAX_JSON_BYTES``): a picture of :data:`MAX_PHOTO_BYTES`
is 955,736 characters in base64, so it fits with room for its type.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from touchpoint.errors import ValidationError

MAX_PHOTO_BYTES = 700 * 1024
MAX_URL_LENGTH = 2000
# (first bytes, MIME type); WebP is RIFF....WEBP, checked on its own.
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def image_type(data: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, GIF or WebP picture by its first bytes, else None."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def size_text(n: int) -> str:
    """1234567 -> '1.2 MB', 51200 -> '50 KB': a size as people read it."""
    if n < 1024 * 1024:
        return f"{(n + 512) // 1024} KB"
    return f"{n / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class Photo:
    """A picture (``data`` and its ``mime`` type) or a link to one (``url``)."""

    mime: str | None = None
    data: bytes | None = None
    url: str | None = None

    def stored(self) -> dict[str, str]:
        """The field's value, as stored and synced."""
        if self.data is not None and self.mime:
            return {"type": self.mime, "data": base64.b64encode(self.data).decode("ascii")}
        return {"url": self.url or ""}


def picture(field: str, data: bytes) -> Photo:
    """A picture's bytes, checked: a known image type and at most MAX_PHOTO_BYTES."""
    mime = image_type(data)
    if mime is None:
        raise ValidationError(field, "is not a JPEG, PNG, GIF or WebP picture")
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationError(
            field,
            f"the picture is {size_text(len(data))}, larger than the "
            f"{size_text(MAX_PHOTO_BYTES)} Touchpoint keeps",
        )
    return Photo(mime=mime, data=data)


def link(field: str, url: str) -> Photo:
    """A link to a picture: http(s) only, kept as written, never fetched."""
    text = (url or "").strip()
    if not text.lower().startswith(("http://", "https://")) or any(c.isspace() for c in text):
        raise ValidationError(field, f"'{text[:60]}' is not a web address")
    if len(text) > MAX_URL_LENGTH:
        raise ValidationError(field, f"the link is longer than {MAX_URL_LENGTH} characters")
    return Photo(url=text)


def from_stored(value: Any) -> Photo | None:
    """The stored field read back; None when empty or not readable (nothing to show)."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("url"), str) and value["url"]:
        return Photo(url=value["url"])
    mime, data = value.get("type"), value.get("data")
    if mime not in TYPES or not isinstance(data, str):
        return None
    try:
        return Photo(mime=mime, data=base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None


def clean(field: str, value: Any) -> dict[str, str] | None:
    """A ``photo`` field as given (the stored form, or a Photo): checked again, whoever
    gives it (a file, the API), so that what is stored is always a picture or a link."""
    if value is None or value == {}:
        return None
    if isinstance(value, Photo):
        given = value
    elif isinstance(value, dict) and "url" in value:
        given = Photo(url=str(value["url"]))
    elif isinstance(value, dict) and isinstance(value.get("data"), str):
        try:
            data = base64.b64decode(value["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(field, "the picture is not valid base64") from None
        given = Photo(mime=str(value.get("type") or ""), data=data)
    else:
        raise ValidationError(field, 'expected {"type": ..., "data": base64} or {"url": ...}')
    if given.data is not None:
        return picture(field, given.data).stored()
    return link(field, given.url or "").stored()
