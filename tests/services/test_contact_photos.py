"""A vCard's PHOTO becomes the contact's picture (2.1 and 3.0 base64, 4.0 data: links,
links kept and never fetched), only JPEG, PNG, GIF or WebP and at most 700 KB, and our
vCard export writes it back: the same bytes after a round trip into an empty database.
The real cards are in tests/fixtures/import/real (README.md says where each is from)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from touchpoint.domain import photos
from touchpoint.errors import ValidationErrors
from touchpoint.services import customers
from touchpoint.services.exporting import export_contacts
from touchpoint.services.importing import import_vcard
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.models import Change
from touchpoint.storage.workspace import Workspace

REAL = Path(__file__).parent.parent / "fixtures" / "import" / "real"
# The smallest pictures of each kind: their first bytes are what tells them apart.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
GIF = b"GIF89a" + bytes(20)
WEBP = b"RIFF" + (20).to_bytes(4, "little") + b"WEBPVP8 " + bytes(12)


def photo_in_file(name: str) -> bytes:
    """The bytes of the file's first PHOTO, read here without the importer: the folded
    base64 lines after the property, up to the next property (an iPhone ends its lines
    with CR CR LF)."""
    text = (REAL / name).read_bytes().decode("utf-8", errors="replace")
    lines = re.split(r"\r*\n", text)
    start = next(i for i, line in enumerate(lines) if line.startswith("PHOTO"))
    parts = [lines[start].split(":", 1)[1]]
    for line in lines[start + 1 :]:
        if not line.startswith((" ", "\t")):
            break
        parts.append(line.strip())
    return base64.b64decode("".join(parts))


@pytest.fixture
def fresh(tmp_path: Path, clock: Any) -> Iterator[Workspace]:
    """Another laptop: an empty database."""
    folder = tmp_path / "fresh"
    save_settings(
        folder / "config" / "settings.toml",
        Settings(user="maria@example.com", timezone="Europe/Berlin", default_region="DE"),
    )
    workspace = Workspace.open(folder, auto_backup=False, clock=clock)
    yield workspace
    workspace.close()


def card(tmp_path: Path, *lines: str, version: str = "3.0", name: str = "Jana Novak") -> Path:
    path = tmp_path / "card.vcf"
    body = ["BEGIN:VCARD", f"VERSION:{version}", f"FN:{name}", "ORG:Acme GmbH", *lines]
    path.write_text("\r\n".join([*body, "END:VCARD", ""]), encoding="utf-8")
    return path


def folded(prefix: str, data: bytes) -> list[str]:
    encoded = base64.b64encode(data).decode()
    return [
        prefix + encoded[:60],
        *(" " + encoded[i : i + 72] for i in range(60, len(encoded), 72)),
    ]


@pytest.mark.parametrize(
    ("name", "company"),
    [
        ("John_Doe_IPHONE.vcf", "IBM"),
        ("John_Doe_MS_OUTLOOK.vcf", "IBM"),
        ("outlook-2007.vcf", "TheCompany"),
    ],
)
def test_a_real_cards_photo_is_the_contacts_picture(ws: Workspace, name: str, company: str) -> None:
    report = import_vcard(ws, REAL / name)
    assert not [n for n in report.notices if n.field == "PHOTO"]
    (person,) = customers.list_contacts(ws, company)
    expected = photo_in_file(name)
    assert expected[:3] == b"\xff\xd8\xff"  # a JPEG, as its card says
    assert person.photo == photos.Photo(mime="image/jpeg", data=expected)


def test_round_trip_through_our_vcard_export_keeps_the_same_bytes(
    ws: Workspace, fresh: Workspace, tmp_path: Path
) -> None:
    import_vcard(ws, REAL / "John_Doe_IPHONE.vcf")
    out = tmp_path / "people.vcf"
    export_contacts(ws, out, format="vcf")
    assert "PHOTO;ENCODING=b;TYPE=JPEG:" in out.read_text(encoding="utf-8")
    report = import_vcard(fresh, out)
    assert (report.errors, report.created_contacts) == ([], 1)
    (person,) = customers.list_contacts(fresh, "IBM")
    assert person.photo is not None
    assert person.photo.data == photo_in_file("John_Doe_IPHONE.vcf")
    # The same file into the same database again: the picture is the same, no change.
    again = import_vcard(fresh, out)
    assert (again.updated, again.unchanged) == (0, 1)


def test_vcard_4_data_link_and_a_link_kept_as_written(
    ws: Workspace, fresh: Workspace, tmp_path: Path
) -> None:
    data_link = "PHOTO:data:image/png;base64," + base64.b64encode(PNG).decode()
    import_vcard(ws, card(tmp_path, data_link, version="4.0"))
    (jana,) = customers.list_contacts(ws, "Acme GmbH")
    assert jana.photo == photos.Photo(mime="image/png", data=PNG)
    linked = card(tmp_path, "PHOTO;VALUE=uri:https://example.com/ole.jpg", name="Ole Berg")
    import_vcard(ws, linked)
    ole = next(p for p in customers.list_contacts(ws, "Acme GmbH") if p.name == "Ole Berg")
    assert ole.photo == photos.Photo(url="https://example.com/ole.jpg")
    out = tmp_path / "out.vcf"
    export_contacts(ws, out, format="vcf")
    assert "PHOTO;VALUE=uri:https://example.com/ole.jpg" in out.read_text(encoding="utf-8")
    import_vcard(fresh, out)
    got = {p.name: p.photo for p in customers.list_contacts(fresh, "Acme GmbH")}
    assert got == {"Jana Novak": jana.photo, "Ole Berg": ole.photo}


@pytest.mark.parametrize(("data", "mime"), [(GIF, "image/gif"), (WEBP, "image/webp")])
def test_gif_and_webp_are_told_by_their_first_bytes(
    ws: Workspace, tmp_path: Path, data: bytes, mime: str
) -> None:
    # The card says JPEG; the bytes say otherwise, and the bytes are believed.
    import_vcard(ws, card(tmp_path, *folded("PHOTO;ENCODING=b;TYPE=JPEG:", data)))
    (jana,) = customers.list_contacts(ws, "Acme GmbH")
    assert jana.photo == photos.Photo(mime=mime, data=data)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"%PDF-1.4 not a picture", "is not a JPEG, PNG, GIF or WebP picture"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "is not a JPEG, PNG, GIF or WebP picture"),
        (
            b"\xff\xd8\xff" + bytes(photos.MAX_PHOTO_BYTES),
            "the picture is 700 KB, larger than the 700 KB Touchpoint keeps",
        ),
    ],
)
def test_a_photo_not_kept_is_reported_with_the_card_and_person_never_losing_them(
    ws: Workspace, tmp_path: Path, data: bytes, problem: str
) -> None:
    report = import_vcard(
        ws, card(tmp_path, *folded("PHOTO;ENCODING=BASE64;TYPE=JPEG:", data), version="2.1")
    )
    assert report.created_contacts == 1
    (jana,) = customers.list_contacts(ws, "Acme GmbH")
    assert jana.photo is None
    (notice,) = [n for n in report.notices if n.field == "PHOTO"]
    assert (notice.row, notice.name, notice.kept) == (1, "Jana Novak", "not kept")
    assert notice.problem == problem


def test_a_second_photo_is_said_not_kept(ws: Workspace, tmp_path: Path) -> None:
    path = card(
        tmp_path,
        *folded("PHOTO;ENCODING=b;TYPE=PNG:", PNG),
        *folded("PHOTO;ENCODING=b;TYPE=GIF:", GIF),
    )
    report = import_vcard(ws, path)
    (jana,) = customers.list_contacts(ws, "Acme GmbH")
    assert jana.photo is not None and jana.photo.mime == "image/png"
    assert [n.problem for n in report.notices if n.field == "PHOTO"] == [
        "a second picture: the first is kept"
    ]


def test_the_largest_picture_fits_the_hubs_limit_for_one_field(ws: Workspace) -> None:
    from touchpoint.hub.door import check_change
    from touchpoint.sync.protocol import ChangeIn

    biggest = b"\xff\xd8\xff" + bytes(photos.MAX_PHOTO_BYTES - 3)
    company = customers.create_customer(ws, {"name": "Acme GmbH"}).value.id
    made = customers.add_contact(
        ws, company, {"name": "Jana", "photo": photos.Photo(mime="image/jpeg", data=biggest)}
    )
    assert made.value.photo is not None and made.value.photo.data == biggest
    with ws.read() as session:
        change = session.scalars(select(Change).where(Change.record_id == made.value.id)).one()
    assert change.fields["photo"][1]["type"] == "image/jpeg"
    sent = ChangeIn(
        change_id=change.change_id,
        seq=change.seq,
        tx_id=change.tx_id,
        entity="contact",
        record_id=change.record_id,
        op="insert",
        fields=change.fields,
        at="2026-12-06T10:00:00.000000Z",
        author="maria@example.com",
        schema_version="0009",
    )
    check_change(sent)  # the door takes it: no exception


def test_a_photo_given_by_hand_is_checked_like_one_from_a_file(ws: Workspace) -> None:
    company = customers.create_customer(ws, {"name": "Acme GmbH"}).value.id
    with pytest.raises(ValidationErrors, match="photo: is not a JPEG, PNG, GIF or WebP"):
        customers.add_contact(
            ws, company, {"name": "Jana", "photo": {"type": "image/jpeg", "data": "aGVsbG8="}}
        )
    with pytest.raises(ValidationErrors, match="photo: 'file:///etc/passwd' is not a web address"):
        customers.add_contact(ws, company, {"name": "Jana", "photo": {"url": "file:///etc/passwd"}})


def test_merging_two_contacts_keeps_a_picture_and_undoing_takes_it_back(ws: Workspace) -> None:
    from touchpoint.services.duplicates import merge_records, unmerge

    company = customers.create_customer(ws, {"name": "Acme GmbH"}).value.id
    keep = customers.add_contact(ws, company, {"name": "Jana Novak"}).value
    other = customers.add_contact(
        ws, company, {"name": "Jana Novak", "photo": photos.Photo(mime="image/png", data=PNG)}
    ).value
    merged = merge_records(ws, "contact", keep.id, other.id).value
    (jana,) = customers.list_contacts(ws, company)
    assert jana.id == keep.id and jana.photo == photos.Photo(mime="image/png", data=PNG)
    unmerge(ws, merged.id)
    back = {p.id: p.photo for p in customers.list_contacts(ws, company)}
    assert back == {keep.id: None, other.id: photos.Photo(mime="image/png", data=PNG)}
