"""The sales teams of the demo's world, and the reps' emails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from touchpoint.services.demo.data import words

TEAM_DOMAIN = "northwind-sales.example"

# Sales teams of a manager's group: (territory, time zone, countries they cover).
TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("DACH", "Europe/Berlin", ("DE", "AT", "CH")),
    ("UK & Benelux", "Europe/London", ("GB", "NL")),
    ("France", "Europe/Paris", ("FR",)),
    ("Southern Europe", "Europe/Madrid", ("ES", "IT")),
    ("North America", "America/New_York", ("US",)),
)
TERRITORY_OF = {code: name for name, _tz, codes in TEAMS for code in codes}


@dataclass
class Rep:
    """A rep of the demo: their email, their team (an index of TEAMS), their time zone."""

    email: str
    team: int
    tz: tzinfo


def sales_team(count: int) -> list[str]:
    """``count`` rep emails of a manager's group (firstname.lastname@northwind-sales.example).

    :func:`generate_demo` puts rep ``i`` of ``count`` in team ``i * 5 // count``, so the
    first tenth cover DACH, the next UK & Benelux, then France, Southern Europe and
    North America.
    """
    first, last = words().rep_first, words().rep_last
    return [f"{first[i % len(first)]}.{last[i % len(last)]}@{TEAM_DOMAIN}" for i in range(count)]
