"""Validation and normalisation of the values a user types.

Every check raises :class:`ValidationError` naming the field and the problem,
so the window, the command line and the importer all say the same thing.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from touchpoint.errors import ValidationError

E = TypeVar("E", bound=StrEnum)

SHORT_ID = 8  # characters of an id shown to people


def short_id(record_id: str | None) -> str:
    """The part of an id a person is shown and may type back: its end. Ids are
    time-ordered, so their first characters are the time they were made, the same for
    every id made that minute; their last ones are random."""
    return (record_id or "")[-SHORT_ID:]


MAX_NOTES_BYTES = 1_000_000
MAX_NAME_LENGTH = 200
MAX_SHORT_TEXT = 500


def clean_text(value: str | None) -> str | None:
    """Strip whitespace; empty strings become None so "blank" has one meaning."""
    if value is None:
        return None
    if type(value) is str and value.isascii():  # NFC leaves ASCII as it is (most cells)
        return value.strip() or None
    value = unicodedata.normalize("NFC", str(value)).strip()
    return value or None


def required_name(field: str, value: str | None) -> str:
    text = clean_text(value)
    if not text:
        raise ValidationError(field, "must not be empty")
    if len(text) > MAX_NAME_LENGTH:
        raise ValidationError(field, f"is longer than {MAX_NAME_LENGTH} characters")
    return text


def short_text(field: str, value: str | None, limit: int = MAX_SHORT_TEXT) -> str | None:
    text = clean_text(value)
    if text is not None and len(text) > limit:
        raise ValidationError(field, f"is longer than {limit} characters")
    return text


def long_text(field: str, value: str | None) -> str | None:
    """Notes and feedback: kept as typed (only trimmed), at most 1 MB of UTF-8."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).strip()
    if len(text.encode("utf-8")) > MAX_NOTES_BYTES:
        raise ValidationError(field, "is larger than 1 MB")
    return text or None


# Plain ASCII addresses (most of them), which email_validator would accept unchanged but
# for the domain's case. Its full check (IDNA, Unicode tables) costs ~100 µs an address,
# a large part of a bulk import; anything unusual still goes through it.
_PLAIN_EMAIL = re.compile(
    r"([A-Za-z0-9_%+-]{1,64}(?:\.[A-Za-z0-9_%+-]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


# email_validator and phonenumbers load on first use: opening the database (at every
# start of the window) imports this module, and reading needs neither.
@functools.cache
def _email_tables() -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
    """(the special-use domains, the same as suffixes ".test", the mailbox names)."""
    from email_validator import SPECIAL_USE_DOMAIN_NAMES
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

    special = frozenset(SPECIAL_USE_DOMAIN_NAMES)
    return special, tuple(f".{d}" for d in special), frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def _plain_email(text: str) -> str | None:
    """The normalised form of a plain address, or None when it needs the full check."""
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is None or len(text) > 254:
        return None
    local, domain = match.groups()
    domain = domain.lower()
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    special_domains, special_suffixes, mailbox_names = _email_tables()
    if local.lower() in mailbox_names:  # email_validator lower-cases these
        return None
    if domain in special_domains or domain.endswith(special_suffixes):
        return None
    return f"{local}@{domain}"


def email(field: str, value: str | None) -> str | None:
    """A syntactically valid address, its domain lower-cased; None when blank."""
    text = clean_text(value)
    if text is None:
        return None
    # An import checks each address twice (its identity key, then its record's field).
    plain = _EMAILS.get(text)
    if plain is not None:
        return plain
    plain = _plain_email(text)
    if plain is not None:
        if len(_EMAILS) >= _DISPLAY_MAX:
            _EMAILS.clear()
        _EMAILS[text] = plain
        return plain
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(field, f"'{text}' is not a valid email address ({exc})") from None
    return result.normalized


# plain address as typed (trimmed) -> its normalised form (see _plain_email)
_EMAILS: dict[str, str] = {}


def normalised_email_key(address: str) -> str:
    """The form used to spot duplicates: case-folded as a whole."""
    return address.strip().casefold()


@functools.cache
def _phonenumbers() -> Any:
    """The phonenumbers module, keeping every metadata pattern it compiles: a number's
    check matches it against some twenty of them, and re's own cache (512 patterns) is
    looked up, and overflows, when numbers of many countries are checked (an import)."""
    import phonenumbers

    phonenumbers.enable_pattern_cache()
    return phonenumbers


def phone(field: str, value: str | None, default_region: str = "US") -> str | None:
    """A phone number in E.164 (+4930123456); None when blank. A number without its
    country code is read as one of ``default_region`` (the record's country, or the
    user's default region)."""
    text = clean_text(value)
    if text is None:
        return None
    region = default_region.upper()
    # A number written with its country code reads the same in every region.
    key = (text, "" if text.startswith("+") else region)
    known = _PHONES.get(key)
    if known is not None:
        if known.startswith("+"):
            return known
        raise ValidationError(field, known)  # the problem of a number already refused
    phonenumbers = _phonenumbers()
    number = _written_e164(text)
    if number is None:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            _remember_phone(key, f"'{text}' is not a phone number")
            raise ValidationError(field, f"'{text}' is not a phone number") from None
    if not phonenumbers.is_possible_number(number) or not _valid_number(number):
        problem = f"'{text}' is not a valid phone number"
        if not text.lstrip().startswith(("+", "00")):
            problem += (
                f" in {region}: add the country code (like +49…) or set your default region"
                " (touchpoint config set default_region DE)"
            )
        _remember_phone(key, problem)
        raise ValidationError(field, problem) from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # The search document shows the number in its international form: remember it from this
    # parse, so display_phone does not parse the number a second time (it costs ~50 µs).
    _remember_display(
        e164, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    )
    # Checking a number costs ~100 µs, and a file repeats numbers (a company's switchboard
    # on each of its contacts' rows): the same text in the same region is the same number,
    # and a number refused once (kept unverified by an import) is refused again, unread.
    _remember_phone(key, e164)
    return e164


def _remember_phone(key: tuple[str, str], found: str) -> None:
    """``found``: the number in E.164 (it starts with "+"), or the problem of a refused one."""
    if len(_PHONES) >= _DISPLAY_MAX:
        _PHONES.clear()
    _PHONES[key] = found


# (text as typed, default region or "" for "+..."): its E.164 form, or why it is refused
_PHONES: dict[tuple[str, str], str] = {}


_DISPLAY: dict[str, str] = {}
_DISPLAY_MAX = 50_000  # numbers; a bulk import validates then indexes in batches of thousands


def _remember_display(e164: str, shown: str) -> None:
    if len(_DISPLAY) >= _DISPLAY_MAX:
        _DISPLAY.clear()
    _DISPLAY[e164] = shown


def display_phone(e164: str) -> str:
    """The international form a person reads (+49 30 123456)."""
    shown = _DISPLAY.get(e164)
    if shown is not None:
        return shown
    parts = _e164_parts(e164)
    if parts is not None:
        shown = _international(*parts)
    else:
        phonenumbers = _phonenumbers()
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return e164
        shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    _remember_display(e164, shown)
    return shown


# A calling code's formats for the international form, as format_number reads them
# from its metadata: (its last leading-digits pattern or None, the number's pattern,
# the rule), compiled once.
_INTERNATIONAL: dict[int, tuple[tuple[Any, Any, str], ...]] = {}


def _international(code: int, nsn: str) -> str:
    """``format_number(number, INTERNATIONAL)`` for a number of ``_stored_number``
    (a known calling code, no extension), given its calling code and national
    significant number, by the library's rules with the calling code's formats looked
    up once: a first sync or an import writes the display form of every number into the
    search documents, and the lookups were half of it."""
    formats = _INTERNATIONAL.get(code)
    if formats is None:
        util = _phonenumbers().phonenumberutil
        metadata = util.PhoneMetadata.metadata_for_region_or_calling_code(
            code, util.region_code_for_country_code(code).upper()
        )
        chosen = metadata.intl_number_format or metadata.number_format
        formats = _INTERNATIONAL[code] = tuple(
            (
                util.re_compile(f.leading_digits_pattern[-1]) if f.leading_digits_pattern else None,
                util.re_compile(f.pattern),
                f.format,
            )
            for f in chosen
        )
    for leading, pattern, rule in formats:
        if (leading is None or leading.match(nsn)) and pattern.fullmatch(nsn):
            # The library substitutes with re.sub: the first match, not the full one.
            return f"+{code} {pattern.sub(rule, nsn)}"
    return f"+{code} {nsn}"


_E164 = re.compile(r"\+([1-9][0-9]{3,16})")

# A calling code's national prefix as parse looks for it (None: it has none; False: the
# library knows no such code), looked up once.
_PREFIX_FOR_PARSING: dict[int, Any] = {}


def _e164_parts(e164: str) -> tuple[int, str] | None:
    """(calling code, national significant number) of the number
    ``phonenumbers.parse(e164, None)`` returns, when :func:`_stored_number` reads it;
    else None. The digits after the code are that number's significant number as the
    library writes it (its leading zeros kept), so the number need not be built to be
    shown: a first sync shows every number it pulls in the search documents."""
    if _E164.fullmatch(e164) is None:
        return None
    util = _phonenumbers().phonenumberutil
    code, national = util._extract_country_code(e164[1:])
    if code == 0 or len(national) < 2:  # parse refuses a national part that short
        return None
    prefix = _PREFIX_FOR_PARSING.get(code, _UNSET)
    if prefix is _UNSET:
        metadata = util.PhoneMetadata.metadata_for_region_or_calling_code(
            code, util.region_code_for_country_code(code)
        )
        pattern = None if metadata is None else metadata.national_prefix_for_parsing
        prefix = False if metadata is None else (util.re_compile(pattern) if pattern else None)
        _PREFIX_FOR_PARSING[code] = prefix
    if prefix is False:
        return None
    if prefix is not None and prefix.match(national):
        return None  # parse may take the prefix off: let it decide
    return code, national


_UNSET = object()


def _stored_number(e164: str) -> Any:
    """The number ``phonenumbers.parse(e164, None)`` returns, for a number stored in
    E.164, in a fifth of its time: a first sync formats every number it pulls for the
    search documents, and parsing was two thirds of that. None when the text is not
    plain E.164, or when parse would strip a national prefix after the country code:
    those take parse's own path."""
    parts = _e164_parts(e164)
    if parts is None:
        return None
    code, national = parts
    phonenumbers = _phonenumbers()
    util = phonenumbers.phonenumberutil
    number = phonenumbers.PhoneNumber(country_code=code)
    util._set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


def _valid_number(number: Any) -> bool:
    """``phonenumbers.is_valid_number(number)`` in a fraction of its pattern matches: it
    asks each of a region's dozen kinds of number in turn (premium rate, toll free, ...,
    fixed line last but one) for the kind, where only whether any matches is wanted,
    and for a calling code of several regions (+1, +44, +7) it does that twice, once to
    find the region and once to check the number in it. The common kinds are asked
    first here and the region's answer is kept; the rules are the library's own."""
    util = _phonenumbers().phonenumberutil
    code = number.country_code
    regions = util.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if regions is None:
        return False
    nsn = util.national_significant_number(number)
    if len(regions) == 1:
        return _valid_in_region(util, code, nsn, regions[0], None)
    for region in regions:  # as region_code_for_number finds the number's region
        metadata = util.PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if util.re_compile(metadata.leading_digits).match(nsn):
                return _valid_in_region(util, code, nsn, region, None)
        elif _any_kind(util, nsn, metadata):
            return _valid_in_region(util, code, nsn, region, metadata)
    return False


def _valid_in_region(util: Any, code: int, nsn: str, region: str, valid: Any) -> bool:
    """is_valid_number_for_region; ``valid``: the region's metadata, when ``nsn`` is
    known to be of one of its kinds."""
    metadata = util.PhoneMetadata.metadata_for_region_or_calling_code(code, region.upper())
    if metadata is None or (
        region != util.REGION_CODE_FOR_NON_GEO_ENTITY
        and code != util.country_code_for_valid_region(region)
    ):
        return False
    return metadata is valid or _any_kind(util, nsn, metadata)


def _any_kind(util: Any, nsn: str, metadata: Any) -> bool:
    """``_number_type_helper(nsn, metadata) != UNKNOWN``: the general pattern, then any
    kind's, fixed line and mobile first (a mobile pattern the same as the fixed line's
    is not asked, as there)."""
    matches = util._is_number_matching_desc
    if not matches(nsn, metadata.general_desc):
        return False
    if matches(nsn, metadata.fixed_line):
        return True
    if not metadata.same_mobile_and_fixed_line_pattern and matches(nsn, metadata.mobile):
        return True
    return any(
        matches(nsn, desc)
        for desc in (
            metadata.premium_rate,
            metadata.toll_free,
            metadata.shared_cost,
            metadata.voip,
            metadata.personal_number,
            metadata.pager,
            metadata.uan,
            metadata.voicemail,
        )
    )


# A number written with its country code and only digits and the usual separators
# ("+44 20 7946 0001", "+1 (415) 555-0100"): parse reads it as the same digits in E.164
# whatever the region (no extension, no letters, no second number, nothing to strip).
_WRITTEN_E164 = re.compile(r"\+[0-9 ().\-/]+")
_SEPARATORS = str.maketrans("", "", " ().-/")


def _written_e164(text: str) -> Any:
    """The number ``phonenumbers.parse(text, region)`` returns for a number written
    with its country code, without parse's general reading (a third of a new number's
    check, which an import does for each of tens of thousands); None when the text is
    written otherwise or parse would do more than read its digits (see
    :func:`_stored_number`): then parse reads it."""
    if len(text) > 250 or _WRITTEN_E164.fullmatch(text) is None:
        return None
    return _stored_number("+" + text[1:].translate(_SEPARATORS))


_HOST_OK = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


def website(field: str, value: str | None) -> str | None:
    """A web address with a scheme; 'acme.com' becomes 'https://acme.com'."""
    text = clean_text(value)
    if text is None:
        return None
    candidate = text if "://" in text else f"https://{text}"
    try:
        parts = urlsplit(candidate)
        host = (parts.hostname or "").lower()
        _ = parts.port  # raises for a port that is not a number from 0 to 65535
        # IDNA refuses an empty label ("." or "a..b") or one over 63 letters.
        ascii_host = host.encode("idna").decode()
    except ValueError:  # UnicodeError too, and urlsplit's "Invalid IPv6 URL"
        raise ValidationError(field, f"'{text}' is not a web address") from None
    if parts.scheme not in ("http", "https") or not _HOST_OK.match(ascii_host):
        raise ValidationError(field, f"'{text}' is not a web address")
    return candidate


def website_host(url: str | None) -> str | None:
    """The host without 'www.', used to spot duplicates."""
    if not url:
        return None
    candidate = url if "://" in url else f"https://{url}"
    host = (urlsplit(candidate).hostname or "").lower()
    return host.removeprefix("www.") or None


def satisfaction(field: str, value: int | str | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        score = int(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"'{value}' is not a number from 1 to 5") from None
    if not 1 <= score <= 5:
        raise ValidationError(field, f"must be from 1 to 5, not {score}")
    return score


def non_negative_int(field: str, value: int | str | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"'{value}' is not a whole number") from None
    if number < 0:
        raise ValidationError(field, "must not be negative")
    return number


def money(field: str, value: Decimal | float | str | None) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(field, f"'{value}' is not an amount") from None
    if not amount.is_finite():
        raise ValidationError(field, f"'{value}' is not an amount")
    if amount < 0:
        raise ValidationError(field, "must not be negative")
    try:  # to the cent: beyond 28 digits in all, Decimal cannot
        return amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationError(field, f"'{value}' is too large an amount") from None


_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def currency(field: str, value: str | None) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    code = text.upper()
    if _CURRENCY_CODE.fullmatch(code) is None:
        raise ValidationError(field, f"'{text}' is not a three-letter currency code")
    from touchpoint.domain.currencies import ISO_4217

    if code not in ISO_4217:
        raise ValidationError(
            field, f"'{text}' is not an ISO 4217 currency code (like EUR, USD or GBP)"
        )
    return code


COUNTRY_EXAMPLE = "two letters (ISO 3166-1), like DE, US or FR"


@functools.cache
def _regions() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def country(field: str, value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 country code, upper-case; None when blank. The same list
    as the default region's (the countries whose phone numbers Touchpoint knows)."""
    text = clean_text(value)
    if text is None:
        return None
    code = text.upper()
    if len(code) != 2 or code not in _regions():
        raise ValidationError(field, f"'{text}' is not a country code: {COUNTRY_EXAMPLE}")
    return code


# Names a few CRMs write that are no country's name in the phone library's tables.
_COUNTRY_ALIASES = {
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "united states of america": "US",
    "america": "US", "uk": "GB", "u.k.": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB",
}  # fmt: skip


@functools.cache
def _country_names() -> dict[str, str]:
    """Folded country name (in each language the phone library names countries in,
    English first) -> code."""
    names: dict[str, str] = {}
    for code, by_language in _locale_data().items():
        if len(code) != 2 or not code.isupper():
            continue
        for name in by_language.values():
            if not name.startswith("*"):
                names.setdefault(name.casefold(), code)
    names.update(_COUNTRY_ALIASES)
    return names


def _locale_data() -> dict[str, dict[str, str]]:
    """The phone library's country names. Its module is read on its own: importing it
    the usual way first runs its package, which loads every prefix's place names
    (20 MB of tables, 2 to 3 seconds) that an import never uses."""
    import importlib.util
    from pathlib import Path

    import phonenumbers

    path = Path(phonenumbers.__file__).parent / "geodata" / "locale.py"
    spec = importlib.util.spec_from_file_location("phonenumbers.geodata.locale", path)
    if spec is not None and spec.loader is not None:
        try:
            module = importlib.util.module_from_spec(spec)
            module.__package__ = "phonenumbers.geodata"
            spec.loader.exec_module(module)
            return dict(module.LOCALE_DATA)
        except (ImportError, OSError, AttributeError):
            pass  # another layout of the library: the usual way
    from phonenumbers.geodata.locale import LOCALE_DATA

    return dict(LOCALE_DATA)


def country_from_file(field: str, value: str | None) -> str | None:
    """A country as another program's export writes it: a code, or a country's name
    ("Germany", "Deutschland", "USA"), turned into its code. For imports only: a person
    typing is asked for the code."""
    text = clean_text(value)
    if text is None:
        return None
    found = _country_names().get(text.casefold().strip())
    if found is not None and len(text) > 2:
        return found
    return country(field, text)


def choice(field: str, value: str | None, enum: type[E]) -> E | None:
    """One of an enum's values, matched case-insensitively; None when blank."""
    text = clean_text(value)
    if text is None:
        return None
    wanted = text.casefold().replace("_", " ")
    for member in enum:
        if wanted in (member.value.casefold(), member.name.casefold().replace("_", " ")):
            return member
    allowed = ", ".join(m.value for m in enum)
    raise ValidationError(field, f"'{text}' is not one of: {allowed}")


def tag(field: str, value: str) -> str:
    text = clean_text(value)
    if not text:
        raise ValidationError(field, "a tag must not be empty")
    if len(text) > 60:
        raise ValidationError(field, "a tag is longer than 60 characters")
    return text


_PUNCTUATION = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """Text without case or accents, as the search index compares it: "González" is
    "gonzalez"."""
    folded = text.casefold()
    if folded.isascii():  # most names: nothing to decompose (an import folds 100,000)
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# An import folds every customer's name here to match and to look for duplicates (two
# scans of 120,000 names at L, ~3 µs each): a name folded once is looked up after.
@functools.lru_cache(maxsize=1 << 17)
def name_key(name: str) -> str:
    """A name folded for comparison: no accents, no case, no legal suffixes or punctuation."""
    plain = _PUNCTUATION.sub(" ", fold(name))
    words = [w for w in plain.split() if w not in _LEGAL_SUFFIXES]
    return " ".join(words)


_LEGAL_SUFFIXES = frozenset(
    {
        "inc", "incorporated", "ltd", "limited", "llc", "gmbh", "ag", "sa", "sarl", "sas",
        "bv", "nv", "plc", "corp", "corporation", "co", "company", "kg", "oy", "ab", "spa",
        "srl", "pty", "the",
    }
)  # fmt: skip
