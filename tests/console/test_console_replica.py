"""The console's replica is kept beside the Hub's database: caught up in the background
from the Hub's start-up, read at once after a restart, resumed from its stored cursor
(never pulled again from the start), and its team reports kept until that team's part
of the change log moves."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from harness import Clock, HubServer, Laptop

from touchpoint.hub import replica
from touchpoint.hub.console.figures import KEPT_FILE, FiguresBusy, TeamFigures
from touchpoint.services import customers, interactions, reports


@pytest.fixture
def pulls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The cursor each pull of a replica starts after."""
    seen: list[int] = []
    original = replica.DirectHub.pull

    def pull(self: replica.DirectHub, after: int, limit: int) -> Any:
        seen.append(after)
        return original(self, after, limit)

    monkeypatch.setattr(replica.DirectHub, "pull", pull)
    return seen


def test_the_replica_lives_beside_the_hub_database(hub: HubServer, tmp_path: Path) -> None:
    figures = hub.app.state.console_figures
    assert figures.folder == tmp_path / "hub-console-replica"
    postgres = replica.console_folder("postgresql://hub@db.example/touchpoint")
    assert postgres.name.endswith("-console") and postgres != replica.default_folder(
        "postgresql://hub@db.example/touchpoint"
    )


def test_after_a_restart_the_replica_answers_at_once_and_resumes_from_its_cursor(
    hub: HubServer, tmp_path: Path, pulls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    folder = tmp_path / "replica"
    try:
        acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
        interactions.log_interaction(maria.ws, customer=acme, kind="call")
        assert maria.sync().in_sync

        first = TeamFigures(hub.engine, hub.now, folder=folder)
        first.start()  # the Hub's start-up: the first catch-up needs no page view
        assert first._caught_up.wait(30)
        report, _ = first.team_report("north", "week")
        assert report.team.interactions == 1
        first.close()
        assert pulls[0] == 0  # the first catch-up read the log from its start
        stored = _cursor(folder)
        assert stored > 0

        # The Hub restarts: the replica on disk and the reports kept when it stopped are
        # read back, so the first page neither pulls, nor figures, nor waits for a pull.
        assert (folder / KEPT_FILE).is_file()
        again = TeamFigures(hub.engine, hub.now, folder=folder)
        again.busy_wait = 0.1
        pulls.clear()
        with again._pull_lock, monkeypatch.context() as patched:
            patched.setattr(reports, "daily_report", _not_again)
            report, _ = again.team_report("north", "week")
        assert report.team.interactions == 1
        assert pulls == []  # nothing new on the Hub: nothing pulled at all

        # An edit made after the restart shows, pulled from the stored cursor on.
        interactions.log_interaction(maria.ws, customer=acme, kind="visit")
        assert maria.sync().in_sync
        report, _ = again.team_report("north", "week")
        assert report.team.interactions == 2
        assert pulls and pulls[0] == stored
        again.close()
    finally:
        maria.close()


def test_at_the_hub_s_start_each_team_s_week_is_figured_ahead(
    hub: HubServer, tmp_path: Path
) -> None:
    figures = TeamFigures(hub.engine, hub.now, folder=tmp_path / "replica")
    try:
        figures.start()
        deadline = time.monotonic() + 60
        while len(figures._kept) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(key[0] for key in figures._kept) == ["north", "south"]
    finally:
        figures.close()


def _not_again(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("figured again")


def _cursor(folder: Path) -> int:
    from touchpoint.storage.workspace import Workspace

    ws = Workspace.open(folder, auto_backup=False)
    try:
        assert replica.caught_up_once(ws)
        return replica.cursor(ws)
    finally:
        ws.close()


def test_until_a_first_catch_up_ends_the_figures_are_on_their_way(
    hub: HubServer, tmp_path: Path
) -> None:
    figures = TeamFigures(hub.engine, hub.now, folder=tmp_path / "replica")
    figures.busy_wait = 0.1
    try:
        with figures._pull_lock, pytest.raises(FiguresBusy):
            figures.team_report("north", "week")
        figures.busy_wait = 30
        report, _ = figures.team_report("north", "week")  # the catch-up ended meanwhile
        assert report.team.interactions == 0
    finally:
        figures.close()


def test_a_new_team_or_another_team_s_change_keeps_the_replica_and_the_report(
    hub: HubServer, tmp_path: Path, pulls: list[int]
) -> None:
    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    sara = Laptop(tmp_path / "sara", "sara@example.com", clock, hub)
    figures = TeamFigures(hub.engine, hub.now, folder=tmp_path / "replica")
    try:
        acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
        interactions.log_interaction(maria.ws, customer=acme, kind="call")
        assert maria.sync().in_sync
        north, _ = figures.team_report("north", "week")

        hub.add_user("olga@example.com", "rep", ("east",))  # a team more on the Hub
        bolt = customers.create_customer(sara.ws, {"name": "Bolt SA"}).value.id
        interactions.log_interaction(sara.ws, customer=bolt, kind="call")
        assert sara.sync().in_sync
        pulls.clear()
        south, _ = figures.team_report("south", "week")
        assert south.team.interactions == 1
        assert pulls and 0 not in pulls  # the new team did not start the copy again
        again, _ = figures.team_report("north", "week")
        assert again is north  # south's change leaves north's report as it was
    finally:
        figures.close()
        maria.close()
        sara.close()


def test_while_a_report_is_being_figured_a_page_shows_the_one_kept(
    hub: HubServer, tmp_path: Path
) -> None:
    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    figures = TeamFigures(hub.engine, hub.now, folder=tmp_path / "replica")
    try:
        acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
        interactions.log_interaction(maria.ws, customer=acme, kind="call")
        assert maria.sync().in_sync
        kept, _ = figures.team_report("north", "week")
        figures.busy_wait = 0.1
        interactions.log_interaction(maria.ws, customer=acme, kind="visit")
        assert maria.sync().in_sync
        (busy,) = figures._figuring.values()
        with busy:  # another page, or the refigure as time passes, is figuring it now
            shown, _ = figures.team_report("north", "week")
        assert shown is kept  # not "one moment": the figures it has
        newer, _ = figures.team_report("north", "week")
        assert newer.team.interactions == kept.team.interactions + 1 == 2
    finally:
        figures.close()
        maria.close()


def test_of_the_processes_sharing_a_replica_one_follows_and_another_takes_over(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Hub's workers share the replica beside it: one follows the log into it, the
    others' pages read what it copied without a sync of their own; when the one
    following stops, another takes over."""
    from touchpoint.hub import exchange
    from touchpoint.hub.console import figures as figures_module

    synced: list[Any] = []  # the replica handle of each sync run, in order

    class CountedEngine(figures_module.SyncEngine):
        def __init__(self, ws: Any, *args: Any, **kwargs: Any) -> None:
            synced.append(ws)
            super().__init__(ws, *args, **kwargs)

    monkeypatch.setattr(figures_module, "SyncEngine", CountedEngine)
    # A process figures the week's reports once it is ready, and a page that finds the
    # log moved pulls first: on a busy machine second's were still under way when the
    # next change reached the Hub. They are awaited, so what counts is what follows.
    warmed: dict[int, threading.Event] = {}
    real_warm = TeamFigures._warm

    def warm(self: TeamFigures) -> None:
        try:
            real_warm(self)
        finally:
            warmed.setdefault(id(self), threading.Event()).set()

    monkeypatch.setattr(TeamFigures, "_warm", warm)
    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    folder = tmp_path / "replica"
    first = TeamFigures(hub.engine, hub.now, folder=folder)
    second = TeamFigures(hub.engine, hub.now, folder=folder)
    for figures in (first, second):
        figures.follow_seconds = 0.05
    try:
        acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
        interactions.log_interaction(maria.ws, customer=acme, kind="call")
        assert maria.sync().in_sync
        first.start()
        assert first._caught_up.wait(30)
        second.start()
        assert second._caught_up.wait(30)  # the copy first made, read as it is
        for figures in (first, second):
            assert warmed.setdefault(id(figures), threading.Event()).wait(30)

        interactions.log_interaction(maria.ws, customer=acme, kind="visit")
        assert maria.sync().in_sync
        _until_copied(first, hub.engine, exchange.high_water)
        report, _ = second.team_report("north", "week")
        assert report.team.interactions == 2
        assert synced and all(ws is first._ws for ws in synced)  # second never synced

        first.close()
        interactions.log_interaction(maria.ws, customer=acme, kind="email")
        assert maria.sync().in_sync
        _until_copied(second, hub.engine, exchange.high_water)
        assert synced[-1] is second._ws  # second follows now
        report, _ = second.team_report("north", "week")
        assert report.team.interactions == 3
    finally:
        first.close()
        second.close()
        maria.close()


def _until_copied(figures: TeamFigures, engine: Any, high_water: Any) -> None:
    """Until the replica ``figures`` reads holds the Hub's whole log (or a minute)."""
    with engine.connect() as conn:
        high = high_water(conn)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ws = figures._ws
        if ws is not None and replica.cursor(ws) >= high:
            return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not reach {high}")


def test_the_replica_indexes_the_names_a_big_pull_left_to_index(
    hub: HubServer, tmp_path: Path
) -> None:
    """A first catch-up leaves full-text indexing for later; the console's customer
    search asks the names index, so the replica indexes its names in the background,
    and the search finds the same customers before and after."""
    from touchpoint.services.customer_list import CustomerQuery, customer_rows
    from touchpoint.storage import search_index

    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    figures = TeamFigures(hub.engine, hub.now, folder=tmp_path / "replica")
    try:
        customers.create_customer(maria.ws, {"name": "Hafen Logistik"})
        assert maria.sync().in_sync
        with figures._pull_lock:
            assert figures.pull()
        ws = figures._open()
        with ws.db.engine.begin() as conn, search_index.bulk_insert(conn, defer=True):
            pass  # as a big pull leaves it: its documents wait for the catch-up
        customers.create_customer(maria.ws, {"name": "Hafenkran Service"})
        assert maria.sync().in_sync
        with figures._pull_lock:
            assert figures.pull()

        def waiting() -> bool:
            with ws.read() as session:
                return search_index.lagging(session.connection(), search_index.NAMES_FTS)

        def found() -> list[str]:
            return [r.name for r in customer_rows(ws, CustomerQuery(words="hafen"), 0, 10)]

        assert waiting()
        assert found() == ["Hafen Logistik", "Hafenkran Service"]
        figures.follow_seconds = 0.1
        figures.start()
        deadline = time.monotonic() + 30
        while waiting() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not waiting()
        assert found() == ["Hafen Logistik", "Hafenkran Service"]
    finally:
        figures.close()
        maria.close()


def test_a_report_s_files_are_made_ahead_once_someone_downloaded_them(
    hub: HubServer, tmp_path: Path
) -> None:
    """The files of a team's period someone downloaded are made again in the background
    for each new report of it, so the next download does not wait for a drawing; the
    files of a period nobody asked for are not."""
    import threading

    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    sara = Laptop(tmp_path / "sara", "sara@example.com", clock, hub)
    figures = TeamFigures(hub.engine, hub.now, folder=tmp_path / "replica")
    made: list[Any] = []
    came = threading.Semaphore(0)

    def make(report: Any) -> None:
        made.append(report)
        came.release()

    figures.files_ahead = make
    try:
        acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
        bolt = customers.create_customer(sara.ws, {"name": "Bolt SA"}).value.id
        assert maria.sync().in_sync and sara.sync().in_sync
        figures.team_report("north", "week")
        figures.want_files("north", "week")  # a manager downloaded north's week
        for laptop, customer in ((maria, acme), (sara, bolt)):
            interactions.log_interaction(laptop.ws, customer=customer, kind="call")
            assert laptop.sync().in_sync
        north, _ = figures.team_report("north", "week")
        figures.team_report("south", "week")
        assert came.acquire(timeout=30)
        assert made == [north]  # the new report's files, not south's: nobody asked
    finally:
        figures.close()
        maria.close()
        sara.close()


def test_a_kept_list_a_minute_old_shows_while_it_is_read_anew(
    hub: HubServer, tmp_path: Path
) -> None:
    """When only time has passed, the list of the minute before is shown while one read
    brings it up to date in the background; a change reaching the Hub is read first."""
    import threading
    from datetime import timedelta

    from touchpoint.hub.console.figures import LIST_SECONDS

    moment = [hub.now()]
    figures = TeamFigures(hub.engine, lambda: moment[0], folder=tmp_path / "replica")
    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    reads: list[int] = []
    reading = threading.Event()
    go_on = threading.Event()

    def read(_ws: Any) -> int:
        reads.append(len(reads))
        if len(reads) == 2:  # the read in the background: held until the test has looked
            reading.set()
            assert go_on.wait(30)
        return len(reads)

    try:
        assert figures.kept_list(("late", "north"), read) == 1
        assert figures.kept_list(("late", "north"), read) == 1  # kept
        moment[0] += timedelta(seconds=LIST_SECONDS)
        assert figures.kept_list(("late", "north"), read) == 1  # a minute old, at once
        assert reading.wait(30)
        assert figures.kept_list(("late", "north"), read) == 1  # still, while it is read
        go_on.set()
        for _ in range(300):  # until the read in the background is kept
            if figures.kept_list(("late", "north"), read) == 2:
                break
            time.sleep(0.1)
        assert figures.kept_list(("late", "north"), read) == 2
        acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
        interactions.log_interaction(maria.ws, customer=acme, kind="call")
        assert maria.sync().in_sync
        assert figures.kept_list(("late", "north"), read) == 3  # the change: read first
        assert reads == [0, 1, 2]
    finally:
        figures.close()
        maria.close()
