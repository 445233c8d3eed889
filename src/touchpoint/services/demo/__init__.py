"""Realistic demo data: a sales team's customers, people, touchpoints, promises and deals.

The app offers it on first start (:func:`is_empty`), ``touchpoint demo`` makes it, and
the benchmarks run on it. The words a manager reads on a screenshot (names with
accents, notes in the reps' own words, satisfaction that falls for some customers,
customers going quiet, promises kept and broken) are made here from the countries
and word lists in ``data.json`` (read by :mod:`.data`).

Speed: a million interactions cannot go through the ORM one by one, so rows are
built as plain tuples and written with executemany in one write transaction. For
each record it writes exactly what the normal write path writes: the row, its
search document (the same text as :func:`storage.search_index.document`), its
identity keys (as :func:`storage.identity.keys_of`) and one insert row in the change
log with the same field values as :mod:`storage.tracking`.
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import JSON, Boolean, Connection, func, inspect, select

from touchpoint.domain import metrics
from touchpoint.domain.values import display_phone, name_key, normalised_email_key, website_host
from touchpoint.errors import ValidationError
from touchpoint.services.demo.data import City, Country, countries, words
from touchpoint.storage import search_index
from touchpoint.storage.models import (
    Change,
    Contact,
    Customer,
    CustomFieldDef,
    Deal,
    FollowUp,
    Interaction,
    Record,
)
from touchpoint.storage.types import DecimalText, ISODate, UTCDateTime, to_utc_text
from touchpoint.storage.workspace import Workspace

SIZES: dict[str, dict[str, int]] = {
    "S": dict(customers=2_000, contacts=6_000, interactions=50_000, followups=10_000, reps=1),
    "L": dict(
        customers=100_000, contacts=300_000, interactions=1_000_000, followups=200_000, reps=50
    ),
}

TEAM_DOMAIN = "northwind-sales.example"
BATCH = 5_000  # records per executemany round


@dataclass(frozen=True)
class DemoReport:
    counts: dict[str, int]  # records made per entity
    seconds: float


def is_empty(ws: Workspace) -> bool:
    """No live customer yet: the app offers the demo data at first start."""
    with ws.read() as session:
        found = session.execute(
            select(Customer.id).where(Customer.deleted_at.is_(None)).limit(1)
        ).first()
    return found is None


# --- the teams of the demo's world --------------------------------------------------

# Sales teams of a manager's group: (territory, time zone, countries they cover).
TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("DACH", "Europe/Berlin", ("DE", "AT", "CH")),
    ("UK & Benelux", "Europe/London", ("GB", "NL")),
    ("France", "Europe/Paris", ("FR",)),
    ("Southern Europe", "Europe/Madrid", ("ES", "IT")),
    ("North America", "America/New_York", ("US",)),
)
TERRITORY_OF = {code: name for name, _tz, codes in TEAMS for code in codes}


def sales_team(count: int) -> list[str]:
    """``count`` rep emails of a manager's group (firstname.lastname@northwind-sales.example).

    :func:`generate_demo` puts rep ``i`` of ``count`` in team ``i * 5 // count``, so the
    first tenth cover DACH, the next UK & Benelux, then France, Southern Europe and
    North America.
    """
    first, last = words().rep_first, words().rep_last
    return [f"{first[i % len(first)]}.{last[i % len(last)]}@{TEAM_DOMAIN}" for i in range(count)]


# --- small helpers -----------------------------------------------------------------

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe",
                           "Ü": "Ue", "ø": "o", "æ": "ae", "œ": "oe"})  # fmt: skip


def _ascii(text: str, german: bool = False) -> str:
    if german:
        text = text.translate(_TRANSLIT)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _slug(text: str, german: bool = False) -> str:
    plain = _ascii(text, german).lower().replace("&", " ").replace("+", " ")
    plain = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return plain[:40].rstrip("-")


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _apportion(rng: random.Random, total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into whole numbers proportional to ``weights``, summing exactly."""
    n = len(weights)
    if n == 0 or total <= 0:
        return [0] * n
    whole = sum(weights)
    if whole <= 0:
        weights = [1.0] * n
        whole = float(n)
    shares = [math.floor(total * w / whole) for w in weights]
    for index in rng.choices(range(n), weights=weights, k=total - sum(shares)):
        shares[index] += 1
    return shares


def _postcode(rng: random.Random, pattern: str, country: str) -> str:
    if country == "GB":
        return f"{pattern} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" + rng.choice(
            "ABDEFGHJLNPQRSTUWXYZ"
        )
    if country == "NL":
        return f"{pattern[:4]} {pattern[4:]}"
    return pattern


@dataclass
class _Rep:
    email: str
    team: int
    tz: tzinfo


# --- phones ------------------------------------------------------------------------


class _Phones:
    """Unique, valid numbers in E.164 for a country, fixed lines with the city's area code."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _try(self, country: Country, prefix: str, lengths: Sequence[int]) -> str | None:
        rng = self.rng
        code = phonenumbers.country_code_for_region(country.code)
        for _ in range(40):
            length = rng.choice(lengths)
            rest = length - len(prefix)
            if rest < 4:
                continue
            national = (
                prefix
                + str(rng.randint(2, 9))
                + "".join(str(rng.randint(0, 9)) for _ in range(rest - 1))
            )
            number = phonenumbers.parse(f"+{code}{national}", None)
            if not phonenumbers.is_valid_number(number):
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in self.used:
                self.used.add(e164)
                return e164
        return None

    def fixed(self, country: Country, city: City) -> str:
        found = self._try(country, self.rng.choice(city.area), country.fixed_lengths)
        return found or self.mobile(country)

    def mobile(self, country: Country) -> str:
        prefixes = country.mobile or tuple(a for c in country.cities for a in c.area)
        lengths = country.mobile_lengths
        for _ in range(20):
            found = self._try(country, self.rng.choice(prefixes), lengths)
            if found:
                return found
        raise RuntimeError(f"no valid demo phone number for {country.code}")  # a bug in tables


# --- the database writer -------------------------------------------------------------


def _converter(column: Any) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return lambda v: None if v is None else to_utc_text(v)
    if isinstance(kind, ISODate):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(kind, DecimalText):
        return lambda v: None if v is None else str(Decimal(v))
    if isinstance(kind, Boolean):
        return lambda v: None if v is None else int(v)
    if isinstance(kind, JSON):
        return lambda v: None if v is None else json.dumps(v)
    return lambda v: v


class _Table:
    """A model's columns in mapper order, with how to store and log each value."""

    def __init__(self, model: type[Record]) -> None:
        self.model = model
        attrs = list(inspect(model).column_attrs)
        self.names = [a.key for a in attrs]
        self.store = [_converter(a.columns[0]) for a in attrs]
        # The change log holds JSON values (tracking.jsonable): text for times, dates
        # and money, the plain value for JSON and booleans.
        # Per column: 0 not in the change log, 1 logged as stored, 2 logged as the value.
        self.log_as = [
            0
            if a.key in model.bookkeeping
            else 2
            if isinstance(a.columns[0].type, JSON | Boolean)
            else 1
            for a in attrs
        ]
        self.sql = (
            f"INSERT INTO {model.__tablename__} ({', '.join(self.names)}) "
            f"VALUES ({', '.join('?' for _ in self.names)})"
        )


_CHANGE_SQL = (
    "INSERT INTO change_log (change_id, tx_id, device_id, entity, record_id, op, fields, at, "
    "author, schema_version, pushed_at, push_error) VALUES (?, ?, ?, ?, ?, 'insert', ?, ?, ?, ?, "
    "?, NULL)"
)
_DOC_SQL = (
    "INSERT INTO search_docs (entity, record_id, customer_id, title, body) VALUES (?, ?, ?, ?, ?)"
)
_KEY_SQL = "INSERT INTO identity_keys (entity, record_id, kind, value) VALUES (?, ?, ?, ?)"
_ORDER: tuple[type[Record], ...] = (CustomFieldDef, Customer, Contact, Interaction, FollowUp, Deal)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p)


def _phones_text(items: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for item in items:
        out.append(item["value"])
        out.append(display_phone(item["value"]))
    return " ".join(out)


def _values_text(items: list[dict[str, Any]]) -> str:
    return " ".join(str(i.get("value") or "") for i in items)


def search_document(entity: str, r: dict[str, Any]) -> tuple[str | None, str, str] | None:
    """The text :func:`storage.search_index.document` makes for a new record with
    these values (same rules, computed from a plain row instead of an ORM object)."""
    if entity == "customer":
        addresses = " ".join(
            _join(a.get("street"), a.get("city"), a.get("region"), a.get("country"))
            for a in r["addresses"]
        )
        custom = " ".join(str(v) for v in r["custom"].values() if v is not None)
        body = _join(
            r["industry"], r["segment"], r["territory"], r["website"], _values_text(r["emails"]),
            _phones_text(r["phones"]), " ".join(r["tags"]), addresses, custom, r["notes"],
        )  # fmt: skip
        return r["id"], r["name"], body
    if entity == "contact":
        body = _join(
            r["title"], r["decision_role"], _values_text(r["emails"]), _phones_text(r["phones"]),
            r["notes"],
        )  # fmt: skip
        return r["customer_id"], r["name"], body
    if entity == "interaction":
        title = r["subject"] or _join(r["kind"].capitalize(), r["outcome"])
        return r["customer_id"], title, _join(r["notes"], r["feedback"])
    if entity == "followup":
        if r["status"] == "cancelled":
            return None
        return r["customer_id"], r["title"], r["notes"] or ""
    return None


def identity_keys(entity: str, r: dict[str, Any]) -> set[tuple[str, str]]:
    """What :func:`storage.identity.keys_of` gives for a new record with these values."""
    if entity not in ("customer", "contact"):
        return set()
    keys = {("email", normalised_email_key(i["value"])) for i in r["emails"] if i.get("value")}
    keys |= {("phone", i["value"]) for i in r["phones"] if i.get("value")}
    if entity == "customer":
        host = website_host(r["website"])
        if host:
            keys.add(("host", host))
    return keys


class _Writer:
    """Buffers rows and writes them with executemany, parents before children."""

    def __init__(
        self,
        conn: Connection,
        *,
        ids: random.Random,
        device_id: str,
        schema_version: str,
        pushed_at: datetime,
        total: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.conn = conn
        self.ids = ids
        self.tx_id = self.new_id()
        self.device_id = device_id
        self.schema_version = schema_version
        self.pushed_at = to_utc_text(pushed_at)
        self.tables = {m: _Table(m) for m in _ORDER}
        self.rows: dict[type[Record], list[tuple[Any, ...]]] = {m: [] for m in _ORDER}
        self.changes: list[tuple[Any, ...]] = []
        self.docs: list[tuple[Any, ...]] = []
        self.keys: list[tuple[Any, ...]] = []
        self.counts: dict[str, int] = {m.entity: 0 for m in _ORDER}
        self.done = 0
        self.total = total
        self.progress = progress

    def new_id(self) -> str:
        return _uuid(self.ids)

    def add(self, model: type[Record], row: dict[str, Any]) -> None:
        table = self.tables[model]
        values = [row[name] for name in table.names]
        stored = tuple(conv(v) for conv, v in zip(table.store, values))  # noqa: B905
        self.rows[model].append(stored)
        fields = {
            name: [None, v if how == 2 else kept]
            for name, how, v, kept in zip(table.names, table.log_as, values, stored)  # noqa: B905
            if how and v is not None
        }
        entity = model.entity
        # Demo records are sample data of this laptop only: their change rows are marked
        # as already pushed so a sync never sends them to the team's Hub, while the
        # history of each record still shows how it was made.
        self.changes.append(
            (
                self.new_id(), self.tx_id, self.device_id, entity, row["id"], json.dumps(fields),
                to_utc_text(row["created_at"]), row["created_by"], self.schema_version,
                self.pushed_at,
            )
        )  # fmt: skip
        doc = search_document(entity, row)
        if doc is not None:
            self.docs.append((entity, row["id"], *doc))
        for kind, value in sorted(identity_keys(entity, row)):
            self.keys.append((entity, row["id"], kind, value))
        self.counts[entity] += 1
        if len(self.changes) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for model in _ORDER:
            rows = self.rows[model]
            if rows:
                self.conn.exec_driver_sql(self.tables[model].sql, rows)
                rows.clear()
        for sql, rows in ((_DOC_SQL, self.docs), (_KEY_SQL, self.keys)):
            if rows:
                self.conn.exec_driver_sql(sql, rows)
                rows.clear()
        if self.changes:
            self.conn.exec_driver_sql(_CHANGE_SQL, self.changes)
            self.done += sum(1 for c in self.changes if c[3] != "custom_field")
            self.changes.clear()
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


# --- the generator ---------------------------------------------------------------------


class _Demo:
    def __init__(self, ws: Workspace, rng: random.Random, reps: list[_Rep], now: datetime):
        self.ws = ws
        self.rng = rng
        self.reps = reps
        self.now = now
        self.phones = _Phones(rng)
        self.names: set[str] = set()
        self.domains: set[str] = set()
        self.emails: set[str] = set()
        self.by_team: dict[int, list[_Rep]] = {}
        for rep in reps:
            self.by_team.setdefault(rep.team, []).append(rep)
        self.author = ws.author
        self.remind_before = timedelta(minutes=ws.settings.reminder_minutes_before)
        self.forced_today = 0
        self.falling_made = 0
        self.forced_week = 0

    # -- times ------------------------------------------------------------------
    def working_time(self, moment: datetime, tz: tzinfo, *, not_after: datetime) -> datetime:
        """The same local day (a weekday) at a working hour in the rep's zone."""
        rng = self.rng
        day = moment.astimezone(tz).date()
        hour = rng.choices(range(8, 18), weights=(5, 9, 10, 10, 6, 6, 9, 9, 8, 5))[0]
        minute = rng.choice((0, 5, 10, 15, 20, 30, 30, 40, 45, 50))
        for _ in range(14):
            if day.weekday() >= 5:
                day -= timedelta(days=day.weekday() - 4)
            when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)
            if when <= not_after:
                return when
            day -= timedelta(days=1)
        return not_after - timedelta(minutes=rng.randint(5, 600))

    def due_time(self, day: date, tz: tzinfo, hour: int | None = None) -> datetime:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        hour = hour if hour is not None else self.rng.choice((9, 10, 11, 12, 14, 15, 16, 17))
        return datetime(day.year, day.month, day.day, hour, 0, tzinfo=tz).astimezone(UTC)

    # -- names --------------------------------------------------------------------
    def company_name(self, country: Country, city: City) -> tuple[str, str]:
        """(name, core without legal form) not yet used by another demo customer."""
        rng = self.rng
        legal = rng.choice(country.legal)
        core = ""
        for attempt in range(25):
            pattern = rng.choice(country.patterns)
            if attempt > 15:
                pattern = "{S} & {S2} {T} {C}"
            first, second = rng.sample(country.surnames, 2)
            core = pattern.format(S=first, S2=second, T=rng.choice(country.trades), C=city.name)
            if name_key(core) not in self.names:
                break
        self.names.add(name_key(core))
        return f"{core} {legal}", core

    def domain(self, core: str, country: Country, city: City) -> str:
        base = _slug(core, german=country.code in ("DE", "AT", "CH"))
        for candidate in (base, f"{base}-{_slug(city.name)}"):
            name = f"{candidate}.{country.tld}"
            if name not in self.domains:
                self.domains.add(name)
                return name
        n = 2
        while f"{base}{n}.{country.tld}" in self.domains:
            n += 1
        self.domains.add(f"{base}{n}.{country.tld}")
        return f"{base}{n}.{country.tld}"

    def person(self, country: Country) -> tuple[str, str]:
        return self.rng.choice(country.first_names), self.rng.choice(country.surnames)

    def address(self, country: Country, city: City, label: str) -> dict[str, Any]:
        rng = self.rng
        street, number = rng.choice(country.streets), rng.randint(1, 180)
        line = f"{number} {street}" if country.street_number_first else f"{street} {number}"
        if country.code == "FR":
            line = f"{number}, {street}"
        return {
            "label": label,
            "street": line,
            "city": city.name,
            "postcode": _postcode(rng, rng.choice(city.postcodes), country.code),
            "region": city.region,
            "country": country.code,
        }

    def unique_email(self, local: str, domain: str) -> str:
        address = f"{local}@{domain}"
        n = 2
        while address in self.emails:
            address = f"{local}{n}@{domain}"
            n += 1
        self.emails.add(address)
        return address


def generate_demo(
    ws: Workspace,
    *,
    customers: int = 200,
    contacts: int | None = None,
    interactions: int | None = None,
    followups: int | None = None,
    deals: int | None = None,
    reps: Sequence[str] | None = None,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoReport:
    """Add a realistic demo dataset to ``ws`` in one transaction.

    Per customer by default: 3 contacts, 25 interactions, 5 follow-ups and 1.5 deals.
    ``reps`` are the owners' emails (the workspace's user alone when not given). The
    same seed makes the same data.
    """
    started = time.perf_counter()
    for name, value in (
        ("customers", customers),
        ("contacts", contacts),
        ("interactions", interactions),
        ("followups", followups),
        ("deals", deals),
    ):
        if value is not None and value < 0:
            raise ValidationError(name, "must not be negative")
    n_contacts = round(3 * customers) if contacts is None else contacts
    n_interactions = 25 * customers if interactions is None else interactions
    n_followups = 5 * customers if followups is None else followups
    n_deals = round(1.5 * customers) if deals is None else deals
    if n_followups and not n_interactions:
        raise ValidationError("followups", "follow-ups are made in interactions: give some")
    if customers == 0 and (n_contacts or n_interactions or n_deals):
        raise ValidationError("customers", "contacts, interactions and deals need customers")
    rep_emails = [r.strip() for r in (reps or [ws.author]) if r and r.strip()]
    if not rep_emails:
        raise ValidationError("reps", "give at least one rep")

    ids = random.Random(f"touchpoint-demo-ids-{seed}")
    tx_id = _uuid(random.Random(f"touchpoint-demo-ids-{seed}"))  # the writer's first id
    with ws.read() as session:
        taken = session.scalar(
            select(func.count()).select_from(Change).where(Change.tx_id == tx_id)
        )
        existing_defs = {
            d.key: d.type for d in session.scalars(select(CustomFieldDef)).all() if d.key
        }
    if taken:
        raise ValidationError(
            "seed", f"demo data made with seed {seed} is already here; use another seed"
        )

    now = ws.now()
    rng = random.Random(seed)
    team_of = {i: i * len(TEAMS) // len(rep_emails) for i in range(len(rep_emails))}
    rep_list = [
        _Rep(
            email,
            team_of[i],
            ws.tz if email == ws.author else ZoneInfo(TEAMS[team_of[i]][1]),
        )
        for i, email in enumerate(rep_emails)
    ]
    demo = _Demo(ws, rng, rep_list, now)
    total = customers + n_contacts + n_interactions + n_followups + n_deals

    session = ws.db.write_session()
    try:
        with session.begin():
            conn = session.connection()
            # A bigger page cache for this one bulk load: the UUID keys land all over
            # their indexes (the connection is closed afterwards).
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
            writer = _Writer(
                conn,
                ids=ids,
                device_id=ws.device_id,
                schema_version=ws.schema_version,
                pushed_at=now,
                total=total,
                progress=progress,
            )
            _write_custom_defs(writer, demo, existing_defs)
            _generate(
                demo,
                writer,
                customers=customers,
                contacts=n_contacts,
                interactions=n_interactions,
                followups=n_followups,
                deals=n_deals,
                custom_keys={
                    key
                    for key, kind, *_ in words().custom_fields
                    if existing_defs.get(key, kind) == kind
                },
            )
            writer.flush()
            if writer.counts["interaction"] > 50_000:
                # Merge the many index segments a bulk load leaves, so searches stay fast.
                for table in search_index.FTS_TABLES:
                    conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    finally:
        session.close()
    return DemoReport(counts=dict(writer.counts), seconds=time.perf_counter() - started)


def _stamp(row: dict[str, Any], by: str, at: datetime, updated: datetime | None = None) -> None:
    row["created_at"] = at
    row["created_by"] = by
    row["updated_at"] = updated or at
    row["updated_by"] = by
    row.setdefault("deleted_at", None)


def _write_custom_defs(writer: _Writer, demo: _Demo, existing: dict[str, str]) -> None:
    at = demo.now - timedelta(days=800)
    for key, label, kind, choices in words().custom_fields:
        if key in existing:
            continue
        row = {"id": writer.new_id(), "key": key, "label": label, "type": kind,
               "choices": list(choices)}  # fmt: skip
        _stamp(row, demo.author, at)
        writer.add(CustomFieldDef, row)


def _generate(
    demo: _Demo,
    writer: _Writer,
    *,
    customers: int,
    contacts: int,
    interactions: int,
    followups: int,
    deals: int,
    custom_keys: set[str],
) -> None:
    rng = demo.rng
    world = countries()
    codes = list(world)
    weights = [world[c].weight for c in codes]
    if len(demo.reps) == 1:
        # One rep works mostly around home; a few accounts abroad.
        home = demo.ws.settings.default_region.upper()
        weights = [w * (8 if c == home else 1) for c, w in zip(codes, weights, strict=True)]

    plans = []
    dupes = min(8, customers // 25)
    for n in range(customers):
        country = world[rng.choices(codes, weights=weights)[0]]
        roll = rng.random()
        status = "active" if roll < 0.72 else "prospect" if roll < 0.9 else "former"
        individual = rng.random() < 0.08
        segment = rng.choices(("Key account", "Mid-market", "Small business"), (15, 45, 40))[0]
        if individual:
            segment = "Small business"
        weight = {"Key account": 3.0, "Mid-market": 1.5, "Small business": 0.7}[segment]
        weight *= {"active": 1.0, "prospect": 0.25, "former": 0.5}[status]
        weight *= rng.lognormvariate(0, 0.5)
        plans.append(
            {
                "n": n,
                "country": country,
                "status": status,
                "individual": individual,
                "segment": segment,
                "weight": weight,
                "dupe_of": None,
            }
        )
    # The last few are near-duplicates of earlier organisations, for the duplicates screen.
    originals = [p for p in plans[: max(0, customers - dupes)] if not p["individual"]]
    for k, plan in enumerate(plans[customers - dupes :] if dupes else []):
        if k < len(originals):
            source = originals[(k * 7919) % len(originals)]
            plan.update(country=source["country"], individual=False, dupe_of=source, weight=0.2)
    contact_counts = _apportion(
        rng, contacts, [0.3 if p["individual"] else p["weight"] ** 0.5 for p in plans]
    )
    interaction_counts = _apportion(rng, interactions, [p["weight"] for p in plans])
    followup_counts = _apportion(rng, followups, [float(c) for c in interaction_counts])
    deal_counts = _apportion(
        rng, deals, [0.4 if p["status"] == "prospect" else p["weight"] ** 0.5 for p in plans]
    )
    for plan, nc, ni, nf, nd in zip(
        plans, contact_counts, interaction_counts, followup_counts, deal_counts, strict=True
    ):
        _customer(
            demo,
            writer,
            plan,
            n_contacts=nc,
            n_interactions=ni,
            n_followups=nf,
            n_deals=nd,
            custom_keys=custom_keys,
        )


def _owner(demo: _Demo, country: Country) -> _Rep:
    team = next(i for i, t in enumerate(TEAMS) if country.code in t[2])
    members = demo.by_team.get(team) or demo.reps
    return demo.rng.choice(members)


def _customer(
    demo: _Demo,
    writer: _Writer,
    plan: dict[str, Any],
    *,
    n_contacts: int,
    n_interactions: int,
    n_followups: int,
    n_deals: int,
    custom_keys: set[str],
) -> None:
    rng = demo.rng
    now = demo.now
    country: Country = plan["country"]
    status: str = plan["status"]
    owner = _owner(demo, country)
    city = rng.choices(country.cities, weights=country.city_weights)[0]
    german = country.code in ("DE", "AT", "CH")
    customer_id = writer.new_id()
    source = plan["dupe_of"]

    # Names and ways to reach them.
    if plan["individual"]:
        first, last = demo.person(country)
        name = f"{first} {last}"
        domain = None
        local = _slug(f"{first}.{last}", german).replace("-", ".")
        emails = [
            {"label": "home", "value": demo.unique_email(local, rng.choice(country.free_mail))}
        ]
        website = None
        phones = [{"label": "mobile", "value": demo.phones.mobile(country)}]
    elif source is not None:
        name, domain, emails, phones, website = _near_duplicate(demo, source, country, city)
    else:
        name, core = demo.company_name(country, city)
        domain = demo.domain(core, country, city)
        emails = [
            {
                "label": "work",
                "value": demo.unique_email(
                    rng.choice(("info", "kontakt" if german else "contact", "office", "sales")),
                    domain,
                ),
            }
        ]
        website = f"https://www.{domain}"
        phones = [{"label": "work", "value": demo.phones.fixed(country, city)}]
        if rng.random() < 0.3:
            phones.append({"label": "service", "value": demo.phones.fixed(country, city)})
    plan["name"], plan["domain"], plan["emails"], plan["phones"], plan["website"] = (
        name, domain, emails, phones, website,
    )  # fmt: skip
    plan["city"] = city

    # When things happened.
    two_years = now - timedelta(days=730)
    quiet = status == "active" and rng.random() < 0.13
    if status == "former":
        end = now - timedelta(days=rng.randint(150, 540))
        start = two_years
    elif status == "prospect":
        end = now
        start = now - timedelta(days=rng.randint(20, 200))
    else:
        end = now - timedelta(days=rng.randint(31, 120)) if quiet else now
        start = two_years - timedelta(days=rng.randint(0, 400))
    span = (end - start).total_seconds()
    # More touches lately than long ago, and a busy last four weeks.
    recent = min(span, 28 * 86400)
    moments = sorted(
        end
        - timedelta(
            seconds=rng.uniform(0, recent)
            if rng.random() < 0.12
            else span * (1 - math.sqrt(rng.random()))
        )
        for _ in range(n_interactions)
    )
    first_touch = moments[0] if moments else end - timedelta(days=rng.randint(1, 300))
    created = first_touch - timedelta(days=rng.randint(3, 60), minutes=rng.randint(0, 600))
    created = demo.working_time(created, owner.tz, not_after=now - timedelta(days=1))
    confirmed = None
    updated = created
    if rng.random() < 0.3:  # the rep checked the profile since
        confirmed = created + (now - created) * rng.uniform(0.3, 1.0)
        confirmed = max(created, demo.working_time(confirmed, owner.tz, not_after=now))
        updated = confirmed

    industry = rng.choice(words().industries)
    tags = rng.sample(words().tags, rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0])
    if plan["segment"] == "Key account" and "key" not in tags:
        tags.insert(0, "key")
    fleet = rng.randint(2, 40) if plan["segment"] != "Key account" else rng.randint(40, 400)
    custom: dict[str, Any] = {}
    if "fleet_size" in custom_keys and not plan["individual"]:
        custom["fleet_size"] = fleet
    if "contract_end" in custom_keys and status == "active" and rng.random() < 0.6:
        custom["contract_end"] = (now + timedelta(days=rng.randint(-30, 700))).date().isoformat()
    if "tier" in custom_keys and status != "prospect":
        custom["tier"] = {"Key account": "Gold", "Mid-market": "Silver"}.get(
            plan["segment"], "Bronze"
        )
    potential = {
        "Key account": (150_000, 900_000),
        "Mid-market": (30_000, 150_000),
        "Small business": (3_000, 30_000),
    }[plan["segment"]]
    notes = _customer_notes(rng, plan, country, city, fleet)
    row = {
        "id": customer_id,
        "name": name,
        "kind": "individual" if plan["individual"] else "organisation",
        "status": status,
        "industry": None if plan["individual"] and rng.random() < 0.5 else industry,
        "segment": plan["segment"],
        "owner": owner.email,
        "territory": TERRITORY_OF[country.code],
        "website": website,
        "addresses": (
            [demo.address(country, city, "home" if plan["individual"] else "office")]
            if rng.random() < 0.95
            else []
        ),
        "phones": phones,
        "emails": emails,
        "tags": tags,
        "custom": custom,
        "notes": notes,
        "yearly_potential": Decimal(rng.randrange(*potential, 500)).quantize(Decimal("0.01")),
        "currency": country.currency,
        "confirmed_at": confirmed,
        "merged_into_id": None,
    }
    _stamp(row, owner.email, created, updated)
    writer.add(Customer, row)

    contacts = [
        _contact(demo, writer, plan, customer_id=customer_id, owner=owner, created=created, index=k)
        for k in range(n_contacts)
    ]
    touches = _interactions(
        demo, writer, plan, customer_id=customer_id, owner=owner, moments=moments, contacts=contacts
    )
    _followups(demo, writer, customer_id, touches, n_followups)
    _deals(
        demo,
        writer,
        plan,
        customer_id=customer_id,
        owner=owner,
        created=created,
        touches=touches,
        count=n_deals,
    )


def _near_duplicate(
    demo: _Demo, source: dict[str, Any], country: Country, city: City
) -> tuple[str, str | None, list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """A second record of an existing company, as a colleague or an import typed it."""
    rng = demo.rng
    name: str = source["name"]
    style = rng.randrange(4)
    if style == 0:  # "Acme GmbH" -> "ACME G.m.b.H."
        parts = name.split()
        legal = parts[-1]
        dotted = ".".join(legal.replace(".", "")) + "." if legal.isalpha() else legal
        variant = " ".join([*(w.upper() for w in parts[:-1]), dotted])
    elif style == 1:
        variant = _ascii(name)
        if variant == name:
            variant = name.replace(" & ", " and ") if " & " in name else name.upper()
    elif style == 2:
        variant = name.replace(" & ", " + ") if " & " in name else f"{name} ({city.name})"
    else:
        variant = name.rsplit(" ", 1)[0]  # the legal form left out
    emails: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    website = None
    domain = source["domain"]
    shared = rng.randrange(3)
    if shared == 0:
        website = source["website"].replace("https://www.", "http://")
    elif shared == 1:
        emails = [dict(source["emails"][0])]
    else:
        phones = [dict(source["phones"][0])]
    if domain and not emails:
        emails = [
            {
                "label": "work",
                "value": demo.unique_email(
                    "einkauf" if country.code in ("DE", "AT") else "purchasing", domain
                ),
            }
        ]
    if not phones:
        phones = [{"label": "work", "value": demo.phones.fixed(country, city)}]
    return variant, domain, emails, phones, website


def _customer_notes(
    rng: random.Random, plan: dict[str, Any], country: Country, city: City, fleet: int
) -> str | None:
    if rng.random() < 0.15:
        return None
    if plan["individual"]:
        return rng.choice(
            (
                "Runs a small farm; one pallet truck, asks for service once a year.",
                "Owner-operator, buys used trucks; price matters most.",
                f"Small workshop in {city.name}; happy with the last maintenance visit.",
            )
        )
    parts = [
        rng.choice(
            (
                f"Family-owned since {rng.randint(1890, 2005)}, {rng.randint(2, 6)} sites "
                f"around {city.name}.",
                f"Headquarters in {city.name}; warehouse runs two shifts.",
                f"Part of a group; purchasing decisions are made in {city.name}.",
            )
        ),
        f"Fleet of {fleet} trucks, "
        + rng.choice(("mostly diesel, moving to electric.", "all electric.", "mixed brands.")),
        rng.choice(
            (
                f"Maintenance contract renews in {rng.choice(words().months)}.",
                "Invoices go to the head office, not the site.",
                f"Competitor {rng.choice(words().competitors)} is strong here.",
                "Pays on time; wants one invoice per month.",
                "Interested in operator training for new drivers.",
            )
        ),
    ]
    if plan["status"] == "former":
        parts.append("Moved their service to a competitor last year after a price dispute.")
    return " ".join(parts)


def _contact(
    demo: _Demo,
    writer: _Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: _Rep,
    created: datetime,
    index: int,
) -> dict[str, Any]:
    rng = demo.rng
    country: Country = plan["country"]
    german = country.code in ("DE", "AT", "CH")
    if plan["individual"] and index == 0:
        first, last = plan["name"].split(" ", 1)
    else:
        first, last = demo.person(country)
    local = _slug(f"{first}.{last}", german).replace("-", ".")
    domain = plan["domain"] or rng.choice(country.free_mail)
    emails = [] if rng.random() < 0.08 else [
        {"label": "work", "value": demo.unique_email(local, domain)}
    ]  # fmt: skip
    phones = []
    if rng.random() < 0.75:
        phones.append({"label": "mobile", "value": demo.phones.mobile(country)})
    if rng.random() < 0.3:
        phones.append({"label": "work", "value": demo.phones.fixed(country, plan["city"])})
    if plan["individual"] and index == 0:  # the customer is this person
        emails = [dict(e) for e in plan["emails"]]
        phones = [dict(p) for p in plan["phones"]]
    title = rng.choice(country.titles) if rng.random() < 0.9 else None
    role = None
    if title:
        boss = any(
            w in title
            for w in ("Director", "Geschäftsführ", "CFO", "général", "Direct", "Amministratore")
        )
        role = (
            rng.choice(("decision maker", "influencer"))
            if boss
            else rng.choices(
                ("user", "influencer", "champion", "gatekeeper", "blocker", "other"),
                (30, 25, 15, 15, 5, 10),
            )[0]
        )
    channel = rng.choices((None, "email", "phone", "visit", "message"), (10, 35, 35, 15, 5))[0]
    notes = None
    if rng.random() < 0.25:
        notes = rng.choice(words().contact_notes)
    row = {
        "id": writer.new_id(),
        "customer_id": customer_id,
        "name": f"{first} {last}",
        "title": title,
        "decision_role": role,
        "emails": emails,
        "phones": phones,
        "preferred_channel": channel,
        "do_not_contact": rng.random() < 0.02,
        "notes": notes,
        "merged_into_id": None,
        "photo": None,  # made-up people have no pictures: their initials are shown
    }
    _stamp(row, owner.email, created + timedelta(minutes=rng.randint(1, 90)))
    writer.add(Contact, row)
    return row


def _details(rng: random.Random, demo: _Demo, plan: dict[str, Any], contact: str) -> dict[str, Any]:
    """The details of one conversation, shared by its subject and its notes."""
    now = demo.now
    w = words()
    return dict(
        qty=rng.choice((2, 3, 4, 5, 6, 8, 10, 12, 15, 20)),
        product=rng.choice(w.products),
        contact=contact,
        month=rng.choice(w.months),
        competitor=rng.choice(w.competitors),
        week=rng.randint(2, 51),
        day=rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")),
        year=now.year + rng.choice((0, 1)),
        issue=rng.choice(w.issues),
        city=plan["city"].name,
        invoice=f"RE-{now.year - rng.choice((0, 1))}-{rng.randint(1000, 99999)}",
        pct=rng.choice((2, 3, 3.5, 4, 5)),
    )


@functools.cache
def _complaint_topic() -> tuple[str, str]:
    return next(t for t in words().topics if t[0].startswith("Complaint"))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _scores(rng: random.Random, count: int, falling: bool) -> list[int]:
    """Satisfaction over time, oldest first; a falling customer ends clearly lower."""
    base = rng.uniform(3.1, 4.6)
    drift = rng.gauss(0, 0.5)  # some customers warm up over the years, some cool down
    scores = [
        max(1, min(5, round(base + drift * (k / max(1, count) - 0.5) + rng.gauss(0, 0.45))))
        for k in range(count)
    ]
    if falling and count >= 6:
        high = max(3, min(5, round(base + 0.5)))
        previous = [high, high, max(3, high - rng.choice((0, 1)))]
        low = max(1, math.floor(sum(previous) / 3 - 1.5))
        latest = [low, min(5, low + rng.choice((0, 1))), max(1, low - rng.choice((0, 1)))]
        scores[-6:] = previous + latest
        summary = metrics.customer_satisfaction(list(reversed(scores)))
        if not summary.falling:
            scores[-3:] = [max(1, min(previous) - 2)] * 3
    return scores


def _interactions(
    demo: _Demo,
    writer: _Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: _Rep,
    moments: list[datetime],
    contacts: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    rng = demo.rng
    now = demo.now
    w = words()
    country: Country = plan["country"]
    team = demo.by_team.get(owner.team) or [owner]
    depth = rng.choices(("relationship", "transactional", "project", "one-off"), (45, 30, 17, 8))[0]
    planned: list[dict[str, Any]] = []
    for moment in moments:
        rep = owner if len(team) == 1 or rng.random() < 0.94 else rng.choice(team)
        occurred = demo.working_time(moment, rep.tz, not_after=now - timedelta(minutes=10))
        kind = _weighted(rng, w.kind_weights)
        outcome: str | None
        if kind == "call":
            outcome = _weighted(rng, w.call_outcomes)
        elif kind in ("visit", "meeting"):
            outcome = _weighted(rng, w.meet_outcomes)
        elif kind == "email":
            outcome = rng.choice((None, None, "connected"))
        else:
            outcome = None
        if outcome == "own":
            outcome = rng.choice(w.own_outcomes)
        reached = outcome not in ("voicemail", "no answer")
        scorable = (
            reached
            and kind not in ("note", "message")
            and (kind != "email" or outcome == "connected")
        )
        planned.append(
            {
                "rep": rep,
                "occurred": occurred,
                "kind": kind,
                "outcome": outcome,
                "scored": scorable and rng.random() < 0.86,
            }
        )
    planned.sort(key=lambda p: p["occurred"])
    scored = [p for p in planned if p["scored"]]
    eligible = plan["status"] == "active" and len(scored) >= 6
    # A few customers cool down; even a small demo shows one on the watch list.
    falling = eligible and (rng.random() < 0.07 or not demo.falling_made)
    demo.falling_made += falling
    for p, score in zip(scored, _scores(rng, len(scored), falling), strict=True):
        p["satisfaction"] = score
        if score <= 2 and p["outcome"] in ("connected", None):
            p["outcome"] = "complaint"

    made = []
    for p in planned:
        kind, outcome, rep = p["kind"], p["outcome"], p["rep"]
        present = []
        if contacts:
            most = 3 if kind in ("visit", "meeting") else 1
            present = rng.sample(contacts, min(len(contacts), rng.randint(1, most)))
        contact_first = present[0]["name"].split(" ")[0] if present else "the buyer"
        satisfaction = p.get("satisfaction")
        if outcome in ("voicemail", "no answer"):
            subject = None if rng.random() < 0.7 else "Call back"
            notes = rng.choice(
                (f"Tried to reach {contact_first} about the quote; left a message.",
                 f"No answer; will try {contact_first} again tomorrow.",
                 "Voicemail: asked for a call back about the delivery.", None)
            )  # fmt: skip
        else:
            pool = w.topics if rng.random() < 0.45 else w.everyday_topics
            subject_t, notes_t = pool[rng.randrange(len(pool))]
            if outcome == "complaint" and rng.random() < 0.7:
                subject_t, notes_t = _complaint_topic()
            details = _details(rng, demo, plan, contact_first)
            subject = subject_t.format(**details)
            if kind == "call" and rng.random() < 0.35:
                subject = None
            notes = _sentence(notes_t.format(**details))
            if kind == "email":
                notes = f"Email from {contact_first}: {notes}"
        feedback = None
        if satisfaction is not None and rng.random() < 0.8:
            own = country.feedback.get(satisfaction) if rng.random() < 0.3 else None
            feedback = rng.choice(own or w.feedback_en[satisfaction]).format(
                competitor=rng.choice(w.competitors)
            )
        duration = {
            "call": rng.randint(2, 25),
            "visit": rng.choice((30, 45, 60, 60, 90, 120)),
            "meeting": rng.choice((30, 45, 60, 90)),
            "email": None,
            "message": None,
            "note": None,
        }[kind]
        if outcome in ("voicemail", "no answer"):
            duration = 1
        direction = {
            "call": "outbound" if rng.random() < 0.7 else "inbound",
            "email": "inbound" if rng.random() < 0.5 else "outbound",
            "message": "inbound",
            "note": None,
        }.get(kind, "outbound")
        logged = min(now, p["occurred"] + timedelta(minutes=(duration or 0) + rng.randint(2, 240)))
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "kind": kind,
            "direction": direction,
            "occurred_at": p["occurred"],
            "duration_minutes": duration,
            "contact_ids": [c["id"] for c in present],
            "subject": subject,
            "notes": notes,
            "outcome": outcome,
            "satisfaction": satisfaction,
            "feedback": feedback,
            "depth": depth if rng.random() < 0.8 else None,
            "rep": rep.email,
        }
        _stamp(row, rep.email, logged)
        writer.add(Interaction, row)
        row["_rep"] = rep
        made.append(row)
    return made


def _promise(rng: random.Random, subject: str | None, demo: _Demo) -> str:
    w = words()
    for word, titles in w.promises:
        if subject and word in subject:
            return rng.choice(titles).format(year=demo.now.year + 1, month=rng.choice(w.months))
    return rng.choice(w.default_promises)


STALE_PROMISE = timedelta(days=45)


def _followups(
    demo: _Demo,
    writer: _Writer,
    customer_id: str,
    touches: list[dict[str, Any]],
    count: int,
) -> None:
    if not count or not touches:
        return
    rng = demo.rng
    now = demo.now
    # Promises come from the conversations that reached someone, the recent ones more.
    reached = [t for t in touches if t["outcome"] not in ("voicemail", "no answer")] or touches
    weights = [1.0 + 3.0 * k / len(reached) for k in range(len(reached))]
    for source in rng.choices(reached, weights=weights, k=count):
        rep: _Rep = source["_rep"]
        occurred: datetime = source["occurred_at"]
        local_day = occurred.astimezone(rep.tz).date()
        today = now.astimezone(rep.tz).date()
        due = demo.due_time(local_day + timedelta(days=rng.choice((1, 2, 3, 5, 7, 7, 14, 21))),
                            rep.tz)  # fmt: skip
        # The user of this laptop has some promises due today and this week.
        if rep.email == demo.author and now - occurred < timedelta(days=6):
            if demo.forced_today < 4:
                demo.forced_today += 1
                due = demo.due_time(today, rep.tz, hour=rng.choice((8, 11, 14, 16, 17)))
            elif demo.forced_week < 8:
                demo.forced_week += 1
                due = demo.due_time(today + timedelta(days=rng.randint(1, 6)), rep.tz)
        due = max(due, source["created_at"] + timedelta(minutes=30))
        created: datetime = source["created_at"]
        status, done_at = "open", None
        roll = rng.random()
        if due <= now:
            if roll < 0.70:
                status = "done"
                done_at = created + (due - created) * rng.uniform(0.2, 1.0)
            elif roll < 0.86:
                late_by = timedelta(hours=rng.uniform(2, 240))
                if due + late_by < now:
                    status, done_at = "done", due + late_by
            elif roll < 0.88:
                status = "cancelled"
        elif roll < 0.12:
            status = "done"
            done_at = created + (now - created) * rng.uniform(0.3, 1.0)
        elif roll < 0.14:
            status = "cancelled"
        if status == "open" and now - due > STALE_PROMISE:
            # Nobody leaves a promise open for months: old ones were done late in the end,
            # so the overdue list holds the last weeks' slips, as a real rep's does.
            status = "done"
            done_at = min(due + timedelta(days=rng.uniform(1, 30)), now - timedelta(hours=1))
        updated = done_at or created
        if status == "cancelled":
            updated = created + (min(due, now) - created) * rng.uniform(0.1, 1.0)
        contact_ids = source["contact_ids"]
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "contact_id": rng.choice(contact_ids) if contact_ids and rng.random() < 0.6 else None,
            "interaction_id": source["id"],
            "title": _promise(rng, source["subject"], demo),
            "notes": None if rng.random() < 0.6 else f"Promised during the {source['kind']}.",
            "due_at": due,
            "remind_at": due - demo.remind_before,
            "priority": rng.choices(("normal", "high", "low"), (70, 20, 10))[0],
            "status": status,
            "done_at": done_at,
            "assigned_to": rep.email,
        }
        _stamp(row, rep.email, created, max(updated, created))
        writer.add(FollowUp, row)


def _deals(
    demo: _Demo,
    writer: _Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: _Rep,
    created: datetime,
    touches: list[dict[str, Any]],
    count: int,
) -> None:
    rng = demo.rng
    now = demo.now
    country: Country = plan["country"]
    status = plan["status"]
    low, high = {"Key account": (20_000, 400_000), "Mid-market": (5_000, 80_000),
                 "Small business": (800, 15_000)}[plan["segment"]]  # fmt: skip
    last = touches[-1]["occurred_at"] if touches else now
    for _ in range(count):
        if status == "prospect":
            stage = rng.choices(("lead", "qualified", "proposal", "lost"), (40, 30, 20, 10))[0]
        elif status == "former":
            stage = rng.choices(("won", "lost"), (60, 40))[0]
        else:
            stage = rng.choices(
                ("lead", "qualified", "proposal", "negotiation", "won", "lost"),
                (12, 14, 16, 10, 33, 15),
            )[0]
        opened = created + (min(last, now) - created) * rng.uniform(0.0, 0.9)
        closed_at = None
        if stage in ("won", "lost"):
            closed_at = min(now, opened + timedelta(days=rng.randint(7, 120)))
            expected = (closed_at + timedelta(days=rng.randint(-20, 20))).date()
        else:
            expected = (now + timedelta(days=rng.randint(7, 180))).date()
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "title": rng.choice(words().deal_titles).format(**_details(rng, demo, plan, "")),
            "value": Decimal(rng.randrange(low, high, 50)).quantize(Decimal("0.01")),
            "currency": country.currency,
            "stage": stage,
            "expected_close": expected,
            "closed_at": closed_at,
        }
        _stamp(row, owner.email, opened, closed_at)
        writer.add(Deal, row)
