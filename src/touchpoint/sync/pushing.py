"""Push: the outbox sent in batches, and each answer acknowledged in one transaction."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import MODEL_BY_ENTITY, Change
from touchpoint.storage.tracking import CONVERT
from touchpoint.storage.types import to_utc_text
from touchpoint.sync.attention import waiting_count
from touchpoint.sync.cycle import Cancelled, Stage, SyncProgress
from touchpoint.sync.protocol import PUSH_BYTES_TARGET, ChangeIn, PushRequest, PushResponse


def outbox_change(c: Any) -> ChangeIn:
    """An outbox row (a ``changes`` row of the laptop) as the push sends it."""
    return ChangeIn(
        change_id=c.change_id,
        seq=c.seq,
        tx_id=c.tx_id,
        entity=c.entity,
        record_id=c.record_id,
        op=c.op,
        fields=c.fields,
        at=to_utc_text(c.at),
        author=c.author,
        schema_version=c.schema_version,
        hub_at=to_utc_text(c.hub_at) if c.hub_at is not None else None,
        base_seq=c.base_seq,
    )


class PushStage(Stage):
    """The engine's push: what waits in the outbox goes to the Hub."""

    def _push_all(self, counts: dict[str, int]) -> None:
        total = waiting_count(self.ws)
        done = 0
        # Changes the Hub asked to wait stay in the outbox: each is sent once per pass.
        after = 0
        while True:
            if self.cancel.is_set():
                raise Cancelled
            batch = self._outbox_batch(after)
            if not batch:
                return
            after = batch[-1].seq
            answer = self._retry(lambda b=batch: self._push(b))
            self.crash_point("pushed")  # the Hub committed; this laptop does not know yet
            pushed, rejected = self._acknowledge(answer)
            self.crash_point("acknowledged")
            counts["pushed"] += pushed
            counts["rejected"] += rejected
            done += len(batch)
            self.progress(SyncProgress("push", done, max(total, done)))

    def _outbox_batch(self, after: int = 0) -> list[ChangeIn]:
        """The next changes to send, in order: at most ``batch_size``, and cut before
        :data:`PUSH_BYTES_TARGET` (a batch of long notes stays far below the Hub's
        limit on a request's size)."""
        with self.ws.read() as session:
            rows = session.scalars(
                select(Change)
                .where(Change.pushed_at.is_(None), Change.seq > after)
                .order_by(Change.seq)
                .limit(self.batch_size)
            ).all()
            batch: list[ChangeIn] = []
            size = 0
            for c in rows:
                change = outbox_change(c)
                size += len(orjson.dumps(c.fields, default=str)) + 400
                if batch and size > PUSH_BYTES_TARGET:
                    break
                batch.append(change)
            return batch

    def _push(self, batch: list[ChangeIn]) -> PushResponse:
        # The clock is read per attempt: the Hub measures this laptop's offset from it.
        return self.client.push(
            PushRequest(
                device_id=self.ws.device_id,
                client_time=to_utc_text(self.ws.now()),
                changes=batch,
            )
        )

    def _acknowledge(self, answer: PushResponse) -> tuple[int, int]:
        """Mark a batch done in one transaction. A change the Hub refused for good is done
        too (it is not retried forever): it keeps its reason in ``push_error`` for its
        author to see, and the record falls back to the Hub's values. A change the Hub
        asked to wait (a record it names has not reached the Hub) stays in the outbox
        with the reason, and is sent again at the next sync."""
        pushed = rejected = 0
        done: list[str] = []
        with self.ws.unit_of_work(origin="remote") as uow:
            s = uow.session
            now = self.ws.now()
            for result in answer.results:
                if result.status == "rejected" and result.retry:
                    rejected += 1
                    s.execute(
                        update(Change)
                        .where(Change.change_id == result.change_id, Change.pushed_at.is_(None))
                        .values(push_error=result.error or "waiting for the Hub")
                        .execution_options(synchronize_session=False)
                    )
                elif result.status == "rejected":
                    rejected += 1
                    change = s.scalars(
                        select(Change).where(Change.change_id == result.change_id)
                    ).first()
                    if change is not None and change.pushed_at is None:
                        change.pushed_at = now
                        change.push_error = result.error or "rejected by the Hub"
                        if result.current is not None:
                            self._fall_back(s, change, result.current)
                        elif change.entity == "merge" and change.op == "insert":
                            # The merge was refused: its moves fell back one by one, and
                            # its record (kept to undo it) has nothing left to undo.
                            merge = s.get(MODEL_BY_ENTITY["merge"], change.record_id)
                            if merge is not None:
                                s.delete(merge)
                else:
                    pushed += 1
                    done.append(result.change_id)
            for chunk in chunked(done):
                s.execute(
                    update(Change)
                    .where(Change.change_id.in_(chunk), Change.pushed_at.is_(None))
                    .values(pushed_at=now, push_error=None)
                    .execution_options(synchronize_session=False)
                )
            self.crash_point("acknowledging")
            uow.commit()
        return pushed, rejected

    def _fall_back(self, s: Session, change: Change, current: dict[str, Any]) -> None:
        model = MODEL_BY_ENTITY.get(change.entity)
        record = s.get(model, change.record_id) if model else None
        if record is None:
            return
        convert = CONVERT[change.entity]
        for name in change.fields:
            if name in convert:
                setattr(record, name, convert[name](current.get(name)))
