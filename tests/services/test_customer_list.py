"""The paged customer list: filters, sorts, counts and the facts on each row."""

from __future__ import annotations

from typing import Any

import pytest

from touchpoint.errors import ValidationError
from touchpoint.services import customers, followups, insights, interactions
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


def test_a_deleted_touch_leaves_a_customer_needing_attention(ws: Workspace, clock: Any) -> None:
    quiet = _add(ws, "Quiet GmbH", status="active")
    _add(ws, "Prospect KG", status="prospect")  # not active: never "quiet"
    kept = _add(ws, "Kept AG", status="active")
    log_interaction(ws, customer=kept, kind="call")
    call = log_interaction(ws, customer=quiet, kind="call").value
    assert _names(ws, CustomerQuery(needs_attention=True)) == []
    interactions.delete_interaction(ws, call.interaction.id)
    assert _names(ws, CustomerQuery(needs_attention=True)) == ["Quiet GmbH"]
    assert count_customers(ws, CustomerQuery(needs_attention=True)) == 1
    clock.advance(days=ws.settings.quiet_after_days + 1)  # the call at Kept is old now
    assert _names(ws, CustomerQuery(needs_attention=True)) == ["Kept AG", "Quiet GmbH"]


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


def test_the_words_search_over_a_workspace(ws: Workspace) -> None:
    """Each word the start of a word of the name, a city or a tag, folded."""
    customers.create_customer(
        ws,
        {"name": "Müller & Söhne", "addresses": [{"city": "Zürich"}], "tags": ["key_account"]},
    )
    customers.create_customer(ws, {"name": "Amuller", "notes": "Zürich"})

    def names(typed: str) -> list[str]:
        query = CustomerQuery(words=typed)
        rows = customer_rows(ws, query, 0, 10)
        assert count_customers(ws, query) == len(rows)
        return [r.name for r in rows]

    assert names("muller") == ["Müller & Söhne"]  # a word's start, not inside a word
    assert names("SOHNE zur") == ["Müller & Söhne"]
    assert names("zurich") == ["Müller & Söhne"]  # the city, not the notes
    assert names("key_a") == ["Müller & Söhne"]  # "_" is a letter here, not a wildcard
    assert names("key%") == ["Müller & Söhne"]  # "%" is not a word: ignored
    assert names("söhne amuller") == []


def test_only_the_customers_of_some_teams(ws: Workspace) -> None:
    north = _add(ws, "Nord KG")
    _add(ws, "Süd SA")
    _add(ws, "Never synced")  # no team known yet: in no team's list
    with ws.db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO customer_teams VALUES (?, 'north')", (north,))
    query = CustomerQuery(teams=("north",))
    assert [r.name for r in customer_rows(ws, query, 0, 10)] == ["Nord KG"]
    assert count_customers(ws, CustomerQuery(teams=())) == 0
    assert count_customers(ws, CustomerQuery()) == 3


def test_every_column_of_a_row_from_its_records(ws: Workspace, clock: Any) -> None:
    """Each fact a row shows, read from the customer's own fields and records: the first
    email and phone, the city of the first address naming one, the open promises (how
    many, how many late, the earliest due), the newest three scores."""
    full = _add(
        ws,
        "Full GmbH",
        status="active",
        owner="tom@example.com",
        territory="Berlin",
        tags=["key", "rental"],
        emails=["first@full.de", "second@full.de"],
        phones=["+49 30 1234567", "+49 30 7654321"],
        addresses=[{"street": "Hauptstr. 1"}, {"city": "Köln"}, {"city": "Bonn"}],
    )
    bare = _add(ws, "Bare KG")
    for score in (1, 2, 4, 5):  # the newest three: 2, 4, 5
        clock.advance(minutes=10)
        log_interaction(ws, customer=full, kind="call", satisfaction=score)
    clock.advance(minutes=10)
    log_interaction(ws, customer=full, kind="note")  # the last touch, with no score
    logged = log_interaction(
        ws,
        customer=full,
        kind="visit",
        followups=[
            FollowUpInput("Late", "-2d"),
            FollowUpInput("Soon", "+1d"),
            FollowUpInput("Later", "+9d"),
            FollowUpInput("Kept", "+3d"),
        ],
    ).value
    kept = next(f for f in logged.followups if f.title == "Kept")
    followups.complete_followup(ws, kept.id)
    rows = {r.name: r for r in customer_rows(ws, CustomerQuery(), 0, 10)}
    row = rows["Full GmbH"]
    assert (row.id, row.status, row.owner, row.territory) == (
        full, "active", "tom@example.com", "Berlin"
    )  # fmt: skip
    assert row.tags == ["key", "rental"]
    assert (row.email, row.phone, row.city) == ("first@full.de", "+49301234567", "Köln")
    assert row.last_touch == clock() and row.days_since_last_touch == 0
    assert (row.open_followups, row.overdue_followups) == (3, 1)
    assert row.next_followup == next(f.due_at for f in logged.followups if f.title == "Late")
    assert row.satisfaction == pytest.approx(11 / 3)
    empty = rows["Bare KG"]
    assert empty.id == bare and empty.tags == []
    assert (empty.email, empty.phone, empty.city, empty.last_touch) == (None, None, None, None)
    assert (empty.open_followups, empty.overdue_followups, empty.next_followup) == (0, 0, None)
    assert empty.satisfaction is None and empty.days_since_last_touch is None


def test_a_row_reads_lists_as_an_older_laptop_wrote_them(ws: Workspace) -> None:
    """Bare values among the items and empty ones (as records synced from elsewhere may
    hold): the first non-empty value is the row's."""
    cid = _add(ws, "Old Shape AG")
    with ws.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE customers SET emails = ?, phones = ?, addresses = ?, tags = 'null'"
            " WHERE id = ?",
            (
                '[{"value": ""}, "bare@old.de", {"value": "later@old.de"}]',
                '[{"label": "work"}, {"value": "+4930111"}]',
                '[{"city": ""}, "not an address", {"city": "Hamburg"}]',
                cid,
            ),
        )
    (row,) = customer_rows(ws, CustomerQuery(), 0, 10)
    assert (row.email, row.phone, row.city, row.tags) == (
        "bare@old.de", "+4930111", "Hamburg", []
    )  # fmt: skip


def test_satisfaction_on_the_list_is_the_profiles_when_scores_share_a_moment(
    ws: Workspace, clock: Any
) -> None:
    cid = _add(ws, "Tie GmbH")
    moment = clock()
    for score in (5, 1, 4, 2):  # two scores given at the same moment, last
        log_interaction(ws, customer=cid, kind="call", satisfaction=score, occurred_at=moment)
    (row,) = customer_rows(ws, CustomerQuery(), 0, 10)
    assert row.satisfaction == insights.customer_summary(ws, cid).satisfaction.current


def test_the_words_search_finds_the_same_before_and_after_the_names_are_indexed(
    ws: Workspace,
) -> None:
    """A big pull leaves its customers to the index's catch-up: meanwhile the words
    search looks every customer over; indexed, it asks the index first. Same answers."""
    from touchpoint.services.search import catch_up_index_step
    from touchpoint.storage import search_index

    customers.create_customer(ws, {"name": "Hafen Logistik", "addresses": [{"city": "Köln"}]})
    with ws.db.engine.begin() as conn, search_index.bulk_insert(conn, defer=True):
        pass  # as a big pull leaves it: new documents wait for the catch-up
    customers.create_customer(
        ws, {"name": "Hafenkran Service", "addresses": [{"city": "Kolding"}], "tags": ["vip"]}
    )
    customers.create_customer(ws, {"name": "Nordhafen AG", "notes": "hafen koln"})
    customers.create_customer(ws, {"name": "Müller_Hafen", "tags": ["Kölner_Kunde"]})

    def names(typed: str) -> list[str]:
        query = CustomerQuery(words=typed)
        found = [r.name for r in customer_rows(ws, query, 0, 10)]
        assert count_customers(ws, query) == len(found)
        return found

    typed = ("hafen", "HAFEN kol", "koln", "vip", "muller_h", "kölner_k", "hafenk", "ag nord", "")
    before = {t: names(t) for t in typed}
    assert before["hafen"] == ["Hafen Logistik", "Hafenkran Service"]  # not inside a word
    assert before["koln"] == ["Hafen Logistik", "Müller_Hafen"]  # city, tag; not the notes
    assert before["HAFEN kol"] == ["Hafen Logistik", "Hafenkran Service"]
    assert before["kölner_k"] == ["Müller_Hafen"]
    assert not catch_up_index_step(ws, names_only=True)  # the names index: all of it now
    with ws.read() as session:
        assert search_index.lagging(session.connection())  # the notes' index still waits
        assert not search_index.lagging(session.connection(), search_index.NAMES_FTS)
    assert {t: names(t) for t in typed} == before


def test_the_words_search_asks_the_names_index(ws: Workspace) -> None:
    """Each of FTS5's tokens of the folded words typed ("_" parts them) becomes a
    prefix, so the index's answer holds every customer the words match (the index keeps
    no positions to ask for a word's tokens in a row)."""
    from touchpoint.services.customer_list import names_expression

    assert names_expression(["gonz", "mad"]) == '"gonz"* "mad"*'
    assert names_expression(["key_a"]) == '"key"* "a"*'
    assert names_expression(["_", "x"]) == '"x"*'
    assert names_expression(["_"]) is None
