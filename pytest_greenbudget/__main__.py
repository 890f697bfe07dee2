"""``python -m pytest_greenbudget``: what each built-in meter can measure on this machine.

For ``estimate``, ``rapl``, ``nvml`` and ``codecarbon`` it prints whether the meter is
available (and if not, why and how to fix it), what it would measure (its ``details``:
the TDP and its source, RAPL zones, GPUs by name and UUID, codecarbon's method), one
test reading, then the meters ``meter = "auto"`` picks here and the baseline profile
they get. Built-in defaults are used: a ``cpu_tdp_watts`` or ``country`` in
``[tool.greenbudget]`` is not read. Always exits 0 unless the arguments are wrong.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from pytest_greenbudget.meters.base import Meter, MeterError, MeterUnavailable

METERS = ("estimate", "rapl", "nvml", "codecarbon")


def _make(name: str) -> Meter:
    """Construct a built-in meter; imports stay inside so each cost is paid only here."""
    if name == "estimate":
        from pytest_greenbudget.meters.estimate import EstimateMeter

        return EstimateMeter()
    if name == "rapl":
        from pytest_greenbudget.meters.rapl import RaplMeter

        return RaplMeter()
    if name == "nvml":
        from pytest_greenbudget.meters.nvml import NvmlMeter

        return NvmlMeter()
    from pytest_greenbudget.meters.codecarbon_meter import CodecarbonMeter

    return CodecarbonMeter()


def _close(meter: object) -> None:
    close: Callable[[], object] | None = getattr(meter, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            pass


def _describe(name: str, out: TextIO) -> Meter | None:
    try:
        meter = _make(name)
    except MeterUnavailable as exc:
        out.write(f"{name:<11} not available\n    {exc}\n")
        return None
    except Exception as exc:  # a bug or a broken install: say so, keep going
        out.write(f"{name:<11} broken: {type(exc).__name__}: {exc}\n")
        return None
    kind = "estimated" if meter.estimated else "measured"
    scope = "per-process" if getattr(meter, "per_process", False) else "machine-wide"
    out.write(f"{name:<11} available ({kind}, {scope})\n")
    details = getattr(meter, "details", None)
    if details:
        out.write(f"    {details}\n")
    try:
        reading = meter.read()
    except MeterError as exc:
        out.write(f"    reading failed: {exc}\n")
    else:
        out.write(f"    domains: {', '.join(reading) or '(none)'}\n")
    return meter


def _auto_meters(available: dict[str, Meter]) -> list[Meter]:
    """The meters ``meter = "auto"`` builds here (the registry's rule when it exists)."""
    try:
        from pytest_greenbudget.meters.registry import MeterOptions, build_meters
    except ImportError:
        picked = [available.get("rapl") or available.get("estimate")]
        picked.append(available.get("nvml"))
        return [m for m in picked if m is not None]
    return build_meters(["auto"], MeterOptions())


def _profile(meters: Sequence[Meter]) -> str:
    try:
        from pytest_greenbudget.baseline import default_profile
    except ImportError as exc:
        return f"(unknown: {exc})"
    return default_profile(meters)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["report"]:  # `report PATH... --html OUT`: its own module
        from pytest_greenbudget import html_report

        return html_report.main(arguments[1:])
    parser = argparse.ArgumentParser(
        prog="python -m pytest_greenbudget",
        description="Show which energy meters work on this machine and what they measure.",
    )
    parser.add_argument(
        "--meters",
        default=",".join(METERS),
        help=f"comma-separated meters to check (default: {','.join(METERS)})",
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.meters.split(",") if n.strip()]
    unknown = [n for n in names if n not in METERS]
    if unknown:
        parser.error(f"unknown meter {unknown[0]!r}; choose from {', '.join(METERS)}")
    stream = out if out is not None else sys.stdout

    from pytest_greenbudget import __version__

    stream.write(
        f"pytest-greenbudget {__version__}: meters on this machine\n"
        f"python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} logical CPUs\n"
    )
    for var in ("GREENBUDGET_POWERCAP_ROOT", "CUDA_VISIBLE_DEVICES"):
        if var in os.environ:
            stream.write(f"{var}={os.environ[var]!r}\n")
    stream.write("\n")

    available: dict[str, Meter] = {}
    for name in names:
        meter = _describe(name, stream)
        if meter is not None:
            available[name] = meter

    stream.write("\n")
    try:
        auto = _auto_meters(available)
    except Exception as exc:
        stream.write(f'meter = "auto": cannot build ({type(exc).__name__}: {exc})\n')
    else:
        stream.write(f'meter = "auto" uses: {" + ".join(m.name for m in auto) or "(none)"}\n')
        try:
            stream.write(f"baseline profile: {_profile(auto)}\n")
        except Exception as exc:
            stream.write(f"baseline profile: unknown ({type(exc).__name__}: {exc})\n")
        for meter in auto:
            if meter not in available.values():
                _close(meter)
    for meter in available.values():
        _close(meter)
    stream.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
