"""Cross-process tests of the reader/writer lock that makes measured phases exclusive.

Workers are forked processes that open their own ``SessionLock`` on a shared directory,
record (enter, exit) ``time.monotonic_ns()`` intervals taken *inside* their holds and
write them to files. Every wait in a test is bounded, so a deadlock fails, not hangs.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

import pytest

from pytest_greenbudget import xdist
from pytest_greenbudget.xdist import (
    SESSION_DIR_PREFIX,
    SessionLock,
    make_session_dir,
    remove_session_dir,
)

pytestmark = [
    pytest.mark.skipif(not xdist.LOCKING_SUPPORTED, reason="no flock on this platform"),
    # Python >= 3.12 warns about fork() when pytest (or xdist's execnet) runs threads.
    pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning"),
]

CTX = multiprocessing.get_context("fork") if hasattr(os, "fork") else None
REPS = range(3)
Interval = tuple[int, int]


@pytest.fixture
def lock_dir(tmp_path: Path) -> Path:
    d = tmp_path / "lock"
    d.mkdir()
    return d


@pytest.fixture
def new_lock(lock_dir: Path) -> Iterator[Callable[[], SessionLock]]:
    """Open ``SessionLock``s on ``lock_dir`` in this process; all closed at teardown."""
    opened: list[SessionLock] = []

    def make() -> SessionLock:
        opened.append(SessionLock(lock_dir))
        return opened[-1]

    yield make
    for lock in opened:
        lock.close()


# -- helpers ---------------------------------------------------------------------------


def _start(target: Callable[..., None], *args: object) -> BaseProcess:
    assert CTX is not None
    proc = CTX.Process(target=target, args=args, daemon=True)
    proc.start()
    return proc


def _join_all(procs: Sequence[BaseProcess], timeout_s: float = 10.0) -> None:
    """Join; a process still alive at the deadline is killed and the test fails."""
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
    hung = [proc for proc in procs if proc.is_alive()]
    for proc in hung:
        proc.kill()
        proc.join()
    assert not hung, f"{len(hung)} process(es) hung: deadlock?"
    assert [proc.exitcode for proc in procs] == [0] * len(procs)


def _read_intervals(path: Path) -> list[Interval]:
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(int(a), int(b)) for a, b in rows]


def _assert_disjoint(intervals: list[Interval]) -> None:
    ordered = sorted(intervals)
    for (_, end), (start, _) in itertools.pairwise(ordered):
        assert end <= start, f"overlapping holds: {ordered}"


def _overlaps(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def _blocked(lock: SessionLock, kind: str) -> bool:
    """True if ``lock`` cannot take ``kind`` right now (probed with a short timeout)."""
    ctx = lock.shared if kind == "shared" else lock.exclusive
    try:
        with ctx(timeout_s=0.05):
            return False
    except TimeoutError:
        return True


# -- worker bodies (run in forked children) ------------------------------------------


def _hold_loop(
    lock_dir: Path,
    out: Path,
    kind: str,
    n: int,
    hold_s: float,
    pause_s: float,
    go: Event,
    timeout_s: float | None,
) -> None:
    lock = SessionLock(lock_dir)
    assert go.wait(5)
    with out.open("a") as f:
        for _ in range(n):
            ctx = lock.shared if kind == "shared" else lock.exclusive
            with ctx(timeout_s=timeout_s):
                start = time.monotonic_ns()
                time.sleep(hold_s)
                end = time.monotonic_ns()
            f.write(f"{start} {end}\n")
            time.sleep(pause_s)


def _hold_until(lock_dir: Path, kind: str, held: Event, release: Event | None) -> None:
    lock = SessionLock(lock_dir)
    ctx = lock.shared if kind == "shared" else lock.exclusive
    with ctx():
        held.set()
        if release is None:
            time.sleep(60)  # until killed
        else:
            assert release.wait(10)


def _shared_reader_overlap(lock_dir: Path, out: Path) -> None:
    lock = SessionLock(lock_dir)
    with lock.shared(timeout_s=3):
        start = time.monotonic_ns()
        end = time.monotonic_ns()
    out.write_text(f"{start} {end}\n")


def _reader_stream(lock_dir: Path, started: Event, stop: Event, stagger_s: float) -> None:
    lock = SessionLock(lock_dir)
    time.sleep(stagger_s)
    started.set()
    deadline = time.monotonic() + 5
    while not stop.is_set() and time.monotonic() < deadline:
        with lock.shared():
            time.sleep(0.02)


def _shared_then_exclusive(lock_dir: Path, out: Path, barrier: Barrier) -> None:
    lock = SessionLock(lock_dir)
    with lock.shared():
        barrier.wait(5)  # every process holds SH before anyone asks for EX
        with lock.exclusive(timeout_s=5):
            start = time.monotonic_ns()
            time.sleep(0.01)
            end = time.monotonic_ns()
        assert lock.holds_shared and not lock.holds_exclusive
        time.sleep(0.01)
    out.write_text(f"{start} {end}\n")


def _inherited_child(lock: SessionLock) -> None:
    """Use a SessionLock inherited through fork while the parent holds it exclusive."""
    assert not lock.holds_exclusive and not lock.holds_shared
    try:
        with lock.shared(timeout_s=0.05):
            os._exit(3)  # got in beside the parent's exclusive hold
    except TimeoutError:
        pass
    lock.close()  # must not release the parent's locks


# -- (a) mutual exclusion ------------------------------------------------------------


@pytest.mark.parametrize("timeout_s", [None, 5.0], ids=["blocking", "polling"])
@pytest.mark.parametrize("rep", REPS)
def test_writers_exclude_each_other(
    lock_dir: Path, tmp_path: Path, rep: int, timeout_s: float | None
) -> None:
    assert CTX is not None
    go = CTX.Event()
    outs = [tmp_path / f"w{i}" for i in range(4)]
    procs = [
        _start(_hold_loop, lock_dir, out, "exclusive", 5, 0.002, 0.0, go, timeout_s) for out in outs
    ]
    go.set()
    _join_all(procs)
    intervals = [iv for out in outs for iv in _read_intervals(out)]
    assert len(intervals) == 20
    _assert_disjoint(intervals)


# -- (b) readers share -----------------------------------------------------------------


@pytest.mark.parametrize("rep", REPS)
def test_readers_run_concurrently(
    lock_dir: Path, tmp_path: Path, rep: int, new_lock: Callable[[], SessionLock]
) -> None:
    lock = new_lock()
    out = tmp_path / "reader"
    with lock.shared():
        start = time.monotonic_ns()
        proc = _start(_shared_reader_overlap, lock_dir, out)
        _join_all([proc])  # the child must get its shared hold while we keep ours
        end = time.monotonic_ns()
    [child] = _read_intervals(out)
    assert _overlaps((start, end), child)


# -- (c) readers and writers ---------------------------------------------------------


@pytest.mark.parametrize("rep", REPS)
def test_no_reader_inside_a_writer(lock_dir: Path, tmp_path: Path, rep: int) -> None:
    assert CTX is not None
    go = CTX.Event()
    readers = [tmp_path / f"r{i}" for i in range(3)]
    writers = [tmp_path / f"w{i}" for i in range(2)]
    procs = [
        _start(_hold_loop, lock_dir, out, "shared", 12, 0.003, 0.001, go, None) for out in readers
    ]
    procs += [
        _start(_hold_loop, lock_dir, out, "exclusive", 4, 0.003, 0.004, go, 5.0) for out in writers
    ]
    go.set()
    _join_all(procs)
    reads = [iv for out in readers for iv in _read_intervals(out)]
    writes = [iv for out in writers for iv in _read_intervals(out)]
    assert (len(reads), len(writes)) == (36, 8)
    _assert_disjoint(writes)
    for w in writes:
        inside = [r for r in reads if _overlaps(r, w)]
        assert not inside, f"reader(s) {inside} ran during exclusive hold {w}"


# -- (d) writer preference -------------------------------------------------------------


@pytest.mark.parametrize("timeout_s", [None, 1.0], ids=["blocking", "polling"])
@pytest.mark.parametrize("rep", REPS)
def test_writer_not_starved_by_reader_stream(
    lock_dir: Path, rep: int, timeout_s: float | None, new_lock: Callable[[], SessionLock]
) -> None:
    """Staggered readers keep the room occupied at every instant; the writer must
    still get in after about one reader hold (20 ms), not when the stream ends (5 s)."""
    assert CTX is not None
    stop = CTX.Event()
    started = [CTX.Event() for _ in range(3)]
    procs = [_start(_reader_stream, lock_dir, ev, stop, 0.007 * i) for i, ev in enumerate(started)]
    try:
        _wait_until(lambda: all(ev.is_set() for ev in started))
        time.sleep(0.05)
        lock = new_lock()
        t0 = time.monotonic()
        with lock.exclusive(timeout_s=timeout_s):  # readers give up after 5 s anyway
            waited = time.monotonic() - t0
        lock.close()
    finally:
        stop.set()
    _join_all(procs)
    assert waited < 1.0


# -- (e) crashed holders ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["exclusive", "shared"])
def test_killed_holder_releases_the_lock(
    lock_dir: Path, kind: str, new_lock: Callable[[], SessionLock]
) -> None:
    assert CTX is not None
    held = CTX.Event()
    proc = _start(_hold_until, lock_dir, kind, held, None)
    assert held.wait(5)
    lock = new_lock()
    assert _blocked(lock, "exclusive")
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(5)
    assert proc.exitcode == -signal.SIGKILL
    with lock.exclusive(timeout_s=2):
        assert lock.holds_exclusive


def test_killed_waiting_writer_releases_the_turnstile(
    lock_dir: Path, new_lock: Callable[[], SessionLock]
) -> None:
    """A writer that dies while it waits for readers to drain must not block readers."""
    assert CTX is not None
    reader, probe = new_lock(), new_lock()
    reader.acquire_shared()
    proc = _start(_hold_until, lock_dir, "exclusive", CTX.Event(), None)
    _wait_until(lambda: _blocked(probe, "shared"))  # the writer now holds the turnstile
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(5)
    assert not _blocked(probe, "shared")
    reader.release_shared()
    with probe.exclusive(timeout_s=2):
        pass


# -- (f) timeouts ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["exclusive", "shared"])
def test_timeout_raises(lock_dir: Path, kind: str, new_lock: Callable[[], SessionLock]) -> None:
    assert CTX is not None
    held, release = CTX.Event(), CTX.Event()
    lock = new_lock()
    ctx = lock.shared if kind == "shared" else lock.exclusive
    proc = _start(_hold_until, lock_dir, "exclusive", held, release)
    try:
        assert held.wait(5)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="timed out waiting"), ctx(timeout_s=0.2):
            pass
        assert 0.2 <= time.monotonic() - t0 < 1.5
        assert not lock.holds_shared and not lock.holds_exclusive
    finally:
        release.set()
    _join_all([proc])
    with ctx(timeout_s=2):  # usable again once the holder is gone
        pass


def test_timed_out_exclusive_restores_the_shared_hold(
    lock_dir: Path, new_lock: Callable[[], SessionLock]
) -> None:
    assert CTX is not None
    held, release = CTX.Event(), CTX.Event()
    proc = _start(_hold_until, lock_dir, "shared", held, release)
    assert held.wait(5)
    lock, probe = new_lock(), new_lock()
    lock.acquire_shared()
    with pytest.raises(TimeoutError):
        lock.acquire_exclusive(timeout_s=0.1)  # the child's reader hold never ends
    assert lock.holds_shared and not lock.holds_exclusive
    release.set()
    _join_all([proc])
    assert _blocked(probe, "exclusive")  # our restored shared hold still keeps writers out
    lock.release_shared()
    assert not _blocked(probe, "exclusive")


# -- (g) shared -> exclusive in several processes ------------------------------------


@pytest.mark.parametrize("rep", REPS)
def test_shared_holders_upgrading_do_not_deadlock(lock_dir: Path, tmp_path: Path, rep: int) -> None:
    assert CTX is not None
    barrier = CTX.Barrier(3)
    outs = [tmp_path / f"p{i}" for i in range(3)]
    procs = [_start(_shared_then_exclusive, lock_dir, out, barrier) for out in outs]
    _join_all(procs)
    intervals = [iv for out in outs for iv in _read_intervals(out)]
    assert len(intervals) == 3
    _assert_disjoint(intervals)


# -- single process ----------------------------------------------------------------------


def test_exclusive_without_shared_and_nesting(
    lock_dir: Path, new_lock: Callable[[], SessionLock]
) -> None:
    lock, other = new_lock(), new_lock()
    with lock.exclusive():
        with lock.exclusive(), lock.shared():  # nested: counted, no extra locking
            assert lock.holds_exclusive
        assert lock.holds_exclusive and _blocked(other, "shared")
    assert not lock.holds_shared and not _blocked(other, "exclusive")
    with lock.shared():
        with lock.exclusive():
            assert _blocked(other, "shared")
        assert lock.holds_shared and not lock.holds_exclusive
        assert _blocked(other, "exclusive") and not _blocked(other, "shared")
    assert not _blocked(other, "exclusive")


def test_unbalanced_release_raises(lock_dir: Path, new_lock: Callable[[], SessionLock]) -> None:
    lock = new_lock()
    with pytest.raises(RuntimeError, match="without acquire_shared"):
        lock.release_shared()
    with pytest.raises(RuntimeError, match="without acquire_exclusive"):
        lock.release_exclusive()


def test_close_releases_and_is_idempotent(
    lock_dir: Path, new_lock: Callable[[], SessionLock]
) -> None:
    lock, other = new_lock(), new_lock()
    lock.acquire_exclusive()
    assert _blocked(other, "shared")
    lock.close()
    lock.close()
    assert not _blocked(other, "exclusive")
    with pytest.raises(RuntimeError, match="closed"):
        lock.acquire_shared()


def test_forked_child_does_not_use_parent_locks(
    lock_dir: Path, new_lock: Callable[[], SessionLock]
) -> None:
    lock, other = new_lock(), new_lock()
    with lock.exclusive():
        proc = _start(_inherited_child, lock)
        _join_all([proc])
        assert lock.holds_exclusive and _blocked(other, "shared")
    assert not _blocked(other, "shared")


def test_session_dir_helpers() -> None:
    d = make_session_dir()
    try:
        assert d.is_dir() and d.name.startswith(SESSION_DIR_PREFIX)
        SessionLock(d).close()
    finally:
        remove_session_dir(d)
    assert not d.exists()
    remove_session_dir(d)  # tolerant
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SessionLock(d)


def test_without_flock_the_lock_is_a_no_op(
    lock_dir: Path, monkeypatch: pytest.MonkeyPatch, new_lock: Callable[[], SessionLock]
) -> None:
    monkeypatch.setattr(xdist, "LOCKING_SUPPORTED", False)
    a, b = new_lock(), new_lock()
    with a.exclusive(timeout_s=0.05), b.exclusive(timeout_s=0.05):
        assert a.holds_exclusive and b.holds_exclusive
    a.close()
    b.close()
