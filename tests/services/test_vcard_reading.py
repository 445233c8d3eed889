"""The plain-card reader gives exactly what vobject gives, card by card.

Most cards are read without vobject (it costs ~1 ms a card); a card with anything more
is read by vobject. Both must read every card of every file alike, so each file here is
read both ways and the cards compared field by field."""

from __future__ import annotations

from pathlib import Path

import pytest
import vobject

from touchpoint.services import vcards
from touchpoint.services.vcards import read_cards

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"

# Cards written the ways programs write them, and some ways they should not.
TRICKY = "\r\n".join(
    [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:Doe\\, Jr.;John,Johnny;Q.;Dr.;",
        "FN:Doe, John",
        "ORG:Acme\\; Partners;Sales,Export;",
        'item1.TEL;type=CELL;type="pref,voice":+49 170 1234567',
        "item1.X-ABLabel:_$!<Mobile>!$_",
        "TEL;WORK;VOICE:+49 30 1234567;ext=12",
        "EMAIL;TYPE=INTERNET,HOME;PREF=1:john@home.example",
        "ADR;TYPE=WORK:;Suite 5;Main St. 1\\, Backyard;Berlin;;10115;Germany",
        "ADR;TYPE=HOME:;;Home Rd 2;Köln;NRW;50667;DE;",
        "URL:http\\://example.com/a,b",
        "NOTE:line one\\nline two\\, with a comma; and a semicolon \\\\ backslash",
        "CATEGORIES:clients,vip\\,gold,",
        "BDAY:19800322",
        "GEO:52.52;13.40",
        "X-SKYPE:john_doe",
        "x-lower-case:yes",
        "NICKNAME:Johnny,JD",
        'TITLE:Head of \\"Things\\"',
        "ROLE:Decision maker\\",
        "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:2.1",
        "N;CHARSET=UTF-8:Müller;Anna",
        "FN;CHARSET=UTF-8:Anna Müller",
        "TEL;CELL;PREF:+41 79 123 45 67",
        "NOTE;ENCODING=QUOTED-PRINTABLE:Caf=C3=A9 au lait",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:4.0",
        "KIND:org",
        "FN:Org Only GmbH",
        "ORG:Org Only GmbH",
        "AGENT:BEGIN:VCARD",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:No Colon Here",
        "BROKEN LINE WITHOUT A VALUE",
        "END:VCARD",
        "BEGIN:VCARD",
        "FN:Without a version",
        "EMAIL:nobody@example.com",
        "END:VCARD",
        "",
    ]
)


def _files() -> list[Path]:
    return sorted(FIXTURES.rglob("*.vcf"))


def _read_both(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object, int]:
    """(plain reader's result, vobject's result, cards the plain reader left to vobject)."""
    calls = []
    read_one = vobject.readOne

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return read_one(*args, **kwargs)

    monkeypatch.setattr(vobject, "readOne", counting)
    plain = read_cards(text, "cards.vcf")
    left = len(calls)
    monkeypatch.setattr(vcards, "PLAIN_READER", False)
    whole = read_cards(text, "cards.vcf")
    monkeypatch.setattr(vcards, "PLAIN_READER", True)
    return plain, whole, left


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_every_fixture_file_reads_alike_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_bytes().decode("utf-8", "replace")
    plain, whole, _left = _read_both(text, monkeypatch)
    assert plain == whole


def test_tricky_cards_read_alike_and_only_the_odd_ones_need_vobject(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain, whole, left = _read_both(TRICKY, monkeypatch)
    assert plain == whole
    cards, problems = plain  # type: ignore[misc]
    # The quoted-printable card and the card with a broken line go to vobject.
    assert left == 2
    first = cards[0]
    assert first.person == "Doe, John"
    assert first.org == "Acme; Partners"
    assert first.phones[0] == {"label": "mobile", "value": "+49 170 1234567"}
    assert first.tags == ["clients", "vip,gold"]
    assert any("Café au lait" in (card.notes or "") for card in cards)
    assert [p[1] for p in problems] == ["No Colon Here"]


def test_the_benchmark_cards_need_no_vobject(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = []
    for n in range(30):
        lines += [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"N:Cardholder{n};Anna;;;",
            f"FN:Anna Cardholder{n}",
            f"ORG:Card Company {n // 3};Sales",
            f"EMAIL;TYPE=INTERNET;TYPE=WORK:card{n}@company.example",
            f"TEL;TYPE=CELL:+49 170 {n:07d}",
            f"ADR;TYPE=WORK:;;Hauptstr. {n};Berlin;;10115;Germany",
            "NOTE:Met at the fair",
            "END:VCARD",
        ]
    plain, whole, left = _read_both("\r\n".join(lines) + "\r\n", monkeypatch)
    assert plain == whole
    assert left == 0


def test_content_lines_split_as_vobject_splits_them() -> None:
    """parse_line reads plain lines itself: on every line, plain or not (quotes, odd
    punctuation, empty parameters, underscores), it says what vobject's parser says."""
    import random

    lines = [
        "FN:John",
        "item1.TEL;type=CELL;type=pref:+49 170",
        "TEL;WORK;VOICE:+49 30;ext=12",
        "EMAIL;TYPE=INTERNET,HOME;PREF=1:j@example.com",
        "X_LOTUS_NAME;x_param=a_b:value",
        "TEL;;TYPE=CELL:1",
        "TEL;:1",
        "TEL;TYPE=:1",
        "TEL;TYPE=a,,b,:1",
        "TEL;TYPE=a=b:x:y",
        'TEL;TYPE="a:b";X=1:c',
        "A.B.C:x",
        ":no name",
        "N:",
        "NO COLON",
        "TEL ;X=1:a",
        "TEL;X=1 2:a",
        "TEL;=x:y",
        "TEL;X=é:1",
    ]
    rng = random.Random(17)
    alphabet = 'Ab1_-.;=,:" éx'
    lines += ["".join(rng.choices(alphabet, k=rng.randint(1, 14))) for _ in range(20_000)]
    lines += ["TEL" + "".join(rng.choices(alphabet, k=rng.randint(0, 14))) for _ in range(20_000)]

    def parsed(parse: object, line: str) -> object:
        try:
            return parse(line)  # type: ignore[operator]
        except vobject.base.ParseError:
            return "cannot be read"

    for line in lines:
        assert parsed(vcards.parse_line, line) == parsed(vobject.base.parseLine, line), line
