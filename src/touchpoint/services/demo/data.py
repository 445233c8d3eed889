"""The demo's world and words (countries, names, what reps write), read once from data.json."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class City:
    name: str
    region: str | None
    postcodes: tuple[str, ...]  # patterns: 9 is any digit, A any letter
    area: tuple[str, ...]  # national phone prefixes of fixed lines here


@dataclass(frozen=True)
class Country:
    code: str
    currency: str
    tld: str
    weight: int
    cities: tuple[City, ...]
    city_weights: tuple[int, ...]
    streets: tuple[str, ...]
    street_number_first: bool
    surnames: tuple[str, ...]
    first_names: tuple[str, ...]
    trades: tuple[str, ...]
    legal: tuple[str, ...]
    patterns: tuple[str, ...]  # {S} surname, {S2} second surname, {T} trade, {C} city
    fixed_lengths: tuple[int, ...]  # national significant number lengths to try
    mobile: tuple[str, ...]
    mobile_lengths: tuple[int, ...]
    free_mail: tuple[str, ...]
    titles: tuple[str, ...]
    feedback: dict[int, tuple[str, ...]]  # the customer's own words, in their language


@dataclass(frozen=True)
class Words:
    """What the reps write and pick from; {x} in a text is filled per record."""

    rep_first: tuple[str, ...]
    rep_last: tuple[str, ...]
    products: tuple[str, ...]
    issues: tuple[str, ...]
    competitors: tuple[str, ...]
    months: tuple[str, ...]
    topics: tuple[tuple[str, str], ...]  # (subject, notes) about one topic
    everyday_topics: tuple[tuple[str, str], ...]  # the everyday rest of a rep's notes
    own_outcomes: tuple[str, ...]
    feedback_en: dict[int, tuple[str, ...]]  # by satisfaction score
    promises: tuple[tuple[str, tuple[str, ...]], ...]  # by topic word in the subject
    default_promises: tuple[str, ...]
    deal_titles: tuple[str, ...]
    industries: tuple[str, ...]
    tags: tuple[str, ...]
    custom_fields: tuple[tuple[str, str, str, tuple[str, ...]], ...]  # key, label, type, choices
    contact_notes: tuple[str, ...]
    kind_weights: tuple[tuple[str, int], ...]
    call_outcomes: tuple[tuple[str, int], ...]
    meet_outcomes: tuple[tuple[str, int], ...]


def _tuples(value: Any) -> Any:
    """JSON lists as tuples, all the way down: the tables are never changed."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _scores(raw: dict[str, list[str]]) -> dict[int, tuple[str, ...]]:
    return {int(score): tuple(texts) for score, texts in raw.items()}


def _country(code: str, raw: dict[str, Any]) -> Country:
    fields = {key: _tuples(value) for key, value in raw.items()}
    fields["cities"] = tuple(
        City(c["name"], c["region"], tuple(c["postcodes"]), tuple(c["area"])) for c in raw["cities"]
    )
    fields["feedback"] = _scores(raw["feedback"])
    return Country(code=code, **fields)


@functools.cache
def _raw() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("data.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def countries() -> dict[str, Country]:
    """The countries the demo's customers are in, by ISO code, in the file's order."""
    return {code: _country(code, raw) for code, raw in _raw()["countries"].items()}


@functools.cache
def words() -> Words:
    """The word lists of the demo, as in the file."""
    raw = dict(_raw()["words"])
    fields = {key: _tuples(value) for key, value in raw.items()}
    fields["feedback_en"] = _scores(raw["feedback_en"])
    return Words(**fields)
