"""Fake powercap trees for tests, with counters that stand still or advance.

Real RAPL counters move all the time; the ``rapl`` meter's sanity probe refuses one that
does not. :class:`MovingCounters` advances ``energy_uj`` files from a thread, in place
(the meter keeps each file open and reads it with ``pread``), fixed-width so that a read
never sees a half-written number.
"""

from __future__ import annotations

import os
import subprocess
import sys
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


_WRITER = """
import os, sys, time
watts, interval, width = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
paths = sys.argv[4:]
fds = [os.open(p, os.O_WRONLY) for p in paths]
t0 = time.perf_counter()
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    value = 1_000_000 + int(watts * (time.perf_counter() - t0) * 1e6)
    data = f"{value:0{width}d}\\n".encode()
    for fd in fds:
        os.pwrite(fd, data, 0)
    time.sleep(interval)
"""


class MovingCounters:
    """Advance every ``energy_uj`` under ``root`` to ``start + microjoules()`` every ``interval``.

    ``microjoules`` defaults to ``watts`` x wall time, written by a separate process as the
    kernel would: a thread of the test process can be starved of the GIL by a reader that
    releases it for every ``pread`` (the sanity probe), and then the counter stands still.
    A given ``microjoules`` (which follows this process's work) runs in a thread. Values
    never go backwards.
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
        self.watts = watts
        self._process: subprocess.Popen[str] | None = None
        self._threaded = microjoules is not None
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
        if self._threaded:
            self._thread.start()
            return self
        args = [str(self.watts), str(self.interval), str(WIDTH), *map(str, self.files)]
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WRITER, *args], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        self._process.stdout.readline()  # "ready": the counters move from now on
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        elif self._thread.is_alive():
            self._thread.join()
        for fd in self._fds:
            os.close(fd)
