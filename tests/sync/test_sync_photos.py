"""A contact's picture travels like its other fields: a real card's photo imported on
one laptop is the same bytes on a teammate's after a sync, and the largest picture
Touchpoint keeps passes the Hub's door."""

from __future__ import annotations

from pathlib import Path

from harness import HubServer, Laptop, assert_converged

from touchpoint.domain import photos
from touchpoint.services import customers
from touchpoint.services.importing import import_vcard

REAL = Path(__file__).parent.parent / "fixtures" / "import" / "real"


def test_a_photo_imported_on_one_laptop_is_the_same_on_another(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, ben = team
    import_vcard(ana.ws, REAL / "John_Doe_IPHONE.vcf")
    (john,) = customers.list_contacts(ana.ws, "IBM")
    assert john.photo is not None and john.photo.data
    # The largest picture kept, on a second person: it must pass the door whole.
    biggest = b"\x89PNG\r\n\x1a\n" + bytes(photos.MAX_PHOTO_BYTES - 8)
    big = customers.add_contact(
        ana.ws,
        john.customer_id,
        {"name": "Jana Novak", "photo": photos.Photo(mime="image/png", data=biggest)},
    ).value
    assert ana.sync().in_sync
    assert ben.sync().in_sync
    theirs = {p.id: p.photo for p in customers.list_contacts(ben.ws, "IBM")}
    assert theirs == {john.id: john.photo, big.id: photos.Photo(mime="image/png", data=biggest)}
    assert_converged(hub, ana, ben)
