"""Unit tests for meter specs -> meter objects (SPEC section 5)."""

from __future__ import annotations

import itertools
import os
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_greenbudget.meters import registry
from pytest_greenbudget.meters.base import MeterUnavailable
from pytest_greenbudget.meters.estimate import EstimateMeter
from pytest_greenbudget.meters.registry import BUILTIN, MeterOptions, MeterSpecError, build_meters

_counter = itertools.count()

CUSTOM_MODULE = """
class Good:
    name = "good"
    estimated = False
    def read(self):
        return {"x": 1.0}

class Raises:
    def __init__(self):
        raise RuntimeError("no sensor attached")

class NoRead:
    name = "noread"
    estimated = False

class Nothing:
    pass

NOT_CALLABLE = 5

def factory():
    return Good()
"""


@pytest.fixture
def custom_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh importable module (unique name, so sys.modules never caches a stale one)."""
    name = f"gb_custom_meters_{os.getpid()}_{next(_counter)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(CUSTOM_MODULE), "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.fixture
def no_rapl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty powercap root: RAPL is unavailable whatever this machine has."""
    empty = tmp_path / "powercap"
    empty.mkdir()
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(empty))


def _machine_has_powercap() -> bool:
    return any(os.path.isdir(p) for p in ("/sys/class/powercap", "/sys/devices/virtual/powercap"))


def _machine_has_nvidia() -> bool:
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia")


def test_builtin_names() -> None:
    assert set(BUILTIN) == {"auto", "estimate", "rapl", "nvml", "amdsmi", "codecarbon"}


def test_estimate() -> None:
    meters = build_meters(["estimate"], MeterOptions())
    assert len(meters) == 1
    assert isinstance(meters[0], EstimateMeter)


def test_estimate_gets_configured_tdp() -> None:
    options = MeterOptions(cpu_tdp_watts=76.8, cpu_model="AMD EPYC 7763 64-Core Processor")
    (meter,) = build_meters(["estimate"], options)
    assert isinstance(meter, EstimateMeter)
    assert meter.watts.tdp_watts == 76.8
    assert meter.watts_per_cpu_second == pytest.approx(0.6)


def test_estimate_gets_cpu_watts_and_model() -> None:
    (meter,) = build_meters(["estimate"], MeterOptions(cpu_watts=1.5, cpu_model="Apple M2"))
    assert isinstance(meter, EstimateMeter)
    assert (meter.model, meter.watts_per_cpu_second) == ("Apple M2", 1.5)


def test_empty_specs() -> None:
    assert build_meters([], MeterOptions()) == []


def test_auto_falls_back_to_estimate_and_skips_missing_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable(options: MeterOptions) -> object:
        raise MeterUnavailable("not here")

    monkeypatch.setattr(registry, "_rapl", unavailable)
    monkeypatch.setattr(registry, "_nvml", unavailable)
    monkeypatch.setattr(registry, "_amdsmi", unavailable)
    monkeypatch.setattr(registry, "_amd_gpu_present", lambda: True)
    meters = build_meters(["auto"], MeterOptions(cpu_watts=5.0))
    assert [m.name for m in meters] == ["estimate"]
    assert meters[0].watts_per_cpu_second == 5.0  # type: ignore[attr-defined]
    assert getattr(meters[0], "note", None) is None  # plain absence is not worth a line


def test_auto_uses_rapl_and_nvml_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fake:
        estimated = False

        def __init__(self, name: str) -> None:
            self.name = name

        def read(self) -> dict[str, float]:
            return {}

    monkeypatch.setattr(registry, "_rapl", lambda options: Fake("rapl"))
    monkeypatch.setattr(registry, "_nvml", lambda options: Fake("nvml"))
    monkeypatch.setattr(registry, "_amdsmi", lambda options: Fake("amdsmi"))
    monkeypatch.setattr(registry, "_nvidia_driver_present", lambda: True)
    monkeypatch.setattr(registry, "_amd_gpu_present", lambda: False)
    assert [m.name for m in build_meters(["auto"], MeterOptions())] == ["rapl", "nvml"]
    monkeypatch.setattr(registry, "_nvidia_driver_present", lambda: False)
    assert [m.name for m in build_meters(["auto"], MeterOptions())] == ["rapl"]
    monkeypatch.setattr(registry, "_amd_gpu_present", lambda: True)
    assert [m.name for m in build_meters(["auto"], MeterOptions())] == ["rapl", "amdsmi"]


def test_auto_says_why_an_untrusted_counter_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_greenbudget.meters.sanity import CounterUntrusted

    def untrusted(options: MeterOptions) -> object:
        raise CounterUntrusted("gpu:0 under-reads 15x")

    monkeypatch.setattr(registry, "_rapl", untrusted)
    monkeypatch.setattr(registry, "_amdsmi", untrusted)
    monkeypatch.setattr(registry, "_nvidia_driver_present", lambda: False)
    monkeypatch.setattr(registry, "_amd_gpu_present", lambda: True)
    (meter,) = build_meters(["auto"], MeterOptions())
    assert meter.name == "estimate"
    note = meter.note  # type: ignore[attr-defined]
    assert "rapl not used: gpu:0 under-reads 15x" in note
    assert "amdsmi not used" in note
    assert note in meter.details  # type: ignore[attr-defined]
    monkeypatch.setitem(registry._FACTORIES, "amdsmi", untrusted)
    with pytest.raises(MeterSpecError, match=r"'amdsmi' is not available.*under-reads 15x"):
        build_meters(["amdsmi"], MeterOptions())


def test_rapl_probe_through_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_powercap import MovingCounters, build_flat_tree

    root = build_flat_tree(tmp_path / "pc", packages=2, dram=True)
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(root))
    with pytest.raises(MeterSpecError, match="not trusted: cpu:package-0 did not move"):
        build_meters(["rapl"], MeterOptions())
    with MovingCounters(root, watts=30.0):
        (meter,) = build_meters(["rapl"], MeterOptions())
        assert meter.name == "rapl"
        meter.close()  # type: ignore[attr-defined]


@pytest.mark.skipif(_machine_has_nvidia(), reason="this machine has an NVIDIA driver")
def test_auto_on_this_machine_without_rapl_or_gpu(no_rapl: None) -> None:
    meters = build_meters(["auto"], MeterOptions())
    assert [m.name for m in meters] == ["estimate"]


@pytest.mark.skipif(_machine_has_powercap() or _machine_has_nvidia(),
                    reason="this machine has RAPL or an NVIDIA driver")
def test_auto_on_this_machine_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GREENBUDGET_POWERCAP_ROOT", raising=False)
    assert [m.name for m in build_meters(["auto"], MeterOptions())] == ["estimate"]


def test_named_unavailable_meter_is_spec_error_saying_why(no_rapl: None) -> None:
    with pytest.raises(MeterSpecError) as info:
        build_meters(["rapl"], MeterOptions())
    text = str(info.value)
    assert "'rapl'" in text
    assert "not available" in text
    assert len(text) > len("meter 'rapl' is not available on this machine: ")


@pytest.mark.skipif(_machine_has_nvidia(), reason="this machine has an NVIDIA driver")
def test_nvml_unavailable_without_gpu() -> None:
    with pytest.raises(MeterSpecError, match="'nvml' is not available"):
        build_meters(["nvml"], MeterOptions())


@pytest.mark.parametrize("spec", ["bogus", "Estimate", "ESTIMATE", "rapl2", "estimate "])
def test_unknown_name(spec: str) -> None:
    with pytest.raises(MeterSpecError) as info:
        build_meters([spec], MeterOptions())
    text = str(info.value)
    assert repr(spec) in text
    assert "unknown meter" in text
    for name in BUILTIN:
        assert name in text
    assert "package.module:ClassName" in text


@pytest.mark.parametrize("spec", [":Good", "gb_custom_meters:", ":"])
def test_custom_spec_without_both_parts(spec: str) -> None:
    with pytest.raises(MeterSpecError) as info:
        build_meters([spec], MeterOptions())
    assert repr(spec) in str(info.value)
    assert "package.module:ClassName" in str(info.value)


def test_custom_meter_loaded(custom_module: str) -> None:
    (meter,) = build_meters([f"{custom_module}:Good"], MeterOptions())
    assert meter.name == "good"
    assert dict(meter.read()) == {"x": 1.0}


def test_custom_factory_function_is_accepted(custom_module: str) -> None:
    (meter,) = build_meters([f"{custom_module}:factory"], MeterOptions())
    assert meter.name == "good"


def test_custom_after_builtin_keeps_order(custom_module: str) -> None:
    meters = build_meters(["estimate", f"{custom_module}:Good"], MeterOptions())
    assert [m.name for m in meters] == ["estimate", "good"]


def test_custom_missing_module() -> None:
    spec = "gb_no_such_module_xyz:Meter"
    with pytest.raises(MeterSpecError) as info:
        build_meters([spec], MeterOptions())
    text = str(info.value)
    assert repr(spec) in text
    assert "cannot import module 'gb_no_such_module_xyz'" in text
    assert "ModuleNotFoundError" in text


def test_custom_module_raising_on_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"gb_broken_{os.getpid()}_{next(_counter)}"
    (tmp_path / f"{name}.py").write_text("raise ImportError('needs libfoo')\n", "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MeterSpecError, match="needs libfoo"):
        build_meters([f"{name}:M"], MeterOptions())
    sys.modules.pop(name, None)


@pytest.mark.parametrize("cls", ["Missing", "NOT_CALLABLE"])
def test_custom_missing_class(custom_module: str, cls: str) -> None:
    with pytest.raises(MeterSpecError) as info:
        build_meters([f"{custom_module}:{cls}"], MeterOptions())
    assert f"has no class {cls!r}" in str(info.value)
    assert repr(custom_module) in str(info.value)


def test_custom_constructor_raising(custom_module: str) -> None:
    with pytest.raises(MeterSpecError) as info:
        build_meters([f"{custom_module}:Raises"], MeterOptions())
    text = str(info.value)
    assert "Raises()" in text
    assert "RuntimeError: no sensor attached" in text


def test_custom_object_lacking_read(custom_module: str) -> None:
    with pytest.raises(MeterSpecError) as info:
        build_meters([f"{custom_module}:NoRead"], MeterOptions())
    text = str(info.value)
    assert "not a meter" in text
    assert "lacks read" in text


def test_custom_object_lacking_everything(custom_module: str) -> None:
    with pytest.raises(MeterSpecError) as info:
        build_meters([f"{custom_module}:Nothing"], MeterOptions())
    assert "lacks name, estimated, read" in str(info.value)


def test_dotted_module_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = f"gb_pkg_{os.getpid()}_{next(_counter)}"
    (tmp_path / pkg).mkdir()
    (tmp_path / pkg / "__init__.py").write_text("", "utf-8")
    (tmp_path / pkg / "meters.py").write_text(textwrap.dedent(CUSTOM_MODULE), "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        (meter,) = build_meters([f"{pkg}.meters:Good"], MeterOptions())
        assert meter.name == "good"
    finally:
        sys.modules.pop(f"{pkg}.meters", None)
        sys.modules.pop(pkg, None)
