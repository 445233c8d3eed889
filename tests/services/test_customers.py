"""Customer and contact use cases on a real SQLite file."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from touchpoint.errors import AmbiguousError, NotFoundError, ValidationErrors
from touchpoint.services import customers
from touchpoint.storage.models import Change, Contact, Customer


def test_create_normalises_what_was_typed(ws):
    customers.define_custom_field(ws, "Fleet size", "Fleet size", "text")
    made = customers.create_customer(
        ws,
        {
            "name": "  Acme GmbH ",
            "emails": ["Info@ACME.de"],
            "phones": ["030 1234567"],
            "website": "acme.de",
            "tags": "key account, north, key account",
            "custom": {"Fleet size": "12"},
            "yearly_potential": "120,000.50",
            "addresses": [{"street": "Hauptstr. 1", "city": "Berlin", "country": "DE"}],
        },
    ).value
    assert made.name == "Acme GmbH"
    assert made.emails == [{"label": "work", "value": "info@acme.de"}]
    assert made.phones == [{"label": "work", "value": "+49301234567"}]  # E.164, region DE
    assert made.website == "https://acme.de"
    assert made.tags == ["key account", "north"]
    assert str(made.yearly_potential) == "120000.50"
    assert made.owner == "maria@example.com"
    assert made.addresses[0]["label"] == "office"
    assert made.custom == {"Fleet size": "12"}


def test_an_undefined_custom_field_is_refused_not_made(ws):
    customers.define_custom_field(ws, "tier", "Tier", "choice", ["Gold", "Silver"])
    with pytest.raises(ValidationErrors) as caught:
        customers.create_customer(ws, {"name": "Acme", "custom": {"nosuch": "1", "tier": "gold"}})
    (error,) = caught.value.errors
    assert (error.field, error.problem) == (
        "custom field",
        "'nosuch' is not defined (defined: tier); define it with: touchpoint field define "
        "nosuch --type text (or number, date, choice)",
    )
    assert [f["key"] for f in customers.list_custom_fields(ws)] == ["tier"]
    made = customers.create_customer(ws, {"name": "Acme", "custom": {"tier": "gold"}}).value
    with pytest.raises(ValidationErrors):
        customers.edit_customer(ws, made.id, {"custom": {"tierr": "Silver"}})
    # An empty value removes a key, defined or not.
    edited = customers.edit_customer(ws, made.id, {"custom": {"tier": "", "old": ""}}).value
    assert edited.custom == {}


def test_every_bad_field_is_named(ws):
    with pytest.raises(ValidationErrors) as caught:
        customers.create_customer(
            ws,
            {
                "name": " ",
                "emails": ["bob@"],
                "phones": ["12"],
                "status": "sleeping",
                "notes": "x" * 1_000_001,
            },
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {"name", "email", "phone", "status", "notes"}
    messages = str(caught.value)
    assert "name: must not be empty" in messages
    assert "'sleeping' is not one of: prospect, active, former" in messages
    assert "larger than 1 MB" in messages


def test_typed_custom_fields_are_checked(ws):
    customers.define_custom_field(ws, "fleet", "Fleet size", "number")
    customers.define_custom_field(ws, "tier", "Tier", "choice", ["Gold", "Silver"])
    customers.define_custom_field(ws, "renewal", "Renewal", "date")
    made = customers.create_customer(
        ws, {"name": "Acme", "custom": {"fleet": "12", "tier": "gold", "renewal": "2027-03-01"}}
    ).value
    assert made.custom == {"fleet": 12, "tier": "Gold", "renewal": "2027-03-01"}
    with pytest.raises(ValidationErrors) as caught:
        customers.edit_customer(
            ws, made.id, {"custom": {"fleet": "many", "tier": "Bronze", "renewal": "soon"}}
        )
    assert len(caught.value.errors) == 3
    edited = customers.edit_customer(ws, made.id, {"custom": {"tier": "Silver", "fleet": ""}}).value
    assert edited.custom == {"tier": "Silver", "renewal": "2027-03-01"}


def test_edit_touches_only_named_fields(ws):
    customers.create_customer(ws, {"name": "Acme", "industry": "Machinery"})
    edited = customers.edit_customer(ws, "acme", {"territory": "North"}).value
    assert edited.industry == "Machinery" and edited.territory == "North"


def test_lookup_by_name_prefix_and_ambiguity(ws):
    customers.create_customer(ws, {"name": "Acme Berlin"})
    customers.create_customer(ws, {"name": "Acme Hamburg"})
    assert customers.get_customer(ws, "acme berlin").name == "Acme Berlin"
    assert customers.get_customer(ws, "Acme H").name == "Acme Hamburg"
    with pytest.raises(AmbiguousError, match="Acme Berlin"):
        customers.get_customer(ws, "Acme")
    with pytest.raises(NotFoundError):
        customers.get_customer(ws, "Globex")


def test_contacts_are_added_edited_and_deleted(ws):
    customers.create_customer(ws, {"name": "Acme"})
    person = customers.add_contact(
        ws,
        "Acme",
        {"name": "Jana Novák", "phones": ["+420 601 123 456"], "decision_role": "Decision Maker"},
    ).value
    assert person.phones[0]["value"] == "+420601123456"
    assert person.decision_role == "decision maker"
    customers.edit_contact(ws, person.id, {"title": "Head of Fleet", "do_not_contact": "yes"})
    [listed] = customers.list_contacts(ws, "Acme")
    assert listed.title == "Head of Fleet" and listed.do_not_contact is True
    customers.delete_contact(ws, person.id)
    assert customers.list_contacts(ws, "Acme") == []
    customers.restore_contact(ws, person.id)
    assert len(customers.list_contacts(ws, "Acme")) == 1


def test_confirm_marks_the_profile_fresh(ws, clock):
    made = customers.create_customer(ws, {"name": "Acme"}).value
    clock.advance(days=400)
    confirmed = customers.confirm_customer(ws, made.id).value
    assert confirmed.confirmed_at == clock.current


def test_contact_on_unknown_customer_writes_nothing(ws):
    with pytest.raises(NotFoundError):
        customers.add_contact(ws, "Nobody Ltd", {"name": "Jana"})
    with ws.read() as session:
        assert session.scalars(select(Contact)).all() == []
        assert session.scalars(select(Customer)).all() == []
        assert session.scalars(select(Change)).all() == []
