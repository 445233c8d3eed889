"""Customers as lists and filters read them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from touchpoint.storage.chunks import chunked


def names_by_id(session: Session, ids: Collection[str]) -> dict[str, str]:
    """The names of these customers (deleted or merged ones too), by id."""
    query = text("SELECT id, name FROM customers WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    out: dict[str, str] = {}
    for chunk in chunked(list(ids)):
        out.update((cid, name) for cid, name in session.execute(query, {"ids": chunk}))
    return out
