"""The customer profile: the 360 view, editing in place, new customers and duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit

from touchpoint.services import customers, deals, followups, history
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.profile_view import ProfileView


@pytest.fixture
def profile(qtbot: Any, backend: Backend) -> ProfileView:
    view = ProfileView(backend)
    qtbot.addWidget(view)
    view.resize(1100, 800)
    view.show()
    return view


def _open(qtbot: Any, profile: ProfileView, customer_id: str) -> None:
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(customer_id)


def _line(profile: ProfileView, key: str) -> QLineEdit:
    editor = profile.form.editors[key]
    assert isinstance(editor, QLineEdit)
    return editor


def test_the_360_view_shows_everything_about_the_customer(  # noqa: PLR0917 - fixtures
    qtbot: Any, ws: Workspace, clock: Any, backend: Backend, profile: ProfileView, idle: Any
) -> None:
    customers.define_custom_field(ws, "fleet", "Fleet size", "number")
    acme = customers.create_customer(
        ws,
        {"name": "Acme GmbH", "status": "active", "industry": "Logistics", "custom": {"fleet": 12}},
    ).value
    customers.add_contact(ws, acme.id, {"name": "Jana Roth", "title": "Buyer"})
    deals.add_deal(ws, acme.id, {"title": "Forklifts", "value": "5000", "stage": "won"})
    deals.add_deal(ws, acme.id, {"title": "Service", "value": "900", "stage": "proposal"})
    clock.advance(days=-10)
    for score in (5, 5, 5, 2, 2, 2):
        log_interaction(
            ws,
            customer=acme.id,
            kind="visit" if score == 5 else "call",
            satisfaction=score,
            notes=f"score {score}",
            followups=[FollowUpInput(f"Promise {score}", "+1d")] if score == 5 else (),
        )
        clock.advance(hours=1)
    kept = followups.list_followups(ws)[0]
    followups.complete_followup(ws, kept.id)
    clock.advance(days=10)

    _open(qtbot, profile, acme.id)
    assert profile.name_label.text() == "Acme GmbH"
    assert profile.touch_tile.value.text() == "10 days ago"
    assert profile.satisfaction_tile.value.text() == "2.0 / 5"
    assert "falling" in profile.satisfaction_tile.detail.text()
    assert profile._chart.points and len(profile._chart.points) == 6
    assert (
        profile.value_tile.value.text() == "5,000 EUR" or "5,000" in profile.value_tile.value.text()
    )
    assert "1 open deal" in profile.value_tile.detail.text()
    assert "Missing:" in profile.completeness_tile.detail.text()
    assert "an address" in profile.completeness_tile.detail.text()
    assert profile.contacts.count() == 1 and "Jana Roth" in profile.contacts.item(0).text()
    assert profile.timeline_model.rowCount() == 6
    assert profile.tabs.tabText(0) == "&Timeline (6)"
    open_group, past_group = (profile.followups.topLevelItem(i) for i in range(2))
    assert open_group.childCount() == 2
    assert [open_group.child(i).text(2) for i in range(2)] == ["overdue", "overdue"]
    assert past_group.child(0).text(2) == "✓ kept"
    assert profile.history.topLevelItemCount() >= 1
    assert _line(profile, "custom.fleet").text() == "12"
    assert _line(profile, "industry").text() == "Logistics"


def test_timeline_filters_by_kind_and_words(
    qtbot: Any, ws: Workspace, backend: Backend, profile: ProfileView
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    log_interaction(ws, customer=acme.id, kind="call", notes="asked about the forklift")
    log_interaction(ws, customer=acme.id, kind="visit", notes="demo of the pallet truck")
    log_interaction(ws, customer=acme.id, kind="visit", notes="forklift test drive")
    _open(qtbot, profile, acme.id)
    profile.kind_filter.setCurrentIndex(profile.kind_filter.findData("visit"))
    qtbot.waitUntil(lambda: profile.timeline_model.rowCount() == 2)
    qtbot.keyClicks(profile.timeline_search, "forklift")
    qtbot.waitUntil(lambda: profile.timeline_model.rowCount() == 1)
    assert profile.timeline_model.items[0].notes == "forklift test drive"


def test_a_field_is_saved_when_left(
    qtbot: Any, ws: Workspace, backend: Backend, profile: ProfileView, idle: Any
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    _open(qtbot, profile, acme.id)
    territory = _line(profile, "territory")
    territory.setFocus()
    qtbot.keyClicks(territory, "Berlin North")
    qtbot.keyClick(territory, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: customers.get_customer(ws, acme.id).territory == "Berlin North")
    idle()
    qtbot.waitUntil(lambda: "Berlin North" in profile.subtitle.text())
    status = profile.form.editors["status"]
    assert isinstance(status, QComboBox)
    status.setCurrentIndex(status.findData("active"))
    status.activated.emit(status.currentIndex())
    qtbot.waitUntil(lambda: customers.get_customer(ws, acme.id).status == "active")


def test_an_invalid_email_shows_its_message_and_saves_nothing(
    qtbot: Any, ws: Workspace, backend: Backend, profile: ProfileView, idle: Any
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH", "emails": ["info@acme.de"]}).value
    before = len(history.customer_history(ws, acme.id))
    _open(qtbot, profile, acme.id)
    email = _line(profile, "emails")
    email.setFocus()
    email.selectAll()
    qtbot.keyClicks(email, "info at acme")
    qtbot.keyClick(email, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: profile.form.has_error("emails"))
    idle()
    assert "not a valid email address" in profile.form.error_text("emails")
    assert customers.get_customer(ws, acme.id).emails[0]["value"] == "info@acme.de"
    assert len(history.customer_history(ws, acme.id)) == before
    assert email.text() == "info at acme"  # what was typed stays, to be corrected
    # Correcting it clears the message and saves.
    email.selectAll()
    qtbot.keyClicks(email, "sales@acme.de")
    assert not profile.form.has_error("emails")
    qtbot.keyClick(email, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: customers.get_customer(ws, acme.id).emails[0]["value"] == "sales@acme.de"
    )


def test_a_new_customer_warns_about_duplicates_and_offers_to_open_them(
    qtbot: Any, ws: Workspace, backend: Backend, profile: ProfileView, idle: Any
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme Logistics GmbH"}).value
    profile.start_new()
    name = _line(profile, "name")
    assert profile.is_new and not profile.create_button.isHidden()
    qtbot.keyClicks(name, "Acme Logistic GmbH")
    qtbot.waitUntil(lambda: not profile.duplicates.isHidden(), timeout=5000)
    assert profile.duplicates.candidates[0].record_id == acme.id
    assert "similar name" in profile.duplicates.candidates[0].reasons
    with qtbot.waitSignal(profile.open_customer) as opened:
        profile.duplicates.rows[0].findChildren(type(profile.create_button))[0].click()
    assert opened.args == [acme.id]


def test_merge_adds_what_was_typed_to_the_existing_customer(
    qtbot: Any, ws: Workspace, backend: Backend, profile: ProfileView, idle: Any
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH", "emails": ["info@acme.de"]}).value
    profile.start_new()
    qtbot.keyClicks(_line(profile, "name"), "Acme GmbH")
    qtbot.keyClicks(_line(profile, "emails"), "info@acme.de, sales@acme.de")
    qtbot.keyClicks(_line(profile, "industry"), "Logistics")
    qtbot.waitUntil(lambda: bool(profile.duplicates.candidates), timeout=5000)
    with qtbot.waitSignal(profile.open_customer):
        profile.duplicates.merge_requested.emit(acme.id)
    stored = customers.get_customer(ws, acme.id)
    assert [e["value"] for e in stored.emails] == ["info@acme.de", "sales@acme.de"]
    assert stored.industry == "Logistics"
    assert stored.name == "Acme GmbH"


def test_a_new_customer_is_created_with_ctrl_enter(
    qtbot: Any, ws: Workspace, backend: Backend, profile: ProfileView, idle: Any
) -> None:
    profile.start_new()
    qtbot.keyClicks(_line(profile, "name"), "Bolt AG")
    qtbot.keyClicks(_line(profile, "phones"), "030 1234567")
    with qtbot.waitSignal(profile.created, timeout=5000) as created:
        qtbot.keyClick(
            _line(profile, "phones"), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
    stored = customers.get_customer(ws, created.args[0])
    assert stored.name == "Bolt AG"
    assert stored.phones[0]["value"] == "+49301234567"
    qtbot.waitUntil(lambda: profile.name_label.text() == "Bolt AG")
    assert not profile.is_new


def test_a_new_customer_without_a_name_is_not_created(
    qtbot: Any, ws: Workspace, backend: Backend, profile: ProfileView, idle: Any
) -> None:
    profile.start_new()
    qtbot.keyClicks(_line(profile, "emails"), "nobody")
    profile.create()
    qtbot.waitUntil(lambda: profile.form.has_error("name"))
    assert profile.form.has_error("emails")
    assert profile.is_new
    from touchpoint.services.customer_list import CustomerQuery, count_customers

    assert count_customers(ws, CustomerQuery()) == 0


def test_cancelling_a_new_customer_goes_back_to_the_one_in_view(
    qtbot: Any, ws: Workspace, backend: Backend, profile: ProfileView
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    _open(qtbot, profile, acme.id)
    profile.start_new()
    assert profile.name_label.text() == "New customer"
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.cancel_button.click()
    assert profile.name_label.text() == "Acme GmbH"
    assert not profile.is_new
