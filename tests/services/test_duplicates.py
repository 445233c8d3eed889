"""Likely duplicates, merge, and undoing a merge."""

from __future__ import annotations

from touchpoint.services import customers, duplicates, search
from touchpoint.storage.workspace import Workspace


def _customer(ws: Workspace, name: str, **fields):
    return customers.create_customer(ws, {"name": name, **fields}).value


def test_duplicates_by_email_phone_website_and_name(ws):
    acme = _customer(
        ws, "Acme GmbH", emails=["info@acme.de"], phones=["030 1234567"], website="www.acme.de"
    )
    found = duplicates.likely_duplicates(ws, name="ACME", emails=["INFO@acme.de"])
    assert [c.record_id for c in found] == [acme.id]
    assert set(found[0].reasons) == {"same email", "same name"}
    assert (
        duplicates.likely_duplicates(ws, name="Other", phones=["+49 30 1234567"])[0].record_id
        == acme.id
    )
    assert duplicates.likely_duplicates(ws, name="Other", website="https://acme.de/contact")[
        0
    ].reasons == ("same website",)
    similar = duplicates.likely_duplicates(ws, name="Acme GmbH.")
    assert similar and similar[0].record_id == acme.id
    assert duplicates.likely_duplicates(ws, name="Globex") == []
    assert duplicates.likely_duplicates(ws, name="Acme", exclude_id=acme.id) == []


def test_find_duplicates_lists_pairs(ws):
    a = _customer(ws, "Müller Maschinenbau GmbH")
    b = _customer(ws, "Mueller Maschinenbau")
    c = _customer(ws, "Muller Maschinenbau AG")
    _customer(ws, "Globex")
    pairs = duplicates.find_duplicates(ws)
    ids = {frozenset((p.first_id, p.second_id)) for p in pairs if p.entity == "customer"}
    assert frozenset((a.id, c.id)) in ids  # same folded name
    assert all("Globex" not in (p.first_name, p.second_name) for p in pairs)
    del b


def test_merge_moves_everything_and_unmerge_restores_it(ws):
    keep = _customer(ws, "Acme", emails=["a@acme.de"])
    other = _customer(
        ws, "ACME Ltd", emails=["sales@acme.de"], industry="Machinery", tags=["north"]
    )
    person = customers.add_contact(ws, other.id, {"name": "Jana"}).value
    merged = duplicates.merge_records(ws, "customer", keep.id, other.id).value
    assert merged.moved["contact"] == 1
    after = customers.get_customer(ws, keep.id)
    assert after.industry == "Machinery"
    assert [e["value"] for e in after.emails] == ["a@acme.de", "sales@acme.de"]
    assert [p.id for p in customers.list_contacts(ws, keep.id)] == [person.id]
    assert [h.record_id for h in search.search(ws, "acme")] == [keep.id]
    # the merged-away name now leads to the kept customer
    assert customers.get_customer(ws, other.id).id == keep.id

    duplicates.unmerge(ws, merged.id)
    restored_keep = customers.get_customer(ws, keep.id)
    assert restored_keep.industry is None
    assert [e["value"] for e in restored_keep.emails] == ["a@acme.de"]
    assert [p.id for p in customers.list_contacts(ws, other.id)] == [person.id]
    assert customers.get_customer(ws, other.id).id == other.id


def test_unmerge_keeps_edits_made_after_the_merge(ws):
    keep = _customer(ws, "Acme")
    other = _customer(ws, "Acme Ltd", industry="Machinery")
    merged = duplicates.merge_records(ws, "customer", keep.id, other.id).value
    customers.edit_customer(ws, keep.id, {"industry": "Robotics"})
    duplicates.unmerge(ws, merged.id)
    assert customers.get_customer(ws, keep.id).industry == "Robotics"
