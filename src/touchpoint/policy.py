"""The machine-wide policy an IT department deploys, and the settings in force under it.

The policy is a TOML file in the site config folder (``/etc/xdg/touchpoint/policy.toml``
on Linux, ``C:\\ProgramData\\Touchpoint\\touchpoint\\policy.toml`` on Windows,
``/Library/Application Support/touchpoint/policy.toml`` on macOS), or wherever
``TOUCHPOINT_POLICY_FILE`` points. ``resources/policy.example.toml`` documents every key.

Policy beats user settings: every value under ``[settings]`` is in force whatever the
user's own settings file says, and is shown as locked. A policy file that cannot be read
or is invalid is logged and reported (:attr:`LoadedPolicy.problem`); Touchpoint then runs
on the built-in defaults rather than refusing to start.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import platformdirs

from touchpoint.domain.export_formats import canonical_format
from touchpoint.errors import ValidationError
from touchpoint.paths import APP_AUTHOR, APP_NAME
from touchpoint.settings import Settings, read_settings_file

if TYPE_CHECKING:
    from pydantic import ValidationError as PydanticError

    from touchpoint.policy_schema import HubPolicy, Policy

log = logging.getLogger(__name__)

POLICY_ENV = "TOUCHPOINT_POLICY_FILE"
POLICY_FILE_NAME = "policy.toml"


def policy_path() -> Path:
    """Where the policy is read from: ``TOUCHPOINT_POLICY_FILE``, else the site config dir."""
    override = os.environ.get(POLICY_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.site_config_dir(APP_NAME, APP_AUTHOR)) / POLICY_FILE_NAME


# --- reading it ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadedPolicy:
    """The policy in force, the file it came from, and what went wrong reading it."""

    path: Path
    status: Literal["absent", "loaded", "invalid"]
    problem: str | None = None  # one message naming the file and each bad key
    checked: Policy | None = None  # the file's content when it was loaded
    problems: tuple[str, ...] = ()  # each bad key's problem alone ("hub.sever: ...")

    @property
    def policy(self) -> Policy:
        """The policy's values; the built-in defaults when there is no valid file."""
        if self.checked is not None:
            return self.checked
        from touchpoint.policy_schema import Policy

        return Policy()

    def hub_policy(self) -> HubPolicy | None:
        """The [hub] section of a valid policy file (None without one)."""
        return self.checked.hub if self.checked is not None else None

    def forced_settings(self) -> dict[str, Any]:
        """The user settings this policy sets (and locks)."""
        if self.checked is None:
            return {}
        forced = self.checked.settings.given()
        if self.checked.database.require_encryption:
            forced["encrypt_database"] = True
        return forced

    @property
    def where(self) -> str:
        return f"policy file {self.path}"

    @property
    def who(self) -> str:
        """Who to ask about a locked setting: the support contact, else the file."""
        if self.checked is None:
            return "your IT department"
        contact = self.checked.support
        reach = contact.email or contact.phone or contact.url
        if contact.name and reach:
            return f"{contact.name} ({reach})"
        return contact.name or reach or "your IT department"


def _keys_beside(loc: tuple[Any, ...]) -> list[str]:
    """The keys the policy knows where ``loc``'s last part stands (its section's keys,
    or the sections themselves)."""
    from pydantic import BaseModel

    from touchpoint.policy_schema import Policy

    model: Any = Policy
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if isinstance(model, type) else None
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def _suggestion(loc: tuple[Any, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(str(loc[-1]), _keys_beside(loc), n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {'.'.join([*(str(p) for p in loc[:-1]), close[0]])}?)"


def _describe(exc: PydanticError) -> list[str]:
    lines = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"] if p != "__root__")
        if error["type"] == "extra_forbidden":
            lines.append(f"{key}: is not a policy key{_suggestion(tuple(error['loc']))}")
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{key}: {message}" if key else message)
    return lines


def load_policy(path: Path | None = None) -> LoadedPolicy:
    """Read and check the policy file; never raises: a bad file gives defaults + problem."""
    path = path or policy_path()
    override = os.environ.get(POLICY_ENV)
    named = bool(override) and Path(override or "").expanduser() == path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:  # someone meant a file to be used: a typo must not pass in silence
            message = (
                f"the policy file named by {POLICY_ENV} ({path}) does not exist. "
                "Touchpoint runs on its built-in defaults."
            )
            log.warning("%s", message)
            return LoadedPolicy(path, "absent", message)
        return LoadedPolicy(path, "absent")
    except (OSError, UnicodeDecodeError) as exc:
        return _invalid(path, f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return _invalid(path, f"is not valid TOML ({exc})")
    from pydantic import ValidationError as PydanticError

    from touchpoint.policy_schema import Policy

    try:
        policy = Policy.model_validate(data)
    except PydanticError as exc:
        return _invalid(path, *_describe(exc))
    return LoadedPolicy(path, "loaded", checked=policy)


def _invalid(path: Path, *problems: str) -> LoadedPolicy:
    message = (
        f"policy file {path}: {'; '.join(problems)}. Touchpoint runs on its built-in defaults."
    )
    log.error("%s", message)
    return LoadedPolicy(path, "invalid", message, problems=problems)


def current_policy() -> LoadedPolicy:
    """The policy file as it is now, read now. The command line and the window resolve it
    once into their start-up context (``context.AppContext.policy``, ``Workspace.policy``)
    and pass that down; this is for the start-up context itself and for callers that have
    none (the Hub's report writers, a library user). Nothing keeps what it read: there is
    one policy in force per run, the context's."""
    return load_policy(policy_path())


# --- the settings in force ------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    kind: Literal["default", "settings", "policy"]
    file: Path | None = None

    def __str__(self) -> str:
        if self.kind == "default":
            return "default"
        return f"{'policy' if self.kind == 'policy' else 'settings'} file {self.file}"


@dataclass(frozen=True)
class Item:
    value: Any
    source: Source

    @property
    def locked(self) -> bool:
        return self.source.kind == "policy"


@dataclass(frozen=True)
class Effective:
    """Every setting in force, where each came from, and the policy behind them."""

    settings: Settings
    items: dict[str, Item]  # user settings by name, then policy-only keys ("hub.server"...)
    policy: LoadedPolicy

    @property
    def locked(self) -> frozenset[str]:
        return frozenset(k for k, item in self.items.items() if item.locked)


def apply_policy(user: Settings, loaded: LoadedPolicy) -> Settings:
    """The user's settings with the policy's values on top."""
    from dataclasses import replace

    forced = loaded.forced_settings()
    return replace(user, **forced) if forced else user


def user_part(wanted: Settings, settings_file: Path, loaded: LoadedPolicy) -> Settings:
    """What to write to the user's file for ``wanted``: a locked setting keeps the file's
    own value, so the policy's never leaks into it (and comes back if the policy goes)."""
    from dataclasses import replace

    forced = loaded.forced_settings()
    if not forced:
        return wanted
    stored, _ = read_settings_file(settings_file)
    return replace(wanted, **{k: getattr(stored, k) for k in forced})


def effective_settings(
    settings_file: Path,
    loaded: LoadedPolicy | None = None,
    *,
    read: tuple[Settings, frozenset[str]] | None = None,
) -> Effective:
    """The settings in force and their sources; ``read`` is the file's content when the
    caller (the start-up context) read it already."""
    loaded = loaded or current_policy()
    user, in_file = read if read is not None else read_settings_file(settings_file)
    forced = loaded.forced_settings()
    items: dict[str, Item] = {}
    for f in fields(Settings):
        if f.name in forced:
            items[f.name] = Item(forced[f.name], Source("policy", loaded.path))
        elif f.name in in_file:
            items[f.name] = Item(getattr(user, f.name), Source("settings", settings_file))
        else:
            items[f.name] = Item(getattr(user, f.name), Source("default"))
    for section in ("hub", "database", "export", "support"):
        given = getattr(loaded.policy, section)
        for name in type(given).model_fields:
            # A key the file names is the policy's, even when it repeats the default.
            by_policy = loaded.status == "loaded" and name in given.model_fields_set
            source = Source("policy", loaded.path) if by_policy else Source("default")
            items[f"{section}.{name}"] = Item(getattr(given, name), source)
    return Effective(apply_policy(user, loaded), items, loaded)


# --- what the policy allows ---------------------------------------------------------------------
def check_export_format(fmt: str, loaded: LoadedPolicy | None = None) -> None:
    """Refuse an export format the policy does not allow (ValidationError on "format")."""
    loaded = loaded or current_policy()
    if loaded.checked is None:
        return
    allowed = loaded.checked.export.formats
    name = canonical_format(fmt)
    if allowed is None or name in allowed:
        return
    shown = ", ".join(allowed) if allowed else "none"
    raise ValidationError(
        "format",
        f"{name} exports are not allowed by your IT department's policy "
        f"({loaded.path}); allowed: {shown}. Ask {loaded.who}.",
    )


def allowed_export_formats(
    offered: tuple[str, ...] | list[str], loaded: LoadedPolicy | None = None
) -> list[str]:
    """The formats of ``offered`` the policy allows, in the same order."""
    loaded = loaded or current_policy()
    allowed = loaded.checked.export.formats if loaded.checked is not None else None
    if allowed is None:
        return list(offered)
    return [f for f in offered if canonical_format(f) in allowed]


def check_hub_server(server: str, loaded: LoadedPolicy | None = None) -> None:
    """Refuse signing in to a Hub other than the one a locked policy names."""
    loaded = loaded or current_policy()
    if loaded.checked is None:
        return
    hub = loaded.checked.hub
    if not hub.locked or not hub.server:
        return
    if _same_server(server, hub.server):
        return
    raise ValidationError(
        "server",
        f"your IT department's policy ({loaded.path}) allows only the Hub {hub.server}; "
        f"ask {loaded.who} to change it",
    )


def _same_server(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def locked_message(key: str, loaded: LoadedPolicy) -> str:
    return (
        f"is set by your IT department's policy ({loaded.path}) and cannot be changed here; "
        f"ask {loaded.who}"
    )


__all__ = [
    "POLICY_ENV",
    "Effective",
    "Item",
    "LoadedPolicy",
    "Source",
    "allowed_export_formats",
    "apply_policy",
    "check_export_format",
    "check_hub_server",
    "current_policy",
    "effective_settings",
    "load_policy",
    "locked_message",
    "policy_path",
]
