"""How often the cyclic garbage collector runs in monitor's processes.

Nearly everything a poll makes is freed by reference counting the moment it is dropped; the
cyclic collector only finds cycles (tracebacks, some asyncio objects). Under CPython's
default thresholds (700, 10, 10) it ran a young collection every 700 allocations and, as a
large poll's objects piled up (the worker's matches kept until the match step, a chunk's
rows), full collections walking all of them: on the 50,000-item feed of issue 22, 1,100
collections taking 0.7 s of the poll's process and 0.3 s of its parse worker, for no cycle
worth finding. A young generation of ``YOUNG`` objects makes that 17 and 0.13 s (peak RSS
unchanged: cyclic garbage waits a little longer, and there is little of it).
"""

from __future__ import annotations

import gc

YOUNG = 20_000  # allocations (net of frees) between two young collections


def tune() -> None:
    """The thresholds for this process: ``YOUNG``, then CPython's own ratios."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
