"""Meeting capture: past meetings with contacts become suggestions, logged only on the
rep's word, once each."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from touchpoint.errors import NotFoundError, ValidationError
from touchpoint.services import customers
from touchpoint.services.meetings import (
    accept_suggestion,
    dismiss_suggestion,
    import_meetings,
    list_suggestions,
    read_meetings,
)
from touchpoint.storage.models import Interaction
from touchpoint.storage.workspace import Workspace

REAL = Path(__file__).parents[1] / "fixtures" / "import" / "real"

# As Google Calendar writes it: a VTIMEZONE, a weekly repeat with one week left out,
# an organiser and attendees as mailto: addresses. The clock says 2026-11-18 09:30 UTC.
CALENDAR = """BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20261020T100000
DTEND;TZID=Europe/Berlin:20261020T104500
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Europe/Berlin:20261103T100000
UID:weekly-acme@google.com
SUMMARY:Acme weekly
LOCATION:Acme HQ
ORGANIZER;CN=Maria:mailto:maria@example.com
ATTENDEE;CN=Jana Novak;PARTSTAT=ACCEPTED:mailto:JANA@acme.de
ATTENDEE;CN=Maria;PARTSTAT=ACCEPTED:mailto:maria@example.com
END:VEVENT
BEGIN:VEVENT
DTSTART:20261117T150000Z
DTEND:20261117T153000Z
UID:stranger@google.com
SUMMARY:Coffee with a stranger
ATTENDEE:mailto:someone@else.org
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261116
DTEND;VALUE=DATE:20261117
UID:allday@google.com
SUMMARY:Trade fair
ATTENDEE:mailto:jana@acme.de
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def calendar(tmp_path: Path) -> Path:
    path = tmp_path / "calendar.ics"
    path.write_text(CALENDAR.replace("\n", "\r\n"), encoding="utf-8")
    return path


@pytest.fixture
def acme(ws: Workspace) -> str:
    customer = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    customers.add_contact(ws, customer.id, {"name": "Jana Novak", "emails": ["jana@acme.de"]})
    return customer.id


def _interactions(ws: Workspace) -> list[Interaction]:
    with ws.read() as session:
        return list(session.scalars(select(Interaction).order_by(Interaction.occurred_at)))


def test_past_meetings_with_contacts_become_suggestions_not_interactions(
    ws: Workspace, acme: str, calendar: Path
) -> None:
    report = import_meetings(ws, calendar)
    # Oct 20, 27, Nov 10, 17 (Nov 3 left out, Nov 24 still to come); the stranger's
    # coffee is named; the all-day fair is no meeting.
    assert report.suggested == 4
    assert report.skipped == [
        ("Coffee with a stranger", "2026-11-17", "no attendee is a contact here")
    ]
    assert _interactions(ws) == []
    pending = list_suggestions(ws)
    assert [s.start for s in pending] == [
        datetime(2026, 10, 20, 8, 0, tzinfo=UTC),  # 10:00 summer time in Berlin
        datetime(2026, 10, 27, 9, 0, tzinfo=UTC),  # 10:00 winter time
        datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 17, 9, 0, tzinfo=UTC),
    ]
    assert pending[-1].words == "You met Acme GmbH yesterday: log it?"
    assert pending[-1].contact_names == ["Jana Novak"]
    assert pending[-1].duration_minutes == 45

    again = import_meetings(ws, calendar)
    assert (again.suggested, again.already_there) == (0, 4)
    assert len(list_suggestions(ws)) == 4


def test_accepting_logs_the_meeting_once_and_dismissing_puts_it_away(
    ws: Workspace, acme: str, calendar: Path
) -> None:
    import_meetings(ws, calendar)
    first, second, *_ = list_suggestions(ws)
    saved = accept_suggestion(ws, first.id[-8:]).value
    assert saved.kind == "meeting" and saved.customer_id == acme
    assert saved.occurred_at == first.start and saved.duration_minutes == 45
    assert saved.subject == "Acme weekly" and saved.notes == "Where: Acme HQ"
    assert len(saved.contact_ids) == 1
    dismiss_suggestion(ws, second.id)
    assert len(list_suggestions(ws)) == 2
    assert first.id not in {s.id for s in list_suggestions(ws)}
    assert second.id not in {s.id for s in list_suggestions(ws)}
    with pytest.raises(ValidationError, match="already accepted"):
        accept_suggestion(ws, first.id)
    # a new import brings back neither the logged nor the dismissed meeting
    assert import_meetings(ws, calendar).suggested == 0
    assert len(_interactions(ws)) == 1
    with pytest.raises(NotFoundError):
        accept_suggestion(ws, "nothing-like-it")


def test_real_google_calendar_export_reads_its_time_zone(ws: Workspace) -> None:
    tz = ws.tz
    meetings = read_meetings(
        REAL / "google-alarm_google_future.ics",
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2025, 1, 1, tzinfo=UTC),
        tz=tz,
    )
    assert [(m.uid, m.summary, m.start, m.end) for m in meetings] == [
        (
            "79fs7pkqvht9m5igs0vjv1sfra@google.com",
            "event with alarms",
            datetime(2024, 10, 4, 18, 15, tzinfo=UTC),
            datetime(2024, 10, 4, 19, 0, tzinfo=UTC),
        )
    ]
    # The alarm's ATTENDEE is whom to remind, not someone met.
    assert meetings[0].attendees == []


def test_real_outlook_export_with_windows_zone_and_repeats(ws: Workspace) -> None:
    meetings = read_meetings(
        REAL / "outlook-alarm_outlook_in_future.ics",
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2025, 1, 1, tzinfo=UTC),
        tz=ws.tz,
    )
    # The fortnightly all-day events are no meetings; 18:30 "GMT Standard Time" in
    # October is British summer time: 17:30 UTC.
    assert [(m.summary, m.start) for m in meetings] == [
        ("outlook event with alarm", datetime(2024, 10, 4, 17, 30, tzinfo=UTC))
    ]
    assert meetings[0].uid.startswith("040000008200E00074C5B7101A82E008")


def test_a_broken_calendar_is_named(ws: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ics"
    bad.write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:notatime\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"bad\.ics"):
        import_meetings(ws, bad)
