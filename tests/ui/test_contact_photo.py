"""The contact's picture in the customer profile: a round thumbnail scaled by Qt from
the bytes a real card brought (tests/fixtures/import/real/John_Doe_IPHONE.vcf, from
ez-vcard), and the person's initials on a colour when there is no picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from touchpoint.domain.photos import Photo
from touchpoint.services import customers
from touchpoint.services.importing import import_vcard
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.contact_editor import PHOTO_SIZE
from touchpoint.ui.contact_photo import PLACEHOLDER_COLOURS, initials, thumbnail
from touchpoint.ui.profile_view import ProfileView

REAL = Path(__file__).parent.parent / "fixtures" / "import" / "real"


def _image(icon: Any) -> QImage:
    return icon.pixmap(PHOTO_SIZE, PHOTO_SIZE).toImage()


@pytest.mark.parametrize(
    ("name", "letters"),
    [("Jana Novak", "JN"), ("Mr. John Richter James Doe Sr.", "JD"), ("acme", "A"), ("", "?")],
)
def test_initials(name: str, letters: str) -> None:
    assert initials(name) == letters


def test_a_thumbnail_is_the_picture_scaled_and_round(qapp: Any) -> None:
    source = QImage(300, 200, QImage.Format.Format_RGB32)
    source.fill(QColor("#00ff00"))
    for x in range(0, 50):  # a red strip at the left: cut off by the square crop
        for y in range(200):
            source.setPixelColor(x, y, QColor("#ff0000"))
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    source.save(buffer, "PNG")
    photo = Photo(mime="image/png", data=bytes(buffer.data()))
    image = thumbnail(photo, "Jana Novak", 40).toImage()
    assert (image.width(), image.height()) == (40, 40)
    assert image.pixelColor(20, 20).name() == "#00ff00"
    assert image.pixelColor(2, 20).name() == "#00ff00"  # the crop took the middle square
    assert image.pixelColor(0, 0).alpha() == 0  # round: the corners are empty
    # Twice the pixels on a HiDPI screen, the same size on screen.
    sharp = thumbnail(photo, "Jana Novak", 40, ratio=2.0)
    assert (sharp.width(), sharp.height(), sharp.devicePixelRatio()) == (80, 80, 2.0)


def test_no_picture_a_link_or_unreadable_bytes_show_initials(qapp: Any) -> None:
    for photo in (
        None,
        Photo(url="https://example.com/jana.jpg"),
        Photo(mime="image/jpeg", data=b"\xff\xd8\xff broken"),
    ):
        image = thumbnail(photo, "Jana Novak", 40).toImage()
        assert image.pixelColor(20, 8).name() in PLACEHOLDER_COLOURS, photo
        assert image.pixelColor(0, 0).alpha() == 0


def test_the_profile_shows_each_contact_with_their_picture_or_initials(
    qtbot: Any, ws: Workspace, backend: Backend
) -> None:
    import_vcard(ws, REAL / "John_Doe_IPHONE.vcf")
    (john,) = customers.list_contacts(ws, "IBM")
    customers.add_contact(ws, john.customer_id, {"name": "Jana Novak"})
    view = ProfileView(backend)
    qtbot.addWidget(view)
    view.resize(1100, 900)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.show_customer(john.customer_id)
    items = {
        view.contacts.item(i).text().split("\n")[0].split(" — ")[0]: view.contacts.item(i)
        for i in range(view.contacts.count())
    }
    photo_item, plain_item = items["Mr. John Richter James Doe Sr."], items["Jana Novak"]
    assert view.contacts.iconSize().width() == PHOTO_SIZE
    # John's picture, as Qt scales it from the card's bytes (not a placeholder colour).
    expected = thumbnail(john.photo, john.name, PHOTO_SIZE).toImage()
    shown = _image(photo_item.icon())
    assert shown.pixelColor(20, 20) == expected.pixelColor(20, 20)
    assert shown.pixelColor(20, 8).name() not in PLACEHOLDER_COLOURS
    assert photo_item.data(Qt.ItemDataRole.AccessibleDescriptionRole) == "Picture"
    # Jana has none: her initials on her colour.
    assert _image(plain_item.icon()).pixelColor(20, 8).name() in PLACEHOLDER_COLOURS
    assert plain_item.data(Qt.ItemDataRole.AccessibleDescriptionRole) == "No picture"


def _outlook_picture(folder: Path) -> Path:
    """The picture of a real card (John_Doe_MS_OUTLOOK.vcf, from ez-vcard) as a file."""
    import base64
    import re

    card = (REAL / "John_Doe_MS_OUTLOOK.vcf").read_text(encoding="utf-8")
    folded = re.search(r"PHOTO;[^:]*:\r?\n((?: .*\r?\n)+)", card)
    assert folded is not None
    path = folder / "john.jpg"
    path.write_bytes(base64.b64decode("".join(folded.group(1).split())))
    return path


def test_a_picture_is_chosen_checked_and_removed_in_the_contact_form(
    qtbot: Any, ws: Workspace, backend: Backend, tmp_path: Path
) -> None:
    company = customers.create_customer(ws, {"name": "Acme GmbH"}).value.id
    jana = customers.add_contact(ws, company, {"name": "Jana Novak"}).value
    view = ProfileView(backend)
    qtbot.addWidget(view)
    view.resize(1100, 900)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.show_customer(company)
    editor = view.contact_editor
    editor.list.setCurrentRow(0)
    editor.start_edit()
    assert not editor.remove_picture.isEnabled()  # none yet
    # Not a picture: said beside the field, nothing saved, the form stays open.
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    editor.set_picture_file(text)
    editor.save()
    qtbot.waitUntil(editor.messages["photo"].isVisible, timeout=5000)
    assert editor.messages["photo"].text() == "is not a JPEG, PNG, GIF or WebP picture"
    assert editor.form.isVisible()
    # A real picture: saved, and shown in the list.
    picture = _outlook_picture(tmp_path)
    editor.set_picture_file(picture)
    assert not editor.messages["photo"].isVisible()
    with qtbot.waitSignal(view.loaded, timeout=5000):
        editor.save()
    (saved,) = customers.list_contacts(ws, company)
    assert saved.id == jana.id
    assert saved.photo == Photo(mime="image/jpeg", data=picture.read_bytes())
    shown = _image(editor.list.item(0).icon())
    assert shown.pixelColor(20, 8).name() not in PLACEHOLDER_COLOURS
    # Removed again.
    editor.list.setCurrentRow(0)
    editor.start_edit()
    assert editor.remove_picture.isEnabled()
    editor.remove_picture.click()
    with qtbot.waitSignal(view.loaded, timeout=5000):
        editor.save()
    assert customers.list_contacts(ws, company)[0].photo is None
