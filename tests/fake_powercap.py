"""Fake powercap trees for tests, with counters that stand still or advance.

Real RAPL counters move all the time; the ``rapl`` meter's sanity probe refuses one that
does not. :class:`MovingCounters` advances ``energy_uj`` files from a thread, in place
(the meter keeps each file open and reads it with ``pread``), fixed-width so that a read
never sees a half-written number.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

WIDTH = 20  # digits: int() accepts the leading zeros


def build_flat_tree(root: Path, packages: int = 1, *, dram: bool = False) -> Path:
    """/sys/class/powercap-like: intel-rapl:N (package-N) [and intel-rapl:N:0 dram]."""
    for pkg in range(packages):
        zones = {root / f"intel-rapl:{pkg}": f"package-{pkg}"}
        if dram:
            zones[root / f"intel-rapl:{pkg}:0"] = "dram"
        for path, name in zones.items():
            path.mkdir(parents=True)
            (path / "name").write_text(name + "\n")
            (path / "energy_uj").write_text(f"{1_000_000:0{WIDTH}d}\n")
            (path / "max_energy_range_uj").write_text("262143328850\n")
    return root


def energy_files(root: Path) -> list[Path]:
    return sorted(root.rglob("energy_uj"))


class MovingCounters:
    """Advance every ``energy_uj`` under ``root`` to ``start + microjoules()`` every ``interval``.

    ``microjoules`` defaults to ``watts`` x wall time. Values never go backwards.
    """

    def __init__(
        self,
        root: Path,
        watts: float = 20.0,
        microjoules: Callable[[], float] | None = None,
        interval: float = 0.001,
    ) -> None:
        self.files = energy_files(root)
        self.interval = interval
        t0 = time.perf_counter()
        self.microjoules = microjoules or (lambda: watts * (time.perf_counter() - t0) * 1e6)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake-rapl")
        self._fds: list[int] = []
        self._last = 0

    def _write(self) -> None:
        value = max(self._last, 1_000_000 + int(self.microjoules()))
        self._last = value
        data = f"{value:0{WIDTH}d}\n".encode()
        for fd in self._fds:
            os.pwrite(fd, data, 0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._write()

    def __enter__(self) -> MovingCounters:
        self._fds = [os.open(f, os.O_WRONLY) for f in self.files]
        self._write()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        for fd in self._fds:
            os.close(fd)
