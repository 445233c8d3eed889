"""Makes a demo customer's touchpoints, promises and deals."""

from __future__ import annotations

import functools
import math
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from touchpoint.domain import metrics
from touchpoint.services.demo.context import Demo, weighted
from touchpoint.services.demo.data import Country, words
from touchpoint.services.demo.team import Rep
from touchpoint.services.demo.writer import Writer, stamp
from touchpoint.storage.models import Deal, FollowUp, Interaction


def _details(rng: random.Random, demo: Demo, plan: dict[str, Any], contact: str) -> dict[str, Any]:
    """The details of one conversation, shared by its subject and its notes."""
    now = demo.now
    w = words()
    return dict(
        qty=rng.choice((2, 3, 4, 5, 6, 8, 10, 12, 15, 20)),
        product=rng.choice(w.products),
        contact=contact,
        month=rng.choice(w.months),
        competitor=rng.choice(w.competitors),
        week=rng.randint(2, 51),
        day=rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")),
        year=now.year + rng.choice((0, 1)),
        issue=rng.choice(w.issues),
        city=plan["city"].name,
        invoice=f"RE-{now.year - rng.choice((0, 1))}-{rng.randint(1000, 99999)}",
        pct=rng.choice((2, 3, 3.5, 4, 5)),
    )


@functools.cache
def _complaint_topic() -> tuple[str, str]:
    return next(t for t in words().topics if t[0].startswith("Complaint"))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _scores(rng: random.Random, count: int, falling: bool) -> list[int]:
    """Satisfaction over time, oldest first; a falling customer ends clearly lower."""
    base = rng.uniform(3.1, 4.6)
    drift = rng.gauss(0, 0.5)  # some customers warm up over the years, some cool down
    scores = [
        max(1, min(5, round(base + drift * (k / max(1, count) - 0.5) + rng.gauss(0, 0.45))))
        for k in range(count)
    ]
    if falling and count >= 6:
        high = max(3, min(5, round(base + 0.5)))
        previous = [high, high, max(3, high - rng.choice((0, 1)))]
        low = max(1, math.floor(sum(previous) / 3 - 1.5))
        latest = [low, min(5, low + rng.choice((0, 1))), max(1, low - rng.choice((0, 1)))]
        scores[-6:] = previous + latest
        summary = metrics.customer_satisfaction(list(reversed(scores)))
        if not summary.falling:
            scores[-3:] = [max(1, min(previous) - 2)] * 3
    return scores


def interactions(
    demo: Demo,
    writer: Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: Rep,
    moments: list[datetime],
    contacts: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """A customer's touchpoints at the given moments, with satisfaction over time."""
    rng = demo.rng
    now = demo.now
    w = words()
    country: Country = plan["country"]
    team = demo.by_team.get(owner.team) or [owner]
    depth = rng.choices(("relationship", "transactional", "project", "one-off"), (45, 30, 17, 8))[0]
    planned: list[dict[str, Any]] = []
    for moment in moments:
        rep = owner if len(team) == 1 or rng.random() < 0.94 else rng.choice(team)
        occurred = demo.working_time(moment, rep.tz, not_after=now - timedelta(minutes=10))
        kind = weighted(rng, w.kind_weights)
        outcome: str | None
        if kind == "call":
            outcome = weighted(rng, w.call_outcomes)
        elif kind in ("visit", "meeting"):
            outcome = weighted(rng, w.meet_outcomes)
        elif kind == "email":
            outcome = rng.choice((None, None, "connected"))
        else:
            outcome = None
        if outcome == "own":
            outcome = rng.choice(w.own_outcomes)
        reached = outcome not in ("voicemail", "no answer")
        scorable = (
            reached
            and kind not in ("note", "message")
            and (kind != "email" or outcome == "connected")
        )
        planned.append(
            {
                "rep": rep,
                "occurred": occurred,
                "kind": kind,
                "outcome": outcome,
                "scored": scorable and rng.random() < 0.86,
            }
        )
    planned.sort(key=lambda p: p["occurred"])
    scored = [p for p in planned if p["scored"]]
    eligible = plan["status"] == "active" and len(scored) >= 6
    # A few customers cool down; even a small demo shows one on the watch list.
    falling = eligible and (rng.random() < 0.07 or not demo.falling_made)
    demo.falling_made += falling
    for p, score in zip(scored, _scores(rng, len(scored), falling), strict=True):
        p["satisfaction"] = score
        if score <= 2 and p["outcome"] in ("connected", None):
            p["outcome"] = "complaint"

    made = []
    for p in planned:
        kind, outcome, rep = p["kind"], p["outcome"], p["rep"]
        present = []
        if contacts:
            most = 3 if kind in ("visit", "meeting") else 1
            present = rng.sample(contacts, min(len(contacts), rng.randint(1, most)))
        contact_first = present[0]["name"].split(" ")[0] if present else "the buyer"
        satisfaction = p.get("satisfaction")
        if outcome in ("voicemail", "no answer"):
            subject = None if rng.random() < 0.7 else "Call back"
            notes = rng.choice(
                (f"Tried to reach {contact_first} about the quote; left a message.",
                 f"No answer; will try {contact_first} again tomorrow.",
                 "Voicemail: asked for a call back about the delivery.", None)
            )  # fmt: skip
        else:
            pool = w.topics if rng.random() < 0.45 else w.everyday_topics
            subject_t, notes_t = pool[rng.randrange(len(pool))]
            if outcome == "complaint" and rng.random() < 0.7:
                subject_t, notes_t = _complaint_topic()
            details = _details(rng, demo, plan, contact_first)
            subject = subject_t.format(**details)
            if kind == "call" and rng.random() < 0.35:
                subject = None
            notes = _sentence(notes_t.format(**details))
            if kind == "email":
                notes = f"Email from {contact_first}: {notes}"
        feedback = None
        if satisfaction is not None and rng.random() < 0.8:
            own = country.feedback.get(satisfaction) if rng.random() < 0.3 else None
            feedback = rng.choice(own or w.feedback_en[satisfaction]).format(
                competitor=rng.choice(w.competitors)
            )
        duration = {
            "call": rng.randint(2, 25),
            "visit": rng.choice((30, 45, 60, 60, 90, 120)),
            "meeting": rng.choice((30, 45, 60, 90)),
            "email": None,
            "message": None,
            "note": None,
        }[kind]
        if outcome in ("voicemail", "no answer"):
            duration = 1
        direction = {
            "call": "outbound" if rng.random() < 0.7 else "inbound",
            "email": "inbound" if rng.random() < 0.5 else "outbound",
            "message": "inbound",
            "note": None,
        }.get(kind, "outbound")
        logged = min(now, p["occurred"] + timedelta(minutes=(duration or 0) + rng.randint(2, 240)))
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "kind": kind,
            "direction": direction,
            "occurred_at": p["occurred"],
            "duration_minutes": duration,
            "contact_ids": [c["id"] for c in present],
            "subject": subject,
            "notes": notes,
            "outcome": outcome,
            "satisfaction": satisfaction,
            "feedback": feedback,
            "depth": depth if rng.random() < 0.8 else None,
            "rep": rep.email,
        }
        stamp(row, rep.email, logged)
        writer.add(Interaction, row)
        row["_rep"] = rep
        made.append(row)
    return made


def _promise(rng: random.Random, subject: str | None, demo: Demo) -> str:
    w = words()
    for word, titles in w.promises:
        if subject and word in subject:
            return rng.choice(titles).format(year=demo.now.year + 1, month=rng.choice(w.months))
    return rng.choice(w.default_promises)


STALE_PROMISE = timedelta(days=45)


def followups(
    demo: Demo,
    writer: Writer,
    customer_id: str,
    touches: list[dict[str, Any]],
    count: int,
) -> None:
    """``count`` promises made in the customer's touchpoints, kept, late or still open."""
    if not count or not touches:
        return
    rng = demo.rng
    now = demo.now
    # Promises come from the conversations that reached someone, the recent ones more.
    reached = [t for t in touches if t["outcome"] not in ("voicemail", "no answer")] or touches
    weights = [1.0 + 3.0 * k / len(reached) for k in range(len(reached))]
    for source in rng.choices(reached, weights=weights, k=count):
        rep: Rep = source["_rep"]
        occurred: datetime = source["occurred_at"]
        local_day = occurred.astimezone(rep.tz).date()
        today = now.astimezone(rep.tz).date()
        due = demo.due_time(local_day + timedelta(days=rng.choice((1, 2, 3, 5, 7, 7, 14, 21))),
                            rep.tz)  # fmt: skip
        # The user of this laptop has some promises due today and this week.
        if rep.email == demo.author and now - occurred < timedelta(days=6):
            if demo.forced_today < 4:
                demo.forced_today += 1
                due = demo.due_time(today, rep.tz, hour=rng.choice((8, 11, 14, 16, 17)))
            elif demo.forced_week < 8:
                demo.forced_week += 1
                due = demo.due_time(today + timedelta(days=rng.randint(1, 6)), rep.tz)
        due = max(due, source["created_at"] + timedelta(minutes=30))
        created: datetime = source["created_at"]
        status, done_at = "open", None
        roll = rng.random()
        if due <= now:
            if roll < 0.70:
                status = "done"
                done_at = created + (due - created) * rng.uniform(0.2, 1.0)
            elif roll < 0.86:
                late_by = timedelta(hours=rng.uniform(2, 240))
                if due + late_by < now:
                    status, done_at = "done", due + late_by
            elif roll < 0.88:
                status = "cancelled"
        elif roll < 0.12:
            status = "done"
            done_at = created + (now - created) * rng.uniform(0.3, 1.0)
        elif roll < 0.14:
            status = "cancelled"
        if status == "open" and now - due > STALE_PROMISE:
            # Nobody leaves a promise open for months: old ones were done late in the end,
            # so the overdue list holds the last weeks' slips, as a real rep's does.
            status = "done"
            done_at = min(due + timedelta(days=rng.uniform(1, 30)), now - timedelta(hours=1))
        updated = done_at or created
        if status == "cancelled":
            updated = created + (min(due, now) - created) * rng.uniform(0.1, 1.0)
        contact_ids = source["contact_ids"]
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "contact_id": rng.choice(contact_ids) if contact_ids and rng.random() < 0.6 else None,
            "interaction_id": source["id"],
            "title": _promise(rng, source["subject"], demo),
            "notes": None if rng.random() < 0.6 else f"Promised during the {source['kind']}.",
            "due_at": due,
            "remind_at": due - demo.remind_before,
            "priority": rng.choices(("normal", "high", "low"), (70, 20, 10))[0],
            "status": status,
            "done_at": done_at,
            "assigned_to": rep.email,
        }
        stamp(row, rep.email, created, max(updated, created))
        writer.add(FollowUp, row)


def deals(
    demo: Demo,
    writer: Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: Rep,
    created: datetime,
    touches: list[dict[str, Any]],
    count: int,
) -> None:
    """``count`` deals of a customer, their stage fitting the customer's status."""
    rng = demo.rng
    now = demo.now
    country: Country = plan["country"]
    status = plan["status"]
    low, high = {"Key account": (20_000, 400_000), "Mid-market": (5_000, 80_000),
                 "Small business": (800, 15_000)}[plan["segment"]]  # fmt: skip
    last = touches[-1]["occurred_at"] if touches else now
    for _ in range(count):
        if status == "prospect":
            stage = rng.choices(("lead", "qualified", "proposal", "lost"), (40, 30, 20, 10))[0]
        elif status == "former":
            stage = rng.choices(("won", "lost"), (60, 40))[0]
        else:
            stage = rng.choices(
                ("lead", "qualified", "proposal", "negotiation", "won", "lost"),
                (12, 14, 16, 10, 33, 15),
            )[0]
        opened = created + (min(last, now) - created) * rng.uniform(0.0, 0.9)
        closed_at = None
        if stage in ("won", "lost"):
            closed_at = min(now, opened + timedelta(days=rng.randint(7, 120)))
            expected = (closed_at + timedelta(days=rng.randint(-20, 20))).date()
        else:
            expected = (now + timedelta(days=rng.randint(7, 180))).date()
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "title": rng.choice(words().deal_titles).format(**_details(rng, demo, plan, "")),
            "value": Decimal(rng.randrange(low, high, 50)).quantize(Decimal("0.01")),
            "currency": country.currency,
            "stage": stage,
            "expected_close": expected,
            "closed_at": closed_at,
        }
        stamp(row, owner.email, opened, closed_at)
        writer.add(Deal, row)
