"""Pausing the cyclic garbage collector: garbage cycles wait while bulk work runs, pauses
are counted, and what the process did before comes back after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gc_probe import frees_cycles_by_itself
from touchpoint.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_garbage_cycles_wait_inside_and_are_freed_again_after() -> None:
    assert frees_cycles_by_itself()
    with collector_paused():
        assert not frees_cycles_by_itself()
    assert frees_cycles_by_itself()


def test_overlapping_pauses_end_with_the_last() -> None:
    outer = collector_paused()
    outer.__enter__()
    with collector_paused():
        assert not frees_cycles_by_itself()
    assert not frees_cycles_by_itself(), "the first pause still runs"
    outer.__exit__(None, None, None)
    assert frees_cycles_by_itself()


def test_a_failing_block_lets_the_collector_run_again() -> None:
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("boom")
    assert frees_cycles_by_itself()


def test_a_process_that_collects_by_hand_still_does_after_a_pause() -> None:
    gc.disable()  # as the window does: its GUI thread collects (ui.gc_guard)
    with collector_paused():
        pass
    assert not frees_cycles_by_itself(), "a pause must not switch automatic collection on"
