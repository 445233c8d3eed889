"""Makes the demo's customers and their contacts, then their activity."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from touchpoint.services.demo import activity
from touchpoint.services.demo.context import Demo, apportion, ascii_text, slug
from touchpoint.services.demo.data import City, Country, countries, words
from touchpoint.services.demo.team import TEAMS, TERRITORY_OF, Rep
from touchpoint.services.demo.writer import Writer, stamp
from touchpoint.storage.models import Contact, Customer, CustomFieldDef


def write_custom_defs(writer: Writer, demo: Demo, existing: dict[str, str]) -> None:
    """The custom fields the demo fills, unless the book already has fields of those keys."""
    at = demo.now - timedelta(days=800)
    for key, label, kind, choices in words().custom_fields:
        if key in existing:
            continue
        row = {"id": writer.new_id(), "key": key, "label": label, "type": kind,
               "choices": list(choices)}  # fmt: skip
        stamp(row, demo.author, at)
        writer.add(CustomFieldDef, row)


def generate(
    demo: Demo,
    writer: Writer,
    *,
    customers: int,
    contacts: int,
    interactions: int,
    followups: int,
    deals: int,
    custom_keys: set[str],
) -> None:
    """Plan every customer (country, status, size), share out the records, make them."""
    rng = demo.rng
    world = countries()
    codes = list(world)
    weights = [world[c].weight for c in codes]
    if len(demo.reps) == 1:
        # One rep works mostly around home; a few accounts abroad.
        home = demo.ws.settings.default_region.upper()
        weights = [w * (8 if c == home else 1) for c, w in zip(codes, weights, strict=True)]

    plans = []
    dupes = min(8, customers // 25)
    for n in range(customers):
        country = world[rng.choices(codes, weights=weights)[0]]
        roll = rng.random()
        status = "active" if roll < 0.72 else "prospect" if roll < 0.9 else "former"
        individual = rng.random() < 0.08
        segment = rng.choices(("Key account", "Mid-market", "Small business"), (15, 45, 40))[0]
        if individual:
            segment = "Small business"
        weight = {"Key account": 3.0, "Mid-market": 1.5, "Small business": 0.7}[segment]
        weight *= {"active": 1.0, "prospect": 0.25, "former": 0.5}[status]
        weight *= rng.lognormvariate(0, 0.5)
        plans.append(
            {
                "n": n,
                "country": country,
                "status": status,
                "individual": individual,
                "segment": segment,
                "weight": weight,
                "dupe_of": None,
            }
        )
    # The last few are near-duplicates of earlier organisations, for the duplicates screen.
    originals = [p for p in plans[: max(0, customers - dupes)] if not p["individual"]]
    for k, plan in enumerate(plans[customers - dupes :] if dupes else []):
        if k < len(originals):
            source = originals[(k * 7919) % len(originals)]
            plan.update(country=source["country"], individual=False, dupe_of=source, weight=0.2)
    contact_counts = apportion(
        rng, contacts, [0.3 if p["individual"] else p["weight"] ** 0.5 for p in plans]
    )
    interaction_counts = apportion(rng, interactions, [p["weight"] for p in plans])
    followup_counts = apportion(rng, followups, [float(c) for c in interaction_counts])
    deal_counts = apportion(
        rng, deals, [0.4 if p["status"] == "prospect" else p["weight"] ** 0.5 for p in plans]
    )
    for plan, nc, ni, nf, nd in zip(
        plans, contact_counts, interaction_counts, followup_counts, deal_counts, strict=True
    ):
        _customer(
            demo,
            writer,
            plan,
            n_contacts=nc,
            n_interactions=ni,
            n_followups=nf,
            n_deals=nd,
            custom_keys=custom_keys,
        )


def _owner(demo: Demo, country: Country) -> Rep:
    team = next(i for i, t in enumerate(TEAMS) if country.code in t[2])
    members = demo.by_team.get(team) or demo.reps
    return demo.rng.choice(members)


def _customer(
    demo: Demo,
    writer: Writer,
    plan: dict[str, Any],
    *,
    n_contacts: int,
    n_interactions: int,
    n_followups: int,
    n_deals: int,
    custom_keys: set[str],
) -> None:
    rng = demo.rng
    now = demo.now
    country: Country = plan["country"]
    status: str = plan["status"]
    owner = _owner(demo, country)
    city = rng.choices(country.cities, weights=country.city_weights)[0]
    german = country.code in ("DE", "AT", "CH")
    customer_id = writer.new_id()
    source = plan["dupe_of"]

    # Names and ways to reach them.
    if plan["individual"]:
        first, last = demo.person(country)
        name = f"{first} {last}"
        domain = None
        local = slug(f"{first}.{last}", german).replace("-", ".")
        emails = [
            {"label": "home", "value": demo.unique_email(local, rng.choice(country.free_mail))}
        ]
        website = None
        phones = [{"label": "mobile", "value": demo.phones.mobile(country)}]
    elif source is not None:
        name, domain, emails, phones, website = _near_duplicate(demo, source, country, city)
    else:
        name, core = demo.company_name(country, city)
        domain = demo.domain(core, country, city)
        emails = [
            {
                "label": "work",
                "value": demo.unique_email(
                    rng.choice(("info", "kontakt" if german else "contact", "office", "sales")),
                    domain,
                ),
            }
        ]
        website = f"https://www.{domain}"
        phones = [{"label": "work", "value": demo.phones.fixed(country, city)}]
        if rng.random() < 0.3:
            phones.append({"label": "service", "value": demo.phones.fixed(country, city)})
    plan["name"], plan["domain"], plan["emails"], plan["phones"], plan["website"] = (
        name, domain, emails, phones, website,
    )  # fmt: skip
    plan["city"] = city

    # When things happened.
    two_years = now - timedelta(days=730)
    quiet = status == "active" and rng.random() < 0.13
    if status == "former":
        end = now - timedelta(days=rng.randint(150, 540))
        start = two_years
    elif status == "prospect":
        end = now
        start = now - timedelta(days=rng.randint(20, 200))
    else:
        end = now - timedelta(days=rng.randint(31, 120)) if quiet else now
        start = two_years - timedelta(days=rng.randint(0, 400))
    span = (end - start).total_seconds()
    # More touches lately than long ago, and a busy last four weeks.
    recent = min(span, 28 * 86400)
    moments = sorted(
        end
        - timedelta(
            seconds=rng.uniform(0, recent)
            if rng.random() < 0.12
            else span * (1 - math.sqrt(rng.random()))
        )
        for _ in range(n_interactions)
    )
    first_touch = moments[0] if moments else end - timedelta(days=rng.randint(1, 300))
    created = first_touch - timedelta(days=rng.randint(3, 60), minutes=rng.randint(0, 600))
    created = demo.working_time(created, owner.tz, not_after=now - timedelta(days=1))
    confirmed = None
    updated = created
    if rng.random() < 0.3:  # the rep checked the profile since
        confirmed = created + (now - created) * rng.uniform(0.3, 1.0)
        confirmed = max(created, demo.working_time(confirmed, owner.tz, not_after=now))
        updated = confirmed

    industry = rng.choice(words().industries)
    tags = rng.sample(words().tags, rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0])
    if plan["segment"] == "Key account" and "key" not in tags:
        tags.insert(0, "key")
    fleet = rng.randint(2, 40) if plan["segment"] != "Key account" else rng.randint(40, 400)
    custom: dict[str, Any] = {}
    if "fleet_size" in custom_keys and not plan["individual"]:
        custom["fleet_size"] = fleet
    if "contract_end" in custom_keys and status == "active" and rng.random() < 0.6:
        custom["contract_end"] = (now + timedelta(days=rng.randint(-30, 700))).date().isoformat()
    if "tier" in custom_keys and status != "prospect":
        custom["tier"] = {"Key account": "Gold", "Mid-market": "Silver"}.get(
            plan["segment"], "Bronze"
        )
    potential = {
        "Key account": (150_000, 900_000),
        "Mid-market": (30_000, 150_000),
        "Small business": (3_000, 30_000),
    }[plan["segment"]]
    notes = _customer_notes(rng, plan, country, city, fleet)
    row = {
        "id": customer_id,
        "name": name,
        "kind": "individual" if plan["individual"] else "organisation",
        "status": status,
        "industry": None if plan["individual"] and rng.random() < 0.5 else industry,
        "segment": plan["segment"],
        "owner": owner.email,
        "territory": TERRITORY_OF[country.code],
        "website": website,
        "addresses": (
            [demo.address(country, city, "home" if plan["individual"] else "office")]
            if rng.random() < 0.95
            else []
        ),
        "phones": phones,
        "emails": emails,
        "tags": tags,
        "custom": custom,
        "notes": notes,
        "yearly_potential": Decimal(rng.randrange(*potential, 500)).quantize(Decimal("0.01")),
        "currency": country.currency,
        "confirmed_at": confirmed,
        "merged_into_id": None,
    }
    stamp(row, owner.email, created, updated)
    writer.add(Customer, row)

    contacts = [
        _contact(demo, writer, plan, customer_id=customer_id, owner=owner, created=created, index=k)
        for k in range(n_contacts)
    ]
    touches = activity.interactions(
        demo, writer, plan, customer_id=customer_id, owner=owner, moments=moments, contacts=contacts
    )
    activity.followups(demo, writer, customer_id, touches, n_followups)
    activity.deals(
        demo,
        writer,
        plan,
        customer_id=customer_id,
        owner=owner,
        created=created,
        touches=touches,
        count=n_deals,
    )


def _near_duplicate(
    demo: Demo, source: dict[str, Any], country: Country, city: City
) -> tuple[str, str | None, list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """A second record of an existing company, as a colleague or an import typed it."""
    rng = demo.rng
    name: str = source["name"]
    style = rng.randrange(4)
    if style == 0:  # "Acme GmbH" -> "ACME G.m.b.H."
        parts = name.split()
        legal = parts[-1]
        dotted = ".".join(legal.replace(".", "")) + "." if legal.isalpha() else legal
        variant = " ".join([*(w.upper() for w in parts[:-1]), dotted])
    elif style == 1:
        variant = ascii_text(name)
        if variant == name:
            variant = name.replace(" & ", " and ") if " & " in name else name.upper()
    elif style == 2:
        variant = name.replace(" & ", " + ") if " & " in name else f"{name} ({city.name})"
    else:
        variant = name.rsplit(" ", 1)[0]  # the legal form left out
    emails: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    website = None
    domain = source["domain"]
    shared = rng.randrange(3)
    if shared == 0:
        website = source["website"].replace("https://www.", "http://")
    elif shared == 1:
        emails = [dict(source["emails"][0])]
    else:
        phones = [dict(source["phones"][0])]
    if domain and not emails:
        emails = [
            {
                "label": "work",
                "value": demo.unique_email(
                    "einkauf" if country.code in ("DE", "AT") else "purchasing", domain
                ),
            }
        ]
    if not phones:
        phones = [{"label": "work", "value": demo.phones.fixed(country, city)}]
    return variant, domain, emails, phones, website


def _customer_notes(
    rng: random.Random, plan: dict[str, Any], country: Country, city: City, fleet: int
) -> str | None:
    if rng.random() < 0.15:
        return None
    if plan["individual"]:
        return rng.choice(
            (
                "Runs a small farm; one pallet truck, asks for service once a year.",
                "Owner-operator, buys used trucks; price matters most.",
                f"Small workshop in {city.name}; happy with the last maintenance visit.",
            )
        )
    parts = [
        rng.choice(
            (
                f"Family-owned since {rng.randint(1890, 2005)}, {rng.randint(2, 6)} sites "
                f"around {city.name}.",
                f"Headquarters in {city.name}; warehouse runs two shifts.",
                f"Part of a group; purchasing decisions are made in {city.name}.",
            )
        ),
        f"Fleet of {fleet} trucks, "
        + rng.choice(("mostly diesel, moving to electric.", "all electric.", "mixed brands.")),
        rng.choice(
            (
                f"Maintenance contract renews in {rng.choice(words().months)}.",
                "Invoices go to the head office, not the site.",
                f"Competitor {rng.choice(words().competitors)} is strong here.",
                "Pays on time; wants one invoice per month.",
                "Interested in operator training for new drivers.",
            )
        ),
    ]
    if plan["status"] == "former":
        parts.append("Moved their service to a competitor last year after a price dispute.")
    return " ".join(parts)


def _contact(
    demo: Demo,
    writer: Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: Rep,
    created: datetime,
    index: int,
) -> dict[str, Any]:
    rng = demo.rng
    country: Country = plan["country"]
    german = country.code in ("DE", "AT", "CH")
    if plan["individual"] and index == 0:
        first, last = plan["name"].split(" ", 1)
    else:
        first, last = demo.person(country)
    local = slug(f"{first}.{last}", german).replace("-", ".")
    domain = plan["domain"] or rng.choice(country.free_mail)
    emails = [] if rng.random() < 0.08 else [
        {"label": "work", "value": demo.unique_email(local, domain)}
    ]  # fmt: skip
    phones = []
    if rng.random() < 0.75:
        phones.append({"label": "mobile", "value": demo.phones.mobile(country)})
    if rng.random() < 0.3:
        phones.append({"label": "work", "value": demo.phones.fixed(country, plan["city"])})
    if plan["individual"] and index == 0:  # the customer is this person
        emails = [dict(e) for e in plan["emails"]]
        phones = [dict(p) for p in plan["phones"]]
    title = rng.choice(country.titles) if rng.random() < 0.9 else None
    role = None
    if title:
        boss = any(
            w in title
            for w in ("Director", "Geschäftsführ", "CFO", "général", "Direct", "Amministratore")
        )
        role = (
            rng.choice(("decision maker", "influencer"))
            if boss
            else rng.choices(
                ("user", "influencer", "champion", "gatekeeper", "blocker", "other"),
                (30, 25, 15, 15, 5, 10),
            )[0]
        )
    channel = rng.choices((None, "email", "phone", "visit", "message"), (10, 35, 35, 15, 5))[0]
    notes = None
    if rng.random() < 0.25:
        notes = rng.choice(words().contact_notes)
    row = {
        "id": writer.new_id(),
        "customer_id": customer_id,
        "name": f"{first} {last}",
        "title": title,
        "decision_role": role,
        "emails": emails,
        "phones": phones,
        "preferred_channel": channel,
        "do_not_contact": rng.random() < 0.02,
        "notes": notes,
        "merged_into_id": None,
        "photo": None,  # made-up people have no pictures: their initials are shown
    }
    stamp(row, owner.email, created + timedelta(minutes=rng.randint(1, 90)))
    writer.add(Contact, row)
    return row
