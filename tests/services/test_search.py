"""Search: prefix, accents, ranking, kept current with every write."""

from __future__ import annotations

from touchpoint.services import customers, search


def test_prefix_accent_and_case_insensitive(ws):
    customers.create_customer(ws, {"name": "Crème Brûlée Café", "industry": "Hospitality"})
    for query in ("creme", "CRÈ", "brul caf", "hosp"):
        hits = search.search(ws, query)
        assert [h.plain_title for h in hits] == ["Crème Brûlée Café"], query


def test_all_words_must_match(ws):
    customers.create_customer(ws, {"name": "Acme Berlin"})
    customers.create_customer(ws, {"name": "Acme Hamburg"})
    assert [h.plain_title for h in search.search(ws, "acme ham")] == ["Acme Hamburg"]


def test_name_matches_rank_above_body_matches(ws):
    customers.create_customer(ws, {"name": "Globex", "notes": "Their sister company is in Berlin"})
    customers.create_customer(ws, {"name": "Berlin Tools"})
    hits = search.search(ws, "berlin")
    assert [h.plain_title for h in hits] == ["Berlin Tools", "Globex"]


def test_matches_are_marked(ws):
    customers.create_customer(ws, {"name": "Acme", "notes": "Wants a quote for forklifts"})
    [hit] = search.search(ws, "fork")
    assert search.render_marks(hit.snippet, "[", "]") == "Wants a quote for [forklifts]"


def test_index_follows_edits_and_deletes(ws):
    made = customers.create_customer(ws, {"name": "Initech"}).value
    customers.edit_customer(ws, made.id, {"name": "Initrode"})
    assert search.search(ws, "initech") == []
    assert [h.record_id for h in search.search(ws, "initrode")] == [made.id]
    customers.delete_customer(ws, made.id)
    assert search.search(ws, "initrode") == []
    customers.restore_customer(ws, made.id)
    assert len(search.search(ws, "initrode")) == 1


def test_phone_numbers_are_found_as_typed(ws):
    customers.create_customer(ws, {"name": "Acme", "phones": ["030 1234567"]})
    assert len(search.search(ws, "4930")) == 1
    assert len(search.search(ws, "1234567")) == 1


def test_odd_input_is_harmless(ws):
    customers.create_customer(ws, {"name": "Acme"})
    for query in ("", "   ", '"', "AND OR NOT", "*", 'a"b', "NEAR(", "-acme", "acme)"):
        search.search(ws, query)  # never an FTS syntax error
    assert len(search.search(ws, '"acme')) == 1


def test_grouping_in_fixed_order(ws):
    made = customers.create_customer(ws, {"name": "Delta Supplies"}).value
    customers.add_contact(ws, made.id, {"name": "Dean Delta"})
    groups = search.grouped(search.search(ws, "delta"))
    assert list(groups) == ["Customers", "Contacts"]
