"""Use cases for customers and their people: create, edit, delete, confirm, read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.domain import photos
from touchpoint.domain.enums import CustomFieldType
from touchpoint.errors import NotFoundError, ValidationError, ValidationErrors
from touchpoint.services.lookup import find_contact, find_customer, live
from touchpoint.services.records import ContactView, CustomerView
from touchpoint.services.validation import clean_contact, clean_customer, phone_region
from touchpoint.storage.models import Contact, Customer, CustomFieldDef
from touchpoint.storage.workspace import Changes, Saved, Workspace


def customer_view(c: Customer) -> CustomerView:
    return CustomerView(
        id=c.id,
        name=c.name,
        kind=c.kind,
        status=c.status,
        industry=c.industry,
        segment=c.segment,
        owner=c.owner,
        territory=c.territory,
        website=c.website,
        addresses=list(c.addresses or []),
        phones=list(c.phones or []),
        emails=list(c.emails or []),
        tags=list(c.tags or []),
        custom=dict(c.custom or {}),
        notes=c.notes,
        yearly_potential=c.yearly_potential,
        currency=c.currency,
        created_at=c.created_at,
        updated_at=c.updated_at,
        confirmed_at=c.confirmed_at,
        deleted=c.deleted_at is not None,
    )


def contact_view(p: Contact, customer_name: str | None = None) -> ContactView:
    return ContactView(
        id=p.id,
        customer_id=p.customer_id,
        name=p.name,
        title=p.title,
        decision_role=p.decision_role,
        emails=list(p.emails or []),
        phones=list(p.phones or []),
        preferred_channel=p.preferred_channel,
        do_not_contact=p.do_not_contact,
        notes=p.notes,
        customer_name=customer_name,
        photo=photos.from_stored(p.photo),
    )


def custom_definitions(session: Session) -> dict[str, tuple[str, list[str]]]:
    rows = session.scalars(select(CustomFieldDef).where(CustomFieldDef.deleted_at.is_(None)))
    return {d.key: (d.type, list(d.choices or [])) for d in rows}


def list_custom_fields(ws: Workspace) -> list[dict[str, Any]]:
    """The defined custom fields: key, label, type and choices, by key."""
    with ws.read() as session:
        rows = session.scalars(
            select(CustomFieldDef)
            .where(CustomFieldDef.deleted_at.is_(None))
            .order_by(CustomFieldDef.key)
        )
        return [
            {"key": d.key, "label": d.label, "type": d.type, "choices": list(d.choices or [])}
            for d in rows
        ]


def _check_key(key: str) -> None:
    if (
        not key
        or len(key) > 60
        or not key.replace("_", "").replace("-", "").replace(" ", "").isalnum()
    ):
        raise ValidationErrors(
            [ValidationError("custom field", f"'{key}' is not a usable field name")]
        )


def _merge_custom(existing: Mapping[str, Any], patch_custom: Mapping[str, Any]) -> dict[str, Any]:
    """Custom values edit key by key; an empty value removes the key."""
    merged = dict(existing)
    for key, value in patch_custom.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def define_custom_field(
    ws: Workspace, key: str, label: str, kind: str, choices: list[str] | None = None
) -> Saved[str]:
    _check_key(key)
    try:
        kind = CustomFieldType(kind)
    except ValueError:
        allowed = ", ".join(t.value for t in CustomFieldType)
        raise ValidationErrors(
            [ValidationError("type", f"'{kind}' is not one of: {allowed}")]
        ) from None
    if kind == CustomFieldType.CHOICE and not choices:
        raise ValidationErrors([ValidationError("choices", "a choice field needs its choices")])
    with ws.unit_of_work() as uow:
        existing = uow.session.scalars(
            select(CustomFieldDef).where(CustomFieldDef.key == key)
        ).first()
        if existing is None:
            existing = CustomFieldDef(key=key, label=label or key, type=kind, choices=choices or [])
            uow.session.add(existing)
        else:
            existing.label = label or key
            existing.type = kind
            existing.choices = choices or []
            existing.deleted_at = None
        uow.session.flush()
        uow.commit()
        return Saved(existing.id, Changes.of(uow))


def create_customer(
    ws: Workspace, fields: Mapping[str, Any], *, owner_must_be_known: bool = False
) -> Saved[CustomerView]:
    """Add a customer. ``fields`` uses the names of :data:`validation.CUSTOMER_FIELDS`.

    ``owner_must_be_known``: the owner must be a rep Touchpoint knows
    (:func:`~touchpoint.services.goals.known_rep`), as the command line asks; a typo
    then makes no new rep. Off, any owner is stored as given (a sync, a test's team)."""
    patch = dict(fields)
    patch.setdefault("name", None)
    patch.setdefault("owner", ws.author)
    patch.setdefault("currency", ws.settings.currency)
    owner_problem = _check_owner(ws, patch) if owner_must_be_known else None
    with ws.unit_of_work() as uow:
        clean = _with_owner_problem(
            owner_problem,
            lambda: clean_customer(
                patch,
                region=ws.settings.default_region,
                custom_defs=custom_definitions(uow.session),
            ),
        )
        customer = Customer(**clean)
        uow.session.add(customer)
        uow.session.flush()
        uow.commit()
        return Saved(customer_view(customer), Changes.of(uow))


def edit_customer(
    ws: Workspace, ref: str, fields: Mapping[str, Any], *, owner_must_be_known: bool = False
) -> Saved[CustomerView]:
    """Change some fields of a customer; fields not named are left as they are.
    ``owner_must_be_known``: as for :func:`create_customer`."""
    patch = dict(fields)
    with ws.unit_of_work() as uow:
        customer = _live_customer(uow.session, ref)
        owner_problem = (
            _check_owner(ws, patch, current=customer.owner) if owner_must_be_known else None
        )
        _with_owner_problem(
            owner_problem,
            lambda: apply_customer_edit(
                uow.session,
                customer,
                patch,
                region=ws.settings.default_region,
                custom_defs=custom_definitions(uow.session),
            ),
        )
        uow.session.flush()
        uow.commit()
        return Saved(customer_view(customer), Changes.of(uow))


def _check_owner(
    ws: Workspace, patch: dict[str, Any], current: str | None = None
) -> ValidationError | None:
    """Put the known spelling of a new owner in ``patch``; the problem when the owner is
    no rep Touchpoint knows (an import keeps the owners its file names: it does not
    come here). An owner left as it is, or removed, needs no check."""
    from touchpoint.services.goals import known_rep

    owner = patch.get("owner")
    if not isinstance(owner, str) or not owner.strip() or owner.strip() == (current or ""):
        return None
    try:
        patch["owner"] = known_rep(ws, owner)
    except ValidationError as exc:
        return exc
    return None


def _with_owner_problem(problem: ValidationError | None, clean: Any) -> Any:
    """Run ``clean`` and report the owner's problem together with its own, if any."""
    try:
        done = clean()
    except ValidationErrors as exc:
        raise ValidationErrors([*exc.errors, *([problem] if problem else [])]) from None
    if problem is not None:
        raise ValidationErrors([problem])
    return done


def apply_customer_edit(
    session: Session,
    customer: Customer,
    fields: Mapping[str, Any],
    *,
    region: str,
    custom_defs: Mapping[str, tuple[str, list[str]]],
) -> None:
    """Clean ``fields`` and set them on ``customer``, in the caller's unit of work (an
    edit in the window or the CLI, or a row of an import that names this customer).
    Phone numbers without a country code are read in the customer's country."""
    region = phone_region(customer.addresses, region)
    clean = clean_customer(fields, region=region, custom_defs=custom_defs)
    if "custom" in clean:
        raw_custom = dict(fields.get("custom") or {})
        removed = {k: None for k, v in raw_custom.items() if v in (None, "")}
        clean["custom"] = _merge_custom(customer.custom or {}, {**clean["custom"], **removed})
    for name, value in clean.items():
        setattr(customer, name, value)


def apply_contact_edit(
    session: Session, contact: Contact, fields: Mapping[str, Any], *, region: str
) -> None:
    """Clean ``fields`` and set them on ``contact``, in the caller's unit of work. Phone
    numbers without a country code are read in the customer's country."""
    customer = session.get(Customer, contact.customer_id)
    region = phone_region(customer.addresses if customer else None, region)
    clean = clean_contact(fields, region=region)
    if "customer_id" in clean:
        clean["customer_id"] = _live_customer(session, clean["customer_id"]).id
    for name, value in clean.items():
        setattr(contact, name, value)


def confirm_customer(ws: Workspace, ref: str) -> Saved[CustomerView]:
    """The rep checked the profile and it is still right: it is no longer stale."""
    with ws.unit_of_work() as uow:
        customer = _live_customer(uow.session, ref)
        customer.confirmed_at = uow.now
        uow.session.flush()
        uow.commit()
        return Saved(customer_view(customer), Changes.of(uow))


def delete_customer(ws: Workspace, ref: str) -> Saved[CustomerView]:
    """A soft delete: the tombstone syncs, and :func:`restore_customer` undoes it."""
    with ws.unit_of_work() as uow:
        customer = _live_customer(uow.session, ref)
        customer.deleted_at = uow.now
        uow.session.flush()
        uow.commit()
        return Saved(customer_view(customer), Changes.of(uow))


def restore_customer(ws: Workspace, customer_id: str) -> Saved[CustomerView]:
    with ws.unit_of_work() as uow:
        customer = uow.session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        customer.deleted_at = None
        uow.session.flush()
        uow.commit()
        return Saved(customer_view(customer), Changes.of(uow))


def get_customer(ws: Workspace, ref: str) -> CustomerView:
    with ws.read() as session:
        return customer_view(_live_customer(session, ref))


def _live_customer(session: Session, ref: str) -> Customer:
    customer = find_customer(session, ref)
    if customer.merged_into_id:
        merged = session.get(Customer, customer.merged_into_id)
        if merged is not None:
            customer = merged
    if customer.deleted_at is not None:
        raise NotFoundError(f"customer '{customer.name}' was deleted")
    return customer


# --- contacts -----------------------------------------------------------------


def add_contact(ws: Workspace, customer_ref: str, fields: Mapping[str, Any]) -> Saved[ContactView]:
    with ws.unit_of_work() as uow:
        customer = _live_customer(uow.session, customer_ref)
        patch = {"name": None, **fields}
        patch.pop("customer_id", None)
        region = phone_region(customer.addresses, ws.settings.default_region)
        clean = clean_contact(patch, region=region)
        contact = Contact(customer_id=customer.id, **clean)
        uow.session.add(contact)
        uow.session.flush()
        uow.commit()
        return Saved(contact_view(contact, customer.name), Changes.of(uow))


def edit_contact(ws: Workspace, contact_id: str, fields: Mapping[str, Any]) -> Saved[ContactView]:
    with ws.unit_of_work() as uow:
        contact = _live_contact(uow.session, contact_id)
        apply_contact_edit(uow.session, contact, fields, region=ws.settings.default_region)
        uow.session.flush()
        uow.commit()
        return Saved(contact_view(contact), Changes.of(uow))


def delete_contact(ws: Workspace, contact_id: str) -> Saved[ContactView]:
    with ws.unit_of_work() as uow:
        contact = _live_contact(uow.session, contact_id)
        contact.deleted_at = uow.now
        uow.session.flush()
        uow.commit()
        return Saved(contact_view(contact), Changes.of(uow))


def restore_contact(ws: Workspace, contact_id: str) -> Saved[ContactView]:
    with ws.unit_of_work() as uow:
        contact = uow.session.get(Contact, contact_id)
        if contact is None:
            raise NotFoundError(f"no contact with id {contact_id}")
        contact.deleted_at = None
        uow.session.flush()
        uow.commit()
        return Saved(contact_view(contact), Changes.of(uow))


def _live_contact(session: Session, ref: str, customer_id: str | None = None) -> Contact:
    contact = find_contact(session, ref, customer_id)
    if contact.merged_into_id:
        merged = session.get(Contact, contact.merged_into_id)
        if merged is not None:
            contact = merged
    if contact.deleted_at is not None:
        raise NotFoundError(f"contact '{contact.name}' was deleted")
    return contact


def list_contacts(ws: Workspace, customer_ref: str) -> list[ContactView]:
    with ws.read() as session:
        customer = _live_customer(session, customer_ref)
        rows = session.scalars(
            select(Contact)
            .where(Contact.customer_id == customer.id, live(Contact))
            .order_by(Contact.name)
        )
        return [contact_view(p, customer.name) for p in rows]
