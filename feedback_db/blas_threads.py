"""One BLAS thread while the leaderboard's statistics run (docs/PERFORMANCE.md, "Leaderboard").

The leaderboard's matrix work is small (20 x 20 solves, 25 x 100,000 products): a second BLAS
thread saves little on an idle machine, and on a busy 2-core one it waits for a core at every
synchronisation, which made the leaderboard 2-5x slower than with one thread. numpy's and scipy's
OpenBLAS are limited to one thread while `one_blas_thread()` is open (threadpoolctl; torch's own
MKL and OpenMP pools are left alone).

The limit is process-wide, as BLAS's thread count is, and threadpoolctl lets only the thread that
set it put it back, so leaderboards computed in two threads at once take turns (a lock): the
second waits for the first instead of sharing the same cores with it, and neither can leave the
limit behind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

_TURN = threading.RLock()  # one per process, like the BLAS thread count it guards; re-entrant


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """`with one_blas_thread(): ...` runs the block with numpy's and scipy's BLAS on one thread."""
    with _TURN, threadpool_limits(limits=1, user_api="blas"):
        yield
