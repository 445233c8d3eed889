"""``touchpoint interaction show|edit|delete|restore`` by short ids.

The clock stands at Wed 2026-11-18 09:30 UTC (10:30 in Berlin, the user's zone).
"""

from __future__ import annotations

import pytest

from touchpoint.domain.values import short_id


@pytest.fixture
def visit(tp) -> str:
    """A visit at Acme with Jana, a promise made in it; returns its full id."""
    tp.add_customer("Acme GmbH", "--status", "active")
    tp("contact", "add", "acme", "Jana Novak")
    tp("contact", "add", "acme", "Olaf Berg")
    return tp(
        "log", "visit", "--customer", "acme", "--contact", "jana",
        "--subject", "Forklifts", "--notes", "Walked the warehouse\nTwo trucks are old",
        "--outcome", "order", "--satisfaction", "4", "--feedback", "Loves the new app",
        "--duration", "45", "--when", "2026-11-16 10:00",
        "--follow-up", "Send the quote", "--due", "fri 10:00",
    ).stdout.strip()  # fmt: skip


def test_show_by_the_short_id_has_everything(tp, visit: str) -> None:
    shown = tp("interaction", "show", short_id(visit)).stdout
    assert shown.splitlines()[0] == f"Visit at Acme GmbH  {visit}"
    for line in (
        "when          Mon 2026-11-16 10:00",
        "logged by     Maria (maria@example.com)",
        "contacts      Jana Novak",
        "satisfaction  4/5",
        "duration      45 min",
        "  Walked the warehouse",
        "  Two trucks are old",
        "  “Loves the new app”",
        "Follow-ups made in it (1)",
        "History (1)",
    ):
        assert line in shown.splitlines(), line
    assert "Send the quote" in shown
    # The customer's page lists the id the command takes.
    assert short_id(visit) in tp("customer", "show", "acme").stdout


def test_show_json_carries_the_words_promises_and_history(tp, visit: str) -> None:
    data = tp.json("interaction", "show", visit[:12])
    assert data["interaction"]["id"] == visit
    assert data["interaction"]["feedback"] == "Loves the new app"
    assert data["interaction"]["occurred_at"] == "2026-11-16T09:00:00Z"
    assert [c["name"] for c in data["contacts"]] == ["Jana Novak"]
    assert [f["title"] for f in data["followups"]] == ["Send the quote"]
    assert [h["op"] for h in data["history"]] == ["insert"]
    assert data["editable"] is True and data["author"] == "maria@example.com"


def test_edit_changes_only_what_is_given_and_history_says_so(tp, visit: str) -> None:
    tp("interaction", "edit", short_id(visit), "--satisfaction", "2", "--contact", "olaf")
    data = tp.json("interaction", "show", short_id(visit))
    assert data["interaction"]["satisfaction"] == 2
    assert [c["name"] for c in data["contacts"]] == ["Olaf Berg"]
    assert data["interaction"]["notes"] == "Walked the warehouse\nTwo trucks are old"
    assert data["history"][0]["fields"]["satisfaction"] == [4, 2]
    tp("interaction", "edit", short_id(visit), "--notes", "-", input="From stdin\n")
    assert tp.json("interaction", "show", visit)["interaction"]["notes"] == "From stdin"
    tp("interaction", "edit", short_id(visit), "--satisfaction", "", "--no-contacts")
    cleared = tp.json("interaction", "show", visit)
    assert cleared["interaction"]["satisfaction"] is None and cleared["contacts"] == []


def test_a_wrong_edit_names_each_field_and_writes_nothing(tp, visit: str) -> None:
    before = tp.changes()
    result = tp(
        "interaction", "edit", short_id(visit),
        "--satisfaction", "9", "--when", "+2d", "--contact", "Nobody",
        code=1,
    )  # fmt: skip
    lines = result.stderr.splitlines()
    assert any(line.startswith("error: satisfaction: ") for line in lines)
    assert any(line.startswith("error: when: Fri 20 Nov 17:00 is in the future") for line in lines)
    assert any(line.startswith("error: contact: ") for line in lines)
    assert tp.changes() == before
    old = tp("interaction", "edit", short_id(visit), "--when", "2025-01-10 10:00", code=1)
    assert "add --allow-past if that is meant" in old.stderr
    tp("interaction", "edit", short_id(visit), "--when", "2025-01-10 10:00", "--allow-past")
    assert tp("interaction", "edit", short_id(visit), code=2).stderr.startswith(
        "error: nothing to change"
    )


def test_delete_then_restore(tp, visit: str) -> None:
    out = tp("interaction", "delete", short_id(visit)).stdout
    assert out.strip() == (
        "deleted visit at Acme GmbH of Mon 2026-11-16 10:00; "
        f"undo with: touchpoint interaction restore {short_id(visit)}"
    )
    gone = tp("interaction", "show", short_id(visit), code=1)
    assert "no interaction with id" in gone.stderr
    assert tp.json("customer", "show", "acme")["interactions"] == []
    tp("interaction", "restore", short_id(visit))
    assert [i["id"] for i in tp.json("customer", "show", "acme")["interactions"]] == [visit]


def test_only_the_author_changes_it(tp, visit: str) -> None:
    tp("config", "set", "user", "tom.weber@example.com")
    shown = tp("interaction", "show", short_id(visit)).stdout
    assert "Maria (maria@example.com) (only they can change it)" in shown
    before = tp.changes()
    refused = tp("interaction", "edit", short_id(visit), "--notes", "mine now", code=1)
    assert "only Maria can edit this visit: it is their record of what happened" in refused.stderr
    tp("interaction", "delete", short_id(visit), code=1)
    assert tp.changes() == before


def test_a_short_or_unknown_id_is_said_so(tp, visit: str) -> None:
    short = tp("interaction", "show", visit[-5:], code=1)
    assert "give at least 6 characters of the interaction's id" in short.stderr
    tp("interaction", "show", "zzzzzzzz", code=1)
