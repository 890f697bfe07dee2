"""Turn meter specs (``auto``, built-in names, ``module:Class``) into meter objects.

Availability is decided once, here, so a missing counter is a usage error before any
test runs rather than a surprise in the middle of the session.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from pytest_greenbudget.meters.base import Meter, MeterUnavailable

BUILTIN = ("auto", "estimate", "rapl", "nvml", "codecarbon")
#: The user stopping the run: never turned into a meter error.
_NOT_ERRORS = (KeyboardInterrupt, GeneratorExit)


class MeterSpecError(Exception):
    """A meter spec that names nothing usable; the message says which and why."""


class MeterOptions(NamedTuple):
    """What the built-in meters need from the configuration."""

    cpu_tdp_watts: float | None = None
    country: str | None = None


def _estimate(options: MeterOptions) -> Meter:
    from pytest_greenbudget.meters.estimate import EstimateMeter

    return EstimateMeter(options.cpu_tdp_watts)


def _rapl(options: MeterOptions) -> Meter:
    from pytest_greenbudget.meters.rapl import RaplMeter

    return RaplMeter()


def _nvml(options: MeterOptions) -> Meter:
    from pytest_greenbudget.meters.nvml import NvmlMeter

    return NvmlMeter()


def _codecarbon(options: MeterOptions) -> Meter:
    from pytest_greenbudget.meters.codecarbon_meter import CodecarbonMeter

    return CodecarbonMeter(options.country)


_FACTORIES: dict[str, Callable[[MeterOptions], Meter]] = {
    "estimate": _estimate,
    "rapl": _rapl,
    "nvml": _nvml,
    "codecarbon": _codecarbon,
}


def _auto(options: MeterOptions) -> list[Meter]:
    """RAPL where readable, else the estimate; plus NVML where a GPU is visible. Never fails:
    any error of the optional meters (odd sysfs contents, a broken driver) means "not here"."""
    meters: list[Meter] = []
    try:
        meters.append(_rapl(options))
    except Exception:  # MeterUnavailable, and anything a strange machine makes it raise
        meters.append(_estimate(options))
    if _nvidia_driver_present():
        try:
            meters.append(_nvml(options))
        except Exception:
            pass
    return meters


def _nvidia_driver_present() -> bool:
    """A cheap look for the NVIDIA driver, so that ``auto`` imports pynvml only where it may work.

    On Linux the driver shows as /dev/nvidiactl or /proc/driver/nvidia (and as /dev/dxg in
    WSL2); elsewhere there is no such sign, and pynvml itself has to answer.
    """
    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/proc/driver/nvidia", "/dev/dxg"))


def _unique_names(meters: list[Meter]) -> list[Meter]:
    names = [m.name for m in meters]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MeterSpecError(
            f"two meters are named {twice[0]!r}; meter names must differ so that their "
            "domains can be told apart"
        )
    return meters


def _custom(spec: str) -> Meter:
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise MeterSpecError(f"meter {spec!r}: expected 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except _NOT_ERRORS:
        raise
    except BaseException as exc:  # SystemExit at import too: a usage error, not a crash
        raise MeterSpecError(
            f"meter {spec!r}: cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None or not callable(cls):
        raise MeterSpecError(f"meter {spec!r}: module {module_name!r} has no class {class_name!r}")
    try:
        meter = cls()
    except _NOT_ERRORS:
        raise
    except BaseException as exc:
        raise MeterSpecError(
            f"meter {spec!r}: constructing {class_name}() failed: {type(exc).__name__}: {exc}"
        ) from exc
    missing = [attr for attr in ("name", "estimated", "read") if not hasattr(meter, attr)]
    if missing:
        raise MeterSpecError(
            f"meter {spec!r}: {class_name} is not a meter; it lacks {', '.join(missing)} "
            "(a meter needs name, estimated and read())"
        )
    return meter  # type: ignore[no-any-return]


def build_meters(specs: Sequence[str], options: MeterOptions) -> list[Meter]:
    """Meter objects for the specs, in order; raise MeterSpecError for anything unusable."""
    meters: list[Meter] = []
    for spec in specs:
        if spec == "auto":
            for meter in _auto(options):
                if meter.name not in {m.name for m in meters}:
                    meters.append(meter)
                elif callable(close := getattr(meter, "close", None)):
                    close()  # a duplicate of a meter named before: release it (nvmlInit)
        elif spec in _FACTORIES and spec in {m.name for m in meters}:
            continue  # "auto,estimate": the estimate is already there
        elif spec in _FACTORIES:
            try:
                meters.append(_FACTORIES[spec](options))
            except MeterUnavailable as exc:
                raise MeterSpecError(
                    f"meter {spec!r} is not available on this machine: {exc}"
                ) from exc
        elif ":" in spec:
            meters.append(_custom(spec))
        else:
            raise MeterSpecError(
                f"unknown meter {spec!r}; expected one of {', '.join(BUILTIN)} "
                "or 'package.module:ClassName'"
            )
    return _unique_names(meters)
