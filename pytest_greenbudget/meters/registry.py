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

BUILTIN = ("auto", "estimate", "rapl", "nvml", "amdsmi", "codecarbon")
#: The user stopping the run: never turned into a meter error.
_NOT_ERRORS = (KeyboardInterrupt, GeneratorExit)


class MeterSpecError(Exception):
    """A meter spec that names nothing usable; the message says which and why."""


class MeterOptions(NamedTuple):
    """What the built-in meters need from the configuration."""

    cpu_tdp_watts: float | None = None
    country: str | None = None
    cpu_watts: float | None = None
    cpu_model: str | None = None


def _estimate(options: MeterOptions) -> Meter:
    from pytest_greenbudget.meters.estimate import EstimateMeter

    return EstimateMeter(
        options.cpu_tdp_watts, cpu_watts=options.cpu_watts, cpu_model=options.cpu_model
    )


def _rapl(options: MeterOptions) -> Meter:
    """RAPL, once its package counters moved at a plausible power under a short load."""
    from pytest_greenbudget.meters.rapl import RaplMeter
    from pytest_greenbudget.meters.sanity import CounterUntrusted, probe_counter

    meter = RaplMeter()
    packages = [d for d in meter.domains if d.startswith("cpu:")]
    try:
        problem = probe_counter(meter.read, packages)
    except Exception as exc:
        problem = f"reading failed: {exc}"
    if problem is not None:
        meter.close()
        raise CounterUntrusted(f"the RAPL counters at {meter.root} are not trusted: {problem}")
    return meter


def _amdsmi(options: MeterOptions) -> Meter:
    from pytest_greenbudget.meters.amdsmi import AmdSmiMeter

    return AmdSmiMeter()


def _nvml(options: MeterOptions) -> Meter:
    """NVML, once each GPU's counter (or power) read plausibly over two counter updates."""
    from pytest_greenbudget.meters.nvml import NvmlMeter
    from pytest_greenbudget.meters.sanity import CounterUntrusted

    meter = NvmlMeter()
    try:
        problem = meter.check()
    except Exception as exc:
        problem = f"reading failed: {exc}"
    if problem is not None:
        meter.close()
        raise CounterUntrusted(f"the NVML energy readings are not trusted: {problem}")
    return meter


def _codecarbon(options: MeterOptions) -> Meter:
    from pytest_greenbudget.meters.codecarbon_meter import CodecarbonMeter

    return CodecarbonMeter(options.country)


_FACTORIES: dict[str, Callable[[MeterOptions], Meter]] = {
    "estimate": _estimate,
    "rapl": _rapl,
    "nvml": _nvml,
    "amdsmi": _amdsmi,
    "codecarbon": _codecarbon,
}


def make_builtin(name: str, options: MeterOptions) -> Meter:
    """One built-in meter by name, sanity checks included; raises ``MeterUnavailable``."""
    return _FACTORIES[name](options)


def _auto(options: MeterOptions) -> list[Meter]:
    """RAPL where readable and sane, else the estimate; plus NVML / amdsmi where such a GPU
    is visible. Never fails: any error of a meter means "not here". A counter found
    untrusted is named in the estimate's ``note``.
    """
    from pytest_greenbudget.meters.sanity import CounterUntrusted

    meters: list[Meter] = []
    notes: list[str] = []
    for present, factory, name in (
        (_always, _rapl, "rapl"),  # its own reads say whether powercap is there
        (_nvidia_driver_present, _nvml, "nvml"),
        (_amd_gpu_present, _amdsmi, "amdsmi"),
    ):
        if present():
            try:
                meters.append(factory(options))
            except CounterUntrusted as exc:
                notes.append(f"{name} not used: {exc}")
            except Exception:  # MeterUnavailable, a broken driver, odd sysfs contents
                pass
    if not any(m.name == "rapl" for m in meters):
        meters.insert(0, _estimate(options))
    if notes:
        note = "; ".join(notes)
        setattr(meters[0], "note", note)  # noqa: B010 - shown in the header
        details = getattr(meters[0], "details", "")
        setattr(meters[0], "details", f"{details} ({note})" if details else note)  # noqa: B010
    return meters


def _always() -> bool:
    return True


def _amd_gpu_present() -> bool:
    """ROCm's compute driver (/dev/kfd): only then is amdsmi imported."""
    return os.path.exists("/dev/kfd")


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
