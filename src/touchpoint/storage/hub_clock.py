"""Where an edit stands in the Hub's time, measured when it is made.

The Hub orders concurrent edits by when they were made. A laptop's wall clock may be
wrong, and may be corrected between an edit and the sync that sends it, so the offset
measured at sync time does not fit an edit made before. At each hello the sync engine
notes the Hub's time with a reading of a clock that no one sets (Linux's boot time
clock, which also runs while the laptop sleeps) and the boot it belongs to. An edit
then stands at: the Hub's time at that hello + the boot clock's advance since, in the
same boot; else its wall-clock time + the offset last measured; else unknown (the Hub
falls back to the offset it measures at push time). Each change also notes the last
Hub sequence this laptop had pulled (``base_seq``): what its author had seen.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from touchpoint.storage.types import from_utc_text, to_utc_text

CLOCK_KEY = "hub_clock"  # JSON: server time, boot clock reading, boot id, offset
CURSOR_KEY = "sync_cursor"


def boot_reading() -> tuple[str | None, float | None]:
    """(this boot's id, seconds on a clock that runs from boot, sleep included), or
    (None, None) where there is no such clock."""
    if not sys.platform.startswith("linux"):
        return None, None
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return boot, time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, AttributeError):
        return None, None


def reference(server_time: datetime, offset_ms: int, *, sent: float | None = None) -> str:
    """The meta value the sync engine keeps after a hello. ``sent``: the boot clock when
    the hello was sent; the Hub's time is then set against the middle of the exchange."""
    boot, reading = boot_reading()
    if reading is not None and sent is not None and 0 <= reading - sent < 60:
        reading = (reading + sent) / 2
    return json.dumps(
        {"server": to_utc_text(server_time), "boot": boot, "at": reading, "offset_ms": offset_ms}
    )


def hub_time(meta_value: str | None, wall_now: datetime) -> datetime | None:
    """The Hub's time now, from the last hello's reference (see the module)."""
    if not meta_value:
        return None
    try:
        ref: dict[str, Any] = json.loads(meta_value)
        boot, reading = boot_reading()
        if boot is not None and boot == ref.get("boot") and reading is not None:
            elapsed = reading - float(ref["at"])
            if elapsed >= 0:
                return from_utc_text(ref["server"]) + timedelta(seconds=elapsed)
        return wall_now + timedelta(milliseconds=int(ref["offset_ms"]))
    except (ValueError, KeyError, TypeError):
        return None
