"""The paged customer list: filters, sorts, counts and the facts on each row."""

from __future__ import annotations

from typing import Any

import pytest

from touchpoint.errors import ValidationError
from touchpoint.services import customers
from touchpoint.services.customer_list import (
    CustomerQuery,
    count_customers,
    customer_rows,
    filter_choices,
    row_of,
)
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace


def _add(ws: Workspace, name: str, **fields: Any) -> str:
    return customers.create_customer(ws, {"name": name, **fields}).value.id


@pytest.fixture
def book(ws: Workspace, clock: Any) -> dict[str, str]:
    ids = {
        "acme": _add(ws, "Acme GmbH", status="active", territory="Berlin", tags=["key"]),
        "bolt": _add(ws, "Bolt AG", status="active", territory="Munich", owner="tom@example.com"),
        "cora": _add(ws, "Cora KG", status="prospect", territory="Berlin", tags=["key", "new"]),
        "dora": _add(ws, "Dora & Co", status="former", emails=["d@dora.de"]),
    }
    customers.delete_customer(ws, _add(ws, "Gone Ltd", status="active"))
    clock.advance(days=-40)
    log_interaction(ws, customer=ids["bolt"], kind="call")
    clock.advance(days=38)
    log_interaction(
        ws,
        customer=ids["acme"],
        kind="visit",
        followups=[FollowUpInput("Send quote", "+5d"), FollowUpInput("Call back", "+6d")],
    )
    clock.advance(days=2)  # back to the start: Acme touched 2 days ago, Bolt 40 days ago
    return ids


def _names(ws: Workspace, q: CustomerQuery, offset: int = 0, limit: int = 50) -> list[str]:
    return [r.name for r in customer_rows(ws, q, offset, limit)]


def test_lists_live_customers_by_name_and_counts_them(ws: Workspace, book: dict) -> None:
    q = CustomerQuery()
    assert _names(ws, q) == ["Acme GmbH", "Bolt AG", "Cora KG", "Dora & Co"]
    assert count_customers(ws, q) == 4
    assert _names(ws, CustomerQuery(descending=True))[0] == "Dora & Co"


def test_pages_do_not_overlap(ws: Workspace, book: dict) -> None:
    q = CustomerQuery()
    assert _names(ws, q, 0, 2) + _names(ws, q, 2, 2) == _names(ws, q)


def test_filters(ws: Workspace, book: dict) -> None:
    assert _names(ws, CustomerQuery(status="active")) == ["Acme GmbH", "Bolt AG"]
    assert _names(ws, CustomerQuery(territory="Berlin")) == ["Acme GmbH", "Cora KG"]
    assert _names(ws, CustomerQuery(tag="key")) == ["Acme GmbH", "Cora KG"]
    assert _names(ws, CustomerQuery(tag="new")) == ["Cora KG"]
    assert _names(ws, CustomerQuery(owner="tom@example.com")) == ["Bolt AG"]
    assert _names(ws, CustomerQuery(text="ora")) == ["Cora KG", "Dora & Co"]
    assert _names(ws, CustomerQuery(text="100%")) == []
    assert count_customers(ws, CustomerQuery(tag="key", territory="Berlin")) == 2


def test_needs_attention_is_quiet_active_or_overdue(ws: Workspace, book: dict, clock) -> None:
    # Bolt: active, silent 40 days. Acme: touched 2 days ago, follow-ups not yet due.
    assert _names(ws, CustomerQuery(needs_attention=True)) == ["Bolt AG"]
    clock.advance(days=5)  # both of Acme's promises are now overdue
    assert _names(ws, CustomerQuery(needs_attention=True)) == ["Acme GmbH", "Bolt AG"]


def test_rows_carry_touch_and_promise_facts(ws: Workspace, book: dict, clock) -> None:
    rows = {r.name: r for r in customer_rows(ws, CustomerQuery(), 0, 10)}
    assert rows["Acme GmbH"].days_since_last_touch == 2
    assert rows["Acme GmbH"].open_followups == 2
    assert rows["Acme GmbH"].overdue_followups == 0
    assert rows["Bolt AG"].days_since_last_touch == 40
    assert rows["Cora KG"].last_touch is None
    assert rows["Dora & Co"].email == "d@dora.de"
    clock.advance(days=5)
    acme = customer_rows(ws, CustomerQuery(text="acme"), 0, 1)[0]
    assert acme.overdue_followups == 2


def test_sort_by_last_touch_puts_untouched_last_when_newest_first(
    ws: Workspace, book: dict
) -> None:
    newest = _names(ws, CustomerQuery(sort="last_touch", descending=True))
    assert newest[:2] == ["Acme GmbH", "Bolt AG"]
    oldest = _names(ws, CustomerQuery(sort="last_touch"))
    assert oldest[-2:] == ["Bolt AG", "Acme GmbH"]


def test_bad_query_names_the_field(ws: Workspace, book: dict) -> None:
    with pytest.raises(ValidationError) as err:
        customer_rows(ws, CustomerQuery(sort="password"), 0, 10)
    assert err.value.field == "sort"
    with pytest.raises(ValidationError) as err:
        count_customers(ws, CustomerQuery(status="happy"))
    assert err.value.field == "status"


def test_position_and_choices(ws: Workspace, book: dict) -> None:
    assert row_of(ws, CustomerQuery(), book["cora"]) == 2
    assert row_of(ws, CustomerQuery(status="active"), book["cora"]) is None
    choices = filter_choices(ws)
    assert choices.territories == ["Berlin", "Munich"]
    assert choices.tags == ["key", "new"]
    assert "tom@example.com" in choices.owners
    assert choices.statuses == ["prospect", "active", "former"]
