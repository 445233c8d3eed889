"""The tests' shared route adapters (route_fields.py) build the same Hub API as FastAPI's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

import route_fields
from touchpoint.hub.app import create_app
from touchpoint.hub.db import make_engine


def _adapters(app: Any) -> list[Any]:
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            dependant = route.dependant
            for field in (*dependant.query_params, *dependant.header_params):
                found.append(field._type_adapter)
            if route.response_field is not None:
                found.append(route.response_field._type_adapter)
    return found


def test_hubs_share_their_route_adapters_and_are_the_same_api(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")  # never opened
    route_fields.install()  # as the tests' conftest does
    first, second = create_app(engine), create_app(engine)
    shared = list(zip(_adapters(first), _adapters(second), strict=True))
    assert len(shared) > 50
    assert all(a is b for a, b in shared)
    route_fields.uninstall()
    try:
        own = create_app(engine)
    finally:
        route_fields.install()
    assert not any(a is b for a, b in zip(_adapters(first), _adapters(own), strict=True))
    # Every parameter, body and answer described alike: the same validation and output.
    assert first.openapi() == own.openapi()
