"""Which field each column goes to: synonyms, vendor layouts, mapping files, kept mappings."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.domain.enums import CustomFieldType
from touchpoint.errors import ValidationError
from touchpoint.services.exporting import parse_custom_header
from touchpoint.services.import_layouts import Layout, columns_of
from touchpoint.services.importing.reports import ColumnUse
from touchpoint.services.validation import (
    custom_value,
)
from touchpoint.storage.models import CustomFieldDef
from touchpoint.storage.workspace import Workspace

# Each field's header synonyms, folded (see _fold_header), strongest first: when several
# columns name a single-valued field, the strongest wins and the others are ignored
# (Outlook's "Title" is Mr/Ms, its "Job Title" is the title).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer": (
        "company", "companyname", "account", "accountname", "organization", "organisation",
        "organizationname", "organisationname", "firma", "firmenname", "unternehmen",
        "customer", "customername", "client", "clientname", "business", "businessname",
        "employer", "kunde",
    ),
    "contact": (
        "fullname", "contactname", "name", "personname", "contact", "displayname", "person",
        "kontakt", "ansprechpartner",
    ),
    "first_name": ("firstname", "givenname", "first", "vorname", "forename", "prenom"),
    "middle_name": ("middlename", "additionalname", "secondname"),
    "last_name": ("lastname", "surname", "familyname", "last", "nachname", "nom"),
    "email": (
        "email", "emailaddress", "mail", "emailvalue", "personemail", "workemail",
        "businessemail", "primaryemail", "secondaryemail", "otheremail", "emailadresse",
    ),
    "phone": (
        "phone", "phonenumber", "telephone", "tel", "telefon", "telefonnummer",
        "businessphone", "workphone", "officephone", "primaryphone", "phonevalue",
        "personphone", "companyphone", "homephone", "otherphone",
    ),
    "mobile": (
        "mobile", "mobilephone", "mobilenumber", "cell", "cellphone", "handy", "mobil",
        "mobiltelefon",
    ),
    "website": (
        "website", "web", "webpage", "url", "homepage", "websiteurl", "webaddress", "site",
        "webseite", "internet",
    ),
    "street": (
        "street", "address", "streetaddress", "addressstreet", "businessstreet",
        "mailingstreet", "billingstreet", "strasse", "addressline", "organizationaddress",
        "anschrift",
    ),
    "city": (
        "city", "town", "businesscity", "mailingcity", "billingcity", "addresscity", "stadt",
        "ort",
    ),
    "postcode": (
        "postalcode", "postcode", "zip", "zipcode", "businesspostalcode", "mailingzip",
        "mailingzippostalcode", "billingzippostalcode",
        "billingzip", "mailingpostalcode", "billingpostalcode", "addresspostalcode", "plz",
        "postleitzahl",
    ),
    "region": (
        "state", "region", "province", "stateregion", "stateprovince", "county",
        "mailingstateprovince", "billingstateprovince",
        "businessstate", "mailingstate", "billingstate", "addressregion", "bundesland",
    ),
    "country": (
        "country", "countryregion", "businesscountryregion", "businesscountry",
        "mailingcountry", "billingcountry", "addresscountry", "land", "nation",
    ),
    "industry": ("industry", "branche", "sector", "vertical"),
    "tags": ("tags", "tag", "labels", "label", "categories", "schlagworte"),
    "notes": ("notes", "note", "description", "comments", "comment", "remarks", "bemerkung",
              "notiz", "notizen"),
    "owner": ("owner", "accountowner", "contactowner", "ownername", "salesrep", "assignedto",
              "recordowner", "betreuer", "personowner", "organizationowner"),
    "status": ("status", "customerstatus", "accountstatus"),
    "kind": ("kind", "type", "customertype", "accounttype", "customerkind"),
    "segment": ("segment", "customersegment", "marketsegment", "tier"),
    "territory": ("territory", "salesterritory", "area", "gebiet", "district"),
    "title": ("jobtitle", "organizationtitle", "position", "jobposition", "funktion", "title",
              "persontitle", "personjobtitle"),
    "do_not_contact": ("donotcontact", "optout", "emailoptout", "donotcall", "nichtkontaktieren"),
    "decision_role": ("decisionrole", "buyingrole", "contactrole", "role", "rolle"),
    "yearly_potential": ("yearlypotential", "potential", "annualpotential", "yearlyvalue",
                         "jahrespotential"),
    "currency": ("currency", "currencycode", "waehrung", "wahrung"),
    "preferred_channel": ("preferredchannel", "preferredcontactmethod", "contactpreference"),
    # When the record came to be (here or in the program the file comes from), and when
    # its customer's data was last confirmed: kept when the import creates the record.
    "created": ("created", "createdat", "createddate", "datecreated", "createdon",
                "createdtime", "createdate", "addtime", "personcreated"),
    "confirmed": ("confirmed", "confirmedat", "lastconfirmed"),
    # Every email, phone and address with its label, one a line (Touchpoint's export).
    "email_list": ("emails",),
    "phone_list": ("phones",),
    "address_list": ("addresses",),
    # Touchpoint's own ids (its exports write them): rows are matched by them.
    "customer_id": ("customerid", "touchpointcustomerid"),
    "contact_id": ("contactid", "touchpointcontactid"),
}  # fmt: skip
FIELDS: tuple[str, ...] = tuple(SYNONYMS)
# Fields that gather every column mapped to them.
MULTI = frozenset({"email", "phone", "mobile", "tags", "notes"})
_BY_HEADER: dict[str, tuple[str, int]] = {
    key: (name, rank) for name, keys in SYNONYMS.items() for rank, key in enumerate(keys)
}
_CUSTOM_KEY = re.compile(r"^[\w -]{1,60}$")
# A mapping's "+notes": the column is kept in each record's notes as "Header: value".
NOTES_TARGET = "+notes"
_LABEL_COLUMN = re.compile(r"^@\d{1,4}$")  # "phone:@3": each value's label is in column 3


def _fold_header(header: str) -> str:
    """'E-mail 2 Address' -> 'emailaddress': no case, accents, digits, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    return "".join(ch for ch in decomposed if ch.isalpha() and ch.isascii())


def guess_field(header: str) -> str | None:
    found = _BY_HEADER.get(_fold_header(header))
    return found[0] if found else None


def _base(target: str) -> str:
    """A target's field: "phone:home" (a label given) and "phone:@3" (labels read from
    column 3) are the field phone."""
    return target.partition(":")[0]


def _map_headers(
    headers: Sequence[str], overrides: Mapping[str, str], layout: Layout | None = None
) -> list[str | None]:
    """The field of each column (None: ignored). ``overrides``: header -> field or '';
    ``layout``: the program the file comes from, whose table goes before the synonyms."""
    folded_overrides = {_fold_header(h): f for h, f in overrides.items()}
    by_layout = columns_of(layout, headers) if layout is not None else None
    out: list[str | None] = []
    ranks: list[int] = []
    for position, header in enumerate(headers):
        if header in overrides or _fold_header(header) in folded_overrides:
            target = overrides.get(header, folded_overrides.get(_fold_header(header)))
            out.append(target if target and target != NOTES_TARGET else None)
            ranks.append(-1)  # chosen by the user: always wins
            continue
        declared = parse_custom_header(header)
        if declared is not None:  # a custom field's column of our own export
            out.append(f"custom.{declared[0]}")
            ranks.append(-1)
            continue
        known = by_layout[position] if by_layout is not None else None
        if known is not None and (known.target or known.ignored):
            target = None if known.target in (None, "-") else known.target
            if target and known.label_column is not None and ":" not in target:
                target = f"{target}:@{known.label_column}"
            out.append(target)
            ranks.append(-1)
            continue
        found = _BY_HEADER.get(_fold_header(header))
        out.append(found[0] if found else None)
        ranks.append(found[1] if found else 0)
    # A single-valued field keeps only its strongest column.
    for index, target in enumerate(out):
        if target is None or _base(target) in MULTI or target.startswith("custom."):
            continue
        rivals = [i for i, t in enumerate(out) if t == target]
        best = min(rivals, key=lambda i: (ranks[i], i))
        if index != best:
            out[index] = None
    return out


def _with_defined_custom(
    session: Session,
    headers: Sequence[str],
    targets: list[str | None],
    overrides: Mapping[str, str],
) -> list[str | None]:
    """Columns headed by a defined custom field's key or label go to that field (unless
    the mapping says otherwise, or the header is a standard field's own name, like
    "Industry"): "Tier" is the custom field tier, not a synonym of segment."""
    by_name: dict[str, str] = {}
    for key, label in session.execute(
        select(CustomFieldDef.key, CustomFieldDef.label).where(CustomFieldDef.deleted_at.is_(None))
    ):
        by_name.setdefault(key.strip().casefold(), key)
        by_name.setdefault((label or key).strip().casefold(), key)
    folded_overrides = {_fold_header(h) for h in overrides}
    out = list(targets)
    for index, header in enumerate(headers):
        key = by_name.get(header.strip().casefold())
        if key is None or header in overrides or _fold_header(header) in folded_overrides:
            continue
        standard = _BY_HEADER.get(_fold_header(header))
        if standard is not None and standard[1] == 0:
            continue
        out[index] = f"custom.{key}"
    return out


def _check_target(header: str, target: str) -> str:
    if target in ("", NOTES_TARGET) or target in FIELDS:
        return target
    name, sep, label = target.partition(":")
    if sep and name in ("email", "phone", "mobile") and _LABEL_COLUMN.match(label.strip()):
        return f"{name}:{label.strip()}"  # labels read from another column (a layout's)
    if sep and name in ("email", "phone") and _CUSTOM_KEY.match(label.strip()):
        return f"{name}:{label.strip().casefold()}"  # "phone:home": labelled so
    if target.startswith("custom."):
        key = target.removeprefix("custom.").strip()
        if key and _CUSTOM_KEY.match(key):
            return f"custom.{key}"
    allowed = ", ".join((*FIELDS, "email:LABEL", "phone:LABEL", "custom.KEY", NOTES_TARGET))
    raise ValidationError(
        "mapping", f"column '{header}': '{target}' is not a field (use one of: {allowed}, or '')"
    )


def load_mapping(mapping: Path | Mapping[str, str] | None) -> dict[str, str]:
    """A column mapping from a TOML or JSON file (or a dict): header -> field, '' to ignore.

    The file may hold the pairs at its top level or under a ``columns`` table."""
    if mapping is None:
        return {}
    if isinstance(mapping, Mapping):
        raw: Any = dict(mapping)
    else:
        path = Path(mapping)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError("mapping", f"cannot read {path.name}: {exc}") from None
        raw = _parse_mapping_text(path, text)
    if isinstance(raw, Mapping) and set(raw) == {"columns"} and isinstance(raw["columns"], dict):
        raw = raw["columns"]
    if not isinstance(raw, Mapping):
        raise ValidationError("mapping", "must map column headers to field names")
    out: dict[str, str] = {}
    for header, target in raw.items():
        if not isinstance(target, str):
            raise ValidationError("mapping", f"column '{header}': the field must be a text")
        out[str(header)] = _check_target(str(header), target.strip())
    return out


def _override(overrides: Mapping[str, str], header: str) -> str | None:
    """The mapping's choice for a column (headers match however cased or spaced)."""
    if header in overrides:
        return overrides[header]
    folded = _fold_header(header)
    for given, target in overrides.items():
        if _fold_header(given) == folded:
            return target
    return None


def mapping_problems(headers: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    """What is wrong with a mapping for these columns: two (or more) columns chosen
    for one field that holds a single value (a company, a first name, a custom field),
    named by both columns. Emails, phones, tags and notes take every column given."""
    by_field: dict[str, list[str]] = defaultdict(list)
    for index, header in enumerate(headers):
        target = _override(mapping, header)
        if not target or target == NOTES_TARGET or _base(target) in MULTI:
            continue
        key = target if target.startswith("custom.") else _base(target)
        by_field[key].append(header.strip() or f"Column {index + 1}")
    problems = []
    for key, columns in by_field.items():
        if len(columns) < 2:
            continue
        what = (
            f"the custom field {key.removeprefix('custom.')}"
            if key.startswith("custom.")
            else "customer (the company's name)"
            if key == "customer"
            else key.replace("_", " ")
        )
        names = ", ".join(f"'{c}'" for c in columns[:-1]) + f" and '{columns[-1]}'"
        both = "both" if len(columns) == 2 else "all"
        problems.append(
            f"columns {names} {both} go to {what}, which holds one value: choose one of them"
        )
    return problems


def _parse_mapping_text(path: Path, text: str) -> Any:
    order = ("json", "toml") if path.suffix.lower() != ".toml" else ("toml", "json")
    for kind in order:
        try:
            return json.loads(text) if kind == "json" else tomllib.loads(text)
        except (ValueError, tomllib.TOMLDecodeError):
            continue
    raise ValidationError("mapping", f"{path.name} is neither valid TOML nor valid JSON")


# Columns of Touchpoint's own export that it sets itself: not read back.
OWN_COMPUTED = frozenset({"updated"})


def _column_uses(
    headers: Sequence[str],
    targets: Sequence[str | None],
    overrides: Mapping[str, str],
    layout: Layout | None = None,
) -> list[ColumnUse]:
    """Where each column goes. A column that is no field is not dropped: its values go
    to the notes ("Header: value"), unless the mapping says to ignore it."""
    folded_overrides = {_fold_header(h) for h in overrides}
    own_export = any(t in ("customer_id", "contact_id") for t in targets)
    by_layout = columns_of(layout, headers) if layout is not None else None
    uses = []
    for index, (header, target) in enumerate(zip(headers, targets, strict=False)):
        label = header.strip() or f"Column {index + 1}"
        guess = guess_field(header)
        known = by_layout[index] if by_layout is not None else None
        if known is not None and known.target == "-":
            guess = None  # the program's table says: no field here
        if target and ":" in target:
            name, _sep, given = target.partition(":")
            name = "phone" if name == "mobile" else name
            at = int(given[1:]) if given.startswith("@") else None
            how = f"labels from '{headers[at]}'" if at is not None else f"labelled {given}"
            uses.append(ColumnUse(header, name, how))
        elif target:
            uses.append(ColumnUse(header, target))
        elif _override(overrides, header) == NOTES_TARGET:
            uses.append(ColumnUse(header, "notes", f"the mapping says: kept as '{label}: …'"))
        elif known is not None and known.ignored and header not in overrides:
            uses.append(ColumnUse(header, None, f"ignored: {known.ignored}"))
        elif header.strip() and (header in overrides or _fold_header(header) in folded_overrides):
            uses.append(ColumnUse(header, None, "ignored: the mapping says so"))
        elif own_export and _fold_header(header) in OWN_COMPUTED:
            uses.append(ColumnUse(header, None, "ignored: Touchpoint sets it"))
        elif guess:
            why = f"another column fills {guess}"
            uses.append(ColumnUse(header, "notes", f"{why}: kept as '{label}: …'"))
        else:
            uses.append(ColumnUse(header, "notes", f"no field matches: kept as '{label}: …'"))
    return uses


def _note_label(use: ColumnUse, index: int) -> str:
    return use.column.strip() or f"Column {index + 1}"


UNMATCHED = ("custom", "notes", "skip")
_YES = frozenset({"yes", "true", "y", "ja", "oui", "si", "x"})
_NO = frozenset({"no", "false", "n", "nein", "non"})
MAPPINGS_FILE = "import-mappings.json"


def header_signature(headers: Sequence[str]) -> str:
    """The same columns in the same order, however cased or spaced: the same signature."""
    text = "\x1f".join(" ".join(h.split()).casefold() for h in headers)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _mappings_path(ws: Workspace) -> Path:
    return Path(ws.paths.data_dir) / MAPPINGS_FILE


def _saved_mappings(ws: Workspace) -> dict[str, Any]:
    try:
        data = json.loads(_mappings_path(ws).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet (or unreadable: the file's columns are read by their headers)
    return data if isinstance(data, dict) else {}


def saved_mapping(ws: Workspace, headers: Sequence[str]) -> tuple[dict[str, str], str] | None:
    """(columns, unmatched) an earlier import of files with these columns used."""
    entry = _saved_mappings(ws).get(header_signature(headers))
    if not isinstance(entry, dict):
        return None
    try:
        columns = load_mapping(entry.get("columns") or {})
    except ValidationError:
        return None
    unmatched = entry.get("unmatched") if entry.get("unmatched") in UNMATCHED else "notes"
    return columns, unmatched


def keep_mapping(
    ws: Workspace, headers: Sequence[str], columns: Mapping[str, str], unmatched: str
) -> None:
    """Keep the mapping for the next file with these columns, in the data folder."""
    data = _saved_mappings(ws)
    data[header_signature(headers)] = {
        "headers": list(headers),
        "columns": dict(columns),
        "unmatched": unmatched,
        "saved": ws.now().isoformat(timespec="seconds"),
    }
    path = _mappings_path(ws)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    temp.replace(path)


def _slug(header: str, index: int) -> str:
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")[:60]
    return key or f"column_{index + 1}"


def infer_type(values: Iterable[str]) -> tuple[str, list[str]]:
    """A custom field's type read from a column's values: number, date (YYYY-MM-DD),
    yes/no (a choice of yes and no), else text."""
    cells = [x.strip() for x in values if x and x.strip()]
    if not cells:
        return CustomFieldType.TEXT, []

    def all_pass(kind: str) -> bool:
        try:
            for cell in cells:
                custom_value("column", kind, [], cell)
        except ValidationError:
            return False
        return True

    # A code with a leading zero (a postcode, an account number) is text, not a number.
    leading_zero = any(c[:1] == "0" and c[1:2].isdigit() for c in cells)
    if not leading_zero and all_pass(CustomFieldType.NUMBER):
        return CustomFieldType.NUMBER, []
    if all_pass(CustomFieldType.DATE):
        return CustomFieldType.DATE, []
    if all(c.casefold() in _YES | _NO for c in cells):
        return CustomFieldType.CHOICE, ["yes", "no"]
    return CustomFieldType.TEXT, []
