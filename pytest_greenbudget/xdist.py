"""Cross-process reader/writer lock that makes measured phases exclusive under xdist.

Meters that read machine-wide counters (RAPL, NVML) would count the work of every
other xdist worker, so while such a phase is measured no other test may run in any
worker. Every test holds the lock *shared* for its whole run; a measured phase holds it
*exclusive*. Writers are preferred: once a writer waits, new readers wait too, so a
stream of unmeasured tests cannot starve a measured one.

Construction (two lock files in a per-session directory, ``flock(2)`` on each):

- ``turnstile``: readers lock it EX for an instant on the way in; a writer holds it EX
  for its whole exclusive section. A waiting writer therefore stops new readers.
- ``room``: readers hold it SH while they run; a writer holds it EX.

Deadlock freedom: a process never waits for the turnstile while it holds the room, and
whoever waits for the room holds the turnstile (so readers only ever wait at the
turnstile, and at most one writer waits for the room to drain). Hence ``exclusive()``
in a process that holds ``shared()`` first *releases* its shared hold (two such
processes would otherwise each wait for the other's SH to go: the classic flock SH->EX
conversion trap) and afterwards re-takes it by downgrading EX->SH while it still holds
the turnstile. While it waits another writer may run; its test code is blocked in
``exclusive()`` meanwhile, so it does not disturb that writer (background threads or
child processes started by the test still do).

flock locks belong to open file descriptions and the kernel drops them when the last
descriptor closes, so a crashed (even SIGKILLed) worker never leaves the others
waiting. Descriptors are opened once per ``SessionLock`` (close-on-exec) and reopened in
a forked child, which must not share, convert or release its parent's locks.

On platforms without ``fcntl`` (Windows) the lock is a no-op: ``LOCKING_SUPPORTED`` is
False and measured phases under ``-n`` are not isolated there.

Not thread-safe: use one ``SessionLock`` per process, from pytest's main thread.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

if sys.platform != "win32":
    import fcntl

    LOCKING_SUPPORTED = True
    _LOCK_SH, _LOCK_EX, _LOCK_UN, _LOCK_NB = (
        fcntl.LOCK_SH,
        fcntl.LOCK_EX,
        fcntl.LOCK_UN,
        fcntl.LOCK_NB,
    )
    _sys_flock = fcntl.flock
else:  # pragma: no cover - Windows: no flock, the lock only keeps its bookkeeping
    LOCKING_SUPPORTED = False
    _LOCK_SH, _LOCK_EX, _LOCK_UN, _LOCK_NB = 1, 2, 8, 4

    def _sys_flock(fd: int, operation: int) -> None:
        """Never called: every caller checks ``LOCKING_SUPPORTED`` first."""


__all__ = [
    "LOCKING_SUPPORTED",
    "SESSION_DIR_PREFIX",
    "WORKERINPUT_KEY",
    "SessionLock",
    "make_session_dir",
    "remove_session_dir",
]

#: Prefix of the directories made by ``make_session_dir`` (recognizable in /tmp).
SESSION_DIR_PREFIX = "pytest-greenbudget-lock-"
#: Suggested key under which the controller passes the directory in ``node.workerinput``.
WORKERINPUT_KEY = "greenbudget_lock_dir"

_TURNSTILE = "turnstile.lock"
_ROOM = "room.lock"
_POLL_MIN_S = 0.0005
_POLL_MAX_S = 0.01


def make_session_dir() -> Path:
    """Create the per-session lock directory (the controller does this once)."""
    return Path(tempfile.mkdtemp(prefix=SESSION_DIR_PREFIX))


def remove_session_dir(path: Path) -> None:
    """Remove a session directory; missing or half-removed directories are fine.

    Call it only after every worker has finished: a worker that opened the lock files
    after removal would lock fresh files and no longer exclude the others.
    """
    shutil.rmtree(path, ignore_errors=True)


def _flock(fd: int, op: int, deadline: float | None, what: str) -> None:
    """``flock(fd, op)``: blocking when ``deadline`` is None, else polled until then.

    A non-blocking attempt comes first in both cases, so the uncontended path is one
    syscall; blocking flock cannot time out, hence polling with a short backoff.
    """
    try:
        _sys_flock(fd, op | _LOCK_NB)
        return
    except BlockingIOError:
        if deadline is None:
            _sys_flock(fd, op)
            return
    sleep_s = _POLL_MIN_S
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"pytest-greenbudget: timed out waiting for the {what}")
        time.sleep(min(sleep_s, remaining))
        sleep_s = min(sleep_s * 2, _POLL_MAX_S)
        try:
            _sys_flock(fd, op | _LOCK_NB)
            return
        except BlockingIOError:
            continue


class SessionLock:
    """Reader/writer lock shared by all processes that open the same directory.

    ``shared()`` wraps a whole test, ``exclusive()`` a measured phase. Both nest
    (depth counters; only the outermost level locks), ``shared()`` inside
    ``exclusive()`` is free, and ``exclusive()`` without ``shared()`` works (the
    single-process case). ``timeout_s=None`` waits forever; otherwise ``TimeoutError``.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = Path(directory)
        self._shared_depth = 0
        self._exclusive_depth = 0
        self._room_mode: int | None = None  # LOCK_SH / LOCK_EX actually held on room
        self._turnstile_held = False
        self._turnstile_fd = -1
        self._room_fd = -1
        self._pid = os.getpid()
        self._closed = False
        self._open()

    # -- state ---------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        """The per-session directory that holds the lock files."""
        return self._directory

    @property
    def holds_shared(self) -> bool:
        """True while this process is inside ``shared()`` (or exclusive, which implies it)."""
        if self._closed or self._pid != os.getpid():
            return False
        return self._shared_depth > 0 or self._exclusive_depth > 0

    @property
    def holds_exclusive(self) -> bool:
        """True while this process is inside ``exclusive()``."""
        if self._closed or self._pid != os.getpid():
            return False
        return self._exclusive_depth > 0

    def _open(self) -> None:
        if not LOCKING_SUPPORTED:
            return
        if not self._directory.is_dir():
            raise FileNotFoundError(
                f"pytest-greenbudget: lock directory {self._directory} does not exist"
            )
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._turnstile_fd = os.open(self._directory / _TURNSTILE, flags, 0o600)
        try:
            self._room_fd = os.open(self._directory / _ROOM, flags, 0o600)
        except BaseException:
            os.close(self._turnstile_fd)
            self._turnstile_fd = -1
            raise

    def _check_process(self) -> None:
        """Drop state inherited through fork(): the parent's locks are not ours."""
        if self._closed:
            raise RuntimeError("pytest-greenbudget: SessionLock is closed")
        if self._pid == os.getpid():
            return
        # Closing our copies does not release the parent's locks (the parent still
        # holds descriptors to the same open file descriptions); fresh ones do not share.
        self._close_fds()
        self._pid = os.getpid()
        self._shared_depth = self._exclusive_depth = 0
        self._room_mode = None
        self._turnstile_held = False
        self._open()

    def _close_fds(self) -> None:
        for fd in (self._turnstile_fd, self._room_fd):
            if fd >= 0:
                os.close(fd)
        self._turnstile_fd = self._room_fd = -1

    # -- physical operations (all locking goes through these) --------------------

    def _room(self, mode: int, deadline: float | None) -> None:
        if LOCKING_SUPPORTED:
            _flock(self._room_fd, mode, deadline, "energy measurement lock (room)")
        self._room_mode = mode

    def _room_unlock(self, force: bool = False) -> None:
        # ``force``: after an interruption the lock may be held but not yet recorded.
        if LOCKING_SUPPORTED and (force or self._room_mode is not None):
            _sys_flock(self._room_fd, _LOCK_UN)
        self._room_mode = None

    def _turnstile(self, deadline: float | None) -> None:
        if LOCKING_SUPPORTED:
            _flock(self._turnstile_fd, _LOCK_EX, deadline, "energy measurement lock")
        self._turnstile_held = True

    def _turnstile_unlock(self, force: bool = False) -> None:
        if LOCKING_SUPPORTED and (force or self._turnstile_held):
            _sys_flock(self._turnstile_fd, _LOCK_UN)
        self._turnstile_held = False

    def _enter_shared(self, timeout_s: float | None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._turnstile(deadline)  # waits behind any writer that holds or awaits it
        try:
            self._room(_LOCK_SH, deadline)
        finally:
            self._turnstile_unlock()

    # -- public API ------------------------------------------------------------------

    def acquire_shared(self, timeout_s: float | None = None) -> None:
        """Start a reader hold (a test is running in this process)."""
        self._check_process()
        if self._shared_depth == 0 and self._exclusive_depth == 0:
            self._enter_shared(timeout_s)
        self._shared_depth += 1

    def release_shared(self) -> None:
        """End a reader hold; the outermost release unlocks."""
        self._check_process()
        if self._shared_depth == 0:
            raise RuntimeError("pytest-greenbudget: release_shared() without acquire_shared()")
        self._shared_depth -= 1
        if self._shared_depth == 0 and self._exclusive_depth == 0:
            self._room_unlock()

    def acquire_exclusive(self, timeout_s: float | None = None) -> None:
        """Become the only process of the session that runs test code.

        If this process holds ``shared()``, that hold is released before waiting and
        restored afterwards (also when this raises ``TimeoutError``, within a further
        ``timeout_s``; if that fails too, the hold stays lost and the error says so).
        """
        self._check_process()
        if self._exclusive_depth > 0:
            self._exclusive_depth += 1
            return
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._room_unlock()  # never wait for the turnstile while holding the room
        try:
            self._turnstile(deadline)
            self._room(_LOCK_EX, deadline)
        except TimeoutError as exc:
            self._turnstile_unlock()
            if self._shared_depth > 0:
                try:
                    self._enter_shared(timeout_s)
                except TimeoutError as again:
                    raise TimeoutError(
                        f"{exc}; the shared hold of this test could not be restored either"
                    ) from again
            raise
        except BaseException:
            # Interrupted (e.g. KeyboardInterrupt): leave nothing half-held.
            self._room_unlock(force=True)
            self._turnstile_unlock(force=True)
            raise
        self._exclusive_depth = 1

    def release_exclusive(self) -> None:
        """End the exclusive section; a surrounding ``shared()`` hold is restored."""
        self._check_process()
        if self._exclusive_depth == 0:
            raise RuntimeError(
                "pytest-greenbudget: release_exclusive() without acquire_exclusive()"
            )
        self._exclusive_depth -= 1
        if self._exclusive_depth > 0:
            return
        try:
            if self._shared_depth > 0:
                # EX->SH is not atomic, but it cannot block: no other process can hold
                # or take the room EX while we hold the turnstile.
                self._room(_LOCK_SH, None)
            else:
                self._room_unlock()
        finally:
            self._turnstile_unlock()

    @contextmanager
    def shared(self, timeout_s: float | None = None) -> Iterator[None]:
        """Hold the lock shared for the block (every test, for its whole run)."""
        self.acquire_shared(timeout_s)
        try:
            yield
        finally:
            self.release_shared()

    @contextmanager
    def exclusive(self, timeout_s: float | None = None) -> Iterator[None]:
        """Hold the lock exclusive for the block (a phase measured by a machine-wide meter)."""
        self.acquire_exclusive(timeout_s)
        try:
            yield
        finally:
            self.release_exclusive()

    def close(self) -> None:
        """Release everything this process holds and close the descriptors (idempotent)."""
        if self._closed:
            return
        if self._pid == os.getpid() and self._room_fd >= 0:
            self._room_unlock(force=True)
            self._turnstile_unlock(force=True)
        self._close_fds()
        self._shared_depth = self._exclusive_depth = 0
        self._closed = True

    def __del__(self) -> None:
        # Safety net for a lock that was never closed: closing the descriptors makes the
        # kernel drop whatever this process still holds.
        try:
            self._close_fds()
        except Exception:
            pass

    def __enter__(self) -> SessionLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"SessionLock({str(self._directory)!r}, shared={self._shared_depth}, "
            f"exclusive={self._exclusive_depth})"
        )
