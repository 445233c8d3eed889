"""Email capture: saved messages become email interactions, once each."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from touchpoint.services import customers
from touchpoint.services.capture import (
    company_name_of_domain,
    html_to_text,
    import_emails,
    read_message,
)
from touchpoint.storage.models import Contact, Customer, Interaction
from touchpoint.storage.workspace import Workspace

REAL = Path(__file__).parents[1] / "fixtures" / "import" / "real"


def _eml(
    folder: Path,
    name: str,
    *,
    sender: str = "Jana Novak <jana@acme.de>",
    to: str = "Maria <maria@example.com>",
    subject: str = "Order 42",
    text: str | None = "Please send 40 units.",
    html: str | None = None,
    message_id: str | None = "<abc-42@acme.de>",
    attachment: bytes | None = None,
) -> Path:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Mon, 16 Nov 2026 10:15:00 +0100"
    if message_id:
        msg["Message-ID"] = message_id
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="offer.pdf")
    path = folder / name
    path.write_bytes(bytes(msg))
    return path


def _interactions(ws: Workspace) -> list[Interaction]:
    with ws.read() as session:
        return list(session.scalars(select(Interaction).order_by(Interaction.occurred_at)))


@pytest.fixture
def acme(ws: Workspace) -> str:
    customer = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    customers.add_contact(ws, customer.id, {"name": "Jana Novak", "emails": ["jana@acme.de"]})
    return customer.id


def test_a_received_message_is_logged_once_with_its_customer_and_contact(
    ws: Workspace, acme: str, tmp_path: Path
) -> None:
    path = _eml(tmp_path, "order.eml", attachment=b"%PDF" + b"x" * 3000)
    report = import_emails(ws, [path])
    assert (report.logged, report.already_there, report.skipped) == (1, 0, 0)
    [logged] = _interactions(ws)
    assert logged.customer_id == acme and logged.kind == "email"
    assert logged.direction == "inbound"
    assert logged.subject == "Order 42"
    assert logged.occurred_at.isoformat() == "2026-11-16T09:15:00+00:00"
    assert logged.notes == "Please send 40 units.\n\nAttachments: offer.pdf (3 KB)"
    with ws.read() as session:
        jana = session.scalars(select(Contact)).one()
    assert logged.contact_ids == [jana.id]

    again = import_emails(ws, [path, path])
    assert (again.logged, again.already_there, again.skipped) == (0, 2, 0)
    assert len(_interactions(ws)) == 1


def test_a_message_the_rep_sent_is_outbound_to_its_recipient(
    ws: Workspace, acme: str, tmp_path: Path
) -> None:
    path = _eml(
        tmp_path,
        "reply.eml",
        sender="Maria <MARIA@example.com>",
        to="Jana Novak <jana@acme.de>",
        message_id="<reply-1@example.com>",
    )
    import_emails(ws, [path])
    [logged] = _interactions(ws)
    assert logged.direction == "outbound" and logged.customer_id == acme


def test_html_only_mail_is_kept_as_text_without_tags(
    ws: Workspace, acme: str, tmp_path: Path
) -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>Hello&nbsp;Maria,</p><p>price is &lt;100&gt; &amp; fine<br>Jana</p>"
        "<script>alert(1)</script></body></html>"
    )
    path = _eml(tmp_path, "html.eml", text=None, html=html)
    import_emails(ws, [path])
    [logged] = _interactions(ws)
    assert logged.notes == "Hello Maria,\n\nprice is <100> & fine\nJana"
    assert "<" not in html_to_text("<div><b>bold</b></div>")


def test_plain_text_is_preferred_to_html(ws: Workspace, acme: str, tmp_path: Path) -> None:
    path = _eml(tmp_path, "both.eml", text="plain words", html="<p>html words</p>")
    assert read_message(path).body == "plain words"


def test_an_unknown_sender_is_skipped_and_named_not_guessed(
    ws: Workspace, acme: str, tmp_path: Path
) -> None:
    path = _eml(tmp_path, "stranger.eml", sender="Bob <bob@bolt.de>", message_id="<s@bolt>")
    report = import_emails(ws, [path])
    assert (report.logged, report.skipped) == (0, 1)
    [item] = report.messages
    assert (item.file, item.subject) == ("stranger.eml", "Order 42")
    assert "no customer or contact" in (item.reason or "")
    assert _interactions(ws) == []


def test_customer_option_files_everything_under_one_customer(
    ws: Workspace, acme: str, tmp_path: Path
) -> None:
    path = _eml(tmp_path, "stranger.eml", sender="Bob <bob@bolt.de>", message_id="<s@bolt>")
    report = import_emails(ws, [path], customer="Acme")
    assert report.logged == 1
    [logged] = _interactions(ws)
    assert logged.customer_id == acme and logged.contact_ids == []


def test_create_contacts_guesses_the_organisation_from_the_domain(
    ws: Workspace, acme: str, tmp_path: Path
) -> None:
    customers.create_customer(ws, {"name": "Bolt AG", "website": "https://www.bolt.de"})
    known_domain = _eml(tmp_path, "a.eml", sender="Bob Bolt <bob@bolt.de>", message_id="<1@x>")
    new_domain = _eml(tmp_path, "b.eml", sender="Cara <cara@crane-tools.co.uk>", message_id="<2@x>")
    same_new = _eml(tmp_path, "c.eml", sender="Cara <cara@crane-tools.co.uk>", message_id="<3@x>")
    report = import_emails(ws, [known_domain, new_domain, same_new], create_contacts=True)
    assert (report.logged, report.created_customers, report.created_contacts) == (3, 1, 2)
    with ws.read() as session:
        names = {c.name: c for c in session.scalars(select(Customer))}
        people = {p.name: p for p in session.scalars(select(Contact))}
    assert set(names) == {"Acme GmbH", "Bolt AG", "Crane Tools"}
    assert people["Bob Bolt"].customer_id == names["Bolt AG"].id
    assert people["Cara"].customer_id == names["Crane Tools"].id
    logged = _interactions(ws)
    assert [i.contact_ids for i in logged][1:] == [[people["Cara"].id]] * 2


def test_company_names_from_domains() -> None:
    assert company_name_of_domain("acme.de") == "Acme"
    assert company_name_of_domain("mail.big-corp.com") == "Big Corp"
    assert company_name_of_domain("crane.co.uk") == "Crane"


def test_dry_run_writes_nothing(ws: Workspace, acme: str, tmp_path: Path) -> None:
    report = import_emails(ws, [_eml(tmp_path, "order.eml")], dry_run=True)
    assert report.logged == 1
    assert _interactions(ws) == []


# --- files written by real mail programs --------------------------------------------------


def test_real_outlook_mobile_message_with_an_attachment(ws: Workspace, tmp_path: Path) -> None:
    msg = read_message(REAL / "mailparser-mail_test_3.eml")
    assert msg.subject == "Hi there"
    assert msg.sender and msg.sender.email == "Oneil.844@randtelekom.com.tr"
    assert msg.body == (
        "I am sending you the bills of the goods we delivered to you in the attachment"
    )
    assert [name for name, _size in msg.attachments] == ["message.txt"]
    assert msg.sent_at and msg.sent_at.isoformat() == "2016-08-22T13:56:09+00:00"
    customer = customers.create_customer(ws, {"name": "Randtelekom"}).value
    customers.add_contact(
        ws, customer.id, {"name": "Ava Oneil", "emails": ["oneil.844@randtelekom.com.tr"]}
    )
    report = import_emails(ws, [REAL / "mailparser-mail_test_3.eml"])
    assert report.logged == 1
    [logged] = _interactions(ws)
    assert logged.notes and "Attachments: message.txt (" in logged.notes


def test_real_message_with_an_empty_text_part_keeps_its_html_words() -> None:
    msg = read_message(REAL / "mailparser-mail_test_17.eml")
    assert msg.subject == "Transferencia Interbancaria Banca en Línea"
    assert msg.body == "Test"
    assert msg.message_id == "<202210102011.29AKBWwn005317@vps-051e4cda.vps.ovh.net>"
    assert [p.email for p in msg.recipients] == ["compliance@akaancasadebolsa.com.mx"]


def test_real_outlook_msg_file(ws: Workspace) -> None:
    msg = read_message(REAL / "msgextractor-strangeDate.msg")
    assert msg.subject == "MSG Test File"
    assert msg.body.startswith("MSG test file\nPurpose: Provide example of this file type")
    assert [p.email for p in msg.recipients] == ["time2talk@online-convert.com"]
    # Saved without a sender or a date (a draft): named and skipped, not given "now".
    customers.create_customer(ws, {"name": "Online Convert"})
    report = import_emails(ws, [REAL / "msgextractor-strangeDate.msg"], customer="Online")
    assert report.skipped == 1 and report.messages[0].reason == "it has no date"


def test_a_damaged_msg_file_is_named_and_skipped(ws: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.msg"
    bad.write_bytes(b"not an OLE file")
    report = import_emails(ws, [bad])
    assert report.skipped == 1
    assert report.messages[0].reason == "bad.msg is not a readable Outlook message"


# --- asked, not guessed (the window's drops) ----------------------------------------------


def test_a_file_that_is_no_email_is_named(ws: Workspace, tmp_path: Path) -> None:
    pdf = tmp_path / "offer.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\n")
    report = import_emails(ws, [pdf])
    assert [(m.file, m.outcome, m.reason) for m in report.messages] == [
        ("offer.pdf", "skipped", "offer.pdf is not an email (.eml or Outlook .msg)")
    ]


def test_asked_a_message_of_two_customers_or_of_none_is_unsure(
    ws: Workspace, tmp_path: Path
) -> None:
    rand = customers.create_customer(ws, {"name": "Randtelekom"}).value
    customers.add_contact(
        ws, rand.id, {"name": "Ava Oneil", "emails": ["oneil.844@randtelekom.com.tr"]}
    )
    kyra = customers.create_customer(
        ws, {"name": "Kyra Kalino", "kind": "individual", "emails": ["kalinokyra@thismail.it"]}
    ).value
    both = REAL / "mailparser-mail_test_3.eml"  # from Ava, to Kyra
    nobody = REAL / "mailparser-mail_test_17.eml"
    report = import_emails(ws, [both, nobody], ask=True)
    assert [m.outcome for m in report.messages] == ["unsure", "unsure"]
    two, none = report.unsure
    assert [c.name for c in two.candidates] == ["Randtelekom", "Kyra Kalino"]
    assert two.reason == "its addresses belong to several customers"
    assert two.path == str(both)
    assert two.people == ("Ava Oneil <Oneil.844@randtelekom.com.tr>", "kalinokyra@thismail.it")
    assert (none.candidates, none.reason) == ((), "no customer or contact has its addresses")
    assert _interactions(ws) == []
    # Chosen: brought in again under that customer.
    chosen = import_emails(ws, [two.path], customer=kyra.id)
    assert chosen.logged == 1 and chosen.messages[0].customer == "Kyra Kalino"
    # Without asking (the command line), the first match is taken as before.
    assert import_emails(ws, [both]).already_there == 1


def test_a_message_deleted_and_brought_in_again_is_back(ws: Workspace) -> None:
    from touchpoint.services.interactions import delete_interactions

    rand = customers.create_customer(ws, {"name": "Randtelekom"}).value
    first = import_emails(ws, [REAL / "mailparser-mail_test_3.eml"], customer=rand.id)
    [logged] = first.messages
    assert delete_interactions(ws, [logged.interaction_id]).value == 1
    assert [i.deleted_at is not None for i in _interactions(ws)] == [True]
    again = import_emails(ws, [REAL / "mailparser-mail_test_3.eml"], customer=rand.id)
    assert again.logged == 1 and again.messages[0].interaction_id == logged.interaction_id
    assert [i.deleted_at for i in _interactions(ws)] == [None]
