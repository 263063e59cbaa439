"""The garbage collector of a serving process, tuned for a long-lived server that holds many
websockets.

A full (generation 2) collection scans every tracked object of the process and stops it
meanwhile: with 1,000 subscriptions open, bench/subscriptions.py measured pauses of 0.1–0.4 s,
each delaying every event in flight (p99 of `--nested` 340–550 ms, against 80–95 ms in runs
without one). So, once the app is built:

- `gc.freeze()`: the schema, the libraries and the app's own objects, which live as long as
  the process, leave the collected generations; no collection scans them again.
- Generation 0 collects after `GENERATION0_THRESHOLD` net allocations instead of CPython's 700:
  every generation, the full one included, runs that much less often. Garbage waiting for a
  collection stays bounded by that count of objects.

Full collections still happen, and still pause the process for a time that grows with the
open sockets; they are rarer.
"""

import gc

GENERATION0_THRESHOLD = 20_000


def tune_collector() -> None:
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
    _, generation1, generation2 = gc.get_threshold()
    gc.set_threshold(GENERATION0_THRESHOLD, generation1, generation2)
