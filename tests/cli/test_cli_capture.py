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
    assert [c["name"] for c in tp.json("customer", "list")["customers"]] == ["Acme GmbH", "Bolt"]
