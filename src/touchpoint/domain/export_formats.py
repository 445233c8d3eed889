"""The file formats Touchpoint exports, by the names people and policy files use."""

from __future__ import annotations

EXPORT_FORMATS = ("csv", "xlsx", "json", "pdf", "html", "vcf", "ics")
# Other names for them, as a policy file or a command line may spell them.
FORMAT_NAMES = {"vcard": "vcf", "ical": "ics", "icalendar": "ics", "excel": "xlsx"}


def canonical_format(name: str) -> str:
    """``name`` as :data:`EXPORT_FORMATS` spells it ("Excel" -> "xlsx", ".VCF" -> "vcf");
    an unknown name comes back cleaned but otherwise as given."""
    clean = name.strip().lower().lstrip(".")
    return FORMAT_NAMES.get(clean, clean)
