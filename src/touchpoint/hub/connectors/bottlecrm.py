"""The BottleCRM connector (django-crm 1.35): its accounts and contacts into Touchpoint,
Touchpoint's interactions and follow-ups into BottleCRM's interactions and tasks.

BottleCRM has no changes-since feed, no ETags, no tombstones and no idempotency keys, so
each run lists every account and contact (paged), compares each with the fingerprint the
id map holds of what was last exchanged, and takes an id that is no longer listed as a
delete (only after a listing that finished: a failed page never reads as deletes). A
create is written to the id map as "creating" before it is sent; a run that finds one
looks for the record on BottleCRM's side (an account by its unique name, an interaction
or a task by the marker its text carries) before creating it again.

Which side wins each field is :data:`FIELD_RULES` (docs/connectors.md says it in words).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine

from touchpoint.hub.connectors.core import (
    Connector,
    HubSide,
    Link,
    fingerprint,
    now_text,
    read_token,
    stable_id,
)
from touchpoint.hub.exchange import Rejected
from touchpoint.sync.protocol import ChangeIn

# Who wins each field. "both": sent both ways, BottleCRM wins when both sides changed it
# since the last exchange; "bottlecrm" / "touchpoint": only that side writes it, the
# other side's edits are not carried across (and the next change from the owner wins).
FIELD_RULES: dict[str, dict[str, str]] = {
    "customer": {
        "name": "both",
        "emails (first)": "both",
        "phones (first)": "both",
        "website": "both",
        "addresses (first: street, city, region, postcode)": "both",
        "industry": "bottlecrm",
        "every other field": "touchpoint",
        "existence (create, delete)": "both",
    },
    "contact": {
        "name, title, emails (first), phones (first), do_not_contact": "bottlecrm",
        "existence (create, delete)": "bottlecrm",
        "every other field": "touchpoint",
    },
    "interaction": {"every field, create, edit, delete": "touchpoint"},
    "followup": {"title, notes, due date, priority, status, create, edit, delete": "touchpoint"},
}

PAGE = 100
# New interactions sent at a time: BottleCRM (gunicorn threads) works on several at once.
SENDERS = 4
LOG_PAGE = 1000
PUSH_BATCH = 500
# Touchpoint's interaction kinds in BottleCRM's (which has no visit and no note: both are
# meetings there; the marker line keeps the Touchpoint kind).
KIND_OUT = {
    "call": "call",
    "visit": "meeting",
    "meeting": "meeting",
    "email": "email",
    "message": "sms",
    "note": "meeting",
}
PRIORITY_OUT = {"low": "Low", "normal": "Medium", "high": "High"}
STATUS_OUT = {"open": "New", "done": "Completed", "cancelled": "Completed"}


class BottleCRMError(Exception):
    """A request BottleCRM did not carry out. ``transient``: it may work later (BottleCRM
    down, slow, or overloaded); otherwise it refused, and says why in ``reason``."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"BottleCRM answered {response.status_code}"
    detail = body.get("errors") or body.get("detail") or body.get("message") or body
    return f"BottleCRM refused it ({response.status_code}): {str(detail)[:500]}"


class Client:
    """BottleCRM's REST API with a personal access token: timeouts, and retries with
    backoff for what may work later (no answer, 5xx, 429)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = httpx.Client(
            base_url=f"{url}/api/",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(20.0, connect=5.0),
            transport=transport,
        )
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            self.requests += 1
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                last = f"BottleCRM did not answer ({type(exc).__name__})"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = f"BottleCRM answered {response.status_code}"
                continue
            if response.status_code in (401, 403):
                raise BottleCRMError(
                    f"BottleCRM refused the token ({response.status_code}): check the "
                    "connector's token file",
                    transient=True,
                )
            return response
        raise BottleCRMError(f"{last}, {self.attempts} tries", transient=True)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        if response.status_code >= 400:
            raise BottleCRMError(_reason(response), transient=False)
        return response.json() if response.content else None

    # --- reading --------------------------------------------------------------------------
    def accounts(self) -> list[dict[str, Any]]:
        """Every account (active and inactive), page by page."""
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            body = self.ok("GET", "accounts/", params={"limit": PAGE, "offset": offset})
            active = body["active_accounts"]["open_accounts"]
            inactive = body["closed_accounts"]["close_accounts"]
            for a in [*active, *inactive]:
                found[a["id"]] = a
            if len(active) < PAGE and len(inactive) < PAGE:
                return list(found.values())
            offset += PAGE

    def contacts(self) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            body = self.ok("GET", "contacts/", params={"limit": PAGE, "offset": offset})
            page = body["results"]
            for c in page:
                found[c["id"]] = c
            if len(page) < PAGE:
                return list(found.values())
            offset += PAGE

    def interactions_of(self, account_id: str) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            body = self.ok(
                "GET",
                "interactions/",
                params={"account": account_id, "limit": 200, "offset": offset},
            )
            yield from body["interactions"]
            if len(body["interactions"]) < 200:
                return
            offset += 200

    def tasks_titled(self, account_id: str, title: str) -> list[dict[str, Any]]:
        body = self.ok(
            "GET",
            "tasks/",
            params={"account": account_id, "title": title, "limit": 200, "slim": "true"},
        )
        return list(body["tasks"])


# --- mapping ------------------------------------------------------------------------------
def _s(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _first(items: Any) -> dict[str, Any]:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


ACCOUNT_FIELDS = ("name", "email", "phone", "website", "address_line", "city", "state", "postcode")


def account_values(account: dict[str, Any]) -> dict[str, str]:
    """The account's fields this connector carries, as BottleCRM holds them."""
    return {k: _s(account.get(k)) for k in (*ACCOUNT_FIELDS, "industry")}


def customer_values(data: dict[str, Any]) -> dict[str, str]:
    """A customer's fields as BottleCRM would hold them (only the first email, phone and
    address have a place there)."""
    address = _first(data.get("addresses"))
    return {
        "name": _s(data.get("name")),
        "email": _s(_first(data.get("emails")).get("value")),
        "phone": _s(_first(data.get("phones")).get("value")),
        "website": _s(data.get("website")),
        "address_line": _s(address.get("street")),
        "city": _s(address.get("city")),
        "state": _s(address.get("region")),
        "postcode": _s(address.get("postcode")),
        "industry": _s(data.get("industry")),
    }


def _with_first(items: Any, value: str, label: str) -> list[dict[str, Any]]:
    """``items`` with its first entry's value set to ``value`` (added, or removed when
    empty); the other entries kept as they are."""
    rest = [dict(i) for i in items] if isinstance(items, list) else []
    if not value:
        return rest[1:]
    if rest:
        rest[0]["value"] = value
        return rest
    return [{"label": label, "value": value}]


def customer_fields(account: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """The Touchpoint values of a customer that carry this account's values."""
    v = account_values(account)
    data = current or {}
    out: dict[str, Any] = {
        "name": v["name"] or "(no name in BottleCRM)",
        "website": v["website"] or None,
        "industry": _s(account.get("industry")) or None,
    }
    if v["email"] != customer_values(data)["email"]:
        out["emails"] = _with_first(data.get("emails"), v["email"], "work")
    if v["phone"] != customer_values(data)["phone"]:
        out["phones"] = _with_first(data.get("phones"), v["phone"], "work")
    place = {
        "street": v["address_line"],
        "city": v["city"],
        "region": v["state"],
        "postcode": v["postcode"],
    }
    old_addresses = data.get("addresses") if isinstance(data.get("addresses"), list) else []
    first = _first(old_addresses)
    if any(_s(first.get(k)) != place[k] for k in place):
        if any(place.values()):
            merged = {"label": first.get("label") or "main", **first, **place}
            out["addresses"] = [merged, *old_addresses[1:]]
        else:
            out["addresses"] = list(old_addresses[1:])
    return out


def contact_fields(
    contact: dict[str, Any], customer_id: str, current: dict[str, Any] | None
) -> dict[str, Any]:
    """The Touchpoint values of a contact that carry this BottleCRM contact's values."""
    data = current or {}
    name = f"{_s(contact.get('first_name'))} {_s(contact.get('last_name'))}".strip()
    out: dict[str, Any] = {
        "customer_id": customer_id,
        "name": name or "(no name in BottleCRM)",
        "title": _s(contact.get("title")) or None,
        "do_not_contact": bool(contact.get("do_not_call")),
    }
    if _s(contact.get("email")) != _s(_first(data.get("emails")).get("value")):
        out["emails"] = _with_first(data.get("emails"), _s(contact.get("email")), "work")
    if _s(contact.get("phone")) != _s(_first(data.get("phones")).get("value")):
        out["phones"] = _with_first(data.get("phones"), _s(contact.get("phone")), "work")
    return out


def marker(entity: str, record_id: str) -> str:
    """The line a record written into BottleCRM carries, to find it again after a crash
    (BottleCRM keeps no idempotency key of its own)."""
    return f"[Touchpoint {entity} {record_id}]"


_MARKED = re.compile(r"\[Touchpoint interaction ([0-9a-f-]{36})\]")


def interaction_payload(data: dict[str, Any], record_id: str, account_id: str) -> dict[str, Any]:
    kind = _s(data.get("kind")) or "note"
    lines = [_s(data.get("notes"))]
    if data.get("outcome"):
        lines.append(f"Outcome: {data['outcome']}")
    if data.get("satisfaction") is not None:
        lines.append(f"Satisfaction: {data['satisfaction']}/5")
    if data.get("feedback"):
        lines.append(f"In the customer's words: {data['feedback']}")
    lines.append(f"{marker('interaction', record_id)} {kind} by {_s(data.get('rep'))}")
    body = "\n".join(line for line in lines if line)[-10_000:]
    payload: dict[str, Any] = {
        "kind": KIND_OUT.get(kind, "meeting"),
        "subject": (_s(data.get("subject")) or kind.capitalize())[:200],
        "body": body,
        "account": account_id,
    }
    if data.get("occurred_at"):
        # BottleCRM refuses a time more than five minutes ahead of its own clock.
        payload["occurred_at"] = min(str(data["occurred_at"]), now_text())
    if data.get("direction") in ("inbound", "outbound"):
        payload["direction"] = data["direction"]
    if isinstance(data.get("duration_minutes"), int):
        payload["duration_seconds"] = data["duration_minutes"] * 60
    return payload


def task_payload(data: dict[str, Any], record_id: str, account_id: str) -> dict[str, Any]:
    notes = _s(data.get("notes"))
    return {
        "title": (_s(data.get("title")) or "Follow-up")[:200],
        "description": f"{notes}\n{marker('followup', record_id)}".strip(),
        "due_date": str(data.get("due_at") or "")[:10] or None,
        "priority": PRIORITY_OUT.get(_s(data.get("priority")), "Medium"),
        "status": STATUS_OUT.get(_s(data.get("status")), "New"),
        "account": account_id,
    }


# --- one run ------------------------------------------------------------------------------
@dataclass
class RunResult:
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    @property
    def ok(self) -> bool:
        return not self.errors


class BottleCRMConnector:
    """One connector: :meth:`run` is one pass both ways."""

    def __init__(
        self,
        engine: Engine,
        connector: Connector,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_sent: Callable[[int], None] | None = None,  # tests: kill the run at a write
    ) -> None:
        self.hub = HubSide(engine, connector)
        self.c = connector
        self.client = Client(
            connector.url, read_token(connector.token_file), transport=transport, sleep=sleep
        )
        self.on_sent = on_sent
        self._ticks = threading.Lock()
        # This run's view of the id map (outbound): read once, written in batches.
        self._links: dict[str, dict[str, Link]] = {}
        self._dirty: list[Link] = []
        self._claimed: set[tuple[str, str]] = set()
        self._markers: dict[str, dict[str, str]] = {}
        self.sent = 0

    def close(self) -> None:
        self.client.close()

    def run(self) -> RunResult:
        result = RunResult()
        try:
            self._inbound(result)
        except BottleCRMError as exc:
            result.errors.append(f"reading BottleCRM: {exc.reason}")
        except Rejected as exc:  # the connector's Hub account disabled
            result.errors.append(f"writing to the Hub: {exc}")
            self.hub.finish(ok=False, error=result.errors[0], counts=result.counts)
            return result
        self._outbound(result)
        error = "; ".join(result.errors) or None
        self.hub.finish(ok=result.ok, error=error, counts=result.counts)
        return result

    # --- BottleCRM -> Touchpoint ------------------------------------------------------------
    def _inbound(self, result: RunResult) -> None:
        accounts = self.client.accounts()
        contacts = self.client.contacts()
        customer_ids = self._take_in(
            "customer",
            accounts,
            customer_fields,
            account_values,
            result,
        )

        def contact_values(c: dict[str, Any]) -> dict[str, Any]:
            return {
                k: _s(c.get(k))
                for k in ("first_name", "last_name", "title", "email", "phone", "account")
            } | {"do_not_call": bool(c.get("do_not_call"))}

        def contact_in(c: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any] | None:
            customer_id = customer_ids.get(_s(c.get("account")))
            return None if customer_id is None else contact_fields(c, customer_id, current)

        self._take_in("contact", contacts, contact_in, contact_values, result)

    def _take_in(
        self,
        entity: str,
        remote: list[dict[str, Any]],
        to_fields: Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any] | None],
        values: Callable[[dict[str, Any]], dict[str, Any]],
        result: RunResult,
    ) -> dict[str, str]:
        """Push what changed in BottleCRM into the Hub; returns remote id -> record id."""
        links = self.hub.links(entity)
        by_remote = {ln.remote_id: ln for ln in links.values() if ln.remote_id}
        # A customer whose account a killed run made, not yet in the id map: it is the
        # account of that name (names are unique in BottleCRM), not a new customer.
        creating = [ln.record_id for ln in links.values() if ln.state == "creating"]
        named = {
            _s(d.get("name")).lower(): rid
            for rid, d in self.hub.records_of(entity, creating).items()
        }
        ids = [
            by_remote[r["id"]].record_id
            if r["id"] in by_remote
            else named.get(_s(r.get("name")).lower())
            or stable_id("in", self.c.name, entity, r["id"])
            for r in remote
        ]
        current = self.hub.records_of(entity, ids)
        mapping: dict[str, str] = {}
        pending: list[tuple[ChangeIn, Link, str]] = []
        quiet: list[Link] = []  # the Hub already holds these values: only the map changes
        for r, record_id in zip(remote, ids, strict=True):
            link = by_remote.get(r["id"])
            if link is not None and link.state == "deleted":
                continue
            mapping[r["id"]] = record_id
            fp = fingerprint(values(r))
            if link is not None and link.state == "linked" and link.fingerprint == fp:
                continue
            data = current.get(record_id)
            if data is not None and data.get("deleted_at"):
                continue  # deleted in Touchpoint: the delete goes out, not this back in
            fields = to_fields(r, data)
            if fields is None:
                result.add(f"{entity} skipped (no customer)")
                mapping.pop(r["id"], None)
                continue
            if data is None and entity == "customer":
                fields["kind"] = "organisation"
                fields["status"] = "active" if r.get("is_active", True) else "former"
            old = data or {}
            changed = {k: [old.get(k), v] for k, v in fields.items() if old.get(k) != v}
            version = (link.version if link else 0) + 1
            new_link = Link(entity, record_id, r["id"], "linked", fp, version)
            if not changed:
                quiet.append(new_link)
                continue
            change = self.hub.change(
                entity,
                record_id,
                "insert" if data is None else "update",
                changed,
                change_id=stable_id("in", self.c.name, entity, record_id, str(version), fp),
            )
            pending.append((change, new_link, r["id"]))
        listed = {r["id"] for r in remote}
        for link in links.values():
            if link.state == "linked" and link.remote_id and link.remote_id not in listed:
                # Gone from a complete listing: deleted in BottleCRM.
                data = self.hub.records_of(entity, [link.record_id]).get(link.record_id)
                gone = Link(entity, link.record_id, link.remote_id, "deleted", None, link.version)
                if data is None or data.get("deleted_at"):
                    quiet.append(gone)
                    continue
                change = self.hub.change(
                    entity,
                    link.record_id,
                    "delete",
                    {"deleted_at": [None, now_text()]},
                    change_id=stable_id(
                        "in-delete", self.c.name, entity, link.record_id, link.remote_id
                    ),
                )
                pending.append((change, gone, link.remote_id))
        self.hub.save_links(quiet)
        for i in range(0, len(pending), PUSH_BATCH):
            chunk = pending[i : i + PUSH_BATCH]
            answers = self.hub.push([c for c, _, _ in chunk])
            # Pushed first, mapped after: a kill between the two pushes the same change
            # ids again, and the Hub answers "duplicate".
            taken = [
                link
                for (_c, link, _r), answer in zip(chunk, answers, strict=True)
                if answer.status in ("applied", "duplicate")
            ]
            self.hub.save_links(taken)
            delivered = [
                remote_id
                for (_c, _l, remote_id), answer in zip(chunk, answers, strict=True)
                if answer.status in ("applied", "duplicate")
            ]
            self.hub.clear_failures("in", entity, delivered)
            for (change, _link, remote_id), answer in zip(chunk, answers, strict=True):
                if answer.status in ("applied", "duplicate"):
                    result.add(f"{entity} {'deleted' if change.op == 'delete' else 'in'}")
                else:
                    self.hub.fail("in", entity, remote_id, answer.error or "refused by the Hub")
                    result.add(f"{entity} refused")
        return mapping

    # --- Touchpoint -> BottleCRM ------------------------------------------------------------
    def _outbound(self, result: RunResult) -> None:
        order = ("customer", "interaction", "followup")
        retry = [(e, r) for e, r in self.hub.pending_failures("out") if e in order]
        self._send_all(retry, result)
        after = self.hub.cursor()
        while True:
            rows = self.hub.changed_after(after, order, LOG_PAGE)
            if not rows:
                return
            seen: dict[tuple[str, str], None] = {}
            for row in rows:
                seen[(row.entity, row.record_id)] = None
            todo = sorted(seen, key=lambda k: order.index(k[0]))
            self._send_all(todo, result)
            # Every record of the page is in BottleCRM or in the failures: move on.
            after = rows[-1].server_seq
            self.hub.set_cursor(after)
            if len(rows) < LOG_PAGE:
                return

    def _send_all(self, todo: list[tuple[str, str]], result: RunResult) -> None:
        by_entity: dict[str, list[str]] = {}
        for entity, record_id in todo:
            by_entity.setdefault(entity, []).append(record_id)
        data = {e: self.hub.records_of(e, ids) for e, ids in by_entity.items()}
        # Every new interaction and follow-up is marked "creating" in one transaction
        # before any is sent: a kill after BottleCRM made one leaves its mark, and the
        # next run looks for it there before making it again.
        claims = [
            Link(entity, record_id, None, "creating", None, 0)
            for entity, record_id in todo
            if entity != "customer"
            and self._link(entity, record_id) is None
            and not (data[entity].get(record_id) or {"deleted_at": True}).get("deleted_at")
        ]
        self.hub.save_links(claims)
        for link in claims:
            self._links[link.entity][link.record_id] = link
            self._claimed.add((link.entity, link.record_id))
        try:
            self._send_each(todo, data, result)
        finally:
            self._flush()

    def _send_each(
        self, todo: list[tuple[str, str]], data: dict[str, dict[str, Any]], result: RunResult
    ) -> None:
        down, down_reason = False, ""
        fresh = self._fresh_interactions(todo, data)
        for entity, record_id in todo:
            record = data[entity].get(record_id)
            if record is None or (entity, record_id) in fresh:
                continue  # not this connector's team, or sent below
            if down:
                # BottleCRM stopped answering in this run: the rest waits, counted once.
                self.hub.fail("out", entity, record_id, down_reason)
                result.add(f"{entity} waiting")
                continue
            try:
                what = self._send(entity, record_id, record)
            except BottleCRMError as exc:
                dead = self.hub.fail("out", entity, record_id, exc.reason)
                result.add(f"{entity} {'dead' if dead else 'waiting'}")
                if exc.transient:
                    down, down_reason = True, exc.reason
                    result.errors.append(exc.reason)
                continue
            if what:
                result.add(f"{entity} {what}")
        self._create_interactions(fresh, data, result, down_reason if down else None)

    def _fresh_interactions(
        self, todo: list[tuple[str, str]], data: dict[str, dict[str, Any]]
    ) -> dict[tuple[str, str], str]:
        """New interactions (marked "creating" by this run) of customers already in
        BottleCRM, with their account: sent several at a time."""
        fresh = {}
        for key in todo:
            record = data[key[0]].get(key[1])
            if key[0] != "interaction" or key not in self._claimed or record is None:
                continue
            account = self._link("customer", record.get("customer_id") or "")
            if not record.get("deleted_at") and account and account.state == "linked":
                fresh[key] = str(account.remote_id)
        return fresh

    def _create_interactions(
        self,
        fresh: dict[tuple[str, str], str],
        data: dict[str, dict[str, Any]],
        result: RunResult,
        down_reason: str | None,
    ) -> None:
        """Create these interactions with SENDERS requests at a time (BottleCRM answers
        several at once); the id map is written by this thread alone, in batches."""
        stop = threading.Event()
        if down_reason is not None:
            stop.set()

        def one(key: tuple[str, str]) -> tuple[str | None, str | None, BottleCRMError | None]:
            if stop.is_set():
                return None, None, None
            payload = interaction_payload(data[key[0]][key[1]], key[1], fresh[key])
            try:
                remote_id = str(self.client.ok("POST", "interactions/", json=payload)["id"])
            except BottleCRMError as exc:
                if exc.transient:
                    stop.set()
                return None, None, exc
            self._tick()
            return remote_id, fingerprint(payload), None

        with ThreadPoolExecutor(SENDERS) as pool:
            for key, (remote_id, fp, exc) in zip(fresh, pool.map(one, fresh), strict=True):
                if remote_id is not None:
                    self._keep(Link(key[0], key[1], remote_id, "linked", fp, 1))
                    result.add("interaction created")
                    continue
                reason = exc.reason if exc else (down_reason or "BottleCRM stopped answering")
                dead = self.hub.fail("out", key[0], key[1], reason)
                result.add(f"interaction {'dead' if dead else 'waiting'}")
                if exc is not None and exc.transient:
                    down_reason = reason
                    result.errors.append(reason)

    def _link(self, entity: str, record_id: str) -> Link | None:
        if entity not in self._links:
            self._links[entity] = self.hub.links(entity)
        return self._links[entity].get(record_id)

    def _keep(self, link: Link, *, now: bool = False) -> None:
        """Note an id-map row; written with the next batch (``now``: at once)."""
        self._link(link.entity, link.record_id)
        self._links[link.entity][link.record_id] = link
        self._dirty.append(link)
        if now or len(self._dirty) >= 50:
            self._flush()

    def _flush(self) -> None:
        self.hub.save_links(self._dirty)
        self._dirty = []

    def _tick(self) -> None:
        """One write made in BottleCRM and not yet in the id map: where a kill hurts."""
        with self._ticks:
            self.sent += 1
            sent = self.sent
        if self.on_sent is not None:
            self.on_sent(sent)

    def _account_of(self, customer_id: str) -> str:
        link = self._link("customer", customer_id)
        if link is None or link.state != "linked":
            record = self.hub.records_of("customer", [customer_id]).get(customer_id)
            if record is None or record.get("deleted_at"):
                raise BottleCRMError(
                    f"customer {customer_id} is not on the Hub or deleted", transient=False
                )
            self._send("customer", customer_id, record)
            link = self._link("customer", customer_id)
        assert link is not None and link.remote_id
        return link.remote_id

    def _send(self, entity: str, record_id: str, data: dict[str, Any]) -> str | None:
        """Bring BottleCRM up to this record; what was done, or None when nothing was."""
        link = self._link(entity, record_id)
        kind = {"customer": "accounts", "interaction": "interactions", "followup": "tasks"}[entity]
        if data.get("deleted_at"):
            if link is None or link.state == "deleted":
                return None
            remote_id = link.remote_id or self._find(entity, record_id, data, link)
            if remote_id:
                response = self.client.call("DELETE", f"{kind}/{remote_id}/")
                if response.status_code >= 400 and response.status_code != 404:
                    raise BottleCRMError(_reason(response), transient=False)
                self._tick()
            self._keep(Link(entity, record_id, remote_id, "deleted", None, link.version))
            return "deleted"
        if entity == "customer":
            payload: dict[str, Any] = customer_values(data)
            fp = fingerprint(payload)
        else:
            account = self._account_of(data["customer_id"])
            build = interaction_payload if entity == "interaction" else task_payload
            payload = build(data, record_id, account)
            fp = fingerprint(payload)
        if link is not None and link.state == "linked":
            if link.fingerprint == fp:
                return None
            self._update(entity, link.remote_id or "", payload)
            self._tick()
            self._keep(Link(entity, record_id, link.remote_id, "linked", fp, link.version + 1))
            return "updated"
        remote_id = None
        claimed = (entity, record_id) in self._claimed
        if (link is not None and link.state == "creating" and not claimed) or entity == "customer":
            remote_id = self._find(entity, record_id, data, link)
        if remote_id is None:
            if not claimed:
                self._keep(Link(entity, record_id, None, "creating", None, 0), now=True)
            remote_id = self._create(entity, record_id, payload)
            self._tick()
            what = "created"
        else:
            if entity == "customer":
                self._update(entity, remote_id, payload)
            what = "linked"
        self._keep(Link(entity, record_id, remote_id, "linked", fp, 1))
        return what

    def _body(self, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
        if entity != "customer":
            return payload
        # Industry is BottleCRM's (a fixed list there): never sent.
        body = {k: (v or None) for k, v in payload.items() if k != "industry"}
        body["name"] = payload["name"] or "(no name)"
        return body

    def _create(self, entity: str, record_id: str, payload: dict[str, Any]) -> str:
        if entity == "customer":
            return str(self.client.ok("POST", "accounts/", json=self._body(entity, payload))["id"])
        if entity == "interaction":
            return str(self.client.ok("POST", "interactions/", json=payload)["id"])
        self.client.ok("POST", "tasks/", json=payload)  # answers without the new id
        found = self._find_task(record_id, payload)
        if found is None:
            raise BottleCRMError("BottleCRM made the task but does not list it", transient=True)
        return found

    def _update(self, entity: str, remote_id: str, payload: dict[str, Any]) -> None:
        if entity == "customer":
            self.client.ok("PUT", f"accounts/{remote_id}/", json=self._body(entity, payload))
        elif entity == "interaction":
            body = {k: v for k, v in payload.items() if k not in ("account", "kind")}
            self.client.ok("PATCH", f"interactions/{remote_id}/", json=body)
        else:
            self.client.ok("PUT", f"tasks/{remote_id}/", json=payload)

    def _find(
        self, entity: str, record_id: str, data: dict[str, Any], link: Link | None
    ) -> str | None:
        """The BottleCRM record a create of this record may already have made."""
        if entity == "customer":
            name = _s(data.get("name"))
            body = self.client.ok("GET", "accounts/", params={"name": name, "limit": PAGE})
            self._link("customer", "")
            taken = {ln.remote_id for ln in self._links["customer"].values()}
            for a in [
                *body["active_accounts"]["open_accounts"],
                *body["closed_accounts"]["close_accounts"],
            ]:
                if _s(a.get("name")).lower() == name.lower() and a["id"] not in taken:
                    return str(a["id"])
            return None
        account_link = self._link("customer", data.get("customer_id") or "")
        if account_link is None or not account_link.remote_id:
            return None
        if entity == "interaction":
            account = account_link.remote_id
            if account not in self._markers:
                # Read once per run and account: a resumed run finds many this way.
                self._markers[account] = {
                    found.group(1): str(i["id"])
                    for i in self.client.interactions_of(account)
                    if (found := _MARKED.search(i.get("body") or ""))
                }
            return self._markers[account].get(record_id)
        return self._find_task(
            record_id,
            {
                "account": account_link.remote_id,
                "title": (_s(data.get("title")) or "Follow-up")[:200],
            },
        )

    def _find_task(self, record_id: str, payload: dict[str, Any]) -> str | None:
        tag = marker("followup", record_id)
        self._link("followup", "")
        taken = {ln.remote_id for ln in self._links["followup"].values()}
        for t in self.client.tasks_titled(payload["account"], payload["title"]):
            if t["id"] in taken:
                continue
            detail = self.client.ok("GET", f"tasks/{t['id']}/")
            task = detail.get("task_obj") or detail.get("task") or detail
            if tag in (task.get("description") or ""):
                return str(t["id"])
        return None


def run_once(engine: Engine, connector: Connector, **options: Any) -> RunResult:
    runner = BottleCRMConnector(engine, connector, **options)
    try:
        return runner.run()
    finally:
        runner.close()
