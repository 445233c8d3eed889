"""Turn what a user typed into stored values, collecting every problem at once.

Each ``clean_*`` function takes a patch (field -> raw value) and returns the
normalised patch, or raises :class:`ValidationErrors` listing each field and its
problem. Only the fields present in the patch are checked, so the same code
serves create, edit and import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from touchpoint.domain import photos
from touchpoint.domain import values as v
from touchpoint.domain.enums import (
    Channel,
    CustomerKind,
    CustomerStatus,
    CustomFieldType,
    DealStage,
    DecisionRole,
    Depth,
    Direction,
    FollowUpStatus,
    InteractionKind,
    Outcome,
    Priority,
)
from touchpoint.errors import ValidationError, ValidationErrors

UNVERIFIED = "unverified"  # the flag an email or phone kept as written carries


@dataclass(frozen=True)
class Doubt:
    """A value from a file that failed its check, kept anyway (see clean_customer).

    ``key`` is the patch's field; ``kept`` says where the value is now: "flagged"
    (an email or phone kept as written, marked unverified), "moved" (the field is
    left out: the caller keeps the value as written, in the notes) or "cut" (notes
    over 1 MB, cut to it)."""

    key: str
    error: ValidationError
    kept: str

    def __post_init__(self) -> None:
        # Only the problem is read. The traceback's frames (each linked to its caller's,
        # up to the import's loop) hold the list this doubt goes into: a cycle through
        # the whole import, which only the cyclic collector frees, walking all of it.
        self.error.__traceback__ = None
        self.error.__context__ = None


def _labelled(
    field: str,
    items: Any,
    check: Callable[[str, str | None], str | None],
    doubts: list[Doubt] | None = None,
    key: str = "",
) -> list[dict[str, Any]]:
    """Emails or phones as [{"label", "value"}]; accepts strings or dicts, drops blanks.

    A value that fails its check is refused, unless it came from a file (``doubts``
    given) or was kept that way before (its dict says ``unverified``): then it stays
    as written, with ``"unverified": True``, for the user to fix."""
    if items is None:
        return []
    if isinstance(items, (str, dict)):
        items = [items]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        # A plain dict (an import's, a form's) is told apart by its type first: the
        # Mapping ABC's check is slow, and an import checks every email and phone.
        if type(item) is dict:
            label, raw = item.get("label") or "work", item.get("value")
            flagged = UNVERIFIED in item and bool(item[UNVERIFIED])
        elif isinstance(item, str):
            label, raw, flagged = "work", item, False
        else:
            label, raw = item.get("label") or "work", item.get("value")
            flagged = isinstance(item, Mapping) and bool(item.get(UNVERIFIED))
        if type(label) is not str:
            label = str(label)
        try:
            value = check(field, raw)
            entry = {"label": label, "value": value}
        except ValidationError as exc:
            if doubts is None and not flagged:
                raise
            value = v.clean_text(None if raw is None else str(raw))
            entry = {"label": label, "value": value, UNVERIFIED: True}
            if doubts is not None:
                doubts.append(Doubt(key or field, exc, "flagged"))
        if value:
            folded = value.casefold()
            if folded not in seen:
                seen.add(folded)
                out.append(entry)
    return out


ADDRESS_KEYS = ("label", "street", "city", "postcode", "region", "country")


@functools.cache
def _address_fields(field: str) -> tuple[tuple[str, str], ...]:
    """(key, the field a problem names) of each part of an address."""
    return tuple((k, f"{field}.{k}") for k in ADDRESS_KEYS)


def _address_part(name: str, raw: Any) -> str | None:
    """``v.short_text(name, raw)``; a plain ASCII text within the limit (nearly every part
    of an address) is only trimmed, without the calls."""
    if type(raw) is str and raw.isascii():
        text = raw.strip()
        if len(text) <= v.MAX_SHORT_TEXT:
            return text or None
    return v.short_text(name, raw)


def _addresses(field: str, items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if isinstance(items, dict):
        items = [items]
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ValidationError(field, "each address needs street, city, postcode, country")
        address = {k: _address_part(name, item.get(k)) for k, name in _address_fields(field)}
        address["country"] = v.country("country", address["country"])
        if any(address[k] for k in ADDRESS_KEYS[1:]):
            address["label"] = address["label"] or "office"
            out.append(address)
    return out


def _tags(field: str, items: Any) -> list[str]:
    """Tags from a list (each one must say something: an empty one is a mistake, not
    "no tag") or from one comma-separated text (where ", ," is just punctuation)."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [t for t in items.split(",") if t.strip()]
    out: list[str] = []
    for raw in items:
        tag = v.tag(field, "" if raw is None else str(raw))
        if tag.casefold() not in {t.casefold() for t in out}:
            out.append(tag)
    return out


def custom_value(key: str, kind: str, choices: Iterable[str], raw: Any) -> Any:
    """One custom field's value, typed by its definition."""
    field = f"custom field '{key}'"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind == CustomFieldType.NUMBER:
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValidationError(field, f"'{raw}' is not a number") from None
        if not number.is_finite():
            raise ValidationError(field, f"'{raw}' is not a number")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldType.DATE:
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValidationError(field, f"'{raw}' is not a date (YYYY-MM-DD)") from None
    if kind == CustomFieldType.CHOICE:
        options = list(choices)
        for option in options:
            if option.casefold() == str(raw).strip().casefold():
                return option
        raise ValidationError(field, f"'{raw}' is not one of: {', '.join(options)}")
    return v.short_text(field, str(raw), limit=2000)


class Collector:
    """Runs each check, keeps going after a failure, raises all problems together.

    With ``doubts`` (a file's values), a field that fails is left out and noted there
    instead, unless it is one without which the record cannot be (``strict``)."""

    def __init__(self, doubts: list[Doubt] | None = None, strict: Iterable[str] = ()) -> None:
        self.errors: list[ValidationError] = []
        self.out: dict[str, Any] = {}
        self.doubts = doubts
        self.strict = frozenset(strict)

    def check(self, name: str, fn: Callable[..., Any], *args: Any) -> None:
        """``fn(*args)`` as the field's value. The arguments are given, not bound in a
        lambda, for the checks every row of an import makes."""
        try:
            self.out[name] = fn(*args)
        except ValidationError as exc:
            if self.doubts is not None and name not in self.strict:
                self.doubts.append(Doubt(name, exc, "moved"))
            else:
                self.errors.append(exc)

    def done(self) -> dict[str, Any]:
        if self.errors:
            raise ValidationErrors(self.errors)
        return self.out


def _unknown(patch: Mapping[str, Any], allowed: frozenset[str]) -> None:
    if allowed.issuperset(patch):
        return
    extra = sorted(set(patch) - allowed)
    if extra:
        raise ValidationErrors([ValidationError(k, "is not a field of this record") for k in extra])


CUSTOMER_FIELDS = (
    "name", "kind", "status", "industry", "segment", "owner", "territory", "website",
    "addresses", "phones", "emails", "tags", "custom", "notes", "yearly_potential", "currency",
)  # fmt: skip
_CUSTOMER_FIELD_SET = frozenset(CUSTOMER_FIELDS)
_CUSTOMER_STRICT = frozenset(("name", "notes"))  # a file's customer is refused without them


def phone_region(addresses: Any, default: str) -> str:
    """The region a phone number without its country code is read in: the country of
    the record's first address with one, else the user's default region."""
    for address in addresses or []:
        code = address.get("country") if isinstance(address, Mapping) else None
        if code and len(str(code)) == 2 and str(code).isalpha():
            return str(code).upper()
    return default


def _currency_or_usd(raw: Any) -> str:
    return v.currency("currency", raw) or "USD"


@functools.lru_cache(maxsize=64)
def _phone_in(region: str) -> Callable[[str, str | None], str | None]:
    """The phone check of numbers without a country code read in ``region``: one
    function a region, not one made for each record checked."""
    return lambda field, raw: v.phone(field, raw, region)


def clean_customer(
    patch: Mapping[str, Any],
    *,
    region: str,
    custom_defs: Mapping[str, tuple[str, list[str]]],
    doubts: list[Doubt] | None = None,
) -> dict[str, Any]:
    """``custom_defs``: key -> (type, choices) of the defined custom fields. Phone
    numbers are read in the country of the patch's address, else in ``region``.

    What a person types is refused when a value is wrong. A file from elsewhere is
    different (``doubts`` given, by an import): a wrong email or phone is kept as
    written and marked unverified, another wrong field is left out and noted in
    ``doubts`` (the importer keeps it in the notes); only a missing name refuses it."""
    _unknown(patch, _CUSTOMER_FIELD_SET)
    c = Collector(doubts, strict=_CUSTOMER_STRICT)
    p = patch
    if "name" in p:
        c.check("name", v.required_name, "name", p["name"])
    if "kind" in p:
        c.check(
            "kind", lambda: v.choice("kind", p["kind"], CustomerKind) or CustomerKind.ORGANISATION
        )
    if "status" in p:
        c.check(
            "status",
            lambda: v.choice("status", p["status"], CustomerStatus) or CustomerStatus.PROSPECT,
        )
    for name in ("industry", "segment", "territory"):
        if name in p:
            c.check(name, v.short_text, name, p[name], 120)
    if "owner" in p:
        c.check("owner", v.short_text, "owner", p["owner"], 200)
    if "website" in p:
        c.check("website", v.website, "website", p["website"])
    if "emails" in p:
        c.check("emails", _labelled, "email", p["emails"], v.email, doubts, "emails")
    if "addresses" in p:
        c.check("addresses", _addresses, "address", p["addresses"])
    if "phones" in p:
        local = phone_region(c.out.get("addresses"), region)
        c.check("phones", _labelled, "phone", p["phones"], _phone_in(local), doubts, "phones")
    if "tags" in p:
        c.check("tags", lambda: _tags("tags", p["tags"]))
    if "notes" in p:
        c.check("notes", v.long_text, "notes", p["notes"])
    if "yearly_potential" in p:
        c.check("yearly_potential", lambda: v.money("yearly potential", p["yearly_potential"]))
    if "currency" in p:
        c.check("currency", _currency_or_usd, p["currency"])
    if "custom" in p:
        custom: dict[str, Any] = {}
        for key, raw in dict(p["custom"] or {}).items():
            if key not in custom_defs:
                if raw is not None and str(raw).strip():
                    c.errors.append(_undefined_custom(key, custom_defs))
                continue  # an empty value removes the key (see customers.edit_customer)
            kind, choices = custom_defs[key]
            c.check(
                f"custom.{key}", lambda k=key, t=kind, ch=choices, r=raw: custom_value(k, t, ch, r)
            )
            if f"custom.{key}" in c.out:
                value = c.out.pop(f"custom.{key}")
                if value is not None:
                    custom[key] = value
        c.out["custom"] = custom
    return c.done()


def _undefined_custom(key: str, custom_defs: Mapping[str, Any]) -> ValidationError:
    """A custom field must be defined first, so that a typo does not make a new field."""
    defined = ", ".join(sorted(custom_defs)) or "none yet"
    return ValidationError(
        "custom field",
        f"'{key}' is not defined (defined: {defined}); define it with: touchpoint field "
        f"define {key} --type text (or number, date, choice)",
    )


CONTACT_FIELDS = (
    "customer_id", "name", "title", "decision_role", "emails", "phones",
    "preferred_channel", "do_not_contact", "notes", "photo",
)  # fmt: skip
_CONTACT_FIELD_SET = frozenset(CONTACT_FIELDS)
_CONTACT_STRICT = frozenset(("name", "notes", "customer_id"))


def _bool(field: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw or "").strip().casefold()
    if text in ("1", "true", "yes", "y", "x", "on"):
        return True
    if text in ("", "0", "false", "no", "n", "off"):
        return False
    raise ValidationError(field, f"'{raw}' is not yes or no")


def clean_contact(
    patch: Mapping[str, Any], *, region: str, doubts: list[Doubt] | None = None
) -> dict[str, Any]:
    """``doubts``: a file's values, kept as :func:`clean_customer` keeps them."""
    _unknown(patch, _CONTACT_FIELD_SET)
    c = Collector(doubts, strict=_CONTACT_STRICT)
    p = patch
    if "customer_id" in p:
        c.check("customer_id", lambda: v.required_name("customer", p["customer_id"]))
    if "name" in p:
        c.check("name", v.required_name, "contact name", p["name"])
    if "title" in p:
        c.check("title", v.short_text, "title", p["title"], 200)
    if "decision_role" in p:
        c.check(
            "decision_role", lambda: v.choice("decision role", p["decision_role"], DecisionRole)
        )
    if "emails" in p:
        c.check("emails", _labelled, "email", p["emails"], v.email, doubts, "emails")
    if "phones" in p:
        c.check("phones", _labelled, "phone", p["phones"], _phone_in(region), doubts, "phones")
    if "preferred_channel" in p:
        c.check(
            "preferred_channel",
            lambda: v.choice("preferred channel", p["preferred_channel"], Channel),
        )
    if "do_not_contact" in p:
        c.check("do_not_contact", lambda: _bool("do not contact", p["do_not_contact"]))
    if "notes" in p:
        c.check("notes", v.long_text, "notes", p["notes"])
    if "photo" in p:
        c.check("photo", lambda: photos.clean("photo", p["photo"]))
    return c.done()


def _aware(field: str, raw: Any) -> datetime:
    if not isinstance(raw, datetime):
        raise ValidationError(field, f"'{raw}' is not a date and time")
    if raw.tzinfo is None:
        raise ValidationError(field, "needs a time zone")
    return raw


def clean_interaction(patch: Mapping[str, Any]) -> dict[str, Any]:
    c = Collector()
    p = patch
    if "kind" in p:
        c.check("kind", lambda: _required_choice("kind", p["kind"], InteractionKind))
    if "direction" in p:
        c.check("direction", lambda: v.choice("direction", p["direction"], Direction))
    if "occurred_at" in p:
        c.check("occurred_at", lambda: _aware("when", p["occurred_at"]))
    if "duration_minutes" in p:
        c.check("duration_minutes", lambda: _duration(p["duration_minutes"]))
    if "subject" in p:
        c.check("subject", lambda: v.short_text("subject", p["subject"], limit=500))
    if "notes" in p:
        c.check("notes", lambda: v.long_text("notes", p["notes"]))
    if "outcome" in p:
        c.check("outcome", lambda: _outcome(p["outcome"]))
    if "satisfaction" in p:
        c.check("satisfaction", lambda: v.satisfaction("satisfaction", p["satisfaction"]))
    if "feedback" in p:
        c.check("feedback", lambda: v.long_text("feedback", p["feedback"]))
    if "depth" in p:
        c.check("depth", lambda: v.choice("depth", p["depth"], Depth))
    return c.done()


def _duration(raw: Any) -> int | None:
    minutes = v.non_negative_int("duration", raw)
    if minutes is not None and minutes > 24 * 60:
        raise ValidationError("duration", "is longer than a day")
    return minutes


def _outcome(raw: Any) -> str | None:
    """A known outcome in its canonical spelling, or the user's own words."""
    text = v.short_text("outcome", raw, limit=120)
    if text is None:
        return None
    try:
        return v.choice("outcome", text, Outcome)
    except ValidationError:
        return text


def _required_choice(field: str, raw: Any, enum: Any) -> Any:
    value = v.choice(field, raw, enum)
    if value is None:
        raise ValidationError(field, "must not be empty")
    return value


def clean_followup(patch: Mapping[str, Any]) -> dict[str, Any]:
    c = Collector()
    p = patch
    if "title" in p:
        c.check("title", lambda: _followup_title(p["title"]))
    if "notes" in p:
        c.check("notes", lambda: v.long_text("notes", p["notes"]))
    if "due_at" in p:
        c.check("due_at", lambda: _aware("due", p["due_at"]))
    if "remind_at" in p:
        c.check(
            "remind_at",
            lambda: None if p["remind_at"] is None else _aware("reminder", p["remind_at"]),
        )
    if "priority" in p:
        c.check(
            "priority", lambda: v.choice("priority", p["priority"], Priority) or Priority.NORMAL
        )
    if "status" in p:
        c.check("status", lambda: _required_choice("status", p["status"], FollowUpStatus))
    if "assigned_to" in p:
        c.check("assigned_to", lambda: v.required_name("assigned to", p["assigned_to"]))
    return c.done()


def _followup_title(raw: Any) -> str:
    text = v.short_text("follow-up", raw, limit=500)
    if not text:
        raise ValidationError("follow-up", "must say what was promised")
    return text


def clean_deal(patch: Mapping[str, Any]) -> dict[str, Any]:
    c = Collector()
    p = patch
    if "title" in p:
        c.check("title", lambda: v.required_name("deal title", p["title"]))
    if "value" in p:
        c.check("value", lambda: v.money("value", p["value"]) or Decimal("0.00"))
    if "currency" in p:
        c.check("currency", lambda: v.currency("currency", p["currency"]) or "USD")
    if "stage" in p:
        c.check("stage", lambda: v.choice("stage", p["stage"], DealStage) or DealStage.LEAD)
    if "expected_close" in p:
        c.check("expected_close", lambda: _date("expected close", p["expected_close"]))
    return c.done()


def _date(field: str, raw: Any) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValidationError(field, f"'{raw}' is not a date (YYYY-MM-DD)") from None
