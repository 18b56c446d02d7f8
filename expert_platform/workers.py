"""Worker processes for the CPU-bound, pure part of a bulk job (an archive import's Markdown, the search rows
of a large index write): this process keeps the database, the workers compute.

Two cores are the rule on the machines we run on, and a bulk job's own process is busy with the database
and the ORM: pure work sent to workers runs beside it instead of after it.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager

#: Worker processes a pool starts (the machines have two cores; the job's own process and the database
#: server share them with the workers).
WORKERS = 2


class InProcess(Executor):
    """An executor that runs each call at once, in this process: what ``pool`` gives when it cannot fork
    (callers then need no second way)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to whoever reads the result, as a pool would
            future.set_exception(error)
        return future


@contextmanager
def pool(*, parallel: bool = True, workers: int = WORKERS) -> Iterator[Executor]:
    """An executor for pure functions of module level: ``workers`` processes, forked where the platform can
    (the code is imported already, so a worker starts at once) and each collecting its own garbage (a bulk
    job may have paused the collector here, ``importer.garbage_collected_per_batch``). In this process
    instead (``InProcess``) when ``parallel`` is false or another thread runs here: a fork copies only the
    calling thread, and a lock another one held would stay locked in the copy for good.

    Workers must not use the database: the connection this process holds is copied into them."""
    if not parallel or threading.active_count() > 1:
        yield InProcess()
        return
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=gc.enable)
    try:
        yield executor
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
