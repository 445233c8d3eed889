"""Writing a planned import in one transaction: batches on the bulk-load thread, then the report."""

from __future__ import annotations

import queue
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.collector import collector_paused
from touchpoint.domain.enums import CustomFieldType
from touchpoint.services.customers import (
    apply_contact_edit,
    apply_customer_edit,
    custom_definitions,
)
from touchpoint.services.importing.cleaning import _Cleaner, _CustomerKey, _Plan, _Planned, _Update
from touchpoint.services.importing.duplicates import _duplicate_inputs, _find_duplicates, _Found
from touchpoint.services.importing.planning import Cancel, PlanRows, Progress, Sink, _check_cancel
from touchpoint.services.importing.reports import ImportReport, RowDuplicate
from touchpoint.storage.bulk_write import NewRows, bulk_write
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Contact, Customer, CustomFieldDef, new_ids
from touchpoint.storage.workspace import Changes, Workspace

BATCH_ROWS = 2000  # rows added and flushed together: big enough to be fast, small enough to cancel
# Rows handed to the bulk-load thread early, when it has written all it was given: it
# starts soon after the first rows are planned, and what is left for it once the last
# row is planned is small; while it is busy, rows gather up to BATCH_ROWS.
EARLY_ROWS = 250


def _define_custom_fields(session: Session, plan: _Plan, known: set[str]) -> None:
    """Define the custom fields the rows use that are not defined here: as the file's
    header declares them (our own export), else as text (a mapping's custom.KEY)."""
    keys: dict[str, None] = {}
    customs = [item.customer.get("custom") for item in plan.planned if item.customer is not None]
    customs += [u.fields.get("custom") for u in plan.updates if isinstance(u.record, Customer)]
    for custom in customs:
        for key in custom or {}:
            if key not in known:
                keys[key] = None
    for key in keys:
        label, kind, choices = plan.declared.get(key, (key, CustomFieldType.TEXT, []))
        session.add(CustomFieldDef(key=key, label=label, type=kind, choices=choices))
    if keys:
        session.flush()


def _apply_updates(session: Session, ws: Workspace, updates: Sequence[_Update]) -> None:
    """Each update is an edit as the window or `customer edit` makes it, in this import's
    unit of work: cleaned again and written to the change log."""
    defs = custom_definitions(session)
    for update in updates:
        if isinstance(update.record, Customer):
            apply_customer_edit(
                session,
                update.record,
                update.fields,
                region=ws.settings.default_region,
                custom_defs=defs,
            )
        else:
            apply_contact_edit(
                session, update.record, update.fields, region=ws.settings.default_region
            )
    session.flush()


class _Writer:
    """Writes the planned rows in batches through the storage's bulk write, in the
    import's transaction, on its thread (which writes and indexes one batch while this
    thread builds the next); the cyclic collector waits meanwhile.

    Rows may be given while the file is still being checked (:meth:`add`), so SQLite
    works beside the checking; :meth:`finish` writes the rest once the plan is whole."""

    def __init__(self, session: Session, cancel: Cancel | None) -> None:
        self._session = session
        self._cancel = cancel
        self._stack = ExitStack()
        self._bulk = self._stack.enter_context(bulk_write(session))
        self._batch: list[_Planned] = []
        self._customer_ids: dict[_CustomerKey, str] = {}
        self.received = 0  # planned rows given so far
        self.customers = 0
        self.contacts = 0
        self._done = 0  # planned rows written
        self._written: Callable[[int], None] | None = None

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        # Ends the bulk load: on an error, queued work is dropped and the error goes on.
        self._stack.__exit__(*exc)  # type: ignore[arg-type]

    def add(self, item: _Planned) -> None:
        self.received += 1
        self._batch.append(item)
        size = len(self._batch)
        if size >= BATCH_ROWS or (size % EARLY_ROWS == 0 and not self._bulk.busy):
            self._flush()

    def finish(self, plan: _Plan, progress: Progress | None) -> tuple[int, int]:
        """Write what was not given while checking; (customers, contacts) created.
        ``progress`` goes on from the checking's half: (rows + written share, 2 rows)."""
        if progress and plan.planned:
            share = plan.rows / len(plan.planned)
            self._written = lambda n: progress(plan.rows + int(n * share), 2 * plan.rows)
        for item in plan.planned[self.received :]:
            self.add(item)
        self._flush()
        self._stack.close()  # the bulk load ends: the last batches are indexed
        if progress:
            progress(2 * plan.rows, 2 * plan.rows)
        return self.customers, self.contacts

    def _flush(self) -> None:
        if not self._batch:
            return
        _check_cancel(self._cancel)
        # Plain column values: the bulk write builds no ORM instance for them.
        customers = NewRows(Customer)
        contacts = NewRows(Contact)
        customer_ids = self._customer_ids
        batch = self._batch
        # The new ids made at once, in the order they are taken (see new_ids).
        fresh = iter(
            new_ids(
                sum(1 for item in batch if item.customer is not None and not item.customer_id)
                + sum(1 for item in batch if item.contact is not None and not item.contact_id)
            )
        )
        for item in batch:
            if item.customer is not None:
                customer_id = item.customer_id or next(fresh)
                customer_ids[item.customer_key] = customer_id
                customers.append({**item.customer, "id": customer_id})
            if item.contact is not None:
                customer_id = customer_ids.get(item.customer_key) or item.customer_key.value
                contact_id = item.contact_id or next(fresh)
                contacts.append({**item.contact, "id": contact_id, "customer_id": customer_id})
        self.customers += len(customers)
        self.contacts += len(contacts)
        self._done += len(self._batch)
        self._batch = []
        # Customers first: the contacts' foreign key needs them.
        self._bulk.records(customers, contacts)
        if self._written is not None:
            self._written(self._done)


def _check_rows(
    ws: Workspace,
    session: Session,
    planned_rows: PlanRows,
    cancel: Cancel | None,
    sink: Sink | None = None,
) -> tuple[_Plan, set[str]]:
    """(the plan, known custom field keys)."""
    defs = custom_definitions(session)
    if sink is None:
        plan = planned_rows(session, _Cleaner(ws, dict(defs)), sink)
    else:
        # The rows are planned on a read of their own while the planned ones are being
        # written on the session's connection. The write transaction has begun (above):
        # no other writer commits before it does, so the read sees what it sees.
        with ws.read() as reader:
            plan = planned_rows(reader, _Cleaner(ws, dict(defs)), sink)
    _check_cancel(cancel)
    return plan, set(defs)


def _in_session(session: Session, updates: Sequence[_Update]) -> list[_Update]:
    """The updates with their records as ``session``'s own (the plan read them on a
    session of its own): the same rows, unchanged since (the import only added rows)."""
    wanted: dict[type, set[str]] = defaultdict(set)
    for update in updates:
        wanted[type(update.record)].add(update.record.id)
    found: dict[tuple[type, str], Customer | Contact] = {}
    for model, ids in wanted.items():
        for chunk in chunked(sorted(ids)):
            for record in session.scalars(select(model).where(model.id.in_(chunk))):
                found[(model, record.id)] = record
    return [_Update(u.row, found[(type(u.record), u.record.id)], u.fields) for u in updates]


DUPLICATE_ROWS = 500  # planned rows looked for as duplicates at a time


class _Duplicates:
    """The planned rows' likely duplicates, looked for on a thread of its own, a part of
    the plan at a time while the rest is planned and written: its queries run beside
    them (SQLite lets go of Python's lock), and only the last part is left when the
    plan is whole. Its read sees the database as it was before the import: the import
    holds the write lock and commits only after the answer is in."""

    def __init__(self, ws: Workspace, pool: ThreadPoolExecutor) -> None:
        self._ws = ws
        self._pool = pool
        self._parts: queue.Queue[list[tuple[int, str, dict[str, Any]]] | bool] = queue.Queue()
        self._looking: Future[list[RowDuplicate]] | None = None
        self._batch: list[_Planned] = []
        self._given = 0

    def __enter__(self) -> _Duplicates:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._looking is not None and not self._looking.done():
            self._parts.put(False)  # an error: the thread stops without an answer

    def add(self, item: _Planned) -> None:
        self._batch.append(item)
        if len(self._batch) >= DUPLICATE_ROWS:
            self._send()

    def _send(self) -> None:
        if not self._batch:
            return
        if self._looking is None:  # begun once the import's write has: it reads as that
            self._looking = self._pool.submit(self._look, self._ws, self._parts)
        self._given += len(self._batch)
        self._parts.put(_duplicate_inputs(self._batch))
        self._batch = []

    def result(self, plan: _Plan) -> list[RowDuplicate]:
        """The duplicates of every planned row (those not given yet are given now)."""
        self._batch += plan.planned[self._given + len(self._batch) :]
        self._send()
        if self._looking is None:
            return []
        self._parts.put(True)
        return self._looking.result()

    @staticmethod
    def _look(
        ws: Workspace, parts: queue.Queue[list[tuple[int, str, dict[str, Any]]] | bool]
    ) -> list[RowDuplicate]:
        found = _Found()
        with ws.read() as session:
            while not isinstance(part := parts.get(), bool):
                found.add(session, part)
        return found.duplicates if part else []


def _run_import(
    ws: Workspace,
    planned_rows: PlanRows,
    *,
    dry_run: bool,
    progress: Progress | None,
    cancel: Cancel | None,
) -> ImportReport:
    """Check every row and the duplicates, then (unless a dry run) write everything in
    one unit of work. A dry run only reads: it never takes the write lock."""
    if dry_run:
        with collector_paused(), ws.read() as session:
            plan, _known = _check_rows(ws, session, planned_rows, cancel)
            duplicates = _find_duplicates(session, _duplicate_inputs(plan.planned))
        if progress:
            progress(2 * plan.rows, 2 * plan.rows)
        customers = sum(1 for p in plan.planned if p.customer is not None)
        contacts = sum(1 for p in plan.planned if p.contact is not None)
        return _report(plan, (customers, contacts), duplicates, dry_run=True)
    # The collector waits from the first row checked to the commit: the duplicates are
    # still being looked for (allocating) when the last row is written, and a collection
    # then would walk every object the import holds, the plan and the report's rows.
    with (
        collector_paused(),
        ws.unit_of_work() as uow,
        _Writer(uow.session, cancel) as writer,
        ThreadPoolExecutor(1, thread_name_prefix="import-duplicates") as pool,
        _Duplicates(ws, pool) as looking,
    ):

        def planned(item: _Planned) -> None:
            writer.add(item)
            looking.add(item)

        plan, known = _check_rows(ws, uow.session, planned_rows, cancel, planned)
        if not plan.planned and not plan.updates:
            if progress:
                progress(2 * plan.rows, 2 * plan.rows)
            return _report(plan, (0, 0), [], dry_run=False)
        made = writer.finish(plan, progress)
        # After the bulk load: the connection is this thread's again.
        _define_custom_fields(uow.session, plan, known)
        _apply_updates(uow.session, ws, _in_session(uow.session, plan.updates))
        _check_cancel(cancel)
        duplicates = looking.result(plan)
        uow.commit()
        return _report(plan, made, duplicates, dry_run=False, changes=Changes.of(uow))


def _report(
    plan: _Plan,
    made: tuple[int, int],
    duplicates: list[RowDuplicate],
    *,
    dry_run: bool,
    changes: Changes | None = None,
) -> ImportReport:
    return ImportReport(
        plan.rows,
        made[0],
        made[1],
        len(plan.updates),
        plan.errors,
        duplicates,
        dry_run,
        changes is not None,
        changes or Changes(),
        joined=plan.joined,
        unchanged=plan.unchanged,
        skipped=len({e.row for e in plan.errors}),
        notices=plan.notices,
        columns=plan.columns,
        layout=plan.layout,
        mapping=plan.mapping,
        mapping_from=plan.mapping_from,
        unmatched=plan.unmatched,
        row_changes=plan.row_changes,
    )
