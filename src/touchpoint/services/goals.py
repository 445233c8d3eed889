"""Activity goals per rep and the local team roster, kept in ``goals.toml``.

A goal is "N interactions of a kind per period" (20 calls a day, 6 visits a
week). A rep's own goal wins over their team's, which wins over the defaults.
Teams map a name to rep emails so a manager can report on ``--team north``.
The Hub will know teams for the whole company; this file is the local roster.

The team's working days (goals count on those only: a daily goal on a Saturday is no
goal) are ``work_days``, Monday to Friday when left out; a machine policy's
``[reports] work_days`` beats the file. ``[names]`` gives reps' display names (a rep
is identified by email, shown by name everywhere).

The file lives in the config folder and is written atomically::

    work_days = ["mon", "tue", "wed", "thu", "fri"]

    [names]
    "maria@example.com" = "Maria Keller"

    [defaults]
    call = { count = 20, per = "day" }

    [teams.north]
    members = ["maria@example.com", "tom@example.com"]
    goals = { visit = { count = 6, per = "week" } }

    [reps."maria@example.com"]
    call = { count = 25, per = "day" }
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select, union

from touchpoint.domain import metrics
from touchpoint.errors import NotFoundError, ValidationError
from touchpoint.storage.models import Customer, FollowUp, Interaction
from touchpoint.storage.workspace import Workspace

GOALS_FILE = "goals.toml"
PERIOD_DAYS = {"day": 1, "week": 7}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KIND = re.compile(r"^[a-z][a-z0-9 _-]{0,39}$")
_TEAM = re.compile(r"^[\w][\w .-]{0,59}$")


@dataclass(frozen=True)
class Goal:
    kind: str  # an interaction kind: call, visit, meeting...
    count: float  # interactions per period
    per: str  # "day" or "week"

    @property
    def period_days(self) -> int:
        return PERIOD_DAYS[self.per]

    @property
    def text(self) -> str:
        count = int(self.count) if float(self.count).is_integer() else self.count
        return f"{count} {self.kind}s a {self.per}"


@dataclass(frozen=True)
class Team:
    name: str
    members: tuple[str, ...] = ()
    goals: dict[str, Goal] = field(default_factory=dict)


@dataclass(frozen=True)
class GoalBook:
    """The whole file: default goals, teams and per-rep goals."""

    defaults: dict[str, Goal] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    reps: dict[str, dict[str, Goal]] = field(default_factory=dict)
    work_days: frozenset[int] | None = None  # None: not set in the file (Monday to Friday)
    names: dict[str, str] = field(default_factory=dict)  # email -> display name

    def team_of(self, rep: str) -> Team | None:
        for name in sorted(self.teams):
            if rep in self.teams[name].members:
                return self.teams[name]
        return None

    def goals_for(self, rep: str) -> dict[str, Goal]:
        """The goals in force for a rep: their own, else their team's, else the defaults."""
        merged = dict(self.defaults)
        team = self.team_of(rep)
        if team is not None:
            merged.update(team.goals)
        merged.update(self.reps.get(rep, {}))
        return merged

    def known_reps(self) -> set[str]:
        known = set(self.reps)
        for team in self.teams.values():
            known.update(team.members)
        return known


def goals_path(ws: Workspace) -> Path:
    return ws.paths.config_dir / GOALS_FILE


# --- reading ----------------------------------------------------------------------


def _goal(kind: str, raw: Any, where: str) -> Goal:
    if not isinstance(raw, dict):
        raise ValidationError(where, f"goal '{kind}' must be a table with count and per")
    return clean_goal(kind, raw.get("count"), str(raw.get("per", "")), field_name=where)


def _goals(raw: Any, where: str) -> dict[str, Goal]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError(where, "must be a table of goals")
    return {kind: _goal(kind, value, where) for kind, value in raw.items()}


def load_goals(ws: Workspace) -> GoalBook:
    """The goals file, or an empty book when there is none yet."""
    return read_goals_file(goals_path(ws))


def read_goals_file(path: Path) -> GoalBook:
    """A goals file anywhere (the Hub's reports take one), or an empty book when absent."""
    if not path.exists():
        return GoalBook()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(str(path), f"is not a valid goals file ({exc})") from None
    teams = {}
    for name, raw in (data.get("teams") or {}).items():
        if not isinstance(raw, dict):
            raise ValidationError(f"{path}: teams.{name}", "must be a table")
        members = raw.get("members") or []
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ValidationError(f"{path}: teams.{name}.members", "must be a list of emails")
        teams[name] = Team(
            name=name,
            members=tuple(members),
            goals=_goals(raw.get("goals"), f"{path}: teams.{name}.goals"),
        )
    reps = {
        rep: _goals(raw, f"{path}: reps.{rep}") for rep, raw in (data.get("reps") or {}).items()
    }
    work_days = None
    if "work_days" in data:
        raw_days = data["work_days"]
        if not isinstance(raw_days, list):
            raise ValidationError(f"{path}: work_days", 'must be a list like ["mon", "tue"]')
        try:
            work_days = metrics.parse_work_days(raw_days)
        except ValueError as exc:
            raise ValidationError(f"{path}: work_days", str(exc)) from None
    names = data.get("names") or {}
    if not isinstance(names, dict) or not all(
        isinstance(v, str) and v.strip() for v in names.values()
    ):
        raise ValidationError(f"{path}: names", 'must map emails to names ("a@b.c" = "Ann")')
    return GoalBook(
        defaults=_goals(data.get("defaults"), f"{path}: defaults"),
        teams=teams,
        reps=reps,
        work_days=work_days,
        names={email.strip().lower(): name.strip() for email, name in names.items()},
    )


# --- writing ----------------------------------------------------------------------


def _toml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _toml_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _goal_line(kind: str, goal: Goal) -> str:
    return f"{_toml_str(kind)} = {{ count = {_toml_num(goal.count)}, per = {_toml_str(goal.per)} }}"


def _inline_goals(goals: dict[str, Goal]) -> str:
    parts = [
        f"{_toml_str(k)} = {{ count = {_toml_num(g.count)}, per = {_toml_str(g.per)} }}"
        for k, g in sorted(goals.items())
    ]
    return "{ " + ", ".join(parts) + " }" if parts else "{}"


def render_goals(book: GoalBook) -> str:
    lines = ["# Touchpoint activity goals and team roster (touchpoint goals --help)", ""]
    if book.work_days is not None:
        days = ", ".join(_toml_str(metrics.WEEKDAY_NAMES[d]) for d in sorted(book.work_days))
        lines += [f"work_days = [{days}]", ""]
    if book.names:
        lines.append("[names]")
        lines += [f"{_toml_str(e)} = {_toml_str(n)}" for e, n in sorted(book.names.items())]
        lines.append("")
    lines.append("[defaults]")
    lines += [_goal_line(kind, goal) for kind, goal in sorted(book.defaults.items())]
    for name, team in sorted(book.teams.items()):
        lines += ["", f"[teams.{_toml_str(name)}]"]
        lines.append("members = [" + ", ".join(_toml_str(m) for m in team.members) + "]")
        lines.append(f"goals = {_inline_goals(team.goals)}")
    for rep, goals in sorted(book.reps.items()):
        lines += ["", f"[reps.{_toml_str(rep)}]"]
        lines += [_goal_line(kind, goal) for kind, goal in sorted(goals.items())]
    return "\n".join(lines) + "\n"


def save_goals(ws: Workspace, book: GoalBook) -> Path:
    """Write atomically: a crash mid-write leaves the old file, never half of one."""
    path = goals_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".goals-", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render_goals(book))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --- validation -------------------------------------------------------------------


def clean_email(value: str, *, field_name: str = "rep") -> str:
    email = (value or "").strip().lower()
    if not _EMAIL.match(email):
        raise ValidationError(field_name, f"'{value}' is not an email address")
    return email


def clean_goal(kind: str, count: Any, per: str, *, field_name: str = "goal") -> Goal:
    kind_clean = (kind or "").strip().lower()
    if not _KIND.match(kind_clean):
        raise ValidationError(field_name, f"'{kind}' is not a kind of interaction")
    per_clean = (per or "").strip().lower()
    if per_clean not in PERIOD_DAYS:
        raise ValidationError(field_name, f"per must be day or week, not '{per}'")
    try:
        number = float(count)
    except (TypeError, ValueError):
        raise ValidationError(field_name, f"count '{count}' is not a number") from None
    if not number >= 0 or number > 100_000:
        raise ValidationError(field_name, f"count {count} must be between 0 and 100000")
    return Goal(kind=kind_clean, count=number, per=per_clean)


def clean_team_name(name: str) -> str:
    clean = (name or "").strip()
    if not _TEAM.match(clean):
        raise ValidationError("team", f"'{name}' is not a team name (letters, digits, - . _)")
    return clean


# --- use cases --------------------------------------------------------------------


def set_goal(
    ws: Workspace,
    *,
    kind: str,
    count: float,
    per: str,
    rep: str | None = None,
    team: str | None = None,
) -> Goal:
    """Set a goal for one rep, for a team, or (neither given) the default for everyone."""
    if rep and team:
        raise ValidationError("rep", "give either --rep or --team, not both")
    goal = clean_goal(kind, count, per)
    book = load_goals(ws)
    if rep:
        email = clean_email(rep)
        reps = {**book.reps, email: {**book.reps.get(email, {}), goal.kind: goal}}
        book = replace(book, reps=reps)
    elif team:
        found = team_named(book, team)
        updated = replace(found, goals={**found.goals, goal.kind: goal})
        book = replace(book, teams={**book.teams, found.name: updated})
    else:
        book = replace(book, defaults={**book.defaults, goal.kind: goal})
    save_goals(ws, book)
    return goal


def remove_goal(ws: Workspace, *, kind: str, rep: str | None = None) -> None:
    book = load_goals(ws)
    kind = kind.strip().lower()
    if rep:
        email = clean_email(rep)
        own = dict(book.reps.get(email, {}))
        if kind not in own:
            raise NotFoundError(f"{email} has no goal of their own for {kind}")
        del own[kind]
        reps = {**book.reps, email: own}
        if not own:
            del reps[email]
        book = replace(book, reps=reps)
    else:
        if kind not in book.defaults:
            raise NotFoundError(f"there is no default goal for {kind}")
        book = replace(book, defaults={k: g for k, g in book.defaults.items() if k != kind})
    save_goals(ws, book)


def add_team_members(ws: Workspace, team: str, emails: list[str]) -> Team:
    """Create the team if needed and add members (already there: left as is)."""
    name = clean_team_name(team)
    if not emails:
        raise ValidationError("members", "give at least one rep email")
    clean = [clean_email(e, field_name="members") for e in emails]
    book = load_goals(ws)
    current = book.teams.get(name, Team(name=name))
    members = list(current.members)
    members += [e for e in dict.fromkeys(clean) if e not in members]
    updated = replace(current, members=tuple(members))
    save_goals(ws, replace(book, teams={**book.teams, name: updated}))
    return updated


def remove_team_members(ws: Workspace, team: str, emails: list[str]) -> Team:
    book = load_goals(ws)
    found = team_named(book, team)
    clean = {clean_email(e, field_name="members") for e in emails}
    missing = clean - set(found.members)
    if missing:
        raise NotFoundError(f"team {found.name} has no member {', '.join(sorted(missing))}")
    updated = replace(found, members=tuple(m for m in found.members if m not in clean))
    save_goals(ws, replace(book, teams={**book.teams, found.name: updated}))
    return updated


def team_named(book: GoalBook, team: str) -> Team:
    name = (team or "").strip()
    if name in book.teams:
        return book.teams[name]
    known = ", ".join(sorted(book.teams)) or "none yet; add one with: touchpoint goals team add"
    raise ValidationError("team", f"no team named '{team}' (teams: {known})")


def reps_in_data(ws: Workspace) -> set[str]:
    """Everyone the database knows as a rep, an assignee or an owner."""
    query = union(
        select(Interaction.rep).distinct(),
        select(FollowUp.assigned_to).distinct(),
        select(Customer.owner).where(Customer.owner.is_not(None)).distinct(),
    )
    with ws.read() as session:
        return {r for (r,) in session.execute(query) if r}


def known_reps(ws: Workspace, book: GoalBook | None = None) -> set[str]:
    """The people Touchpoint knows as reps: those in the goals roster (teams and own
    goals), those the data names as rep, assignee or owner, and the signed-in user. An
    owner or a report's --rep must be one of them, so that a typo does not make a rep."""
    book = book if book is not None else load_goals(ws)
    return {*book.known_reps(), *reps_in_data(ws), ws.author}


def known_rep(ws: Workspace, who: str, field_name: str = "owner") -> str:
    """``who`` as the rep Touchpoint knows (their spelling: case does not count), or a
    ValidationError on ``field_name`` listing some who are known."""
    wanted = who.strip()
    if wanted.casefold() == ws.author.casefold():
        return ws.author  # the usual case, without reading the data
    known = known_reps(ws)
    by_folded = {k.casefold(): k for k in known}
    if wanted.casefold() in by_folded:
        return by_folded[wanted.casefold()]
    shown = sorted(known, key=str.casefold)
    listing = ", ".join(shown[:5]) + (f" … and {len(shown) - 5} more" if len(shown) > 5 else "")
    raise ValidationError(
        field_name,
        f"'{who}' is not a rep Touchpoint knows (known: {listing}); a rep is known once "
        "they own a customer, log or are given a follow-up, or are in the goals roster "
        "(touchpoint goals team add TEAM EMAIL)",
    )


def resolve_reps(
    ws: Workspace, *, rep: str | None = None, team: str | None = None, book: GoalBook | None = None
) -> list[str] | None:
    """The reps a report or export covers: one rep, a team's members, or None for all.

    An unknown rep (not in the roster nor in the data) or team is an error naming the option.
    """
    if rep and team:
        raise ValidationError("rep", "give either --rep or --team, not both")
    book = book if book is not None else load_goals(ws)
    if team:
        found = team_named(book, team)
        if not found.members:
            raise ValidationError("team", f"team {found.name} has no members yet")
        return list(found.members)
    if rep:
        email = rep.strip().lower()
        if email in book.known_reps():
            return [email]
        known = reps_in_data(ws)
        lowered = {k.lower(): k for k in known}
        if email in lowered:
            return [lowered[email]]
        raise ValidationError("rep", f"no rep '{rep}' in the goals roster or in the data")
    return None


# --- working days and names --------------------------------------------------------


def work_days(ws: Workspace | None, book: GoalBook) -> frozenset[int]:
    """The team's working days: the machine policy's, else the goals file's, else
    Monday to Friday."""
    from touchpoint.policy import current_policy

    loaded = ws.policy if ws is not None else current_policy()
    forced = loaded.policy.reports.work_days
    if forced is not None:
        return frozenset(forced)
    return book.work_days if book.work_days is not None else metrics.DEFAULT_WORK_DAYS


def name_from_email(email: str) -> str:
    """A readable name from an address when nobody gave one: "maria.keller@x" is
    "Maria Keller" (a login that is no address stays as it is)."""
    local, at, _ = email.partition("@")
    if not at or not local:
        return email
    words = re.split(r"[._\-+]+", local)
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or email


def display_names(
    ws: Workspace | None, book: GoalBook, emails: Iterable[str | None]
) -> dict[str, str]:
    """How each rep is shown: the goals file's ``[names]``, this laptop's own display
    name (settings) for its user, else a name read from the email."""
    own_email = ws.settings.user.strip().lower() if ws is not None else ""
    own_name = ws.settings.display_name.strip() if ws is not None else ""
    out: dict[str, str] = {}
    for email in emails:
        if not email or email in out:
            continue
        key = email.strip().lower()
        if key in book.names:
            out[email] = book.names[key]
        elif own_name and key == own_email:
            out[email] = own_name
        else:
            out[email] = name_from_email(email)
    return out
