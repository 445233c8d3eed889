"""Reading vCard files (2.1, 3.0, 4.0) as other programs write them, into plain fields.

Phones, mail programs and address books each bend the standard a little: Android
and Outlook write vCard 2.1 with quoted-printable values whose soft line breaks
("=" at the end of a line) continue on the next line, unindented; an iPhone ends
its lines with CR CR LF and folds a base64 PHOTO over hundreds of lines; Apple and
Gmail escape the colon in a URL (``http\\://``). The text is first made plain for
vobject (unfolded, soft breaks joined, pictures and keys set aside), then each card is
parsed on its own, so that one card that cannot be read does not lose the others.
A person's PHOTO is read here (base64 in 2.1 and 3.0, a ``data:`` URI in 4.0, or a
link, kept and never fetched) and becomes the contact's picture.

:func:`read_cards` gives a :class:`Card` per card: the person, the organisation,
what goes on the customer and on the contact, and every property that Touchpoint
has no field for, as lines for the notes - nothing is dropped without a word.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import vobject

from touchpoint.domain import photos
from touchpoint.domain.photos import Photo
from touchpoint.errors import ValidationError

_LINE_END = re.compile(r"\r*\n|\r")
# Properties whose value is binary or a key, kept out of vobject's way: a PHOTO is
# read here, the others are not kept.
BINARY = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
# Properties that say how the card was written, not who the person is.
TECHNICAL = frozenset(
    {
        "BEGIN", "END", "VERSION", "PRODID", "REV", "UID", "N", "FN", "KIND", "X-ABUID",
        "X-MS-OL-DESIGN", "X-MS-OL-DEFAULT-POSTAL-ADDRESS", "X-ABLABEL", "X-ABADR",
        "CLIENTPIDMAP", "SORT-STRING", "X-ABSHOWAS", "SOURCE", "NAME", "PROFILE",
        "X-ADDRESSBOOKSERVER-KIND",
    }
)  # fmt: skip
# What a property without a Touchpoint field is called in the notes.
NOTE_LABELS = {
    "NICKNAME": "Nickname",
    "BDAY": "Birthday",
    "ANNIVERSARY": "Anniversary",
    "X-MS-ANNIVERSARY": "Anniversary",
    "X-ANNIVERSARY": "Anniversary",
    "X-EVOLUTION-ANNIVERSARY": "Anniversary",
    "X-MS-MANAGER": "Manager",
    "X-MANAGER": "Manager",
    "X-MS-ASSISTANT": "Assistant",
    "X-ASSISTANT": "Assistant",
    "X-MS-SPOUSE": "Spouse",
    "X-SPOUSE": "Spouse",
    "X-ABRELATEDNAMES": "Related",
    "RELATED": "Related",
    "IMPP": "IM",
    "X-MS-IMADDRESS": "IM",
    "X-AIM": "AIM",
    "X-JABBER": "Jabber",
    "X-SKYPE": "Skype",
    "X-ICQ": "ICQ",
    "X-MSN": "MSN",
    "X-YAHOO": "Yahoo",
    "GENDER": "Gender",
    "LANG": "Language",
    "TZ": "Time zone",
    "GEO": "Location",
    "X-PHONETIC-FIRST-NAME": "Phonetic first name",
    "X-PHONETIC-LAST-NAME": "Phonetic last name",
    "X-PHONETIC-MIDDLE-NAME": "Phonetic middle name",
    "X-MS-TEL": "Phone",
    "X-ABDATE": "Date",
    "MAILER": "Mail program",
    "MEMBER": "Member",
    "FBURL": "Free/busy",
    "CALURI": "Calendar",
    "CALADRURI": "Calendar",
    "ORG": "Organisation",
    "LABEL": "Address",
    "X-ANDROID-CUSTOM": "Android",
}
DATES = frozenset({"BDAY", "ANNIVERSARY", "X-MS-ANNIVERSARY", "X-ANNIVERSARY", "X-ABDATE"})
# A phone's or email's TYPE, as Touchpoint labels it (strongest first).
PHONE_LABELS = (
    ("cell", "mobile"), ("mobile", "mobile"), ("fax", "fax"), ("pager", "pager"),
    ("home", "home"), ("work", "work"),
)  # fmt: skip
EMAIL_LABELS = (("home", "home"), ("work", "work"), ("other", "other"))
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")


@dataclass
class Card:
    """One card's contents, as Touchpoint will keep them (raw: not validated yet)."""

    number: int  # its position in the file, from 1
    person: str | None  # FN, else N, else None
    org: str | None
    is_org: bool  # KIND:org (or Apple's "show as company"): a company, not a person
    uid: str | None
    emails: list[dict[str, str]] = field(default_factory=list)
    phones: list[dict[str, str]] = field(default_factory=list)
    work_addresses: list[dict[str, Any]] = field(default_factory=list)
    home_addresses: list[dict[str, Any]] = field(default_factory=list)
    website: str | None = None
    home_page: str | None = None
    title: str | None = None
    role: str | None = None
    tags: list[str] = field(default_factory=list)
    notes: str | None = None  # the card's NOTE
    photo: Photo | None = None  # the person's picture (or a link to one), checked
    extra: list[str] = field(default_factory=list)  # "Label: value" lines for the notes
    in_notes: list[str] = field(default_factory=list)  # properties that went to the notes
    not_kept: list[str] = field(default_factory=list)  # properties not kept, and why
    # Touchpoint's own fields, as its export writes them (X-TOUCHPOINT-*).
    created: datetime | None = None
    preferred_channel: str | None = None
    do_not_contact: str | None = None
    decision_role: str | None = None

    @property
    def name(self) -> str | None:
        """What the card is called in messages: its person, else its organisation."""
        return self.person or self.org


def _params_part(line: str) -> str:
    """The part of a content line before its value (name and parameters)."""
    colon = line.find(":")
    return line if colon < 0 else line[:colon]


def _property(line: str) -> str:
    head = _params_part(line).split(";", 1)[0]
    return head.rsplit(".", 1)[-1].strip().upper()  # without an Apple group ("item1.")


def _logical_lines(text: str) -> list[str]:
    """Content lines: folded lines joined (RFC 2425/6350), and the soft line breaks of
    quoted-printable values (vCard 2.1: a line ending in "=") joined too."""
    out: list[str] = []
    soft = False
    for line in _LINE_END.split(text):
        if soft:  # the value goes on after its soft line break
            out[-1] = out[-1][:-1] + line
        elif not line.strip():
            # A blank line (after a 2.1 base64 value, or where CR CR LF was read as two
            # line ends) does not end a folded value.
            continue
        elif out and line[:1] in (" ", "\t"):
            out[-1] += line[1:]
        else:
            out.append(line)
        last = out[-1] if out else ""
        soft = last.endswith("=") and "QUOTED-PRINTABLE" in _params_part(last).upper()
    return out


_QP_BYTE = re.compile(r"=([0-9A-Fa-f]{2})")


def _readable_qp(line: str) -> str:
    """A quoted-printable value whose bytes are not text in its charset (Android writes
    cut UTF-8 sequences) with those bytes replaced, so vobject can decode it."""
    head = _params_part(line)
    if "QUOTED-PRINTABLE" not in head.upper():
        return line
    found = re.search(r"CHARSET=([\w-]+)", head, re.IGNORECASE)
    charset = found.group(1) if found else "utf-8"
    value = line[len(head) + 1 :]
    try:
        data = quopri.decodestring(value.encode("ascii", "replace"))
        data.decode(charset)
        return line
    except UnicodeDecodeError:
        text = data.decode(charset, "replace").replace("\ufffd", "?")
        fixed = "".join(f"={b:02X}" for b in text.encode(charset, "replace"))
        return f"{head}:{fixed}"
    except LookupError:  # an unknown charset: vobject says so
        return line


# Properties whose value has parts (";") or is a list (","): vobject splits them itself.
STRUCTURED = frozenset({"N", "ADR", "ORG", "CATEGORIES", "BEGIN", "END", "VERSION", "CLIENTPIDMAP"})
_BARE_COMMA = re.compile(r"(?<!\\),")


def _commas_kept(line: str, name: str) -> str:
    """vobject keeps a text value only up to its first unescaped comma ("FN:Doe, John"
    would be "Doe"); many programs do not escape them, so they are escaped here."""
    if name in STRUCTURED or "," not in line:
        return line
    head = _params_part(line)
    return f"{head}:{_BARE_COMMA.sub(lambda _m: chr(92) + ',', line[len(head) + 1 :])}"


def split_cards(text: str) -> list[tuple[list[str], list[str]]]:
    """Each card's content lines (binary properties left out) and the properties left
    out: a PHOTO as its whole line, the others by name. Raises ValidationError when a
    card does not end."""
    cards: list[tuple[list[str], list[str]]] = []
    current: list[str] | None = None
    dropped: list[str] = []
    for line in _logical_lines(text.lstrip("\ufeff")):
        colon = line.find(":")
        head = line if colon < 0 else line[:colon]  # as _params_part
        name = head.split(";", 1)[0].rsplit(".", 1)[-1].strip().upper()  # as _property
        value = line[len(head) + 1 :].strip().upper() if name in ("BEGIN", "END") else ""
        if name == "BEGIN" and value == "VCARD":
            if current is not None:
                raise ValidationError(
                    "file", f"card {len(cards) + 1} has no END:VCARD before the next card"
                )
            current, dropped = [line], []
            continue
        if current is None:
            continue  # text between cards
        if name in BINARY:
            dropped.append(line if name == "PHOTO" else name)
            continue
        readable = _readable_qp(line) if "QUOTED-PRINTABLE" in head.upper() else line
        current.append(_commas_kept(readable, name) if "," in readable else readable)
        if name == "END" and value == "VCARD":
            cards.append((current, dropped))
            current = None
    if current is not None:
        raise ValidationError("file", f"card {len(cards) + 1} has no END:VCARD")
    return cards


def text_of(value: Any) -> str:
    """A value as text: lists joined, a vCard 3.0 escaped colon (http\\://) unescaped."""
    if type(value) is str:
        if "\\" in value:
            value = value.replace("\\:", ":").replace("\\,", ",").replace("\\;", ";")
        return value.strip()
    if isinstance(value, list | tuple):
        return " ".join(text_of(v) for v in value if v)
    text = str(value).replace("\\:", ":").replace("\\,", ",").replace("\\;", ";")
    return text.strip()


def _types(line: Any) -> set[str]:
    found = {str(t).casefold() for t in line.params.get("TYPE", [])}
    found |= {str(t).casefold() for t in getattr(line, "singletonparams", [])}
    return {part.strip('"') for item in found for part in item.split(",")}


def _label(types: set[str], table: tuple[tuple[str, str], ...], default: str) -> str:
    for kind, label in table:
        if kind in types:
            return label
    for kind in sorted(types):  # a label of its own, as Touchpoint's export writes it
        if kind.startswith("x-") and len(kind) > 2:
            return kind[2:].replace("-", " ")
    return default


def type_of(label: str, table: tuple[tuple[str, str], ...]) -> str:
    """The vCard TYPE that :func:`_label` reads back as ``label``."""
    for kind, known in table:
        if known == label:
            return kind.upper()
    return "X-" + re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").upper()


def _date(raw: str) -> str:
    """A vCard date as people read it: 19800322 -> 1980-03-22, --0203 -> --02-03."""
    text = raw.strip()
    if re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    if re.fullmatch(r"--\d{4}", text):
        return f"--{text[2:4]}-{text[4:]}"
    if re.fullmatch(r"\d{8}T.*", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:8]} {text[9:]}"
    return text


def _address(line: Any) -> dict[str, Any]:
    a = line.value

    def part(name: str) -> str | None:
        text = text_of(getattr(a, name, "") or "")
        return text or None

    street = " ".join(p for p in (part("street"), part("extended"), part("box")) if p)
    return {
        "street": street or None,
        "city": part("city"),
        "postcode": part("code"),
        "region": part("region"),
        "country": part("country"),
    }


def address_text(address: dict[str, Any]) -> str:
    parts = [address.get(k) for k in ("street", "postcode", "city", "region", "country")]
    return ", ".join(str(p) for p in parts if p)


def _preference(line: Any, types: set[str]) -> int:
    """1 (most preferred) to 100 as vCard 4.0's PREF says; TYPE=pref is 1; none is 101.
    ``types``: the line's :func:`_types`."""
    for value in line.params.get("PREF", []):
        try:
            return max(1, min(100, int(str(value))))
        except ValueError:
            continue
    return 1 if "pref" in types else 101


def _by_preference(lines: list[Any]) -> list[tuple[Any, set[str]]]:
    """(line, its types), the most preferred first, else in the card's order."""
    typed = [(line, _types(line)) for line in lines]
    return sorted(typed, key=lambda item: _preference(*item))


def _group_labels(component: Any) -> dict[str, str]:
    """Apple's item groups: group -> its X-ABLabel ("_$!<HomePage>!$_" -> "HomePage")."""
    out: dict[str, str] = {}
    for line in component.contents.get("x-ablabel", []):
        if line.group:
            text = text_of(line.value)
            found = _APPLE_LABEL.match(text)
            out[line.group.casefold()] = found.group(1) if found else text
    return out


def _words(label: str) -> str:
    """'AssistantPhone' -> 'assistant phone'."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label).strip().casefold()


def _lines(component: Any, name: str) -> list[Any]:
    found = component.contents.get(name)
    if not found:  # most of the properties asked for (a card has a dozen of them)
        return []
    return [line for line in found if line.value not in (None, "", []) and text_of(line.value)]


def _card(number: int, component: Any, dropped: list[str]) -> Card:
    groups = _group_labels(component)
    seen: set[str] = {"x-ablabel"}

    def take(name: str) -> list[Any]:
        seen.add(name)
        return _lines(component, name)

    kind = next((text_of(x.value).casefold() for x in take("kind")), "")
    show_as = next((text_of(x.value).casefold() for x in take("x-abshowas")), "")
    names = take("fn")
    # Names written in two scripts (ALTID): the first is the name, the others go to the
    # notes, where search finds them.
    person = text_of(names[0].value) if names else None
    also = [text_of(x.value) for x in names[1:] if text_of(x.value) != person]
    if not person:
        for line in take("n"):
            n = line.value
            joined = " ".join(
                text_of(getattr(n, part, "")) for part in ("given", "additional", "family")
            ).split()
            if joined:
                person = " ".join(joined)
                break
    take("n")
    org = None
    department = None
    more_orgs: list[str] = []
    for line in take("org"):
        parts = [text_of(p) for p in (line.value if isinstance(line.value, list) else [line.value])]
        parts = [p for p in parts if p]
        if not parts:
            continue
        if org is None:
            org, units = parts[0], parts[1:]
            department = "; ".join(units) or None
        elif parts[0] != org:
            more_orgs.append("; ".join(parts))
    uid = next((text_of(x.value) for x in take("uid")), None)
    card = Card(number, person, org, kind == "org" or show_as == "company", uid)
    if card.is_org and not org:
        card.org, card.person = person, None
    elif card.is_org:
        card.person = None  # the card's name is the organisation's, as shown
        if person and person != org:
            card.extra.append(f"Name on the card: {person}")
            card.in_notes.append("FN")
    if also:
        card.extra.append(f"Also written: {', '.join(also)}")
        card.in_notes.append("FN (another script)")
    if department:
        card.extra.append(f"Department: {department}")
        card.in_notes.append("ORG (department)")
    for other in more_orgs:
        card.extra.append(f"Organisation: {other}")
        card.in_notes.append("ORG")

    # The preferred one (TYPE=pref, or 4.0's PREF=1) comes first: Touchpoint's first
    # email and phone are the ones it uses; the others keep the card's order.
    for line, types in _by_preference(take("email")):
        label = _label(types, EMAIL_LABELS, "work")
        card.emails.append({"label": label, "value": text_of(line.value)})
    for line, types in _by_preference(take("tel")):
        label = _label(types, PHONE_LABELS, "")
        if not label and line.group and line.group.casefold() in groups:
            label = _words(groups[line.group.casefold()]) or ""
        value, _sep, extension = text_of(line.value).removeprefix("tel:").partition(";ext=")
        card.phones.append({"label": label or "work", "value": value})
        if extension:
            card.extra.append(f"Extension of {value}: {extension}")
            card.in_notes.append("TEL (extension)")
    for line in take("adr"):
        address = _address(line)
        if not any(address.values()):
            continue
        if "home" in _types(line):
            card.home_addresses.append({"label": "home", **address})
        else:
            card.work_addresses.append({"label": "office", **address})
    for line in take("label"):
        # The address as printed on an envelope: the same as its ADR, when there is one.
        if not card.home_addresses and not card.work_addresses:
            card.extra.append(f"Address: {text_of(line.value)}")
            card.in_notes.append("LABEL")
        else:
            card.not_kept.append("LABEL (the address as printed: the same as ADR)")
    for line in take("url"):
        url = text_of(line.value)
        group = groups.get((line.group or "").casefold(), "")
        personal = "home" in _types(line) and group.casefold() != "homepage"
        if personal and card.home_page is None:
            card.home_page = url
        elif not personal and card.website is None:
            card.website = url
        else:
            card.extra.append(f"Web: {url}")
            card.in_notes.append("URL")
    titles = take("title")
    if titles:
        card.title = text_of(titles[0].value)
        for line in titles[1:]:
            card.extra.append(f"Title: {text_of(line.value)}")
            card.in_notes.append("TITLE")
    roles = take("role")
    if roles:
        card.role = text_of(roles[0].value)
        for line in roles[1:]:
            card.extra.append(f"Role: {text_of(line.value)}")
            card.in_notes.append("ROLE")
    for line in take("x-touchpoint-created"):
        try:
            created = datetime.strptime(text_of(line.value), "%Y%m%dT%H%M%SZ")
            card.created = created.replace(tzinfo=UTC)
        except ValueError:
            card.extra.append(f"Created: {text_of(line.value)}")
            card.in_notes.append("X-TOUCHPOINT-CREATED")

    def own(name: str) -> str | None:
        return next((text_of(x.value) for x in take(f"x-touchpoint-{name}")), None)

    card.preferred_channel = own("preferred-channel")
    card.do_not_contact = own("do-not-contact")
    card.decision_role = own("decision-role")
    notes = [text_of(x.value) for x in take("note")]
    card.notes = "\n\n".join(n for n in notes if n) or None
    for line in take("categories"):
        values = line.value if isinstance(line.value, list) else str(line.value).split(",")
        for tag in values:
            text = text_of(tag)
            if text and text not in card.tags:
                card.tags.append(text)

    for name, lines in component.contents.items():
        upper = name.upper()
        if name in seen:
            continue
        if upper in TECHNICAL:
            if upper not in ("VERSION", "PRODID", "REV", "BEGIN", "END"):
                card.not_kept.append(f"{upper} (how the card was written)")
            continue
        for line in lines:
            text = text_of(line.value)
            if not text:
                continue
            label = NOTE_LABELS.get(upper) or upper.removeprefix("X-").replace("-", " ").title()
            group = groups.get((line.group or "").casefold())
            if group and upper in ("X-ABDATE", "X-ABRELATEDNAMES", "RELATED"):
                label = _words(group).capitalize()
            if upper in DATES:
                text = _date(text)
            card.extra.append(f"{label}: {text}")
            card.in_notes.append(upper)
    for name in dropped:
        if _property(name) == "PHOTO":
            _take_photo(card, name)
        else:
            card.not_kept.append(f"{name} (Touchpoint keeps no logos, sounds or keys)")
    return card


# --- reading a plain card without vobject's machinery ------------------------------------
#
# vobject builds each line as an object with behaviours and reads its value one character
# at a time: ~1 ms a card, most of an import's time. Most cards (3.0 and 4.0 as phones
# and address books write them) need none of it: their lines are read here into the same
# values vobject gives (its own line parser, Name, Address and unescaping), and a card
# with anything more (quoted-printable or base64 values, a card inside a card) is read by
# vobject itself. tests/services/test_vcard_reading.py checks both read every card alike.

_NEEDS_VOBJECT = frozenset({"QUOTED-PRINTABLE", "BASE64", "B"})
_NAME_ORDER = ("family", "given", "additional", "prefix", "suffix")
_ADDRESS_ORDER = ("box", "extended", "street", "city", "region", "code", "country")


class _Line:
    """One content line, as vobject's ContentLine gives the parts :func:`_card` reads."""

    __slots__ = ("group", "params", "singletonparams", "value")

    def __init__(
        self, group: str | None, params: dict[str, list[str]], single: list[str], value: Any
    ) -> None:
        self.group = group
        self.params = params
        self.singletonparams = single
        self.value = value


class _Component:
    __slots__ = ("contents",)

    def __init__(self) -> None:
        self.contents: dict[str, list[_Line]] = {}


def _text_values(value: str, separator: str = ",") -> list[str]:
    """vobject's stringToTextValues: unescaped values split on ``separator``."""
    if "\\" in value:
        return vobject.icalendar.stringToTextValues(value, listSeparator=separator)
    parts = value.split(separator)
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # "a," is ["a"], as vobject reads it
    return parts


def _fields(value: str) -> list[Any]:
    """vobject's splitFields: the ";" parts, each a text or (with ",") a list."""
    if "\\" in value:
        return vobject.vcard.splitFields(value)
    out: list[Any] = []
    for part in _text_values(value, ";"):
        values = _text_values(part)
        out.append(values[0] if len(values) == 1 else values)
    return out


# A line's name and parameters without quotes, as vobject's line pattern reads them
# (group, name, then ";NAME" or ";NAME=a,b" parameters): such a line is read here, in
# one match; any other line (quoted values, odd punctuation) by vobject's parser.
_PLAIN_HEAD = re.compile(
    r"(?:([A-Za-z0-9_-]+)\.)?([A-Za-z0-9_-]+)((?:;[A-Za-z0-9_-]+(?:=[^\";:,]*(?:,[^\";:,]*)*)?)*)"
)


def parse_line(text: str) -> tuple[str, list[list[str]], str, str | None]:
    """vobject.base.parseLine's (name, params, value, group) of a content line; raises
    vobject's ParseError as it does. A plain head (no quotes: the first colon ends it)
    is split here, exactly as vobject's patterns split it, at a fraction of the cost."""
    colon = text.find(":")
    found = _PLAIN_HEAD.fullmatch(text, 0, colon) if colon > 0 else None
    if found is None:
        return vobject.base.parseLine(text)
    group, name, rest = found.groups()
    params: list[list[str]] = []
    if rest:
        for part in rest[1:].split(";"):
            key, sep, values = part.partition("=")
            params.append([key, *(x for x in values.split(",") if x)] if sep else [key])
    return name.replace("_", "-"), params, text[colon + 1 :], group


_NESTED = frozenset({"BEGIN", "END", "PROFILE"})
_KEPT_AS_WRITTEN = frozenset({"VERSION", "GEO"})  # vobject leaves these as written


def _plain_component(lines: list[str]) -> _Component | None:
    """A card's lines read as vobject reads them, or None when the card needs vobject.
    ``lines`` (from :func:`split_cards`) begin with BEGIN:VCARD and end with END:VCARD."""
    component = _Component()
    contents = component.contents
    try:
        parse_line(lines[0])  # they only need to be lines vobject reads
        parse_line(lines[-1])
        for text in lines[1:-1]:
            name, params, value, group = parse_line(text)
            name = name.upper()
            if name in _NESTED:
                return None  # a card inside the card
            table: dict[str, list[str]] = {}
            single: list[str] = []
            for param in params:
                if len(param) == 1:
                    single += param
                else:
                    table.setdefault(param[0].upper(), []).extend(param[1:])
            if "ENCODING" in table or (single and any(p.upper() in _NEEDS_VOBJECT for p in single)):
                return None
            if name == "N":
                parsed: Any = vobject.vcard.Name(
                    **dict(zip(_NAME_ORDER, _fields(value), strict=False))
                )
            elif name == "ADR":
                fields = _fields(value)
                parsed = vobject.vcard.Address(**dict(zip(_ADDRESS_ORDER, fields, strict=False)))
            elif name == "ORG":
                parsed = _fields(value)
            elif name == "CATEGORIES":
                parsed = _text_values(value)
            elif name in _KEPT_AS_WRITTEN:
                parsed = value
            elif "\\" in value:
                parsed = _text_values(value)[0]
            else:
                parsed = value.split(",", 1)[0]  # as _text_values(value)[0]
            key = name.lower()
            found = contents.get(key)
            if found is None:
                contents[key] = [_Line(group, table, single, parsed)]
            else:
                found.append(_Line(group, table, single, parsed))
    except vobject.base.ParseError:
        return None  # vobject says what is wrong with it
    return component


PLAIN_READER = True  # False: every card through vobject (the tests compare the two)


def _photo_of(line: str) -> Photo:
    """A PHOTO line's picture or link. Raises ValidationError("PHOTO", why) when the
    value is neither, is no JPEG, PNG, GIF or WebP, or is too large to keep."""
    head = _params_part(line)
    value = line[len(head) + 1 :].strip()
    params = {p.strip().upper() for p in head.split(";")[1:]}
    if value.lower().startswith("data:"):
        meta, comma, payload = value[5:].partition(",")
        if not comma or not meta.lower().endswith(";base64"):
            raise ValidationError("PHOTO", "the picture's data: link is not base64")
        value, params = payload, {"ENCODING=B"}
    encoded = {"ENCODING=B", "ENCODING=BASE64", "BASE64"} & params
    plain = value.replace("\\:", ":")  # 3.0 writers escape the colon: http\://
    if not encoded and plain.lower().startswith(("http://", "https://")):
        return photos.link("PHOTO", plain)
    if not encoded and ("VALUE=URI" in params or "VALUE=URL" in params):
        raise ValidationError("PHOTO", f"'{value[:60]}' is a link Touchpoint does not keep")
    compact = re.sub(r"\s+", "", value)
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("PHOTO", "the picture is not valid base64") from None
    return photos.picture("PHOTO", data)


def _take_photo(card: Card, line: str) -> None:
    """The first PHOTO that is a picture (or a link) is the person's; each one that is
    not, and each further one, is said not kept, with why."""
    if card.photo is not None:
        card.not_kept.append("PHOTO (a second picture: the first is kept)")
        return
    try:
        card.photo = _photo_of(line)
    except ValidationError as exc:
        card.not_kept.append(f"PHOTO ({exc.problem})")


def read_cards(text: str, file_name: str) -> tuple[list[Card], list[tuple[int, str | None, str]]]:
    """The cards of a vCard file's text, and (number, name, problem) of each card that
    cannot be read. Raises ValidationError("file", ...) when the text is no vCard."""
    split = split_cards(text)
    if not split:
        raise ValidationError("file", f"{file_name} holds no vCard")
    cards: list[Card] = []
    problems: list[tuple[int, str | None, str]] = []
    for number, (lines, dropped) in enumerate(split, start=1):
        try:
            component = (_plain_component(lines) if PLAIN_READER else None) or vobject.readOne(
                "\r\n".join(lines) + "\r\n"
            )
        except Exception as exc:  # vobject raises several kinds on malformed text
            name = next(
                (line.split(":", 1)[1].strip() for line in lines if _property(line) == "FN"),
                None,
            )
            problems.append((number, name, f"the card cannot be read ({exc})"))
            continue
        cards.append(_card(number, component, dropped))
    return cards, problems
