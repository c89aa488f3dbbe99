"""The garbage collector's settings for a long-running server process.

CPython's full collection (generation 2) walks every object the collector tracks: in a
server that is the phrasebook, VADER's lexicon and the libraries, all of them alive for
the life of the process. On the 2-core bench machine one took 90-110 ms and came every
few seconds under load, so a turn's p99 at 200 messages/s was 30-70 ms instead of a few
(bench/README.md). `settle()` collects once and then freezes what is alive
(`gc.freeze`: the collector stops walking it; reference counting still frees it), so a
full collection walks only what was made since: about 4 ms.

Freezing also empties the count CPython spaces full collections out by (one waits until
the objects promoted since the last are a quarter of the long-lived ones), so they would
come at every 10th generation-1 collection; the third threshold goes up to
FULL_EVERY to keep them rare.

A phrasebook swapped out after `settle()` stays frozen: what of it is in reference
cycles would never be collected. `resettle()` unfreezes, collects and freezes again; the
reloader calls it after each swap (one full collection, once per supervisor edit). It
does nothing in a process that never settled (the tests, `assist replay`).
"""

from __future__ import annotations

import gc

FULL_EVERY = 100  # generation-1 collections between full ones (CPython's default: 10)


def settle() -> None:
    """Collect, freeze what is alive, and space full collections out (see the module doc)."""
    gc.unfreeze()  # what an earlier settle froze may be garbage by now
    gc.collect()
    gc.freeze()
    first, second, _ = gc.get_threshold()
    gc.set_threshold(first, second, FULL_EVERY)


def resettle() -> bool:
    """`settle()` again if this process has settled before; whether it did."""
    if gc.get_freeze_count() == 0:
        return False
    settle()
    return True
