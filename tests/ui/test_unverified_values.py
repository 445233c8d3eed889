"""An email or phone an import kept as written shows so, and an edit of other values
keeps it (and its mark) as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from touchpoint.services import customers
from touchpoint.services.importing import import_customers_csv
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.contact_editor import contact_text
from touchpoint.ui.profile_view import ProfileView
from touchpoint.ui.widgets.facts_form import patch_for


def test_the_contact_list_says_unverified_and_the_facts_form_keeps_the_mark(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "Company,Name,Phone\nAcme,Ann Lee,999-4445\n,Zoë Winter,+1-555-555-5555\n",
        encoding="utf-8",
    )
    import_customers_csv(ws, path)
    ann = customers.list_contacts(ws, "Acme")[0]
    assert "999-4445 (unverified)" in contact_text(ann)
    zoe = customers.get_customer(ws, "Zoë Winter")
    assert zoe.phones == [{"label": "work", "value": "+1-555-555-5555", "unverified": True}]
    # The form shows the value as written; saving the field unchanged keeps the mark,
    # and the service takes it back (it would refuse the same text typed anew).
    patch = patch_for(zoe, "phones", "+1-555-555-5555, +49 30 1234567")
    assert patch["phones"][0] == zoe.phones[0]
    saved = customers.edit_customer(ws, zoe.id, patch).value
    assert saved.phones == [
        {"label": "work", "value": "+1-555-555-5555", "unverified": True},
        {"label": "work", "value": "+49301234567"},
    ]


def test_the_profile_says_which_value_is_not_verified(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    path = tmp_path / "in.csv"
    path.write_text("Name,Phone,Email\nZoë Winter,999-4445,zoe@winter.example\n", "utf-8")
    import_customers_csv(ws, path)
    zoe = customers.get_customer(ws, "Zoë Winter")
    view = ProfileView(backend)
    qtbot.addWidget(view)
    view.show()
    view.show_customer(zoe.id)
    idle()
    assert "999-4445" in view.form.editors["phones"].toolTip()
    assert "Not verified" in view.form.editors["phones"].toolTip()
    assert view.form.editors["emails"].toolTip() == ""
