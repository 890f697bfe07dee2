"""The ``codecarbon`` meter: codecarbon's own CPU, GPU and RAM energy figures.

One ``OfflineEmissionsTracker`` serves the whole process (codecarbon's hardware probe
costs about 1.4 s the first time). It runs one task at a time: each reading stops the
running task, adds its ``cpu_energy``, ``gpu_energy`` and ``ram_energy`` (kWh) to
running totals and starts the next task, so ``read()`` returns cumulative joules for
the domains ``cpu``, ``gpu`` and ``ram``. Finished tasks are dropped from the tracker
so memory stays flat over a long session.

The tracker is quiet, offline and writes nothing: every option is passed explicitly
and, while it is built, codecarbon's configuration lookup (``~/.codecarbon.config``,
``./.codecarbon.config``, ``CODECARBON_*`` variables) is replaced by an empty one, so
no user setting can turn on CSV/API/Prometheus output, an Electricity Maps token
(network), a forced CPU/RAM power or a PUE factor. Grid intensity is not taken from
codecarbon: the plugin applies its own.

``estimated``: True when any figure comes from a model. codecarbon 3.3 always models
RAM (about 5 W per guessed DIMM), and without RAPL it models the CPU from its TDP and
the machine's load, so in practice this meter is always estimated; a CPU read from
RAPL is still named as measured in ``details``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pytest_greenbudget.meters.base import MeterError, MeterUnavailable
from pytest_greenbudget.stats import counter_prior

__all__ = ["CodecarbonMeter"]

KWH_TO_J = 3.6e6
DOMAINS = ("cpu", "gpu", "ram")
# codecarbon CPU modes that read a hardware energy/power sensor instead of a model.
_MEASURED_CPU_MODES = {"intel_rapl", "windows_emi", "intel_power_gadget", "apple_powermetrics"}
_TASK_NAME = "greenbudget"


class _LiveStderrHandler(logging.Handler):
    """Writes to the *current* ``sys.stderr``.

    codecarbon gives its logger a ``StreamHandler`` bound to the ``sys.stderr`` of the
    moment; under pytest that is a capture stream, closed later ("I/O operation on
    closed file"). This handler looks ``sys.stderr`` up at each record instead.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


class _Shared:
    """The process-wide tracker and the running totals every meter instance reads."""

    def __init__(self, tracker: Any, version: str) -> None:
        self.tracker = tracker
        self.version = version
        self.totals = dict.fromkeys(DOMAINS, 0.0)
        self.running = False
        self.users = 0
        self.lock = threading.Lock()


_LOCK = threading.Lock()
_SHARED: _Shared | None = None
_STDERR_HANDLER = _LiveStderrHandler()
_STDERR_HANDLER.setFormatter(
    logging.Formatter("[%(name)s %(levelname)s @ %(asctime)s] %(message)s", "%H:%M:%S")
)


def _options(tracker_cls: Any, country_iso_code: str | None) -> dict[str, Any]:
    """Every tracker option, explicit, so no config file or variable can change it."""
    options: dict[str, Any] = {
        "project_name": "pytest-greenbudget",
        "experiment_name": "pytest-greenbudget",
        "experiment_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1",  # codecarbon's default
        "measure_power_secs": 15.0,  # its periodic scheduler is unused in task mode
        "api_call_interval": -1,
        "api_endpoint": None,
        "api_key": None,
        "output_dir": tempfile.gettempdir(),  # must exist; nothing is written there
        "output_file": "emissions.csv",
        "output_methods": [],
        "output_handlers": [],
        "logging_logger": None,
        "prometheus_url": None,
        "emissions_endpoint": None,
        "electricitymaps_api_token": None,
        "gpu_ids": None,  # codecarbon then follows CUDA_VISIBLE_DEVICES itself
        "tracking_mode": "machine",
        "log_level": "error",
        "on_csv_write": "append",
        "logger_preamble": "",
        "force_cpu_power": None,
        "force_ram_power": None,
        "pue": 1.0,
        "wue": 0.0,
        "force_carbon_intensity_g_co2e_kwh": None,
        "force_mode_cpu_load": False,
        "allow_multiple_runs": True,  # False would create a lock file
        "rapl_include_dram": False,  # RAM has its own domain
        "rapl_prefer_psys": False,
        "metadata": None,
        "country_iso_code": country_iso_code,
        "region": None,
        "cloud_provider": None,
        "cloud_region": None,
        "country_2letter_iso_code": None,
    }
    accepted: set[str] = set()
    for cls in tracker_cls.__mro__:
        init = cls.__dict__.get("__init__")
        if init is not None:
            accepted.update(inspect.signature(init).parameters)
    if "output_methods" not in accepted:  # codecarbon before output_methods existed
        options["save_to_file"] = False
    return {k: v for k, v in options.items() if k in accepted}


@contextmanager
def _quiet_and_unconfigured(tracker_module: Any) -> Iterator[None]:
    """Empty codecarbon config, no warnings, and logging handlers put back afterwards."""
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    cc_logger = logging.getLogger("codecarbon")
    cc_handlers = list(cc_logger.handlers)
    cc_logger.setLevel(logging.ERROR)  # before codecarbon applies log_level itself
    original = getattr(tracker_module, "get_hierarchical_config", None)
    try:
        if original is not None:
            tracker_module.get_hierarchical_config = dict  # -> {}
        with warnings.catch_warnings():
            # A warning raised as an error inside codecarbon's @suppress'd constructor
            # would leave a half-built tracker (e.g. under -W error).
            warnings.simplefilter("ignore")
            yield
    finally:
        if original is not None:
            tracker_module.get_hierarchical_config = original
        if root.handlers != root_handlers:
            root.handlers[:] = root_handlers
        root.setLevel(root_level)
        kept = [
            h
            for h in list(cc_logger.handlers) + cc_handlers
            if type(h) is not logging.StreamHandler and h is not _STDERR_HANDLER
        ]
        cc_logger.handlers = [*dict.fromkeys(kept), _STDERR_HANDLER]
        cc_logger.setLevel(logging.ERROR)


def _create_tracker(country_iso_code: str | None) -> _Shared:
    try:
        codecarbon = importlib.import_module("codecarbon")
        tracker_module = importlib.import_module("codecarbon.emissions_tracker")
    except Exception as exc:
        raise MeterUnavailable(f"cannot import codecarbon ({exc}); pip install codecarbon") from exc
    tracker_cls = tracker_module.OfflineEmissionsTracker
    try:
        with _quiet_and_unconfigured(tracker_module):
            tracker = tracker_cls(**_options(tracker_cls, country_iso_code))
            # A constructor error is swallowed by codecarbon (@suppress): check it finished.
            if not hasattr(tracker, "_tasks") or not hasattr(tracker, "_hardware"):
                raise MeterUnavailable(
                    "codecarbon could not build its tracker (see codecarbon's log above)"
                )
            tracker.get_detected_hardware()  # the hardware probe, about 1.4 s once
    except MeterUnavailable:
        raise
    except Exception as exc:
        raise MeterUnavailable(f"codecarbon could not set up its tracker: {exc}") from exc
    leaks = [
        what
        for what, bad in (
            ("output methods", bool(getattr(tracker, "_output_methods", None))),
            ("output handlers", bool(getattr(tracker, "_output_handlers", None))),
            ("an emissions endpoint", bool(getattr(tracker, "_emissions_endpoint", None))),
            ("an Electricity Maps token", bool(getattr(tracker, "_electricitymaps_api_token", 0))),
        )
        if bad
    ]
    if leaks:
        raise MeterUnavailable(
            "codecarbon's configuration enabled " + ", ".join(leaks) + "; this meter must "
            "stay offline and write nothing"
        )
    return _Shared(tracker, str(getattr(codecarbon, "__version__", "?")))


def _describe(shared: _Shared) -> tuple[bool, str]:
    """(estimated, one-line details) from the tracker's hardware objects."""
    estimated = False
    parts: list[str] = []
    has_cpu = has_gpu = False
    for hw in shared.tracker._hardware:
        kind = type(hw).__name__
        if kind == "CPU":
            has_cpu = True
            mode = str(getattr(hw, "_mode", "?"))
            model = getattr(hw, "_model", None) or "unknown CPU"
            tdp = getattr(hw, "_tdp", None)
            generic = " (generic default)" if getattr(hw, "_is_generic_tdp", False) else ""
            if mode in _MEASURED_CPU_MODES:
                parts.append(f"cpu measured ({mode})")
            elif mode == "cpu_load":
                estimated = True
                parts.append(f"cpu load model {model!r} TDP {tdp} W{generic}")
            else:
                estimated = True
                parts.append(f"cpu {mode} model {model!r} TDP {tdp} W{generic}")
        elif kind == "GPU":
            has_gpu = True
            try:
                names = ", ".join(d["name"] for d in hw.devices.get_gpu_static_info())
            except Exception:
                names = "?"
            parts.append(f"gpu measured (NVML/AMDSMI: {names})")
        elif kind == "RAM":
            estimated = True  # codecarbon never reads a RAM counter
            try:
                watts = f" {hw.total_power().W:g} W"
            except Exception:
                watts = ""
            parts.append(f"ram modelled{watts}")
        else:  # Apple silicon, Raspberry Pi: codecarbon's own models
            estimated = True
            parts.append(f"{kind} modelled")
    if not has_cpu:
        estimated = True
    if not has_gpu:
        parts.append("no GPU")
    return estimated, f"codecarbon {shared.version}: " + ", ".join(parts)


class CodecarbonMeter:
    """Cumulative joules per ``cpu``, ``gpu`` and ``ram`` as codecarbon computes them.

    Machine-wide (codecarbon's "machine" tracking mode). All instances in a process
    share one tracker and its totals; the tracker is stopped when the last one closes.
    The constructor pays codecarbon's hardware probe (about 1.4 s once per process) so
    that ``estimated`` and ``details`` are known and a broken codecarbon is reported as
    unavailable before any test runs; the first task starts at the first reading.
    """

    name = "codecarbon"
    per_process = False
    # codecarbon samples load and power once a second; shorter windows rest on one sample.
    resolution_s = 1.0
    noise = counter_prior()  # SPEC 12: see stats.py

    def __init__(self, country_iso_code: str | None = None) -> None:
        global _SHARED
        with _LOCK:
            if _SHARED is None:
                _SHARED = _create_tracker(country_iso_code)
            _SHARED.users += 1
            self._shared: _Shared | None = _SHARED
        self.estimated, self.details = _describe(_SHARED)
        self.domains = DOMAINS

    def _restart_task(self, shared: _Shared) -> None:
        tracker = shared.tracker
        if shared.running:
            shared.running = False
            data = tracker.stop_task()
            if data is None:
                raise MeterError("codecarbon: the running task was lost; nothing to stop")
            for domain in DOMAINS:
                kwh = float(getattr(data, f"{domain}_energy", 0.0) or 0.0)
                shared.totals[domain] += max(kwh, 0.0) * KWH_TO_J
            tasks = tracker._tasks
            for task_name in [k for k, t in tasks.items() if not t.is_active]:
                del tasks[task_name]  # codecarbon keeps every task otherwise
        tracker.start_task(_TASK_NAME)
        if tracker._active_task is None:
            raise MeterError("codecarbon refused to start a task (see codecarbon's log)")
        shared.running = True

    def read(self) -> Mapping[str, float]:
        """Joules per domain since this process's tracker started its first task."""
        shared = self._shared
        if shared is None:
            raise MeterError("the codecarbon meter is closed")
        with shared.lock:
            try:
                self._restart_task(shared)
            except MeterError:
                raise
            except Exception as exc:
                raise MeterError(f"codecarbon failed while reading: {exc!r}") from exc
            return dict(shared.totals)

    def close(self) -> None:
        """Stop the task and, when no other instance uses it, the tracker; idempotent."""
        global _SHARED
        shared, self._shared = self._shared, None
        if shared is None:
            return
        with _LOCK:
            shared.users -= 1
            if shared.users > 0:
                return
            if _SHARED is shared:
                _SHARED = None
        with shared.lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if shared.running:
                    shared.running = False
                    shared.tracker.stop_task()
                shared.tracker.stop()
            except Exception:
                pass  # closing must not fail the session; nothing is pending
