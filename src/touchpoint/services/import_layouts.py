"""The column sets of other programs' contact exports, as data: one table per program.

An import recognises a file by its headers (:func:`detect`); the program's table then
says what each of its columns is, before the general header synonyms are tried. A
target is a field of :data:`importing.SYNONYMS`, optionally with the label its values
get (``"phone:home"``); ``"-"`` is a column with no field here (it goes where the
user's ``--unmatched`` choice sends such columns, never silently away); ``""`` is a
column that repeats what other columns hold, ignored with the reason given.

Numbered columns ("E-mail 2 Address", Google's "Phone 1 - Type" and "Phone 1 - Value")
are templates with ``{n}``: the value column's label is read, row by row, from its
label column. Where each header set was seen is noted in
tests/fixtures/import/vendors/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Layout:
    name: str
    signature: tuple[str, ...]  # headers that all appear in this program's export
    columns: Mapping[str, str]  # header -> target
    numbered: tuple[tuple[str, str, str | None], ...] = ()  # (value header, target, label header)
    ignored: Mapping[str, str] = field(default_factory=dict)  # header -> why it is ignored
    separator: str | None = None  # several values in one cell (Google: " ::: ")
    tag_separator: str | None = None  # tags in one cell, when not "," or ";"
    dropped_tags: frozenset[str] = frozenset()  # tags that are the program's bookkeeping
    placeholders: frozenset[str] = frozenset()  # cell values that mean "nothing"


_GOOGLE_ADDRESS = {
    "Address 1 - Street": "street",
    "Address 1 - City": "city",
    "Address 1 - Postal Code": "postcode",
    "Address 1 - Region": "region",
    "Address 1 - Country": "country",
}
_GOOGLE_IGNORED = {
    "Address 1 - Formatted": "the address whole, read from its parts",
    "Address 1 - Type": "the address's label (Home, Work)",
    "Address 1 - Label": "the address's label (Home, Work)",
    "Website 1 - Type": "the web site's label",
    "Website 1 - Label": "the web site's label",
}

GOOGLE_OLD = Layout(
    name="Google Contacts (Google CSV)",
    signature=("Given Name", "Family Name", "Group Membership"),
    columns={
        "Name": "contact",
        "Given Name": "first_name",
        "Additional Name": "middle_name",
        "Family Name": "last_name",
        "Notes": "notes",
        "Group Membership": "tags",
        "Organization 1 - Name": "customer",
        "Organization 1 - Title": "title",
        "Organization 1 - Department": "-",
        "Website 1 - Value": "website",
        **_GOOGLE_ADDRESS,
    },
    numbered=(
        ("E-mail {n} - Value", "email", "E-mail {n} - Type"),
        ("Phone {n} - Value", "phone", "Phone {n} - Type"),
    ),
    ignored=_GOOGLE_IGNORED,
    separator=" ::: ",
    tag_separator=" ::: ",
    dropped_tags=frozenset({"* myContacts"}),
)

GOOGLE_NEW = Layout(
    name="Google Contacts (2022 format)",
    signature=("First Name", "Last Name", "Organization Name", "Labels"),
    columns={
        "First Name": "first_name",
        "Middle Name": "middle_name",
        "Last Name": "last_name",
        "Notes": "notes",
        "Labels": "tags",
        "Organization Name": "customer",
        "Organization Title": "title",
        "Organization Department": "-",
        "Website 1 - Value": "website",
        **_GOOGLE_ADDRESS,
    },
    numbered=(
        ("E-mail {n} - Value", "email", "E-mail {n} - Label"),
        ("Phone {n} - Value", "phone", "Phone {n} - Label"),
    ),
    ignored=_GOOGLE_IGNORED,
    separator=" ::: ",
    tag_separator=" ::: ",
    dropped_tags=frozenset({"* myContacts"}),
)

OUTLOOK = Layout(
    name="Microsoft Outlook",
    signature=("First Name", "Last Name", "E-mail Address", "Business Phone"),
    columns={
        "First Name": "first_name",
        "Middle Name": "middle_name",
        "Last Name": "last_name",
        "Title": "-",  # Mr, Ms, Dr
        "Company": "customer",
        "Department": "-",
        "Job Title": "title",
        "Business Street": "street",
        "Business City": "city",
        "Business State": "region",
        "Business Postal Code": "postcode",
        "Business Country/Region": "country",
        "Business Country": "country",
        "E-mail Address": "email:work",
        "E-mail 2 Address": "email:work",
        "E-mail 3 Address": "email:work",
        "Business Phone": "phone:work",
        "Business Phone 2": "phone:work",
        "Company Main Phone": "phone:main",
        "Primary Phone": "phone:main",
        "Mobile Phone": "mobile",
        "Home Phone": "phone:home",
        "Home Phone 2": "phone:home",
        "Business Fax": "phone:fax",
        "Home Fax": "phone:home fax",
        "Other Fax": "phone:fax",
        "Other Phone": "phone:other",
        "Assistant's Phone": "phone:assistant",
        "Car Phone": "phone:car",
        "Pager": "phone:pager",
        "Callback": "phone:callback",
        "Web Page": "website",
        "Notes": "notes",
        "Categories": "tags",
    },
    ignored={
        "E-mail Type": "how Outlook sends to the address (SMTP)",
        "E-mail 2 Type": "how Outlook sends to the address (SMTP)",
        "E-mail 3 Type": "how Outlook sends to the address (SMTP)",
        "E-mail Display Name": "the name and address again",
        "E-mail 2 Display Name": "the name and address again",
        "E-mail 3 Display Name": "the name and address again",
    },
    # Outlook writes these for "not set".
    placeholders=frozenset({"0/0/00", "0.0.00", "00.00.00", "Normal", "Unspecified"}),
)

SALESFORCE = Layout(
    name="Salesforce",
    signature=("Account Name", "Mailing Zip/Postal Code"),
    columns={
        "First Name": "first_name",
        "Last Name": "last_name",
        "Salutation": "-",
        "Title": "title",
        "Account Name": "customer",
        "Department": "-",
        "Email": "email:work",
        "Phone": "phone:work",
        "Mobile": "mobile",
        "Home Phone": "phone:home",
        "Other Phone": "phone:other",
        "Fax": "phone:fax",
        "Assistant Phone": "phone:assistant",
        "Mailing Street": "street",
        "Mailing City": "city",
        "Mailing State/Province": "region",
        "Mailing Zip/Postal Code": "postcode",
        "Mailing Country": "country",
        "Contact Owner": "owner",
        "Description": "notes",
        "Email Opt Out": "do_not_contact",
        "Created Date": "created",
        "Contact ID": "-",  # Salesforce's own id, not one of ours
        "Account ID": "-",
    },
)

HUBSPOT = Layout(
    name="HubSpot",
    signature=("First Name", "Last Name", "Lifecycle Stage"),
    columns={
        "Record ID": "-",  # HubSpot's own id
        "Contact ID": "-",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email:work",
        "Phone Number": "phone:work",
        "Mobile Phone Number": "mobile",
        "Fax Number": "phone:fax",
        "Company Name": "customer",
        "Job Title": "title",
        "Street Address": "street",
        "City": "city",
        "State/Region": "region",
        "Postal Code": "postcode",
        "Zip": "postcode",
        "Country/Region": "country",
        "Website URL": "website",
        "Industry": "industry",
        "Contact owner": "owner",
        "Lifecycle Stage": "-",
        "Create Date": "created",
    },
)

PIPEDRIVE = Layout(
    name="Pipedrive",
    signature=("Person - Name",),
    columns={
        "Person - Name": "contact",
        "Person - First name": "first_name",
        "Person - Last name": "last_name",
        "Person - Email": "email",
        "Person - Email - Work": "email:work",
        "Person - Email - Home": "email:home",
        "Person - Email - Other": "email:other",
        "Person - Phone": "phone",
        "Person - Phone - Work": "phone:work",
        "Person - Phone - Mobile": "mobile",
        "Person - Phone - Home": "phone:home",
        "Person - Phone - Other": "phone:other",
        "Person - Job title": "title",
        "Person - Owner": "owner",
        "Person - Labels": "tags",
        "Person - Label": "tags",
        "Person - Person created": "created",
        "Person - Add time": "created",
        "Person - ID": "-",
        "Organization - Name": "customer",
        "Organization - Address": "street",
        "Organization - ID": "-",
    },
)

ZOHO = Layout(
    name="Zoho CRM",
    signature=("Account Name", "Mailing Zip"),
    columns={
        "Record Id": "-",  # Zoho's own id
        "Contact Owner": "owner",
        "Salutation": "-",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Account Name": "customer",
        "Title": "title",
        "Department": "-",
        "Email": "email:work",
        "Secondary Email": "email:other",
        "Phone": "phone:work",
        "Mobile": "mobile",
        "Home Phone": "phone:home",
        "Other Phone": "phone:other",
        "Fax": "phone:fax",
        "Asst Phone": "phone:assistant",
        "Mailing Street": "street",
        "Mailing City": "city",
        "Mailing State": "region",
        "Mailing Zip": "postcode",
        "Mailing Country": "country",
        "Description": "notes",
        "Email Opt Out": "do_not_contact",
        "Tag": "tags",
        "Created Time": "created",
    },
)

LAYOUTS: tuple[Layout, ...] = (
    GOOGLE_NEW, GOOGLE_OLD, OUTLOOK, SALESFORCE, ZOHO, HUBSPOT, PIPEDRIVE,
)  # fmt: skip

# How other programs label a phone or an email, as Touchpoint labels it.
LABELS = {
    "cell": "mobile",
    "mobile": "mobile",
    "work fax": "fax",
    "business": "work",
    "business fax": "fax",
    "personal": "home",
    "main": "main",
}


def label_text(raw: str | None) -> str | None:
    """A label as written by another program ("* Mobile", "Work Fax") as Touchpoint's."""
    text = (raw or "").strip().lstrip("*").strip().casefold()
    if not text:
        return None
    return LABELS.get(text, text)


def _key(header: str) -> str:
    return " ".join(header.split()).casefold()


def detect(headers: Sequence[str]) -> Layout | None:
    """The program whose export these headers are, when one is recognised."""
    present = {_key(h) for h in headers}
    for layout in LAYOUTS:
        if all(_key(h) in present for h in layout.signature):
            return layout
    return None


@dataclass(frozen=True)
class LayoutColumn:
    target: str | None  # None: not this layout's (the general synonyms are tried)
    label_column: int | None = None  # the column holding this column's labels
    ignored: str | None = None  # why the column is ignored, when it is


def columns_of(layout: Layout, headers: Sequence[str]) -> list[LayoutColumn]:
    """What the layout makes of each column."""
    index = {_key(h): i for i, h in enumerate(headers)}
    table = {_key(h): t for h, t in layout.columns.items()}
    ignored = {_key(h): why for h, why in layout.ignored.items()}
    numbered = [
        (re.compile("^" + re.escape(_key(v)).replace(r"\{n\}", r"(\d+)") + "$"), t, lab)
        for v, t, lab in layout.numbered
    ]
    label_of: dict[int, str] = {}  # label column -> the header it labels
    out: list[LayoutColumn] = []
    for header in headers:
        key = _key(header)
        if key in table:
            out.append(LayoutColumn(table[key]))
            continue
        if key in ignored:
            out.append(LayoutColumn(None, ignored=ignored[key]))
            continue
        for pattern, target, label_header in numbered:
            found = pattern.match(key)
            if found is None:
                continue
            labels = None
            if label_header is not None:
                labels = index.get(_key(label_header.replace("{n}", found.group(1))))
                if labels is not None:
                    label_of[labels] = header
            out.append(LayoutColumn(target, label_column=labels))
            break
        else:
            out.append(LayoutColumn(None))
    for labels, header in label_of.items():
        out[labels] = LayoutColumn(None, ignored=f"the labels of '{header}'")
    return out
