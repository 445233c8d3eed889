"""Names folded for duplicate checks: accents, case, punctuation and legal suffixes go."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from touchpoint.domain.values import _LEGAL_SUFFIXES, name_key


def _folded_the_long_way(name: str) -> str:
    """Every name decomposed, as the fast path for ASCII must agree with."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[^\w\s]", " ", plain)
    return " ".join(w for w in plain.split() if w not in _LEGAL_SUFFIXES)


def test_names_that_differ_only_in_accents_case_punctuation_and_suffix_match() -> None:
    assert name_key("Müller & Söhne GmbH") == name_key("MULLER SOHNE") == "muller sohne"
    assert name_key("Straße-Bau AG") == name_key("strasse bau") == "strasse bau"
    assert name_key("ACME, Inc.") == name_key("Acme") == "acme"
    assert name_key("Ελληνικά Ltd") == "ελληνικα"  # other scripts stay, without accents
    assert name_key("株式会社 Tanaka") == "株式会社 tanaka"


@given(st.text(alphabet=st.sampled_from("aAäÄeÉßKkİı .,&-öÖçÇ1 GmbHLtdInc\u0301\u212a")))
def test_the_ascii_shortcut_folds_exactly_as_decomposing_does(name: str) -> None:
    assert name_key(name) == _folded_the_long_way(name)
