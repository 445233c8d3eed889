"""The one way long id lists are cut for IN (...) queries."""

import pytest

from touchpoint.storage.chunks import IN_LIST, chunked


def test_pieces_keep_order_and_the_last_is_shorter() -> None:
    ids = [f"id{n}" for n in range(2 * IN_LIST + 3)]
    pieces = list(chunked(ids))
    assert [len(p) for p in pieces] == [IN_LIST, IN_LIST, 3]
    assert [i for p in pieces for i in p] == ids


def test_an_empty_list_gives_no_query_and_a_size_is_respected() -> None:
    assert list(chunked([])) == []
    assert list(chunked("abcde", 2)) == ["ab", "cd", "e"]
    with pytest.raises(ValueError, match="at least one"):
        list(chunked([1], 0))
