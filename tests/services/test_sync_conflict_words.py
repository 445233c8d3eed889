"""A conflict in words: the same text on the command line and in the window."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from touchpoint.services.sync_conflicts import (
    ConflictView,
    conflict_words,
    field_label,
    format_value,
)

BERLIN = ZoneInfo("Europe/Berlin")


def conflict(field: str, kept: object, lost: object) -> ConflictView:
    return ConflictView(
        id="c1", entity="customer", record_id="r1", record_name="Müller Bau", field=field,
        winner_value=kept, loser_value=lost, winner_author="tom@example.com",
        loser_author="maria@example.com", winner_at="2026-11-24T02:03:04.501694Z",
        loser_at="2026-11-24T01:59:00.000000Z", resolved=False,
    )  # fmt: skip


def test_an_address_conflict_reads_like_an_address() -> None:
    kept = [{"label": "office", "street": None, "city": "Hamburg", "postcode": None,
             "region": None, "country": "DE"}]  # fmt: skip
    lost = [
        {"label": "office", "street": "Hafenstr. 1", "city": "Hamburg", "postcode": "20095",
         "region": "", "country": "DE"},
        {"label": "warehouse", "street": "Am Kai 3", "city": "Kiel", "postcode": None,
         "region": None, "country": None},
    ]  # fmt: skip
    words = conflict_words(conflict("addresses", kept, lost), tz=BERLIN)
    assert words.field == "Address"
    assert words.kept == "office: Hamburg, DE"
    assert words.lost == "office: Hafenstr. 1, 20095 Hamburg, DE; warehouse: Am Kai 3, Kiel"
    assert "None" not in words.kept + words.lost and "{" not in words.lost
    # Times in the user's zone, minutes only, like the rest of the app.
    assert words.kept_when == "Tue 2026-11-24 03:03"
    assert words.lost_when == "Tue 2026-11-24 02:59"


def test_phones_emails_tags_and_empty_values() -> None:
    phones = [
        {"label": "mobile", "value": "+49 170 1234567"},
        {"label": "work", "value": "+49 40 1"},
    ]
    assert format_value("phones", phones, tz=BERLIN) == "mobile: +49 170 1234567; work: +49 40 1"
    emails = [{"label": "work", "value": "info@mueller.de"}]
    assert format_value("emails", emails, tz=BERLIN) == "work: info@mueller.de"
    assert format_value("tags", ["key", "north"], tz=BERLIN) == "key; north"
    for empty in (None, "", [], {}):
        assert format_value("industry", empty, tz=BERLIN) == "(empty)"
    assert format_value("do_not_contact", True, tz=BERLIN) == "yes"
    assert format_value("yearly_potential", "12000.50", tz=BERLIN) == "12000.50"
    assert format_value("notes", "Ends in Z but is no time Z", tz=BERLIN).endswith("Z")


def test_times_and_dates_are_local() -> None:
    assert format_value("due_at", "2026-11-20T09:00:00Z", tz=BERLIN) == "Fri 2026-11-20 10:00"
    assert format_value("confirmed_at", "not a time", tz=BERLIN) == "not a time"


def test_custom_fields_by_their_label() -> None:
    labels = {"fleet_size": "Fleet size", "renewal": "Contract renewal"}
    value = {"fleet_size": 12, "renewal": "2027-03-01", "unknown_key": "x", "empty": None}
    assert format_value("custom", value, tz=BERLIN, custom_labels=labels) == (
        "Fleet size: 12; Contract renewal: 2027-03-01; Unknown key: x"
    )


def test_field_labels() -> None:
    assert [field_label(f) for f in ("addresses", "phones", "emails", "industry", "due_at")] == [
        "Address", "Phone numbers", "Email addresses", "Industry", "Due",
    ]  # fmt: skip


def test_a_picture_in_a_conflict_is_said_in_words_never_its_bytes() -> None:
    import base64

    jpeg = {
        "type": "image/jpeg",
        "data": base64.b64encode(b"\xff\xd8\xff" + bytes(51_197)).decode(),
    }
    assert format_value("photo", jpeg, tz=BERLIN) == "a JPEG picture of 50 KB"
    link = {"url": "https://example.com/jana.jpg"}
    assert (
        format_value("photo", link, tz=BERLIN)
        == "a link to a picture: https://example.com/jana.jpg"
    )
    assert format_value("photo", None, tz=BERLIN) == "(empty)"
    assert field_label("photo") == "Picture"
