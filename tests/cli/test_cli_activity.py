"""``touchpoint log``, the follow-up commands and ``search``.

The clock stands at Wed 2026-11-18 09:30 UTC (10:30 in Berlin, the user's zone).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def acme(tp) -> str:
    customer_id = tp.add_customer("Acme GmbH", "--status", "active")
    tp("contact", "add", "acme", "Jana Novak")
    return customer_id


def _followup_count(tp) -> int:
    return len(tp.json("followups", "--all"))


def test_log_with_followups_prints_the_ids(tp, acme: str) -> None:
    result = tp(
        "log", "visit", "--customer", "acme", "--contact", "jana",
        "--subject", "Quarterly review", "--notes", "Walked the warehouse",
        "--outcome", "order", "--satisfaction", "4", "--feedback", "Loves the new app",
        "--duration", "45", "--direction", "outbound", "--depth", "relationship",
        "--follow-up", "Send the quote", "--due", "fri 10:00",
        "--follow-up", "Call back", "--due", "+3d",
    )  # fmt: skip
    interaction_id = result.stdout.strip()
    assert len(interaction_id) == 36
    assert "due Fri 2026-11-20 10:00" in result.stderr
    assert "due Sat 2026-11-21 17:00" in result.stderr
    shown = tp.json("customer", "show", acme)
    logged = shown["interactions"][0]
    assert logged["id"] == interaction_id
    assert logged["occurred_at"] == "2026-11-18T09:30:00Z"
    assert logged["satisfaction"] == 4 and logged["duration_minutes"] == 45
    assert logged["feedback"] == "Loves the new app"
    assert len(logged["contact_ids"]) == 1
    promises = shown["open_followups"]
    assert [f["title"] for f in promises] == ["Send the quote", "Call back"]
    assert promises[0]["due_at"] == "2026-11-20T09:00:00Z"  # 10:00 Berlin
    assert promises[0]["remind_at"] == "2026-11-20T08:45:00Z"  # 15 minutes before


def test_log_json_and_when(tp, acme: str) -> None:
    logged = tp.json("log", "call", "--customer", "acme", "--when", "2026-11-17 16:00")
    assert logged["interaction"]["occurred_at"] == "2026-11-17T15:00:00Z"
    assert logged["interaction"]["kind"] == "call"
    assert logged["followups"] == []


def test_one_due_serves_every_followup(tp, acme: str) -> None:
    logged = tp.json(
        "log", "call", "--customer", "acme",
        "--follow-up", "Quote", "--follow-up", "Samples",
        "--due", "tomorrow", "--remind", "thu 8:00",
    )  # fmt: skip
    assert [f["due_at"] for f in logged["followups"]] == ["2026-11-19T16:00:00Z"] * 2
    assert [f["remind_at"] for f in logged["followups"]] == ["2026-11-19T07:00:00Z"] * 2


def test_notes_from_stdin(tp, acme: str) -> None:
    notes = "Long notes\n" * 2000
    tp("log", "note", "--customer", "acme", "--notes", "-", input=notes)
    assert tp.json("customer", "show", "acme")["interactions"][0]["notes"] == notes.strip()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--satisfaction", "7"], "error: satisfaction: "),
        (["--follow-up", "Quote", "--due", "someday"], "error: follow-up 1 due: 'someday'"),
        (["--follow-up", "Quote"], "error: due: each --follow-up needs a --due"),
        (
            [
                "--follow-up",
                "A",
                "--follow-up",
                "B",
                "--follow-up",
                "C",
                "--due",
                "fri",
                "--due",
                "mon",
            ],
            "error: due: 3 follow-ups but 2 due times",
        ),
        (["--duration", "-5"], "error: duration"),
        (["--contact", "Nobody"], "error: contact: no contact called 'Nobody'"),
        (["--when", "yesterdayish"], "error: when: "),
    ],
)
def test_bad_log_input_writes_nothing(tp, acme: str, args: list[str], message: str) -> None:
    before = tp.changes()
    result = tp("log", "visit", "--customer", "acme", *args, code=1)
    assert result.stderr.startswith(message), result.stderr
    assert result.stdout == ""
    assert tp.changes() == before


def test_bad_kind_and_several_problems(tp, acme: str) -> None:
    before = tp.changes()
    result = tp(
        "log", "lunch", "--customer", "acme", "--satisfaction", "0",
        "--follow-up", "Quote", "--due", "someday", code=1,
    )  # fmt: skip
    lines = result.stderr.splitlines()
    assert any(line.startswith("error: kind: 'lunch' is not one of") for line in lines)
    assert any(line.startswith("error: satisfaction: ") for line in lines)
    assert any(line.startswith("error: follow-up 1 due: ") for line in lines)
    assert tp.changes() == before


def test_notes_over_one_megabyte_write_nothing(tp, acme: str) -> None:
    before = tp.changes()
    result = tp("log", "visit", "--customer", "acme", "--notes", "-", input="é" * 600_000, code=1)
    assert result.stderr == "error: notes: is larger than 1 MB\n"
    assert tp.changes() == before


def test_unknown_customer(tp) -> None:
    result = tp("log", "call", "--customer", "Nobody", code=1)
    assert result.stderr == "error: no customer called 'Nobody'\n"


def _log_promises(tp) -> dict[str, str]:
    logged = tp.json(
        "log", "visit", "--customer", "acme",
        "--follow-up", "Overdue one", "--due", "2026-11-17 09:00",
        "--follow-up", "Today one", "--due", "today 16:00",
        "--follow-up", "This week", "--due", "sat",
        "--follow-up", "Later one", "--due", "+10d", "--allow-past",
    )  # fmt: skip
    return {f["title"]: f["id"] for f in logged["followups"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--follow-up", "Quote", "--due", "2020-01-01"],
            "error: follow-up 1 due: Wed 2020-01-01 17:00 is in the past; "
            "add --allow-past if that is meant",
        ),
        (
            ["--follow-up", "Quote", "--due", "yesterday"],
            "error: follow-up 1 due: Tue 2026-11-17 17:00 is in the past; add --allow-past",
        ),
        (
            ["--follow-up", "Quote", "--due", "tomorrow", "--remind", "+2d"],
            "error: follow-up 1 reminder: Fri 2026-11-20 17:00 is after the due time "
            "Thu 2026-11-19 17:00",
        ),
        (
            ["--when", "1900-01-01 10:00"],
            "error: when: Mon 1900-01-01 10:00 is more than a year ago; add --allow-past",
        ),
    ],
)
def test_past_times_are_refused_without_allow_past(
    tp, acme: str, args: list[str], message: str
) -> None:
    before = tp.changes()
    result = tp("log", "call", "--customer", "acme", *args, code=1)
    assert result.stderr.startswith(message), result.stderr
    assert tp.changes() == before


def test_allow_past_takes_a_past_due_and_an_old_interaction(tp, acme: str) -> None:
    logged = tp.json(
        "log", "call", "--customer", "acme", "--when", "2024-03-01 10:00",
        "--follow-up", "Quote", "--due", "2020-01-01", "--allow-past",
    )  # fmt: skip
    assert logged["interaction"]["occurred_at"] == "2024-03-01T09:00:00Z"
    assert logged["followups"][0]["state"] == "overdue"
    # a reminder after its due time stays refused, past or not
    late = tp(
        "log", "call", "--customer", "acme", "--follow-up", "Quote", "--due", "2020-01-01",
        "--remind", "2020-01-02 09:00", "--allow-past", code=1,
    )  # fmt: skip
    assert "reminder: Thu 2020-01-02 09:00 is after the due time" in late.stderr
    # less than a year back needs nothing
    tp("log", "call", "--customer", "acme", "--when", "2026-01-10 10:00")


def test_reschedule_and_snooze_refuse_the_past(tp, acme: str) -> None:
    fid = tp.json("log", "call", "--customer", "acme", "--follow-up", "Quote", "--due", "fri")[
        "followups"
    ][0]["id"]
    before = tp.changes()
    refused = tp("reschedule", fid, "2019-05-05", code=1)
    assert refused.stderr == (
        "error: due: Sun 2019-05-05 17:00 is in the past; add --allow-past if that is meant\n"
    )
    refused = tp("snooze", fid, "yesterday", code=1)
    assert refused.stderr.startswith(
        "error: snooze until: Tue 2026-11-17 17:00 is in the past; add --allow-past"
    )
    refused = tp("reschedule", fid, "mon 10:00", "--remind", "tue 9:00", code=1)
    assert "error: reminder: Tue 2026-11-24 09:00 is after the due time Mon 2026-11-23 10:00" in (
        refused.stderr
    )
    assert tp.changes() == before
    assert (
        "now due Sun 2019-05-05 17:00" in tp("reschedule", fid, "2019-05-05", "--allow-past").stdout
    )
    assert "moved to Tue 2026-11-17 17:00" in tp("snooze", fid, "yesterday", "--allow-past").stdout


def test_the_services_refuse_the_past_only_when_asked(tp, acme: str) -> None:
    from touchpoint.errors import ValidationError, ValidationErrors
    from touchpoint.services.followups import ALLOW_PAST, reschedule_followup
    from touchpoint.services.interactions import FollowUpInput, log_interaction
    from touchpoint.storage.workspace import Workspace

    with Workspace.open(tp.data_dir, auto_backup=False, clock=tp.clock) as ws:
        with pytest.raises(ValidationErrors) as refused:
            log_interaction(
                ws, customer=acme, kind="call",
                followups=[FollowUpInput("Quote", "-1d")], allow_past=False,
            )  # fmt: skip
        assert refused.value.errors[0].field == "follow-up 1 due"
        assert refused.value.errors[0].problem.endswith(ALLOW_PAST)
        made = log_interaction(
            ws, customer=acme, kind="call", followups=[FollowUpInput("Q", "-1d")]
        )
        fid = made.value.followups[0].id
        assert reschedule_followup(ws, fid, "-2d").value.state == "overdue"
        with pytest.raises(ValidationError, match=r"due: .* is in the past"):
            reschedule_followup(ws, fid, "-2d", allow_past=False)


def test_followup_lists_by_scope(tp, acme: str) -> None:
    _log_promises(tp)

    def titles(*flags: str) -> list[str]:
        return [f["title"] for f in tp.json("followups", *flags)]

    assert titles() == ["Overdue one", "Today one", "This week", "Later one"]
    assert titles("--overdue") == ["Overdue one"]
    assert titles("--today") == ["Overdue one", "Today one"]
    assert titles("--week") == ["Overdue one", "Today one", "This week"]
    assert titles("--later") == ["Later one"]
    assert titles("--mine", "--customer", "acme") == titles()
    states = {f["title"]: f["state"] for f in tp.json("followups")}
    assert states["Overdue one"] == "overdue" and states["Today one"] == "open"
    one = tp.json("followups", "--overdue")[0]
    assert set(one) >= {"id", "title", "due_at", "state", "customer_name", "assigned_to"}
    assert one["due_at"] == "2026-11-17T08:00:00Z"
    out = tp("followups", "--today").stdout
    assert out.splitlines()[0].split() == [
        "id",
        "state",
        "due",
        "title",
        "customer",
        "assigned",
        "to",
    ]
    assert "overdue  Tue 2026-11-17 09:00  Overdue one" in out


def test_done_by_id_prefix_kept_and_late(tp, acme: str) -> None:
    ids = _log_promises(tp)
    out = tp("done", ids["Today one"][-6:]).stdout
    assert "'Today one'" in out and out.strip().endswith("kept")
    late = tp("done", ids["Overdue one"][-8:]).stdout
    assert late.strip().endswith("late")
    states = {f["title"]: f["state"] for f in tp.json("followups", "--all")}
    assert states["Today one"] == "kept" and states["Overdue one"] == "late"
    assert [f["title"] for f in tp.json("followups", "--overdue")] == []
    tp("done", ids["This week"], "--at", "2026-11-16 12:00")
    done_at = {f["title"]: f["done_at"] for f in tp.json("followups", "--all")}
    assert done_at["This week"] == "2026-11-16T11:00:00Z"


def test_short_or_unknown_id_is_an_error(tp, acme: str) -> None:
    ids = _log_promises(tp)
    before = tp.changes()
    short = ids["Today one"][:4]
    assert tp("done", short, code=1).stderr == (
        f"error: '{short}' is too short: give at least 6 characters of the follow-up's id\n"
    )
    assert tp("done", "ffffffff", code=1).stderr == "error: no follow-up with id 'ffffffff'\n"
    assert "matches" not in tp("done", "%%%%%%", code=1).stderr  # no wildcard
    tp("done", ids["Today one"], "--at", "someday", code=1)
    assert tp.changes() == before


def test_done_twice_says_when_and_changes_nothing(tp, acme: str) -> None:
    ids = _log_promises(tp)
    tp("done", ids["Today one"][-6:], "--at", "2026-11-18 10:00")
    before = tp.changes()
    again = tp("done", ids["Today one"][-6:], "--at", "2026-11-18 10:20").stdout
    assert again == (
        f"{ids['Today one'][-8:]} 'Today one' for Acme GmbH was already done "
        "(Wed 2026-11-18 10:00); nothing changed\n"
    )
    assert tp.changes() == before


def test_snooze_reschedule_cancel_reassign(tp, acme: str) -> None:
    ids = _log_promises(tp)
    fid = ids["Today one"]
    assert "moved to Thu 2026-11-19 09:00" in tp("snooze", fid, "tomorrow 9:00").stdout
    f = {x["id"]: x for x in tp.json("followups")}[fid]
    assert f["remind_at"] == "2026-11-19T08:00:00Z"
    assert f["due_at"] == "2026-11-18T15:00:00Z"  # the promise stays
    assert "now due Mon 2026-11-23 17:00" in tp("reschedule", fid, "next monday").stdout
    assert "now tom@example.com's" in tp("reassign", fid, "tom@example.com").stdout
    assert [x["title"] for x in tp.json("followups", "--mine")] == [
        "Overdue one", "This week", "Later one",
    ]  # fmt: skip
    assert tp("cancel", ids["Later one"]).stdout.strip().endswith("cancelled")
    assert "Later one" not in [x["title"] for x in tp.json("followups")]
    before = tp.changes()
    tp("snooze", fid, "someday", code=1)
    tp("reschedule", fid, "", code=1)
    tp("reassign", fid, "", code=1)
    assert tp.changes() == before


def test_search_groups_and_json(tp, acme: str) -> None:
    tp(
        "log", "visit", "--customer", "acme", "--notes", "They want a forklift quote",
        "--follow-up", "Send the forklift quote", "--due", "fri",
    )  # fmt: skip
    found = tp.json("search", "forklift", "quo")
    assert found["query"] == "forklift quo"
    groups = {g["group"]: g["hits"] for g in found["groups"]}
    assert set(groups) == {"Notes and feedback", "Follow-ups"}
    note = groups["Notes and feedback"][0]
    assert "\x02" not in note["snippet"] and "forklift" in note["snippet"]
    assert note["match"] == ["forklift", "quote"]
    assert note["customer_name"] == "Acme GmbH"
    assert set(note) == {
        "entity", "record_id", "customer_id", "customer_name", "title", "snippet", "match", "rank",
    }  # fmt: skip
    out = tp("search", "acme").stdout
    assert out.splitlines()[0] == "Customers"
    assert "Acme GmbH" in out and "\x1b[" not in out and "\x02" not in out
    assert "nothing matches" in tp("search", "zebra").stdout
    assert len(tp.json("search", "a", "--limit", "1")["groups"]) == 1


def test_search_marks_matched_words_bold_on_a_terminal(tp, acme: str, monkeypatch) -> None:
    from touchpoint.cli import activity, output

    tp("log", "visit", "--customer", "acme", "--notes", "They want a forklift quote")
    monkeypatch.setattr(output, "is_tty", lambda stream=None: True)
    monkeypatch.setattr(activity, "is_tty", lambda stream=None: True)
    out = tp("search", "forklift", color=True).stdout
    assert "\x1b[1mforklift\x1b[22m" in out
