"""The server's garbage-collector settings (assist/heap.py): freeze what lives, free what a reload drops."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from assist.heap import FULL_EVERY, resettle, settle


@pytest.fixture(autouse=True)
def gc_as_it_was() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class Node:
    """An object in a reference cycle: only the collector can free it."""

    def __init__(self) -> None:
        self.me = self


def test_settle_freezes_what_is_alive_and_spaces_full_collections_out() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    settle()
    assert gc.get_freeze_count() > 1000  # the modules, the tests, everything alive now
    assert gc.get_threshold()[2] == FULL_EVERY
    young = Node()
    assert gc.is_tracked(young)
    gc.collect()
    assert gc.get_freeze_count() > 0  # a full collection leaves the frozen objects frozen


def test_a_cycle_frozen_by_settle_is_freed_by_the_next_settle() -> None:
    node = Node()
    ref = weakref.ref(node)
    settle()
    del node
    gc.collect()
    assert ref() is not None  # frozen: the collector does not walk it (what a swapped-out phrasebook would be)
    assert resettle() is True
    assert ref() is None


def test_resettle_leaves_a_process_that_never_settled_alone() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    assert resettle() is False
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
