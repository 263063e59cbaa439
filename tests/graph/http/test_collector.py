"""The serving process's garbage collector (graph/http/collector.py)."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from graph.http.collector import GENERATION0_THRESHOLD, tune_collector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def restored_collector() -> Iterator[None]:
    """This test process's collector as it was, after the test tuned it."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_the_live_heap_is_frozen_its_garbage_collected_and_collections_rarer() -> None:
    alive, garbage = _Node(), _Node()
    gone = weakref.ref(garbage)
    del garbage
    generation1, generation2 = gc.get_threshold()[1:]

    tune_collector()

    assert gone() is None  # freed before the freeze, not kept forever with the live objects
    assert gc.get_freeze_count() > 0
    assert not any(obj is alive for obj in gc.get_objects())  # frozen: no longer scanned
    assert gc.get_threshold() == (GENERATION0_THRESHOLD, generation1, generation2)
