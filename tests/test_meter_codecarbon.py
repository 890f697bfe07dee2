"""The codecarbon meter with the real codecarbon: quiet, offline, writes nothing.

One meter is shared by the module (codecarbon's first hardware probe costs ~1.4 s).
It is built in a directory whose ``.codecarbon.config`` and ``CODECARBON_*`` variables
try to turn on files, network and scaling factors, with sockets disabled, under
``-W error``, and with an extra root log handler that must survive.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_greenbudget.meters import codecarbon_meter as cm
from pytest_greenbudget.meters.base import Meter, MeterError, MeterUnavailable
from pytest_greenbudget.meters.codecarbon_meter import CodecarbonMeter

pytest.importorskip("codecarbon")


@dataclass
class Env:
    meter: CodecarbonMeter
    cwd: Path
    outdir: Path
    network_calls: list[tuple[Any, ...]]
    sentinel: logging.Handler
    root_handlers_after: list[logging.Handler]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    cwd = tmp_path_factory.mktemp("cc_cwd")
    outdir = tmp_path_factory.mktemp("cc_out")
    (cwd / ".codecarbon.config").write_text(
        "[codecarbon]\n"
        "save_to_file = true\n"
        "output_methods = csv,logger\n"
        f"output_dir = {outdir}\n"
        "pue = 10\n"
        "force_cpu_power = 1000\n"
        "force_ram_power = 500\n"
        "co2_signal_api_token = leaked-token\n"
        "emissions_endpoint = http://127.0.0.1:9/emissions\n"
        "log_level = debug\n"
        "allow_multiple_runs = false\n"
    )
    calls: list[tuple[Any, ...]] = []

    def no_network(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise OSError("network disabled by this test")

    root = logging.getLogger()
    sentinel = logging.StreamHandler(io.StringIO())  # like pytest's LogCaptureHandler
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        mp.setenv("CODECARBON_PUE", "10")
        mp.setenv("CODECARBON_SAVE_TO_FILE", "true")
        mp.setenv("CODECARBON_OUTPUT_DIR", str(outdir))
        mp.setenv("CODECARBON_ELECTRICITYMAPS_API_TOKEN", "leaked-token")
        mp.setattr(socket.socket, "connect", no_network)
        mp.setattr(socket.socket, "connect_ex", no_network)
        mp.setattr(socket, "create_connection", no_network)
        mp.setattr(socket, "getaddrinfo", no_network)
        mp.setattr(cm, "_SHARED", None)  # a tracker of our own, built here
        root.addHandler(sentinel)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                meter = CodecarbonMeter("KOR")
                meter.read()
            yield Env(meter, cwd, outdir, calls, sentinel, list(root.handlers))
            meter.close()
        finally:
            root.removeHandler(sentinel)


def _busy(seconds: float) -> int:
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def _hardware(meter: CodecarbonMeter, kind: str) -> Any:
    assert meter._shared is not None
    found = [hw for hw in meter._shared.tracker._hardware if type(hw).__name__ == kind]
    return found[0] if found else None


def test_attributes(env: Env) -> None:
    meter = env.meter
    assert isinstance(meter, Meter)
    assert meter.name == "codecarbon"
    assert meter.per_process is False
    assert meter.resolution_s == 1.0
    assert meter.estimated is True  # codecarbon always models RAM
    assert meter.details.startswith("codecarbon 3.")
    assert "ram modelled" in meter.details
    assert "1000" not in meter.details  # force_cpu_power from the config did not apply
    cpu = _hardware(meter, "CPU")
    if cpu is not None and cpu._mode == "cpu_load":
        assert f"cpu load model {cpu._model!r} TDP {cpu._tdp} W" in meter.details


def test_config_file_and_variables_change_nothing(env: Env) -> None:
    assert env.meter._shared is not None
    tracker = env.meter._shared.tracker
    assert tracker._pue == 1.0
    assert tracker._force_cpu_power is None
    assert tracker._force_ram_power is None
    assert tracker._output_methods == []
    assert tracker._output_handlers == []
    assert tracker._emissions_endpoint is None
    assert tracker._electricitymaps_api_token is None
    assert tracker._allow_multiple_runs is True
    assert tracker._log_level == "error"


def test_cumulative_joules_grow_with_work(env: Env) -> None:
    meter = env.meter
    before = meter.read()
    start = time.perf_counter()
    _busy(0.3)
    after = meter.read()
    elapsed = time.perf_counter() - start
    assert set(after) == {"cpu", "gpu", "ram"}
    assert all(value >= 0.0 for value in after.values())
    assert all(after[d] >= before[d] for d in after)
    assert sum(after.values()) > sum(before.values())
    ram_watts = _hardware(meter, "RAM").total_power().W
    # A PUE of 10 or a forced 500 W RAM from the config would be 10x or more off.
    assert after["ram"] - before["ram"] == pytest.approx(ram_watts * elapsed, rel=0.25)
    cpu = _hardware(meter, "CPU")
    if cpu is not None and cpu._mode == "cpu_load":
        # TDP x (0.1 + 0.9 load^3): between a tenth of the TDP and the TDP.
        cpu_joules = after["cpu"] - before["cpu"]
        assert 0.05 * cpu._tdp * elapsed <= cpu_joules <= 1.1 * cpu._tdp * elapsed


def test_readings_are_cumulative(env: Env) -> None:
    readings = [env.meter.read() for _ in range(5)]
    for earlier, later in itertools.pairwise(readings):
        assert all(later[d] >= earlier[d] for d in later)


def test_finished_tasks_are_dropped(env: Env) -> None:
    for _ in range(50):
        env.meter.read()
    assert env.meter._shared is not None
    assert len(env.meter._shared.tracker._tasks) == 1  # only the running one


def test_no_file_written(env: Env) -> None:
    env.meter.read()
    assert sorted(os.listdir(env.cwd)) == [".codecarbon.config"]
    assert os.listdir(env.outdir) == []
    assert not (env.cwd / "emissions.csv").exists()


def test_no_network(env: Env) -> None:
    env.meter.read()
    assert env.network_calls == []


def test_root_log_handlers_survive(env: Env) -> None:
    assert env.sentinel in env.root_handlers_after
    assert env.sentinel in logging.getLogger().handlers
    cc_logger = logging.getLogger("codecarbon")
    # codecarbon's own StreamHandler (bound to a soon-closed capture stream) is replaced.
    assert not [h for h in cc_logger.handlers if type(h) is logging.StreamHandler]
    assert cc_logger.level == logging.ERROR


def test_caplog_works_around_a_new_tracker(
    env: Env, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cm, "_SHARED", None)
    caplog.set_level(logging.INFO)
    meter = CodecarbonMeter()
    meter.read()
    meter.read()
    meter.close()
    logging.getLogger("some.library").warning("still captured after codecarbon")
    assert "still captured after codecarbon" in caplog.text
    assert caplog.handler in logging.getLogger().handlers


def test_instances_share_one_tracker(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cm, "_SHARED", None)
    first = CodecarbonMeter()
    second = CodecarbonMeter()
    assert first._shared is second._shared
    shared = first._shared
    assert shared is not None
    first.read()
    first.close()
    assert shared.users == 1
    assert second.read()["ram"] > 0.0  # still running after the first closed
    second.close()
    assert cm._SHARED is None
    assert shared.running is False
    with pytest.raises(MeterError, match="closed"):
        second.read()


def test_half_built_tracker_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import codecarbon.emissions_tracker as tracker_module

    class HalfBuilt:
        def __init__(self, **kwargs: Any) -> None:
            pass  # what codecarbon's @suppress leaves after an exception

    monkeypatch.setattr(tracker_module, "OfflineEmissionsTracker", HalfBuilt)
    monkeypatch.setattr(cm, "_SHARED", None)
    with pytest.raises(MeterUnavailable, match="could not build its tracker"):
        CodecarbonMeter()
    assert cm._SHARED is None


def test_options_are_all_explicit() -> None:
    import inspect

    from codecarbon import OfflineEmissionsTracker

    options = cm._options(OfflineEmissionsTracker, None)
    accepted = set(inspect.signature(OfflineEmissionsTracker.__init__).parameters)
    for cls in OfflineEmissionsTracker.__mro__:
        if "__init__" in cls.__dict__:
            accepted |= set(inspect.signature(cls.__dict__["__init__"]).parameters)
    deprecated = {
        "save_to_file",
        "save_to_api",
        "save_to_logger",
        "save_to_prometheus",
        "save_to_logfire",
        "co2_signal_api_token",
    }
    missing = accepted - set(options) - deprecated - {"self", "args", "kwargs"}
    assert missing == set()
    assert not set(options) & deprecated  # they raise a DeprecationWarning
