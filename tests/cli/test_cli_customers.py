"""``touchpoint customer``, ``contact``, ``history``, ``duplicates`` and merges."""

from __future__ import annotations

import json

import pytest


def test_add_prints_the_id_and_show_finds_it(tp) -> None:
    tp("field", "define", "Fleet size")
    customer_id = tp.add_customer(
        "Acme GmbH",
        "--email", "info@acme.de",
        "--phone", "030 1234567",
        "--tag", "key",
        "--tag", "north",
        "--status", "active",
        "--industry", "Logistics",
        "--field", "Fleet size=12",
    )  # fmt: skip
    assert len(customer_id) == 36
    shown = tp.json("customer", "show", "acme")
    c = shown["customer"]
    assert c["id"] == customer_id
    assert c["emails"] == [{"label": "work", "value": "info@acme.de"}]
    assert c["phones"] == [{"label": "work", "value": "+49301234567"}]
    assert c["tags"] == ["key", "north"]
    assert c["custom"] == {"Fleet size": "12"}
    assert c["owner"] == "maria@example.com"
    assert c["created_at"] == "2026-11-18T09:30:00Z"
    assert set(shown) == {
        "customer", "contacts", "interactions", "interactions_total", "open_followups",
        "open_followups_total", "summary",
    }  # fmt: skip
    assert shown["interactions_total"] == shown["open_followups_total"] == 0


def test_show_for_people_has_facts_contacts_and_key_figures(tp) -> None:
    tp.add_customer("Acme GmbH", "--status", "active", "--phone", "030 1234567")
    tp("contact", "add", "acme", "Jana Novak", "--email", "jana@acme.de", "--title", "Buyer")
    tp("log", "visit", "--customer", "acme", "--satisfaction", "4", "--subject", "Tour")
    out = tp("customer", "show", "Acme GmbH").stdout
    assert "Acme GmbH" in out
    assert "+49 30 1234567" in out  # shown as people write it
    assert "Jana Novak" in out and "Buyer" in out
    assert "Wed 2026-11-18 10:30" in out  # the visit, in Berlin time
    assert "Tour" in out
    assert "satisfaction" in out and "4.0 of 5" in out
    assert "completeness" in out and "missing:" in out
    assert "\x1b[" not in out


def test_summary_in_json(tp) -> None:
    tp.add_customer("Acme GmbH", "--status", "active")
    tp("log", "call", "--customer", "acme", "--satisfaction", "5")
    summary = tp.json("customer", "show", "acme")["summary"]
    assert summary["days_since_last_touch"] == 0
    assert summary["satisfaction"]["current"] == 5
    assert summary["interactions"] == 1
    assert 0 <= summary["completeness"]["percent"] <= 100
    assert "an address" in summary["completeness"]["missing"]
    assert summary["lifetime_value"]["won"] == "0"


def test_add_warns_about_likely_duplicates(tp) -> None:
    first = tp.add_customer("Acme GmbH", "--email", "info@acme.de")
    result = tp("customer", "add", "ACME", "--email", "Info@Acme.de")
    second = result.stdout.strip()
    assert second != first
    assert f"may duplicate Acme GmbH ({first})" in result.stderr
    assert "same email" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["customer", "add", ""], "error: name: must not be empty\n"),
        (["customer", "add", "Acme", "--email", "nope"], "error: email: 'nope' is not"),
        (["customer", "add", "Acme", "--status", "sleepy"], "error: status: 'sleepy' is not"),
        (["customer", "add", "Acme", "--website", "not a site"], "error: website:"),
    ],
)
def test_bad_customer_input_writes_nothing(tp, args: list[str], message: str) -> None:
    before = tp.changes()
    result = tp(*args, code=1)
    assert result.stderr.startswith(message)
    assert result.stdout == ""
    assert tp.changes() == before


def test_local_phone_numbers_are_read_in_the_customers_country(tp) -> None:
    tp("config", "set", "default_region", "US")
    berlin = tp.add_customer("Berlin Local", "--country", "DE", "--phone", "030 1234567")
    assert tp.json("customer", "show", berlin)["customer"]["phones"][0]["value"] == ("+49301234567")
    # A person of that customer, without a country of their own: the customer's.
    tp("contact", "add", berlin, "Ann Lee", "--phone", "0170 1234567")
    (ann,) = tp.json("customer", "show", berlin)["contacts"]
    assert ann["phones"][0]["value"] == "+491701234567"
    # Editing the number later: still the customer's country.
    tp("customer", "edit", berlin, "--phone", "030 7654321")
    assert tp.json("customer", "show", berlin)["customer"]["phones"][0]["value"] == ("+49307654321")
    # No country: the default region, and the message says what to do.
    result = tp("customer", "add", "Somewhere", "--phone", "030 1234567", code=1)
    assert result.stderr == (
        "error: phone: '030 1234567' is not a valid phone number in US: add the country "
        "code (like +49…) or set your default region (touchpoint config set default_region "
        "DE)\n"
    )


@pytest.mark.parametrize("country", ["Germany", "XX", "D", "DEU"])
def test_country_must_be_a_two_letter_code(tp, country: str) -> None:
    before = tp.changes()
    result = tp("customer", "add", "Acme", "--city", "Berlin", "--country", country, code=1)
    assert result.stderr == (
        f"error: country: '{country}' is not a country code: two letters (ISO 3166-1), "
        "like DE, US or FR\n"
    )
    assert tp.changes() == before
    made = tp.json("customer", "add", "Acme", "--country", "de")
    assert made["addresses"][0]["country"] == "DE"


def test_every_bad_field_gets_its_own_line(tp) -> None:
    before = tp.changes()
    result = tp("customer", "add", " ", "--email", "x", "--phone", "12", code=1)
    lines = result.stderr.splitlines()
    assert lines[0] == "error: name: must not be empty"
    assert lines[1].startswith("error: email: 'x' is not a valid email address")
    assert lines[2].startswith("error: phone: ")
    assert len(lines) == 3
    assert tp.changes() == before


def test_notes_over_one_megabyte_are_refused(tp) -> None:
    before = tp.changes()
    result = tp("customer", "add", "Acme", "--notes", "-", input="x" * 1_000_001, code=1)
    assert result.stderr == "error: notes: is larger than 1 MB\n"
    assert tp.changes() == before


def test_an_undefined_field_is_refused_with_what_to_do(tp) -> None:
    tp("field", "define", "fleet_size", "--label", "Fleet size", "--type", "number")
    before = tp.changes()
    result = tp("customer", "add", "Acme", "--field", "nosuch=1", code=1)
    assert result.stderr == (
        "error: custom field: 'nosuch' is not defined (defined: fleet_size); define it with: "
        "touchpoint field define nosuch --type text (or number, date, choice)\n"
    )
    assert tp.changes() == before
    assert tp("field", "list").stdout == "fleet_size  Fleet size  number\n"
    result = tp("customer", "add", "Acme", "--field", "fleet_size=many", code=1)
    assert "'many' is not a number" in result.stderr


def test_malformed_field_option_is_a_usage_error(tp) -> None:
    result = tp("customer", "add", "Acme", "--field", "no equals sign", code=2)
    assert "is not KEY=VALUE" in result.stderr


def test_edit_changes_only_what_is_given_and_field_key_removes(tp) -> None:
    tp("field", "define", "tier")
    tp("field", "define", "x")
    tp.add_customer(
        "Acme GmbH", "--industry", "Logistics", "--field", "tier=gold", "--field", "x=1"
    )
    changed = tp.json("customer", "edit", "acme", "--status", "active", "--field", "tier=")
    assert changed["status"] == "active"
    assert changed["industry"] == "Logistics"
    assert changed["custom"] == {"x": "1"}
    tp("customer", "edit", "acme", "--name", "Acme Logistics GmbH")
    assert tp.json("customer", "show", "Acme Logistics")["customer"]["name"] == (
        "Acme Logistics GmbH"
    )


def test_edit_with_bad_input_writes_nothing(tp) -> None:
    tp.add_customer("Acme GmbH")
    before = tp.changes()
    tp("customer", "edit", "acme", "--email", "nope", "--status", "active", code=1)
    assert tp.changes() == before
    assert tp.json("customer", "show", "acme")["customer"]["status"] == "prospect"
    tp("customer", "edit", "acme", code=2)  # nothing to change


def test_list_filters_and_json(tp) -> None:
    tp.add_customer("Acme GmbH", "--status", "active", "--tag", "key")
    tp("goals", "team", "add", "north", "tom@example.com")  # Tom becomes a known rep
    tp.add_customer("Bolt AG", "--status", "prospect", "--owner", "tom@example.com")
    tp.add_customer("Crane Ltd", "--status", "active")
    everyone = tp.json("customer", "list")
    assert [c["name"] for c in everyone["customers"]] == ["Acme GmbH", "Bolt AG", "Crane Ltd"]
    assert everyone["total"] == 3
    active = tp.json("customer", "list", "--status", "active")
    assert [c["name"] for c in active["customers"]] == ["Acme GmbH", "Crane Ltd"]
    assert [c["name"] for c in tp.json("customer", "list", "--tag", "key")["customers"]] == [
        "Acme GmbH"
    ]
    mine = tp.json("customer", "list", "--owner", "me")["customers"]
    assert [c["name"] for c in mine] == ["Acme GmbH", "Crane Ltd"]
    first = tp.json("customer", "list", "--limit", "1")
    assert first["total"] == 3 and len(first["customers"]) == 1
    out = tp("customer", "list").stdout
    assert out.splitlines()[0].split() == [
        "id", "name", "status", "owner", "tags", "last", "touch", "follow-ups",
    ]  # fmt: skip
    tp("customer", "list", "--status", "sleepy", code=1)


def test_delete_restore_and_confirm(tp) -> None:
    customer_id = tp.add_customer("Acme GmbH")
    out = tp("customer", "delete", "acme").stdout
    assert f"touchpoint customer restore {customer_id}" in out
    tp("customer", "show", "acme", code=1)
    assert tp.json("customer", "list")["customers"] == []
    tp("customer", "restore", customer_id)
    assert tp.json("customer", "show", customer_id)["customer"]["deleted"] is False
    tp.clock.advance(days=2)
    assert "confirmed Acme GmbH at Fri 2026-11-20 10:30" in tp("customer", "confirm", "acme").stdout
    assert tp.json("customer", "show", "acme")["customer"]["confirmed_at"] == (
        "2026-11-20T09:30:00Z"
    )


def test_contacts(tp) -> None:
    tp.add_customer("Acme GmbH")
    jana = tp(
        "contact", "add", "acme", "Jana Novak",
        "--email", "jana@acme.de", "--phone", "0170 1234567",
        "--title", "Buyer", "--role", "decision maker", "--channel", "phone",
    ).stdout.strip()  # fmt: skip
    tp("contact", "add", "acme", "Piet Jansen", "--do-not-contact")
    people = tp.json("contact", "list", "acme")
    assert [p["name"] for p in people] == ["Jana Novak", "Piet Jansen"]
    assert people[0]["id"] == jana
    assert people[0]["decision_role"] == "decision maker"
    assert people[1]["do_not_contact"] is True
    edited = tp.json("contact", "edit", jana, "--title", "Head of Buying", "--may-contact")
    assert edited["title"] == "Head of Buying"
    listing = tp("contact", "list", "acme").stdout
    assert "Head of Buying" in listing and "(do not contact)" in listing
    before = tp.changes()
    tp("contact", "add", "acme", "Bob", "--email", "bob@", code=1)
    tp("contact", "edit", jana, "--role", "boss", code=1)
    assert tp.changes() == before


def test_history_shows_old_and_new_values(tp) -> None:
    tp.add_customer("Acme GmbH", "--industry", "Logistics")
    tp("customer", "edit", "acme", "--industry", "Retail")
    entries = tp.json("history", "acme")
    assert entries[0]["fields"]["industry"] == ["Logistics", "Retail"]
    assert entries[0]["author"] == "maria@example.com"
    assert entries[0]["pushed"] is False
    assert entries[-1]["op"] == "insert"
    out = tp("history", "acme").stdout
    assert "industry: Logistics → Retail" in out
    assert "(not yet synced)" in out


def test_duplicates_merge_unmerge(tp) -> None:
    keep = tp.add_customer("Acme GmbH", "--email", "info@acme.de")
    other = tp.add_customer("Acme", "--email", "info@acme.de", "--industry", "Retail")
    tp("log", "call", "--customer", other)
    pairs = tp.json("duplicates")
    assert len(pairs) == 1
    assert {pairs[0]["first_id"], pairs[0]["second_id"]} == {keep, other}
    assert "same email" in pairs[0]["reasons"]
    out = tp("merge", keep, other).stdout
    assert "merged Acme into Acme GmbH (moved 1 interaction)" in out
    merges = tp.json("merges")
    assert len(merges) == 1 and merges[0]["kept_id"] == keep and merges[0]["undone"] is False
    merge_id = merges[0]["id"]
    assert f"touchpoint unmerge {merge_id}" in out
    assert tp.json("customer", "show", keep)["customer"]["industry"] == "Retail"
    tp("unmerge", merge_id[-8:])
    assert tp.json("merges")[0]["undone"] is True
    assert tp.json("customer", "show", other)["customer"]["name"] == "Acme"
    assert tp.json("duplicates") != []
    tp("unmerge", merge_id, code=1)  # already undone
    tp("merge", keep, keep, code=1)


def test_merge_by_name(tp) -> None:
    tp.add_customer("Acme GmbH")
    tp.add_customer("Bolt AG")
    done = tp.json("merge", "acme", "bolt")
    assert done["kept_name"] == "Acme GmbH" and done["merged_name"] == "Bolt AG"


def test_office_address(tp) -> None:
    tp.add_customer(
        "Acme GmbH",
        "--street",
        "Hauptstr. 1",
        "--postcode",
        "10115",
        "--city",
        "Berlin",
        "--country",
        "DE",
    )
    shown = tp.json("customer", "show", "acme")
    assert shown["customer"]["addresses"] == [
        {"label": "office", "street": "Hauptstr. 1", "postcode": "10115", "city": "Berlin",
         "region": None, "country": "DE"}
    ]  # fmt: skip
    assert "an address" not in shown["summary"]["completeness"]["missing"]
    tp("customer", "edit", "acme", "--postcode", "80331", "--city", "München")
    assert "Hauptstr. 1, 80331 München, DE" in tp("customer", "show", "acme").stdout
    assert "addresses: Hauptstr. 1, 10115 Berlin, DE → Hauptstr. 1, 80331 München, DE" in (
        tp("history", "acme").stdout
    )


def test_names_are_looked_up_like_search_case_and_accents_folded(tp) -> None:
    made = tp.add_customer("González Supply LLC")
    tp.add_customer("Gonzalez Bau GmbH")
    assert tp.json("customer", "show", "gonzalez supply")["customer"]["id"] == made
    assert tp.json("customer", "show", "GONZÁLEZ SUPPLY LLC")["customer"]["id"] == made
    assert tp.json("customer", "show", "gonzalez  supply llc")["customer"]["id"] == made
    ambiguous = tp("customer", "show", "gonzalez", code=1)
    assert ambiguous.stderr.startswith("error: 'gonzalez' matches several customers: ")
    assert "Gonzalez Bau GmbH" in ambiguous.stderr and "González Supply LLC" in ambiguous.stderr
    assert tp("customer", "show", "gonzales", code=1).stderr == (
        "error: no customer called 'gonzales'\n"
    )
    # the same lookup serves every command that takes a customer's name
    tp("contact", "add", "gonzalez supply", "Zoë Müller")
    assert tp.json("contact", "list", "gonzalez supply")[0]["name"] == "Zoë Müller"
    tp("contact", "edit", "zoe muller", "--title", "Buyer")
    logged = tp.json("log", "call", "--customer", "gonzalez supply", "--contact", "ZOE")
    assert logged["interaction"]["customer_id"] == made


def test_an_ambiguous_name_says_how_many_more_match(tp) -> None:
    for n in range(8):
        tp.add_customer(f"Ñandú Trading {n}")
    refused = tp("customer", "show", "nandu", code=1)
    listed = refused.stderr.split(": ", 1)[1]
    assert listed.count("Ñandú Trading") == 5
    assert "… and 3 more (`touchpoint search nandu` lists them); give the id" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1


def test_cut_lists_say_how_many_more_and_how_to_see_them(tp) -> None:
    ids = [tp.add_customer(f"Forklift Hire {n:02}") for n in range(25)]
    found = tp("search", "forklift")
    assert found.stdout.count("Forklift Hire") == 20
    assert found.stderr.endswith("… and 5 more (use --limit 25)\n")
    data = tp.json("search", "forklift")
    assert (data["total"], data["more"]) == (25, 5)
    whole = tp("search", "forklift", "--limit", "25")
    assert "more" not in whole.stderr and whole.stdout.count("Forklift Hire") == 25
    assert tp.json("search", "forklift", "--limit", "30")["more"] == 0

    listed = tp("customer", "list", "--limit", "10")
    assert listed.stderr == "… and 15 more (use --limit 25)\n"
    assert tp.json("customer", "list", "--limit", "10")["more"] == 15

    for n in range(7):
        tp("log", "call", "--customer", ids[0], "--subject", f"Call {n}")
    shown = tp("customer", "show", ids[0]).stdout
    assert "… and 2 more (use --interactions 7)" in shown
    data = tp.json("customer", "show", ids[0])
    assert (len(data["interactions"]), data["interactions_total"]) == (5, 7)
    assert "more" not in tp("customer", "show", ids[0], "--interactions", "7").stdout

    tp("customer", "edit", ids[0], "--industry", "Logistics")
    changes = tp("history", ids[0], "--limit", "1")
    assert changes.stderr == "… and 1 more (use --limit 2)\n"  # made, then edited
    assert len(json.loads(tp("history", ids[0], "--limit", "1", "--json").stdout)) == 1


def test_a_cut_json_list_stays_a_list_and_says_the_rest_on_stderr(tp) -> None:
    acme = tp.add_customer("Acme GmbH")
    tp(
        "log", "call", "--customer", acme, "--follow-up", "A", "--follow-up", "B",
        "--follow-up", "C", "--due", "fri",
    )  # fmt: skip
    cut = tp("followups", "--limit", "2", "--json")
    assert [f["title"] for f in json.loads(cut.stdout)] == ["A", "B"]
    assert cut.stderr == "… and 1 more (use --limit 3)\n"
    assert tp("followups", "--limit", "2").stderr == "… and 1 more (use --limit 3)\n"
    assert tp("followups", "--limit", "3").stderr == ""


def test_an_owner_must_be_a_rep_touchpoint_knows(tp) -> None:
    before = tp.changes()
    refused = tp("customer", "add", "Acme GmbH", "--owner", "tmo@example.com", code=1)
    assert refused.stderr.startswith(
        "error: owner: 'tmo@example.com' is not a rep Touchpoint knows (known: maria@example.com)"
    )
    assert tp.changes() == before
    acme = tp.add_customer("Acme GmbH", "--owner", "me")
    assert tp.json("customer", "show", acme)["customer"]["owner"] == "maria@example.com"
    tp("customer", "edit", acme, "--owner", "ben@example.com", code=1)
    # someone given a follow-up, or in the goals roster, is known (in their spelling)
    fid = tp.json("log", "call", "--customer", acme, "--follow-up", "Q", "--due", "fri")
    tp("reassign", fid["followups"][0]["id"], "ben@example.com")
    tp("customer", "edit", acme, "--owner", "Ben@Example.com")
    assert tp.json("customer", "show", acme)["customer"]["owner"] == "ben@example.com"
    tp("goals", "team", "add", "north", "tom@example.com")
    tp("customer", "edit", acme, "--owner", "tom@example.com")
    listed = tp.json("customer", "list", "--owner", "TOM@example.com")["customers"]
    assert [c["name"] for c in listed] == ["Acme GmbH"]
    unknown = tp("customer", "list", "--owner", "tmo@example.com", code=1)
    assert unknown.stderr.startswith("error: owner: 'tmo@example.com' is not a rep")
    # all the problems of one edit are said together
    both = tp("customer", "edit", acme, "--owner", "x@example.com", "--currency", "XYZ", code=1)
    assert both.stderr.count("error: ") == 2


def test_a_currency_must_be_iso_4217_and_a_tag_must_say_something(tp) -> None:
    before = tp.changes()
    refused = tp("customer", "add", "Acme GmbH", "--currency", "XYZ", code=1)
    assert refused.stderr == (
        "error: currency: 'XYZ' is not an ISO 4217 currency code (like EUR, USD or GBP)\n"
    )
    refused = tp("customer", "add", "Acme GmbH", "--tag", "key", "--tag", " ", code=1)
    assert refused.stderr == "error: tags: a tag must not be empty\n"
    assert tp.changes() == before
    acme = tp.add_customer("Acme GmbH", "--currency", "chf", "--tag", "key")
    shown = tp.json("customer", "show", acme)["customer"]
    assert (shown["currency"], shown["tags"]) == ("CHF", ["key"])
    tp("customer", "edit", acme, "--tag", "", code=1)
    tp("customer", "edit", acme, "--no-tags")
    assert tp.json("customer", "show", acme)["customer"]["tags"] == []


def test_the_window_gets_the_same_checks_from_the_services(tp) -> None:
    from touchpoint.errors import ValidationErrors
    from touchpoint.services import customers
    from touchpoint.storage.workspace import Workspace

    with Workspace.open(tp.data_dir, auto_backup=False, clock=tp.clock) as ws:
        with pytest.raises(ValidationErrors) as refused:
            customers.create_customer(
                ws,
                {"name": "Acme", "owner": "nobody@example.com", "currency": "XYZ", "tags": [""]},
                owner_must_be_known=True,
            )
        assert sorted(e.field for e in refused.value.errors) == ["currency", "owner", "tags"]
        made = customers.create_customer(ws, {"name": "Acme", "tags": "key, , retail"}).value
        assert made.tags == ["key", "retail"]  # a typed list: commas are punctuation


def test_a_search_past_the_counting_cap_says_at_least(tp, monkeypatch) -> None:
    from touchpoint.services import search

    monkeypatch.setattr(search, "COUNT_CAP", 3)
    for n in range(4):
        tp.add_customer(f"Forklift Hire {n}")
    found = tp("search", "forklift", "--limit", "2")
    assert found.stderr.endswith("… and at least 1 more (use --limit 3, or narrow it down)\n")
    data = tp.json("search", "forklift", "--limit", "2")
    assert (data["total"], data["more"], data["total_is_at_least"]) == (3, 1, True)


def test_a_contacts_photo_is_set_from_a_file_checked_and_removed(tp, tmp_path) -> None:
    """A real card's picture (tests/fixtures/import/real/John_Doe_MS_OUTLOOK.vcf, from
    ez-vcard) saved as a file, given with --photo; anything but a picture is refused."""
    import base64
    import re
    from pathlib import Path

    card = (Path(__file__).parents[1] / "fixtures/import/real/John_Doe_MS_OUTLOOK.vcf").read_text()
    folded = re.search(r"PHOTO;[^:]*:\r?\n((?: .*\r?\n)+)", card)
    assert folded is not None
    picture = tmp_path / "john.jpg"
    picture.write_bytes(base64.b64decode("".join(folded.group(1).split())))
    tp.add_customer("Acme GmbH")
    made = tp.json("contact", "add", "acme", "John Doe", "--photo", str(picture))
    assert made["photo"]["mime"] == "image/jpeg"
    assert base64.b64decode(made["photo"]["data"]) == picture.read_bytes()
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    refused = tp("contact", "edit", made["id"], "--photo", str(text), code=1)
    assert "photo: is not a JPEG, PNG, GIF or WebP picture" in refused.stderr
    gone = tp.json("contact", "edit", made["id"], "--no-photo")
    assert gone["photo"] is None
