"""``touchpoint encryption``: the local database encrypted at rest (SQLCipher).

``enable`` encrypts the database in place (a backup first; a crash midway leaves it
usable), ``disable`` turns it off again, ``status`` says how things stand, and
``recover`` is the way out when the key is lost: the unreadable file is moved aside,
never deleted, and a new database starts, to be filled again by the next sync.
"""

from __future__ import annotations

import click

from touchpoint.cli.output import emit_json, facts
from touchpoint.cli.runtime import fail, state


def register(group: click.Group) -> None:
    group.add_command(encryption)


@click.group()
def encryption() -> None:
    """Encrypt the local database at rest; its key lives in the OS keyring."""


def _paths():  # type: ignore[no-untyped-def]
    return state().paths.ensure()


def _required() -> str | None:
    loaded = state().context.policy
    if loaded.checked is not None and loaded.checked.database.require_encryption:
        return str(loaded.path)
    return None


@encryption.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def encryption_status(as_json: bool) -> None:
    """Is the database encrypted, is its key here, can this computer encrypt?"""
    from touchpoint.storage import encryption as enc

    paths = _paths()
    found = enc.status(paths.database)
    required_by = _required()
    if as_json:
        emit_json(found.__dict__ | {"required_by_policy": required_by})
        return
    if not paths.database.exists():
        state_words = "no database yet"
    elif found.encrypted:
        state_words = "encrypted" if found.key_in_keyring else "encrypted, KEY MISSING"
    else:
        state_words = "not encrypted"
    click.echo(
        facts(
            [
                ("database", paths.database),
                ("state", state_words),
                (
                    "key",
                    f"in the keyring ({enc.key_account(paths.database)})"
                    if found.key_in_keyring
                    else "none in the keyring",
                ),
                ("SQLCipher", found.sqlcipher_version or "not available on this computer"),
                ("required by policy", required_by or "no"),
            ]
        )
    )
    if found.encrypted and not found.key_in_keyring:
        click.echo("Run `touchpoint encryption recover` to start again from the Hub.")


def _remember(wanted: bool) -> None:
    """Keep the choice in the settings, so every start keeps the database that way."""
    from dataclasses import replace

    from touchpoint.settings import save_settings

    paths = _paths()
    current = state().context.user_settings
    if current.encrypt_database != wanted:
        save_settings(paths.settings_file, replace(current, encrypt_database=wanted))


def _closed_workspace() -> None:
    """Open and close the workspace once: the database exists, is migrated, is healthy."""
    from touchpoint.storage.workspace import Workspace

    Workspace.open(state().context, auto_backup=False).close()


@encryption.command("enable")
def encryption_enable() -> None:
    """Encrypt the database in place. Close the window first. A backup is made first;
    the plain backups in the backup folder are encrypted with the same key after."""
    from touchpoint.storage import encryption as enc
    from touchpoint.storage import rekey

    paths = _paths()
    if enc.is_encrypted(paths.database):
        _remember(True)
        click.echo(f"{paths.database} is already encrypted.")
        return
    enc.driver()
    _closed_workspace()
    if enc.is_encrypted(paths.database):  # the policy had it encrypted on opening
        click.echo(f"Encrypted {paths.database} (your IT department's policy requires it).")
        return
    done = rekey.encrypt_in_place(paths.database, paths.backup_dir)
    _remember(True)
    click.echo(f"Encrypted {paths.database}.")
    click.echo(
        f"Its key is in this computer's keyring (service 'touchpoint', account "
        f"'{enc.key_account(paths.database)}'); {done.backups_encrypted} backup(s) were "
        "encrypted with it too."
    )


@encryption.command("disable")
def encryption_disable() -> None:
    """Store the database unencrypted again (refused when the policy requires encryption).
    The key stays in the keyring: the encrypted backups still need it."""
    from touchpoint.storage import encryption as enc
    from touchpoint.storage import rekey

    required_by = _required()
    if required_by:
        fail(f"encryption: your IT department's policy ({required_by}) requires it")
    paths = _paths()
    if not enc.is_encrypted(paths.database):
        _remember(False)
        click.echo(f"{paths.database} is not encrypted.")
        return
    _closed_workspace()
    done = rekey.decrypt_in_place(paths.database, paths.backup_dir)
    _remember(False)
    click.echo(f"{paths.database} is no longer encrypted (an encrypted copy: {done.backup}).")


@encryption.command("recover")
def encryption_recover() -> None:
    """The key is lost: move the unreadable database aside (it is kept) and start a new
    one, which the next sync fills again from the Hub."""
    from touchpoint.storage import encryption as enc
    from touchpoint.storage.backup import stamp

    paths = _paths()
    if not enc.is_encrypted(paths.database) or enc.stored_key(paths.database) is not None:
        fail(
            f"encryption: {paths.database} can be opened; there is nothing to recover "
            "(a lost key is the only reason to start again)"
        )
    kept = enc.move_aside(paths.database, stamp())
    _closed_workspace()
    click.echo(f"The unreadable database was moved to {kept} (kept, not deleted).")
    click.echo(
        f"A new database was started at {paths.database}. Sign in (`touchpoint login`) "
        "and sync to get your data back from the Hub; changes that had not been synced "
        "are only in the file moved aside."
    )
