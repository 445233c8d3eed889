"""The window asks before it stores a time in the past: a due time, a reschedule or a
snooze before now, an interaction more than a year back (the command line needs
--allow-past for the same)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from touchpoint.services import customers
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.models import FollowUp, Interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui import errors as ui_errors
from touchpoint.ui.backend import Backend
from touchpoint.ui.errors import past_question
from touchpoint.ui.followups_view import FollowUpsView
from touchpoint.ui.log_dialog import LogInteractionDialog


class Asked:
    """Stands in for the question box: records what was asked, answers as told."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.questions: list[str] = []

    def __call__(self, _parent: Any, errors: list[Any]) -> bool:
        self.questions.append(past_question(errors))
        return self.answer


@pytest.fixture
def acme(ws: Workspace) -> str:
    return customers.create_customer(ws, {"name": "Acme GmbH"}).value.id


@pytest.mark.parametrize("answer", [False, True])
def test_a_follow_up_due_in_the_past_is_asked_about(  # noqa: PLR0917 - fixtures
    qtbot: Any,
    backend: Backend,
    ws: Workspace,
    idle: Any,
    acme: str,
    monkeypatch: pytest.MonkeyPatch,
    answer: bool,
) -> None:
    asked = Asked(answer)
    monkeypatch.setattr(ui_errors, "ask_past", asked)
    dialog = LogInteractionDialog(backend, customer_id=acme)
    qtbot.addWidget(dialog)
    dialog.show()
    idle()
    dialog.notes.setPlainText("Called about the order")
    row = dialog.add_followup()
    row.title.setText("Send the quote")
    row.due.setText("2020-01-01")
    dialog.submit()
    idle()
    assert len(asked.questions) == 1
    assert "Wed 2020-01-01 17:00 is in the past" in asked.questions[0]
    assert "overdue at once" in asked.questions[0]
    assert "--allow-past" not in asked.questions[0]
    with ws.read() as session:
        stored = session.scalars(select(FollowUp)).all()
    if answer:
        assert [f.title for f in stored] == ["Send the quote"]
        assert not dialog.isVisible()
    else:
        assert stored == []
        assert dialog.isVisible() and "in the past" in row.error.text()
        dialog.ask_discard = lambda: True  # type: ignore[method-assign]
        dialog.close()


def test_a_visit_more_than_a_year_back_is_asked_about(  # noqa: PLR0917 - fixtures
    qtbot: Any,
    backend: Backend,
    ws: Workspace,
    idle: Any,
    acme: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = Asked(False)
    monkeypatch.setattr(ui_errors, "ask_past", asked)
    dialog = LogInteractionDialog(backend, customer_id=acme)
    qtbot.addWidget(dialog)
    dialog.show()
    idle()
    dialog.when.setText("2016-11-18 10:00")  # 2016 for 2026
    dialog.notes.setPlainText("Visit")
    dialog.submit()
    idle()
    assert len(asked.questions) == 1 and "more than a year ago" in asked.questions[0]
    with ws.read() as session:
        assert session.scalars(select(Interaction)).all() == []
    # Ten days back is no question.
    dialog.when.setText("-10d")
    dialog.submit()
    idle()
    assert len(asked.questions) == 1
    with ws.read() as session:
        assert len(session.scalars(select(Interaction)).all()) == 1
    assert not dialog.isVisible()


@pytest.mark.parametrize("answer", [False, True])
def test_reschedule_and_snooze_into_the_past_are_asked_about(  # noqa: PLR0917 - fixtures
    qtbot: Any,
    backend: Backend,
    ws: Workspace,
    idle: Any,
    acme: str,
    monkeypatch: pytest.MonkeyPatch,
    answer: bool,
) -> None:
    logged = log_interaction(
        ws, customer=acme, kind="call", followups=[FollowUpInput("Call back", "+2d")]
    ).value
    followup_id = logged.followups[0].id
    with ws.read() as session:
        before = session.get(FollowUp, followup_id)
        assert before is not None
        due_before, remind_before = before.due_at, before.remind_at
    asked = Asked(answer)
    monkeypatch.setattr(ui_errors, "ask_past", asked)
    view = FollowUpsView(backend)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    idle()
    assert view.select(followup_id)
    monkeypatch.setattr(view, "ask_when", lambda *_: "yesterday")
    view.reschedule_current()
    idle()
    assert view.select(followup_id)
    view.snooze_current("2020-01-01 09:00")
    idle()
    assert len(asked.questions) == 2
    assert "Due: " in asked.questions[0] and "Snooze until: " in asked.questions[1]
    with ws.read() as session:
        after = session.get(FollowUp, followup_id)
        assert after is not None
        moved = (after.due_at != due_before, after.remind_at != remind_before)
    assert moved == (answer, answer)
