"""The first-run wizard: connect to the Hub (as provisioning left it) or work offline."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget, QWizard

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))

from harness import PASSWORD, HubServer, Laptop, start_hub

from touchpoint.services import customers
from touchpoint.services.customer_list import CustomerQuery, count_customers
from touchpoint.services.provisioning import check_request, provision
from touchpoint.settings import load_settings
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import credentials
from touchpoint.sync.engine import LAST_SYNC_KEY, write_meta
from touchpoint.ui.backend import Backend
from touchpoint.ui.first_run import (
    CONNECT,
    OFFLINE,
    SYNCING,
    WELCOME,
    FirstRunWizard,
    offer_first_run,
)
from touchpoint.ui.sync_controller import SyncController


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    server, stop = start_hub("sqlite", tmp_path)
    server.add_user("maria@example.com", teams=("north",))
    server.add_user("ben@example.com", teams=("north",))
    yield server
    stop()


def open_wizard(
    qtbot: Any, backend: Backend, idle: Any, **kwargs: Any
) -> tuple[QWidget, FirstRunWizard | None, list[bool]]:
    parent = QWidget()
    qtbot.addWidget(parent)
    done: list[bool] = []
    kwargs.setdefault("open_import", None)
    offer_first_run(parent, backend, done=lambda: done.append(True), **kwargs)
    idle()
    wizard = parent.findChild(FirstRunWizard)
    if wizard is not None:  # a top-level window of its own: closed when the test ends
        qtbot.addWidget(wizard)
    return parent, wizard, done


def provisioned(ws: Workspace, server: str, **options: Any) -> None:
    provision(ws, check_request(server=server, **options))


def test_an_empty_book_offers_demo_data_and_it_fills_the_book(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    failures: list[object] = []
    backend.failed.connect(failures.append)
    _parent, wizard, done = open_wizard(qtbot, backend, idle, open_import=lambda: None)
    assert wizard is not None and wizard.isVisible()
    assert wizard.currentId() == WELCOME
    # No sync controller here: only working offline is possible.
    assert not wizard.welcome.connect_choice.isEnabled()
    assert wizard.welcome.offline_choice.isChecked()
    wizard.next()
    assert wizard.currentId() == OFFLINE
    page = wizard.offline
    assert page.demo is not None and page.import_ is not None and page.demo.isChecked()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: bool(done) or bool(failures), timeout=60_000)
    assert failures == []
    idle()
    assert count_customers(ws, CustomerQuery()) > 0


def test_import_and_start_empty_choices(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    imports: list[bool] = []
    _parent, wizard, done = open_wizard(
        qtbot, backend, idle, open_import=lambda: imports.append(True)
    )
    assert wizard is not None
    wizard.next()
    assert wizard.offline.import_ is not None
    wizard.offline.import_.setChecked(True)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert imports == [True] and done == []

    _parent, wizard, done = open_wizard(qtbot, backend, idle)
    assert wizard is not None
    wizard.next()
    assert wizard.offline.import_ is None
    wizard.offline.empty.setChecked(True)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    idle()
    assert done == [] and count_customers(ws, CustomerQuery()) == 0


def test_no_wizard_for_a_book_with_customers_or_a_signed_in_laptop(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    credentials.save_token("https://hub.example.com", "maria@example.com", "t" * 43)
    provisioned(ws, "https://hub.example.com", email="maria@example.com")
    _parent, wizard, _done = open_wizard(qtbot, backend, idle)
    assert wizard is None

    credentials.delete_token("https://hub.example.com", "maria@example.com")
    customers.create_customer(ws, {"name": "Müller Bau GmbH"})
    provision(ws, check_request(server="https://hub.example.com"))
    # Not empty, but a Hub is recorded and not signed in: the wizard asks.
    controller = SyncController(backend)
    _parent, wizard, _done = open_wizard(qtbot, backend, idle, controller=controller)
    assert wizard is not None and wizard.currentId() == CONNECT
    # The email recorded for this same Hub is kept.
    assert wizard.connect_page is not None
    assert wizard.connect_page.email.text() == "maria@example.com"
    wizard.connect_page.offline_link.click()
    assert wizard.offline.demo is None
    assert wizard.offline.empty.text() == "Continue without signing in"
    wizard.reject()

    # Signed out on purpose after syncing: the start is not interrupted again.
    with ws.unit_of_work(origin="remote") as uow:
        write_meta(uow.session, LAST_SYNC_KEY, "2026-11-18T09:00:00.000000Z")
        uow.commit()
    _parent, wizard, _done = open_wizard(qtbot, backend, idle, controller=controller)
    assert wizard is None
    controller.stop()


def test_provisioned_hub_opens_on_sign_in_then_syncs(  # noqa: PLR0917 - fixtures
    qtbot: Any,
    ws: Workspace,
    backend: Backend,
    idle: Any,
    hub: HubServer,
    tmp_path: Path,
    clock: Any,
) -> None:
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    made = customers.create_customer(ben.ws, {"name": "Schulz Spedition"})
    assert ben.sync().in_sync
    ben.close()
    provisioned(ws, hub.url, email="maria@example.com", demo=False)
    controller = SyncController(backend, engine_options={"attempts": 1})
    _parent, wizard, done = open_wizard(qtbot, backend, idle, controller=controller)
    assert wizard is not None and wizard.currentId() == CONNECT
    page = wizard.connect_page
    assert page is not None
    assert page.server.text() == hub.url and not page.server.isReadOnly()
    assert page.email.text() == "maria@example.com"
    assert not page.locked_note.isVisibleTo(page)

    # Nothing typed: said beside the field, nothing sent.
    wizard.next()
    assert wizard.currentId() == CONNECT
    assert page.errors["password"].text() == "Enter your password."
    page.password.setText("wrong password")
    wizard.next()
    qtbot.waitUntil(lambda: page.errors["password"].isVisibleTo(page), timeout=10_000)
    assert page.errors["password"].text() == "The email or password is not right."
    assert page.password.text() == "" and wizard.currentId() == CONNECT

    page.password.setText(PASSWORD)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentId() == SYNCING, timeout=10_000)
    syncing = wizard.syncing
    assert syncing is not None
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    qtbot.waitUntil(lambda: syncing.result is not None, timeout=20_000)
    assert syncing.result.status == "done" and syncing.result.pulled >= 1
    assert finish.isEnabled() and "Done:" in syncing.message.text()
    finish.click()
    assert done == [True]
    controller.stop()
    idle()
    assert customers.get_customer(ws, made.value.id).name == "Schulz Spedition"


def test_work_offline_from_the_sign_in_page_respects_no_demo(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    provisioned(ws, "https://hub.example.com", demo=False)
    controller = SyncController(backend)
    _parent, wizard, _done = open_wizard(qtbot, backend, idle, controller=controller)
    assert wizard is not None and wizard.connect_page is not None
    assert wizard.currentId() == CONNECT
    wizard.connect_page.offline_link.click()
    assert wizard.currentId() == OFFLINE
    assert wizard.offline.demo is None and wizard.offline.empty.isChecked()
    controller.stop()


def test_a_locked_policy_shows_the_hub_read_only(  # noqa: PLR0917 - fixtures
    qtbot: Any,
    ws: Workspace,
    backend: Backend,
    idle: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = pytest.importorskip("touchpoint.policy")
    file = tmp_path / "policy.toml"
    file.write_text('[hub]\nserver = "https://hub.corp.example"\nlocked = true\n')
    monkeypatch.setenv(policy.POLICY_ENV, str(file))
    ws.policy = policy.current_policy()  # as the window's start-up context resolves it
    controller = SyncController(backend)
    _parent, wizard, _done = open_wizard(qtbot, backend, idle, controller=controller)
    assert wizard is not None and wizard.connect_page is not None
    page = wizard.connect_page
    assert wizard.currentId() == CONNECT
    assert page.server.text() == "https://hub.corp.example" and page.server.isReadOnly()
    assert page.locked_note.isVisibleTo(page)
    controller.stop()


def test_plain_http_to_another_computer_is_refused_under_the_server_field(
    qtbot: Any,
    ws: Workspace,
    backend: Backend,
    idle: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Provisioned with --allow-http; the window still asks the policy before a password goes.
    provisioned(
        ws, "http://hub.example.com:8600", email="maria@example.com", demo=False, allow_http=True
    )
    controller = SyncController(backend)
    sent: list[str] = []
    monkeypatch.setattr(controller, "sign_in", lambda server, *_a, **_kw: sent.append(server))
    _parent, wizard, _done = open_wizard(qtbot, backend, idle, controller=controller)
    assert wizard is not None and wizard.connect_page is not None
    page = wizard.connect_page
    page.password.setText("secret-password")
    wizard.next()
    assert wizard.currentId() == CONNECT and sent == []
    words = page.errors["server"].text()
    assert page.errors["server"].isVisibleTo(page)
    assert "not encrypted (http://)" in words and "hub.example.com" in words
    page.server.setText("https://hub.example.com:8600")
    wizard.next()
    assert sent == ["https://hub.example.com:8600"]
    controller.stop()


def test_working_offline_asks_the_reps_name_and_email(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    """A laptop never signed in signs its changes with the email given here, and names
    the rep with the name given here: never the computer's login name."""
    from dataclasses import replace

    ws.settings = replace(ws.settings, user="", display_name="")
    assert ws.author == "me"
    _parent, wizard, _done = open_wizard(qtbot, backend, idle)
    assert wizard is not None
    wizard.next()
    page = wizard.offline
    assert page.email.text() == "" and page.display_name.text() == ""
    page.empty.setChecked(True)
    page.email.setText("not an email")
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert wizard.isVisible() and page.email_error.isVisibleTo(page)  # refused, said why
    assert "email" in page.email_error.text().lower()
    page.email.setText("Ana.Silva@Example.com")
    page.display_name.setText("Ana Silva")
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: ws.settings.display_name == "Ana Silva", timeout=10_000)
    idle()
    assert ws.author == "Ana.Silva@example.com"  # the domain lower-cased, as typed
    reopened = load_settings(ws.paths.settings_file)
    assert (reopened.user, reopened.display_name) == ("Ana.Silva@example.com", "Ana Silva")
