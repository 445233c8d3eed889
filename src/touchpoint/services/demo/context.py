"""One demo run's state: its randomness, reps, the names and numbers it has used."""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import phonenumbers

from touchpoint.domain.values import name_key
from touchpoint.services.demo.data import City, Country
from touchpoint.services.demo.team import Rep
from touchpoint.storage.workspace import Workspace

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe",
                           "Ü": "Ue", "ø": "o", "æ": "ae", "œ": "oe"})  # fmt: skip


def ascii_text(text: str, german: bool = False) -> str:
    """``text`` without accents (German umlauts spelled out when ``german``)."""
    if german:
        text = text.translate(_TRANSLIT)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slug(text: str, german: bool = False) -> str:
    """``text`` as a lowercase, dash-joined name for web domains and email addresses."""
    plain = ascii_text(text, german).lower().replace("&", " ").replace("+", " ")
    plain = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return plain[:40].rstrip("-")


def weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    """One name of ``pairs`` of (name, weight), drawn by weight."""
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def apportion(rng: random.Random, total: int, weights: Sequence[float]) -> list[int]:
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


class Phones:
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


class Demo:
    """What one run of the demo keeps: its random source, its clock, its reps and what it has
    used up (names, web domains, emails, phone numbers) so no two customers share them."""

    def __init__(self, ws: Workspace, rng: random.Random, reps: list[Rep], now: datetime):
        self.ws = ws
        self.rng = rng
        self.reps = reps
        self.now = now
        self.phones = Phones(rng)
        self.names: set[str] = set()
        self.domains: set[str] = set()
        self.emails: set[str] = set()
        self.by_team: dict[int, list[Rep]] = {}
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
        base = slug(core, german=country.code in ("DE", "AT", "CH"))
        for candidate in (base, f"{base}-{slug(city.name)}"):
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
