"""Open each screen of the window on a demo database and save a PNG of it.

Run on demand (never part of the test suite), under Xvfb or, without a display, on Qt's
offscreen platform:

    xvfb-run -s "-screen 0 1920x1080x24" .venv/bin/python tests/screenshots/take_screenshots.py

Every screen and dialog is saved at 1024x640 and 1920x1080, light and dark, to
tests/screenshots/out/ (git-ignored). ``--data DIR`` uses an existing data folder
instead of making a demo one; ``--theme dark`` or ``--size 1280x800`` for one of each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from touchpoint.storage.workspace import Workspace

OUT = Path(__file__).parent / "out"
SIZES = ((1024, 640), (1920, 1080))  # a small laptop, a full-HD screen


def pump(app: QApplication, seconds: float = 0.4, until: Callable[[], bool] | None = None) -> None:
    end = time.monotonic() + 20
    quiet_until = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if time.monotonic() >= quiet_until and (until is None or until()):
            break
        time.sleep(0.01)


def grab(widget: QWidget, name: str) -> Path:
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(path)
    return path


def _pretend_signed_in_with_a_refused_change(data_dir: Path) -> None:
    """What a laptop signed in to a Hub looks like, without a Hub: the account in the
    database, a token in an in-memory keyring, a sync 3 minutes ago, one refused change."""
    from datetime import timedelta

    import keyring
    from keyring.backend import KeyringBackend
    from sqlalchemy import select, update

    from touchpoint.storage.models import Change, Customer
    from touchpoint.storage.types import to_utc_text
    from touchpoint.sync import credentials, engine

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]
        store: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.store.pop((service, username), None)

    keyring.set_keyring(MemoryKeyring())
    server, email = "https://hub.example.com", "maria@example.com"
    credentials.save_token(server, email, "token")
    ws = Workspace.open(data_dir, auto_backup=False)
    with ws.unit_of_work() as uow:
        s = uow.session
        engine.write_meta(s, engine.SERVER_KEY, server)
        engine.write_meta(s, engine.EMAIL_KEY, email)
        engine.write_meta(s, engine.LAST_SYNC_KEY, to_utc_text(ws.now() - timedelta(minutes=3)))
        uow.commit()
    with ws.unit_of_work() as uow:  # an edit the Hub refused (as an older client sent it)
        customer = uow.session.scalars(select(Customer).limit(1)).one()
        customer.name = customer.name + " " + "GmbH & Co. KG " * 16
        uow.commit()
    with ws.unit_of_work(origin="remote") as uow:
        s = uow.session
        s.execute(update(Change).values(pushed_at=ws.now()))
        last = s.scalars(select(Change).order_by(Change.seq.desc()).limit(1)).one()
        last.push_error = "name: at most 200 characters"
        name = customer.name.split(" GmbH & Co. KG", 1)[0]
        s.get(Customer, customer.id).name = name  # the record went back to the Hub's value
        uow.commit()
    ws.close()


REAL = Path(__file__).parents[1] / "fixtures" / "import" / "real"


def _add_real_cards_and_mail_people(data_dir: Path) -> str:
    """A real iPhone card with its photo (IBM's John Doe) beside a person without one,
    and two customers one real message is between (its drop asks which). IBM's id."""
    from touchpoint.services import customers
    from touchpoint.services.importing import import_vcard

    ws = Workspace.open(data_dir, auto_backup=False)
    try:
        import_vcard(ws, REAL / "John_Doe_IPHONE.vcf")
        ibm = customers.get_customer(ws, "IBM").id
        customers.add_contact(ws, ibm, {"name": "Jana Novak", "title": "Buyer"})
        rand = customers.create_customer(ws, {"name": "Randtelekom"}).value.id
        customers.add_contact(
            ws, rand, {"name": "Ava Oneil", "emails": ["oneil.844@randtelekom.com.tr"]}
        )
        customers.create_customer(
            ws, {"name": "Kyra Kalino", "kind": "individual", "emails": ["kalinokyra@thismail.it"]}
        )
        return ibm
    finally:
        ws.close()


def shoot(  # noqa: PLR0917 - one screen set
    app: QApplication,
    data_dir: Path,
    theme: str,
    size: tuple[int, int],
    demo_folder: bool,
    photo_customer: str | None = None,
) -> None:
    """Every screen and dialog of the window in one theme at one window size."""
    from touchpoint.ui.backend import Backend
    from touchpoint.ui.main_window import MainWindow
    from touchpoint.ui.theme import apply_theme

    apply_theme(app, theme)
    backend = Backend(Workspace.open(data_dir, auto_backup=False))
    settings = QSettings(str(data_dir / "config" / "shots.ini"), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow(backend, settings)
    window.resize(*size)
    window.show()
    window._sync_start.stop()  # the pretend Hub is not there: no sync attempts
    idle = lambda: backend.pending == 0  # noqa: E731
    suffix = f"-{size[0]}x{size[1]}" + ("" if theme == "light" else f"-{theme}")

    window.show_today()
    pump(app, 0.8, idle)
    grab(window, f"01-today{suffix}")

    window.show_customers()
    pump(app, 0.8, idle)
    grab(window, f"02-customers{suffix}")

    # A customer touched lately (with a timeline) makes the fullest profile: the first of
    # the list's loaded rows from the fourth on, else the fourth.
    model = window.customers.list.model
    rows = [model.index(n, 0).data(0x0102) for n in range(3, min(model.rowCount(), 40))]
    touched = [r for r in rows if r is not None and r.last_touch is not None]
    first = touched[0].id if touched else model.index(3, 0).data(0x0101)
    if first:
        window.open_customer(first)
    pump(app, 1.0, idle)
    grab(window, f"03-profile{suffix}")
    window.customers.profile.tabs.setCurrentIndex(1)
    pump(app, 0.3, idle)
    grab(window, f"04-profile-followups{suffix}")
    window.customers.profile.tabs.setCurrentIndex(2)
    pump(app, 0.3, idle)
    grab(window, f"05-profile-history{suffix}")
    window.customers.profile.tabs.setCurrentIndex(0)

    window.search.setFocus()
    window.search.setText("quote")
    window.search._start_search()
    pump(app, 0.8, idle)
    grab(window, f"06-search{suffix}")
    window.search.clear()

    window.new_customer()
    profile = window.customers.profile
    name = profile.form.editors["name"]
    existing = window.customers.list.model.index(0, 0).data()
    name.setText(str(existing))  # type: ignore[attr-defined]
    profile._check_duplicates()
    profile.form.editors["emails"].setText("not-an-email")  # type: ignore[attr-defined]
    profile.create()
    pump(app, 1.0, idle)
    grab(window, f"07-new-customer{suffix}")
    profile._cancel_new()

    window.customers.list.attention.setChecked(True)
    pump(app, 0.8, idle)
    grab(window, f"08-customers-needs-attention{suffix}")
    window.customers.list.attention.setChecked(False)

    for key in ("followups", "activity", "reports"):
        if key in window.pages:
            window.show_page(key)
            pump(app, 0.8, idle)
            grab(window, f"09-{key}{suffix}")

    # Sync in the window: the status bar, its menu, the refused change, signing out.
    window.show_today()
    window.status.refresh()
    pump(app, 0.8, idle)
    grab(window, f"10-status-signed-in{suffix}")
    menu = window.status.sync_menu
    menu.popup(window.status.sync_button.mapToGlobal(window.status.sync_button.rect().topLeft()))
    pump(app, 0.3)
    grab(menu, f"11-sync-menu{suffix}")
    menu.hide()
    window.open_rejected()
    pump(app, 0.8, idle)
    if window.conflicts_dialog is not None:
        grab(window.conflicts_dialog, f"12-refused-by-the-hub{suffix}")
        window.conflicts_dialog.close()
    window.sign_out()
    pump(app, 0.3)
    if window.sign_out_box is not None:
        grab(window.sign_out_box, f"13-sign-out{suffix}")
        window.sign_out_box.reject()

    # A contact with notes on several lines: the form, then the list.
    if first:
        window.open_customer(first)
        pump(app, 1.0, idle)
        editor = window.customers.profile.contact_editor
        editor.start_add()
        editor._line("name").setText("Jana Roth")
        editor.notes.setPlainText(
            "Prefers calls before 9\nAssistant: Tom Weber\nNo visits in August"
        )
        pump(app, 0.3)
        grab(editor, f"14-contact-notes{suffix}")
        editor.save()
        pump(app, 0.8, idle)
        grab(editor, f"15-contact-notes-saved{suffix}")

    # The timeline's two-line rows, then one interaction opened whole with Enter, as its
    # author sees it.
    if first:
        window.open_customer(first)
        pump(app, 1.0, idle)
        profile = window.customers.profile
        profile.tabs.setCurrentIndex(0)
        grab(window, f"16-timeline{suffix}")
        # The first interaction holding the customer's own words, else the first.
        model = profile.timeline_model
        row = next((r for r, i in enumerate(model.items) if i.feedback), 0)
        profile.timeline.setFocus()
        profile.timeline.setCurrentIndex(model.index(row, 0))
        profile._timeline_open(profile.timeline.currentIndex())
        pump(app, 1.0, idle)
        dialog = profile.interaction_dialog
        if dialog is not None:
            grab(dialog, f"17-interaction{suffix}")
            dialog.when.setText("+2d")
            dialog.save()
            pump(app, 0.8, idle)
            grab(dialog, f"18-interaction-problem{suffix}")
            dialog.ask_discard = lambda: True
            dialog.close()
        if demo_folder:  # a colleague's view of it (the demo folder only: its user changes)
            from dataclasses import replace

            ws = backend.ws
            own = ws.settings
            ws.update_settings(replace(own, user="tom.weber@example.com", display_name=""))
            profile._timeline_open(profile.timeline.currentIndex())
            pump(app, 1.0, idle)
            if profile.interaction_dialog is not None:
                grab(profile.interaction_dialog, f"19-interaction-read-only{suffix}")
                profile.interaction_dialog.close()
            ws.update_settings(own)

    # The dialogs: each opened from the window as the rep opens it, saved, closed.
    for name, open_it in (
        ("20-log", window.log_interaction),
        ("21-settings", window.open_settings),
        ("22-import", window.open_import),
        ("23-export", window.open_export),
        ("24-shortcuts", window.show_shortcuts),
        ("25-about", window.open_about),
    ):
        before = {id(w) for w in app.topLevelWidgets() if w.isVisible()}
        open_it()
        pump(app, 0.6, idle)
        shown = [
            w
            for w in app.topLevelWidgets()
            if w.isVisible() and w is not window and id(w) not in before
        ]
        for dialog in shown:
            grab(dialog, f"{name}{suffix}")
            if hasattr(dialog, "ask_discard"):
                dialog.ask_discard = lambda: True  # type: ignore[attr-defined]
            dialog.close()
        pump(app, 0.2)

    # A contact's photo from a real card, beside one with initials.
    if photo_customer:
        window.open_customer(photo_customer)
        pump(app, 1.0, idle)
        profile = window.customers.profile
        profile.facts_pane.ensureWidgetVisible(profile.contact_editor.list)
        profile.scroll.ensureWidgetVisible(profile.contact_editor.list)  # stacked: narrow
        pump(app, 0.2)
        grab(window, f"26-profile-photo{suffix}")
        grab(window.customers.profile.contact_editor, f"27-contacts-photo{suffix}")

        # Real emails dropped on the window: one of two customers (asked), one undated.
        shown: list[QWidget] = []
        window.email_drop.chooser_shown.connect(shown.append)
        window.email_drop.drop(
            [REAL / "mailparser-mail_test_3.eml", REAL / "msgextractor-strangeDate.msg"]
        )
        pump(app, 1.0, lambda: bool(shown))
        if shown:
            chooser = shown[0]
            grab(chooser, f"28-email-chooser{suffix}")
            chooser.list.setCurrentRow(0)  # type: ignore[attr-defined]
            chooser.file_button.click()  # type: ignore[attr-defined]
            pump(app, 1.0, idle)
            grab(window, f"29-email-drop-result{suffix}")
            if window.undo_bar is not None:
                window.undo_bar.undo()  # the next theme and size drop it again
                pump(app, 0.5, idle)
        window.email_drop.chooser_shown.disconnect(shown.append)

    if window.sync is not None:
        window.sync.stop()  # no sync attempt on a folder about to be removed
    window.close()
    backend.shutdown()
    pump(app, 0.3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="an existing data folder (default: a fresh demo one)")
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--theme", default="both", choices=("both", "light", "dark", "system"))
    parser.add_argument(
        "--size", default="both", help="WIDTHxHEIGHT, or both (1024x640, 1920x1080)"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display: draw offscreen

    from touchpoint.ui.app import make_application

    app = make_application(["touchpoint"])
    temp = None
    if args.data:
        data_dir = Path(args.data)
    else:
        temp = Path(tempfile.mkdtemp(prefix="touchpoint-shots-"))
        data_dir = temp / "data"
        ws = Workspace.open(data_dir, auto_backup=False)
        from touchpoint.services import demo

        demo.generate_demo(ws, customers=args.customers)
        ws.close()

    photo_customer = None
    if not args.data:
        photo_customer = _add_real_cards_and_mail_people(data_dir)
        _pretend_signed_in_with_a_refused_change(data_dir)

    themes = ("light", "dark") if args.theme == "both" else (args.theme,)
    sizes = SIZES if args.size == "both" else (tuple(int(x) for x in args.size.split("x")),)
    for theme in themes:
        for size in sizes:
            shoot(app, data_dir, theme, size, not args.data, photo_customer)  # type: ignore[arg-type]
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
