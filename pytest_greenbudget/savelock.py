"""One exclusive lock around a baseline save, so that two runs saving together both count.

The save is read-modify-write: without a lock, two runs finishing together each read the
old file and the second rename throws away the first run's entries. The lock leaves
nothing in the project (SPEC 7: the plugin writes no other file there):

- POSIX: ``flock`` on the baseline's *folder*, opened read-only. No file is created; every
  run saving into that folder, from any checkout or user, takes the same lock.
- Where a folder cannot be locked (Windows, or ``flock`` refused, e.g. on some network
  file systems): a lock file in the temporary folder, named by a hash of the baseline's
  resolved path, locked with ``flock`` or ``msvcrt.locking``.
- Where neither works, the save goes ahead unlocked, as it did before: a lock is a
  guarantee against a race, never a new way for the save to fail.

Waiting is bounded: a run that holds the lock for longer than ``timeout_s`` (a hung
process) makes the save fail with a message, not the session hang.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

#: Seconds to wait for another run's save; saves take milliseconds.
DEFAULT_TIMEOUT_S = 60.0
_POLL_S = 0.01

_sleep = time.sleep
_monotonic = time.monotonic


class LockTimeout(OSError):
    """Another process held the lock for longer than the wait allows."""


def _try_flock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _try_msvcrt(fd: int) -> bool:  # pragma: no cover - Windows
    import msvcrt

    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    except OSError:
        return False
    return True


def _unlock_msvcrt(fd: int) -> None:  # pragma: no cover - Windows
    import msvcrt

    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


def _wait(fd: int, attempt: Callable[[int], bool], timeout_s: float, what: str) -> None:
    deadline = _monotonic() + timeout_s
    while not attempt(fd):
        if _monotonic() >= deadline:
            raise LockTimeout(f"another run held the save lock on {what} for over {timeout_s:g} s")
        _sleep(_POLL_S)


def lock_file_for(folder: Path) -> Path:
    """The temporary-folder lock file that stands for ``folder`` where it cannot be locked."""
    import hashlib
    import tempfile

    key = os.path.realpath(folder).encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(key).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"greenbudget-save-{digest}.lock"


@contextlib.contextmanager
def save_lock(folder: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    """Hold the exclusive save lock of the baseline folder ``folder`` (which must exist).

    Raises LockTimeout when another process keeps it past ``timeout_s``.
    """
    fd = _lock_folder(folder, timeout_s)
    if fd is None:
        fd = _lock_temp_file(folder, timeout_s)
    try:
        yield
    finally:
        if fd is not None:
            if os.name == "nt":  # pragma: no cover - Windows
                _unlock_msvcrt(fd)
            os.close(fd)  # closing releases a flock


def _lock_folder(folder: Path, timeout_s: float) -> int | None:
    """A locked read-only descriptor of ``folder``, or None where folders cannot be locked."""
    if os.name == "nt":  # pragma: no cover - Windows: folders cannot be opened
        return None
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover
        return None
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        _wait(fd, _try_flock, timeout_s, str(folder))
    except LockTimeout:
        os.close(fd)
        raise
    except OSError:  # flock not supported here (e.g. NFS without lock emulation)
        os.close(fd)
        return None
    return fd


def _lock_temp_file(folder: Path, timeout_s: float) -> int | None:
    path = lock_file_for(folder)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError:
        return None
    attempt = _try_msvcrt if os.name == "nt" else _try_flock
    try:
        _wait(fd, attempt, timeout_s, str(folder))
    except LockTimeout:
        os.close(fd)
        raise
    except OSError:
        os.close(fd)
        return None
    return fd
