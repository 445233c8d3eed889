"""``touchpoint import emails`` and ``import meetings`` / ``suggestions`` from the shell."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path


def _eml(folder: Path, name: str, sender: str, message_id: str) -> Path:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "maria@example.com"
    msg["Subject"] = f"About {name}"
    msg["Date"] = "Mon, 16 Nov 2026 10:15:00 +0100"
    msg["Message-ID"] = message_id
    msg.set_content("Hello")
    path = folder / name
    path.write_bytes(bytes(msg))
    return path


def test_import_emails_reports_logged_already_there_and_skipped(tp, tmp_path: Path) -> None:
    tp.add_customer("Acme GmbH")
    tp("contact", "add", "acme", "Jana Novak", "--email", "jana@acme.de")
    known = _eml(tmp_path, "known.eml", "jana@acme.de", "<1@acme.de>")
    stranger = _eml(tmp_path, "stranger.eml", "bob@bolt.de", "<2@bolt.de>")
    result = tp("import", "emails", str(known), str(stranger))
    assert "known.eml (About known.eml): logged with Acme GmbH" in result.stdout
    assert "stranger.eml (About stranger.eml): skipped: no customer" in result.stderr
    assert "logged 1 email, 0 already there, 1 skipped" in result.stdout
    again = tp.json("import", "emails", str(known), str(stranger), "--create-contacts")
    assert (again["logged"], again["already_there"], again["skipped"]) == (1, 1, 0)
    assert again["created_customers"] == 1 and again["created_contacts"] == 1
    assert "changes" not in again
    assert [c["name"] for c in tp.json("customer", "list")["customers"]] == ["Acme GmbH", "Bolt"]


CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:m1@example.com\r\nSUMMARY:Price talk\r\n"
    "DTSTART:20261117T140000Z\r\nDTEND:20261117T150000Z\r\n"
    "ATTENDEE;CN=Jana:mailto:jana@acme.de\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:m2@example.com\r\nSUMMARY:Demo\r\n"
    "DTSTART:20261116T140000Z\r\nDTEND:20261116T143000Z\r\n"
    "ATTENDEE:mailto:jana@acme.de\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_import_meetings_then_accept_and_dismiss_suggestions(tp, tmp_path: Path) -> None:
    tp.add_customer("Acme GmbH")
    tp("contact", "add", "acme", "Jana Novak", "--email", "jana@acme.de")
    path = tmp_path / "cal.ics"
    path.write_text(CALENDAR, encoding="utf-8")
    out = tp("import", "meetings", str(path)).stdout
    assert "suggested 2 meetings to log, 0 already there, 0 with nobody known" in out
    listed = tp("suggestions").stdout
    assert 'You met Acme GmbH yesterday: log it? "Price talk" with Jana Novak' in listed
    items = tp.json("suggestions")["suggestions"]
    assert [s["subject"] for s in items] == ["Demo", "Price talk"]
    demo, talk = items
    assert (
        "logged the meeting with Acme GmbH (Price talk)"
        in tp("suggestions", "accept", talk["id"][-8:]).stdout
    )
    assert "dismissed the meeting with Acme GmbH" in tp("suggestions", "dismiss", demo["id"]).stdout
    assert "no meetings waiting" in tp("suggestions").stdout
    shown = tp("customer", "show", "acme").stdout
    assert "Price talk" in shown and "Demo" not in shown
    result = tp("suggestions", "accept", talk["id"], code=1)
    assert "already accepted" in result.stderr
    assert "0 with nobody known" in tp("import", "meetings", str(path)).stdout


def test_import_meetings_since_a_day(tp, tmp_path: Path) -> None:
    tp.add_customer("Acme GmbH")
    tp("contact", "add", "acme", "Jana Novak", "--email", "jana@acme.de")
    path = tmp_path / "cal.ics"
    path.write_text(CALENDAR, encoding="utf-8")
    result = tp("import", "meetings", str(path), "--since", "someday", code=1)
    assert "since" in result.stderr and "'someday' is not a date" in result.stderr
    out = tp("import", "meetings", str(path), "--since", "2026-11-17").stdout
    assert "suggested 1 meeting to log" in out
