"""Importing customers and their people from CSV files and vCards.

A CSV from another CRM or a spreadsheet is read in whatever encoding and delimiter
it came in, its columns are mapped by header (or by a mapping file), every row is
cleaned by the same rules as a form (:mod:`services.validation`), matched with the
records here and checked for duplicates, and then everything is written in ONE
transaction: all of it or nothing.

The rule for a file from elsewhere (typing in the app stays strict): nobody is lost
for one bad value. An email or phone that fails its check is kept as written and
marked ``"unverified": True`` in its entry, for the user to fix; any other value
that fails, and every column or vCard property that is no field here, is kept in
the record's notes as "Name: value". Only a row that names no company or person
(or a record deleted here) is skipped. The report names each such row by its
number (as a spreadsheet numbers them: the header is row 1; a vCard: its position)
and by the person or company it names, says where every column went, and counts
what was created, updated, unchanged and skipped.

Rows without ids are matched with what is here (see :class:`.matching._Known`): importing a
file twice updates, it does not duplicate. The lookups are batched: no query per row.

The modules, each building on those before it: reports, decoding, mapping, matching,
cleaning, planning, duplicates, writing, then csv_import and vcard_import.
"""

from __future__ import annotations

from touchpoint.services.importing.csv_import import (
    CsvPreview,
    csv_mapping,
    custom_field_key,
    import_customers_csv,
    preview_csv,
)
from touchpoint.services.importing.mapping import (
    FIELDS,
    NOTES_TARGET,
    guess_field,
    mapping_problems,
)
from touchpoint.services.importing.reports import ImportReport
from touchpoint.services.importing.vcard_import import import_vcard

__all__ = [
    "FIELDS",
    "NOTES_TARGET",
    "CsvPreview",
    "ImportReport",
    "csv_mapping",
    "custom_field_key",
    "guess_field",
    "import_customers_csv",
    "import_vcard",
    "mapping_problems",
    "preview_csv",
]
