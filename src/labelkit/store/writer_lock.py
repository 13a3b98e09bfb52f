"""A fair, prompt queue for SQLite writers across processes: an flock on a file beside the db.

SQLite lets one writer in at a time; the others poll with growing sleeps (up to 100 ms each), so
under many writer processes throughput collapses and a busy writer can starve past the busy
timeout ("database is locked"). Waiting on an flock instead blocks in the kernel and wakes as
soon as the holder is done. Held around the whole transaction, released after the commit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # Windows: no flock; SQLite's own busy handler still keeps writes safe
    fcntl = None


class WriterLock:
    def __init__(self, path: str | None):
        self.path = path if fcntl is not None else None
        self._thread = threading.RLock()  # flock does not exclude threads sharing one file
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        with self._thread:
            if self._depth == 0:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
