"""The local files a drag carries: what the window and the profile accept as a drop.

Kept apart from ``email_drop`` (which brings the email services and the database
layer) so the window can accept drops without loading them before its first paint.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData


def dropped_files(mime: QMimeData) -> list[Path]:
    """The local files a drag carries (links to web pages are no files: left out)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
