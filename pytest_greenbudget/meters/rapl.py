"""The ``rapl`` meter: CPU package and DRAM energy from the Linux powercap interface.

Linux exposes Intel RAPL (and AMD's, under the same ``intel-rapl`` names since 5.8)
as powercap zones: ``intel-rapl:N`` is CPU package N (``name`` = ``package-N``) and
its child ``intel-rapl:N:M`` named ``dram`` is that package's memory. The ``core``
and ``uncore`` children are *inside* the package figure, so they are never added
(that would count the same joules twice); ``psys`` (the whole platform) and the
``intel-rapl-mmio`` copy of the package counter are skipped for the same reason.

Domains: ``cpu:package-N`` and ``dram:N``. Counters are machine-wide.

Where the zones are looked up, first match wins:

1. the ``root`` argument;
2. the environment variable ``GREENBUDGET_POWERCAP_ROOT`` (a directory laid out like
   ``/sys/class/powercap`` or ``/sys/devices/virtual/powercap``; useful in containers
   that bind-mount sysfs elsewhere, and for tests);
3. ``/sys/class/powercap``, then ``/sys/devices/virtual/powercap``.

Since Linux 5.10, ``energy_uj`` is readable by root only (CVE-2020-8694), so on most
machines an ordinary user gets :class:`MeterUnavailable` with the fix in its message.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from typing import NamedTuple

from pytest_greenbudget.meters.base import MeterError, MeterUnavailable
from pytest_greenbudget.stats import counter_prior

__all__ = ["ENV_ROOT", "PERMISSION_FIX", "RaplMeter", "RaplZone"]

ENV_ROOT = "GREENBUDGET_POWERCAP_ROOT"
DEFAULT_ROOTS = ("/sys/class/powercap", "/sys/devices/virtual/powercap")

PERMISSION_FIX = (
    "Since Linux 5.10 the RAPL counters (energy_uj) are readable by root only "
    "(CVE-2020-8694). To let users read them until the next reboot: "
    "`sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj "
    "/sys/class/powercap/intel-rapl:*:*/energy_uj`; to keep it across reboots, add the "
    "udev rule file /etc/udev/rules.d/99-greenbudget-rapl.rules containing "
    '\'SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod o+r /sys%p/energy_uj"\' '
    "and run `sudo udevadm trigger --subsystem-match=powercap` (this re-opens the "
    "power side channel to local users: prefer `chgrp` to a trusted group and `g+r` on "
    "shared machines). Or use --greenbudget-meter=estimate."
)

# intel-rapl:0 / amd-rapl:1 (packages, or psys) and intel-rapl:0:1 (their children).
_PACKAGE_RE = re.compile(r"(intel-rapl|amd-rapl):(\d+)")
_CHILD_RE = re.compile(r"(intel-rapl|amd-rapl):(\d+):(\d+)")
_PACKAGE_NAME_RE = re.compile(r"package-(\d+)")
_READ_SIZE = 64


class RaplZone(NamedTuple):
    """One counter the meter reads: ``domain`` (reported name) and its sysfs ``path``."""

    domain: str
    path: str
    max_range_uj: int | None


def _read_text(path: str) -> str:
    # errors="replace": a stray byte makes a name match nothing, never an exception.
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read().strip()


def _read_int_or_none(path: str) -> int | None:
    try:
        return int(_read_text(path))
    except (OSError, ValueError):
        return None


def _numeric_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(":")[1:])


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def discover_zones(root: str) -> list[RaplZone]:
    """The package and dram zones under ``root`` (either sysfs layout), in package order.

    ``/sys/class/powercap`` lists every zone flat (``intel-rapl:0``, ``intel-rapl:0:0``
    as symlinks); ``/sys/devices/virtual/powercap`` nests them under the control type
    (``intel-rapl/intel-rapl:0/intel-rapl:0:0``). Zones are deduplicated by real path.
    """
    packages: list[tuple[str, str]] = []  # (sysfs entry name, directory)
    seen: set[str] = set()
    for scan in (root, os.path.join(root, "intel-rapl"), os.path.join(root, "amd-rapl")):
        for entry in _listdir(scan):
            if not _PACKAGE_RE.fullmatch(entry):
                continue
            path = os.path.join(scan, entry)
            real = os.path.realpath(path)
            if real not in seen and os.path.isdir(path):
                seen.add(real)
                packages.append((entry, path))
    packages.sort(key=lambda p: (p[0].split(":")[0] != "intel-rapl", _numeric_key(p[0])))

    zones: list[RaplZone] = []
    domains: set[str] = set()
    for entry, path in packages:
        try:
            name = _read_text(os.path.join(path, "name"))
        except OSError:
            continue
        match = _PACKAGE_NAME_RE.fullmatch(name)
        if match is None:  # psys and other platform-wide zones contain the packages
            continue
        domain = f"cpu:{name}"
        if domain in domains:  # the same package seen through another driver's name
            continue
        domains.add(domain)
        zones.append(_zone(domain, path))
        dram = _find_dram(entry, path, root)
        if dram is not None:
            zones.append(_zone(f"dram:{match.group(1)}", dram))
    return zones


def _find_dram(entry: str, package_dir: str, root: str) -> str | None:
    children: list[tuple[str, str]] = []
    for scan in (package_dir, root):
        for child in _listdir(scan):
            m = _CHILD_RE.fullmatch(child)
            if m is not None and child.startswith(entry + ":"):
                children.append((child, os.path.join(scan, child)))
    for _, path in sorted(children, key=lambda c: _numeric_key(c[0])):
        if _read_text_or_empty(os.path.join(path, "name")) == "dram":
            return path
    return None


def _read_text_or_empty(path: str) -> str:
    try:
        return _read_text(path)
    except OSError:
        return ""


def _zone(domain: str, path: str) -> RaplZone:
    return RaplZone(domain, path, _read_int_or_none(os.path.join(path, "max_energy_range_uj")))


def _read_counter(fd: int) -> int:
    # pread at offset 0 makes sysfs regenerate the value: no open/close per reading.
    return int(os.pread(fd, _READ_SIZE, 0))


class RaplMeter:
    """Cumulative joules per RAPL package (``cpu:package-N``) and DRAM (``dram:N``) zone.

    The counters are opened once in the constructor and read with ``pread``, so a
    reading costs a couple of system calls per zone. Each counter wraps at
    ``max_energy_range_uj``; a raw value lower than the previous one adds that range
    (one wrap per reading is assumed: minutes at full load, far longer than a reading
    interval).
    """

    name = "rapl"
    estimated = False
    per_process = False
    resolution_s = 0.001
    noise = counter_prior()  # SPEC 12: see stats.py

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        if root is not None:
            roots = [os.fspath(root)]
        elif os.environ.get(ENV_ROOT):
            roots = [os.environ[ENV_ROOT]]
        else:
            roots = list(DEFAULT_ROOTS)
        zones: list[RaplZone] = []
        for candidate in roots:
            zones = discover_zones(candidate)
            if zones:
                self.root = candidate
                break
        if not zones:
            raise MeterUnavailable(
                f"no RAPL package zone under {' or '.join(roots)}: not Linux, a VM or "
                "container without powercap, or the RAPL driver is not loaded "
                "(try `sudo modprobe intel_rapl_msr`)"
            )
        self.zones: tuple[RaplZone, ...] = tuple(zones)
        self._fds: list[int] = []
        self._lock = threading.Lock()
        try:
            for zone in zones:
                self._fds.append(self._open(zone))
            self._last = [self._read(i) for i in range(len(zones))]
        except OSError as exc:
            self.close()
            if isinstance(exc, PermissionError):
                raise MeterUnavailable(
                    f"cannot read {exc.filename or 'the RAPL counter'}: permission denied. "
                    + PERMISSION_FIX
                ) from exc
            raise MeterUnavailable(f"cannot read the RAPL counter: {exc}") from exc
        self._total_uj = [0] * len(zones)
        self.domains: tuple[str, ...] = tuple(z.domain for z in zones)
        self.details = f"RAPL at {self.root}: " + ", ".join(
            f"{z.domain} ({os.path.basename(z.path)})" for z in zones
        )

    @staticmethod
    def _open(zone: RaplZone) -> int:
        return os.open(os.path.join(zone.path, "energy_uj"), os.O_RDONLY | os.O_CLOEXEC)

    def _read(self, i: int) -> int:
        path = os.path.join(self.zones[i].path, "energy_uj")
        try:
            return _read_counter(self._fds[i])
        except ValueError as exc:
            raise OSError(f"{path} does not hold a number: {exc}") from exc
        except OSError as exc:
            if exc.filename is None:
                exc.filename = path
            raise

    def read(self) -> Mapping[str, float]:
        """Joules per domain since the meter was created."""
        with self._lock:
            if not self._fds:
                raise MeterError("the rapl meter is closed")
            for i, zone in enumerate(self.zones):
                try:
                    raw = self._read(i)
                except OSError as exc:
                    raise MeterError(f"rapl: cannot read {zone.domain}: {exc}") from exc
                delta = raw - self._last[i]
                if delta < 0:
                    # Wrapped; without a known range count only what came after the wrap.
                    delta += zone.max_range_uj if zone.max_range_uj else self._last[i]
                self._last[i] = raw
                self._total_uj[i] += delta
            return {d: uj / 1e6 for d, uj in zip(self.domains, self._total_uj, strict=True)}

    def close(self) -> None:
        """Close the counter files; idempotent."""
        fds, self._fds = self._fds, []
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
