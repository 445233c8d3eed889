"""The Hub's routes analysed once per test process, not once per Hub a test starts.

Hundreds of tests each start a Hub, and each start builds its FastAPI app: FastAPI gives
every parameter and response of every route a pydantic TypeAdapter, built from the
parameter's type, its constraints and its settings. Those are the same for every Hub a
process builds (the routes are the same functions' copies), and building them is most of
the cost of a start. Here FastAPI's fields take an adapter already built for an equal
description: the same validation and serialisation code, shared, as one Hub shares it
across its own routes. A description holding anything unhashable (a list default, a
dict of extra schema) gets its own adapter, as without this. ``test_route_fields.py``
checks that an app built with the shared adapters is the same API as one built without.
"""

from __future__ import annotations

from typing import Any

from fastapi._compat import v2

_built: dict[tuple[Any, ...], Any] = {}
_own_post_init = v2.ModelField.__post_init__


def _key(field: v2.ModelField) -> tuple[Any, ...] | None:
    """What FastAPI builds a field's adapter from (its ``__post_init__``), as a key."""
    described = v2.asdict(field.field_info)
    config = field.config
    key = (
        described["annotation"],
        tuple(described["metadata"]),
        # The value's type too: 1 and True are equal keys but not equal defaults.
        tuple((name, type(value), value) for name, value in described["attributes"].items()),
        None if config is None else tuple(sorted(config.items())),
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _post_init(self: v2.ModelField) -> None:
    key = _key(self)
    if key is None:
        _own_post_init(self)
        return
    adapter = _built.get(key)
    if adapter is None:
        _own_post_init(self)
        _built[key] = self._type_adapter
    else:
        self._type_adapter = adapter


def install() -> None:
    """Share the adapters from now on in this process (FastAPI's own build otherwise)."""
    if hasattr(v2, "asdict") and "_type_adapter" in _own_post_init.__code__.co_names:
        v2.ModelField.__post_init__ = _post_init  # type: ignore[method-assign]


def uninstall() -> None:
    v2.ModelField.__post_init__ = _own_post_init  # type: ignore[method-assign]
