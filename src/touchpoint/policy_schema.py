"""The policy file's shape, checked by pydantic: every section, key and value.

Kept apart from :mod:`touchpoint.policy` so that a machine without a policy file
never loads pydantic just to start a command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from touchpoint.domain.export_formats import EXPORT_FORMATS, canonical_format
from touchpoint.errors import ValidationError
from touchpoint.settings import check_setting


class _Section(BaseModel):
    # An unknown key is a typo an IT department wants to hear about, not silently ignore.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _url(value: str | None, *, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    text = value.strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in schemes or not rest or " " in text:
        raise ValueError(f"'{value}' is not an address like {schemes[0]}://host:port")
    return text


class HubPolicy(_Section):
    server: str | None = None  # the Hub every laptop signs in to
    locked: bool = False  # true: signing in to any other server is refused
    ca_bundle: str | None = None  # PEM file of the corporate CAs the Hub's certificate uses
    proxy: str | None = None  # HTTPS proxy for the Hub, e.g. http://proxy.corp:3128
    # true: sign-in may send passwords over plain http:// to another computer (a trusted
    # network only); false refuses it unless the user passes --allow-http.
    allow_http: bool = False

    @field_validator("server")
    @classmethod
    def _server(cls, value: str | None) -> str | None:
        return _url(value, schemes=("https", "http"))

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        return _url(value, schemes=("http", "https", "socks5", "socks5h"))

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            raise ValueError(f"'{value}' must be an absolute path")
        if not path.is_file():
            raise ValueError(f"'{value}' is not a file on this computer")
        return str(path)

    @model_validator(mode="after")
    def _locked_needs_server(self) -> HubPolicy:
        if self.locked and not self.server:
            raise ValueError("locked = true needs server = the Hub's address")
        return self


class DatabasePolicy(_Section):
    require_encryption: bool = False


class ExportPolicy(_Section):
    formats: tuple[str, ...] | None = None  # None: every format Touchpoint writes

    @field_validator("formats", mode="before")
    @classmethod
    def _formats(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise ValueError('must be a list like ["csv", "pdf"]')
        clean: list[str] = []
        for item in value:
            name = canonical_format(str(item))
            if name not in EXPORT_FORMATS:
                raise ValueError(f"'{item}' is not one of: {', '.join(EXPORT_FORMATS)}")
            if name not in clean:
                clean.append(name)
        return tuple(clean)


class SupportPolicy(_Section):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(f"'{value}' is not an email address")
        return value

    @field_validator("url")
    @classmethod
    def _support_url(cls, value: str | None) -> str | None:
        return _url(value, schemes=("https", "http"))

    def lines(self) -> list[str]:
        """The contact as people read it: name, then how to reach them."""
        return [v for v in (self.name, self.email, self.phone, self.url) if v]


class SettingsPolicy(_Section):
    """User settings the policy sets; each one beats the user's own value and is locked."""

    timezone: str | None = None
    default_region: str | None = None
    currency: str | None = None
    quiet_after_days: int | None = None
    reminder_minutes_before: int | None = None
    theme: str | None = None
    sync_interval_minutes: int | None = None
    log_level: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _check(cls, value: Any, info: Any) -> Any:
        if value is None:
            return None
        try:
            return check_setting(info.field_name, value)
        except ValidationError as exc:
            raise ValueError(exc.problem) from None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ReportsPolicy(_Section):
    # The team's working days, as date.weekday() numbers once checked: goals count on
    # these only. None: the goals file's, else Monday to Friday.
    work_days: tuple[int, ...] | None = None

    @field_validator("work_days", mode="before")
    @classmethod
    def _work_days(cls, value: Any) -> Any:
        from touchpoint.domain.metrics import parse_work_days

        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise ValueError('must be a list like ["mon", "tue", "wed", "thu", "fri"]')
        return tuple(sorted(parse_work_days(value)))


class Policy(_Section):
    hub: HubPolicy = HubPolicy()
    database: DatabasePolicy = DatabasePolicy()
    export: ExportPolicy = ExportPolicy()
    support: SupportPolicy = SupportPolicy()
    settings: SettingsPolicy = SettingsPolicy()
    reports: ReportsPolicy = ReportsPolicy()
