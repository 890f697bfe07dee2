"""``python -m pytest_greenbudget``: what each built-in meter can measure on this machine.

For ``estimate``, ``rapl``, ``nvml``, ``amdsmi`` and ``codecarbon`` it prints whether the
meter is available (and if not, why and how to fix it; a counter that fails its sanity
check says so), what it would measure (its ``details``: the estimate's CPU model, watts
and their source, RAPL zones, GPUs by name and UUID, codecarbon's method), one test
reading, then the meters ``meter = "auto"`` picks here and the baseline profile they
get. ``--json`` prints the same as one JSON object. Built-in defaults are used, except
``--cpu-model`` / ``--cpu-watts``, which stand for those ``[tool.greenbudget]`` keys.
Always exits 0 unless the arguments are wrong.

``python -m pytest_greenbudget calibrate`` measures watts per busy logical CPU with RAPL
(:mod:`pytest_greenbudget.calibrate`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from typing import TextIO, TypedDict

from pytest_greenbudget.meters.base import Meter, MeterError, MeterUnavailable
from pytest_greenbudget.meters.registry import MeterOptions, build_meters, make_builtin

METERS = ("estimate", "rapl", "nvml", "amdsmi", "codecarbon")
_ENV = (
    "GREENBUDGET_POWERCAP_ROOT",
    "CUDA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
)


class EstimateInfo(TypedDict):
    cpu_model: str
    watts_per_cpu: float
    source: str
    model_version: str


class MeterReport(TypedDict):
    available: bool
    reason: str | None
    estimated: bool | None
    per_process: bool | None
    details: str | None
    domains: list[str] | None


def _make(name: str, options: MeterOptions) -> Meter:
    """Construct a built-in meter as the plugin would (sanity checks included)."""
    return make_builtin(name, options)


def _close(meter: object) -> None:
    close: Callable[[], object] | None = getattr(meter, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            pass


def _probe(name: str, options: MeterOptions) -> tuple[Meter | None, MeterReport]:
    try:
        meter = _make(name, options)
    except MeterUnavailable as exc:
        return None, MeterReport(
            available=False, reason=str(exc), estimated=None, per_process=None,
            details=None, domains=None,
        )  # fmt: skip
    except Exception as exc:  # a bug or a broken install: say so, keep going
        return None, MeterReport(
            available=False, reason=f"broken: {type(exc).__name__}: {exc}", estimated=None,
            per_process=None, details=None, domains=None,
        )  # fmt: skip
    report = MeterReport(
        available=True,
        reason=None,
        estimated=bool(meter.estimated),
        per_process=bool(getattr(meter, "per_process", False)),
        details=getattr(meter, "details", None) or None,
        domains=None,
    )
    try:
        report["domains"] = list(meter.read())
    except MeterError as exc:
        report["reason"] = f"reading failed: {exc}"
    return meter, report


def _describe(name: str, report: MeterReport, out: TextIO) -> None:
    if not report["available"]:
        reason = report["reason"] or ""
        if reason.startswith("broken: "):
            out.write(f"{name:<11} {reason}\n")
        else:
            out.write(f"{name:<11} not available\n    {reason}\n")
        return
    kind = "estimated" if report["estimated"] else "measured"
    scope = "per-process" if report["per_process"] else "machine-wide"
    out.write(f"{name:<11} available ({kind}, {scope})\n")
    if report["details"]:
        out.write(f"    {report['details']}\n")
    if report["domains"] is None:
        out.write(f"    {report['reason']}\n")
    else:
        out.write(f"    domains: {', '.join(report['domains']) or '(none)'}\n")


def estimate_info(cpu_model: str | None = None, cpu_watts: float | None = None) -> EstimateInfo:
    """The estimate meter's figure here: the model looked up, watts and where they came from."""
    from pytest_greenbudget.meters.estimate import EstimateMeter

    meter = EstimateMeter(cpu_watts=cpu_watts, cpu_model=cpu_model)
    return EstimateInfo(
        cpu_model=meter.model,
        watts_per_cpu=meter.watts_per_cpu_second,
        source=meter.watts.source,
        model_version=meter.model_version,
    )


def _auto(options: MeterOptions) -> tuple[list[Meter] | None, str | None]:
    try:
        return build_meters(["auto"], options), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _profile(meters: Sequence[Meter]) -> str:
    try:
        from pytest_greenbudget.baseline import default_profile

        return default_profile(meters)
    except Exception as exc:
        return f"unknown ({type(exc).__name__}: {exc})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_greenbudget",
        description="Show which energy meters work on this machine and what they measure. "
        "'python -m pytest_greenbudget calibrate --help': measure cpu_watts with RAPL.",
    )
    parser.add_argument(
        "--meters",
        default=",".join(METERS),
        help=f"comma-separated meters to check (default: {','.join(METERS)})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cpu-model", help="look this CPU model up instead of this machine's")
    parser.add_argument("--cpu-watts", type=float, help="as the cpu_watts key")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    stream = out if out is not None else sys.stdout
    if args_list[:1] == ["calibrate"]:
        from pytest_greenbudget.calibrate import main as calibrate_main

        return calibrate_main(args_list[1:], stream)
    if args_list[:1] == ["report"]:  # `report PATH... --html OUT`: its own module
        from pytest_greenbudget import html_report

        return html_report.main(args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    names = [n.strip() for n in args.meters.split(",") if n.strip()]
    unknown = [n for n in names if n not in METERS]
    if unknown:
        parser.error(f"unknown meter {unknown[0]!r}; choose from {', '.join(METERS)}")
    if args.cpu_watts is not None and not args.cpu_watts > 0:
        parser.error("--cpu-watts must be a number > 0")
    options = MeterOptions(cpu_model=args.cpu_model, cpu_watts=args.cpu_watts)

    from pytest_greenbudget import __version__

    # Meters may print (codecarbon, amdsmi): keep stdout for the JSON object.
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with quiet:
        estimate = estimate_info(args.cpu_model, args.cpu_watts)
        found: dict[str, Meter] = {}
        reports: dict[str, MeterReport] = {}
        for name in names:
            meter, reports[name] = _probe(name, options)
            if meter is not None:
                found[name] = meter
        auto, auto_error = _auto(options)
        profile = _profile(auto) if auto is not None else None
        auto_names = [m.name for m in auto] if auto is not None else None
        for meter in [*(auto or []), *found.values()]:
            _close(meter)

    env = {var: os.environ[var] for var in _ENV if var in os.environ}
    if args.json:
        doc = {
            "version": __version__,
            "python": platform.python_version(),
            "system": platform.system(),
            "machine": platform.machine(),
            "logical_cpus": os.cpu_count(),
            "environment": env,
            "estimate": estimate,
            "meters": reports,
            "auto": auto_names,
            "auto_error": auto_error,
            "profile": profile,
        }
        stream.write(json.dumps(doc, indent=2) + "\n")
        stream.flush()
        return 0

    stream.write(
        f"pytest-greenbudget {__version__}: meters on this machine\n"
        f"python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} logical CPUs\n"
    )
    for var, value in env.items():
        stream.write(f"{var}={value!r}\n")
    stream.write(
        f"estimate model {estimate['model_version']}: CPU {estimate['cpu_model']!r}, "
        f"{estimate['watts_per_cpu']:.3g} W per busy logical CPU\n"
        f"    source: {estimate['source']}\n\n"
    )
    for name in names:
        _describe(name, reports[name], stream)
    stream.write("\n")
    if auto_names is None:
        stream.write(f'meter = "auto": cannot build ({auto_error})\n')
    else:
        stream.write(f'meter = "auto" uses: {" + ".join(auto_names) or "(none)"}\n')
        stream.write(f"baseline profile: {profile}\n")
    stream.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
