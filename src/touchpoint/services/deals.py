"""Deals with a customer: what lifetime value and up-sell are measured from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.domain.enums import DealStage
from touchpoint.errors import NotFoundError
from touchpoint.services.customers import _live_customer
from touchpoint.services.insights import deal_view
from touchpoint.services.lookup import by_id
from touchpoint.services.records import DealView
from touchpoint.services.validation import clean_deal
from touchpoint.storage.models import Deal
from touchpoint.storage.workspace import Changes, Saved, Workspace


def _stamp_close(deal: Deal, now: Any) -> None:
    """Won or lost closes a deal (once); reopening it clears the close time."""
    if DealStage(deal.stage).is_open:
        deal.closed_at = None
    elif deal.closed_at is None:
        deal.closed_at = now


def add_deal(ws: Workspace, customer_ref: str, fields: Mapping[str, Any]) -> Saved[DealView]:
    """A deal for a customer; its currency defaults to the customer's."""
    with ws.unit_of_work() as uow:
        customer = _live_customer(uow.session, customer_ref)
        patch = {
            "title": None,
            "value": None,
            "stage": None,
            "currency": customer.currency,
            **fields,
        }
        clean = clean_deal(patch)
        deal = Deal(customer_id=customer.id, **clean)
        _stamp_close(deal, uow.now)
        uow.session.add(deal)
        uow.session.flush()
        uow.commit()
        return Saved(deal_view(deal), Changes.of(uow))


def edit_deal(ws: Workspace, deal_id: str, fields: Mapping[str, Any]) -> Saved[DealView]:
    with ws.unit_of_work() as uow:
        deal = _get(uow.session, deal_id)
        for name, value in clean_deal(fields).items():
            setattr(deal, name, value)
        _stamp_close(deal, uow.now)
        uow.session.flush()
        uow.commit()
        return Saved(deal_view(deal), Changes.of(uow))


def delete_deal(ws: Workspace, deal_id: str) -> Saved[DealView]:
    with ws.unit_of_work() as uow:
        deal = _get(uow.session, deal_id)
        deal.deleted_at = uow.now
        uow.session.flush()
        uow.commit()
        return Saved(deal_view(deal), Changes.of(uow))


def list_deals(ws: Workspace, customer_ref: str) -> list[DealView]:
    with ws.read() as session:
        customer = _live_customer(session, customer_ref)
        rows = session.scalars(
            select(Deal)
            .where(Deal.customer_id == customer.id, Deal.deleted_at.is_(None))
            .order_by(Deal.created_at.desc())
        )
        return [deal_view(d) for d in rows]


def _get(session: Session, deal_id: str) -> Deal:
    deal = by_id(session, Deal, deal_id)
    if deal is None or deal.deleted_at is not None:
        raise NotFoundError(f"no deal with id {deal_id}")
    return deal
