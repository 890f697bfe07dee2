"""SPEC 5: the meter protocol, custom meters, combined meters, ``auto`` and usage errors."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pytest
from fake_nvml import FakeGpu, pynvml_source
from fake_powercap import MovingCounters

TEST = """
import pytest, fakemeter

@pytest.mark.energy_budget("100 J")
def test_x():
    fakemeter.spend(2)
    fakemeter.spend(3, meter="other")
    fakemeter.spend(5, meter="other", domain="gpu")
"""


def _gpu_visible() -> bool:
    return bool(shutil.which("nvidia-smi")) or Path("/dev/nvidiactl").exists()


def _fake_powercap(root: Path) -> Path:
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("1000000\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    return root


def test_custom_meter_from_the_command_line(gb) -> None:
    gb.pytester.makepyfile(TEST)
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    assert doc["meters"] == [
        {"name": "fake", "estimated": False, "domains": ["cpu"], **_extra(doc["meters"][0])}
    ]
    (entry,) = doc["entries"]
    assert entry["domains"] == {"cpu": pytest.approx(2)}
    assert entry["joules"] == pytest.approx(2)
    result.stdout.fnmatch_lines(["greenbudget: meters fake (measured)*"])


def _extra(meter: dict[str, object]) -> dict[str, object]:
    """Keys beyond SPEC's three (allowed, e.g. details) pass through unchecked."""
    return {k: v for k, v in meter.items() if k not in ("name", "estimated", "domains")}


@pytest.mark.parametrize("how", ["option", "table-list", "table-string"])
def test_combined_meters_sum_and_prefix_clashing_domains(gb, how) -> None:
    gb.pytester.makepyfile(TEST)
    args: list[str] = []
    if how == "option":
        args = ["--greenbudget-meter=fakemeter:FakeMeter,fakemeter:OtherMeter"]
    elif how == "table-list":
        gb.pytester.makepyprojecttoml(
            '[tool.greenbudget]\nmeter = ["fakemeter:FakeMeter", "fakemeter:OtherMeter"]\n'
        )
    else:
        gb.pytester.makepyprojecttoml(
            '[tool.greenbudget]\nmeter = "fakemeter:FakeMeter,fakemeter:OtherMeter"\n'
        )
    out = gb.path / "m.json"
    result = gb.pytester.runpytest("-p", "no:hypothesispytest", f"--greenbudget-json={out}", *args)
    result.assert_outcomes(passed=1)
    doc = json.loads(out.read_text())
    assert [(m["name"], m["estimated"]) for m in doc["meters"]] == [
        ("fake", False),
        ("other", True),
    ]
    assert doc["meters"][0]["domains"] == ["cpu"]
    assert sorted(doc["meters"][1]["domains"]) == ["cpu", "gpu"]
    (entry,) = doc["entries"]
    assert entry["domains"] == {
        "fake:cpu": pytest.approx(2),
        "other:cpu": pytest.approx(3),
        "gpu": pytest.approx(5),
    }
    assert entry["joules"] == pytest.approx(10)
    assert doc["totals"]["joules"] == pytest.approx(10)
    result.stdout.fnmatch_lines(["*fake (measured)*other (estimated)*", "*estimated*"])


def test_auto_uses_the_estimate_where_rapl_is_unreadable(gb, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(tmp_path / "empty"))
    gb.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.energy_budget()
        def test_x():
            sum(range(10000))
        """
    )
    result, doc = gb.run_json("--greenbudget-meter=auto")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    names = [m["name"] for m in doc["meters"]]
    assert names[0] == "estimate"
    assert set(names) <= {"estimate", "nvml"}
    assert "rapl" not in names
    result.stdout.fnmatch_lines(["greenbudget: meters estimate (estimated)*"])


def test_auto_is_the_default_and_picks_rapl_where_readable(gb, monkeypatch, tmp_path) -> None:
    root = _fake_powercap(tmp_path / "pc")
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(root))
    gb.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.energy_budget("1 kJ")
        def test_x():
            pass
        """
    )
    out = gb.path / "auto.json"
    with MovingCounters(root, watts=20.0):  # a live counter: the sanity probe trusts it
        result = gb.pytester.runpytest("-p", "no:hypothesispytest", f"--greenbudget-json={out}")
    result.assert_outcomes(passed=1)
    doc = json.loads(out.read_text())
    names = [m["name"] for m in doc["meters"]]
    assert names[0] == "rapl" and "estimate" not in names
    (entry,) = doc["entries"]
    assert entry["domains"]["cpu:package-0"] >= 0


def test_auto_distrusts_a_counter_that_never_moves(gb, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(_fake_powercap(tmp_path / "pc")))
    gb.pytester.makepyfile("import pytest\n@pytest.mark.energy_budget()\ndef test_x():\n    pass\n")
    result, doc = gb.run_json("--greenbudget-meter=auto")
    result.assert_outcomes(passed=1)
    assert doc["meters"][0]["name"] == "estimate"
    assert "rapl" not in [m["name"] for m in doc["meters"]]
    result.stdout.fnmatch_lines(
        ["greenbudget: rapl not used: the RAPL counters at * are not trusted: cpu:package-0 "
         "did not move during * ms of CPU load*"]
    )


def test_named_rapl_with_a_frozen_counter_is_a_usage_error(gb, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(_fake_powercap(tmp_path / "pc")))
    gb.pytester.makepyfile("def test_x():\n    pass\n")
    result = gb.run("--greenbudget-meter=rapl")
    assert result.ret == 4
    err = result.stderr.str()
    assert "not trusted" in err and "did not move" in err


def test_named_rapl_implying_absurd_power_is_a_usage_error(gb, monkeypatch, tmp_path) -> None:
    root = _fake_powercap(tmp_path / "pc")
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(root))
    gb.pytester.makepyfile("def test_x():\n    pass\n")
    with MovingCounters(root, watts=50_000.0):  # 50 kW from one package: a wrong unit
        result = gb.run("--greenbudget-meter=rapl")
    assert result.ret == 4
    err = result.stderr.str()
    assert "not trusted" in err and "outside the plausible 0.5 to 1000 W" in err


def test_named_meter_unavailable_is_a_usage_error(gb, monkeypatch, tmp_path, assert_no_crash):
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(tmp_path / "empty"))
    gb.pytester.makepyfile("def test_x():\n    open('ran', 'w').close()\n")
    result = gb.run("--greenbudget-meter=rapl")
    assert result.ret == 4
    assert_no_crash(result)
    err = result.stderr.str()
    assert "rapl" in err and "not available" in err
    assert "no RAPL package zone" in err  # says why
    assert not (gb.path / "ran").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_rapl_names_the_fix(gb, monkeypatch, tmp_path) -> None:
    root = _fake_powercap(tmp_path / "pc")
    (root / "intel-rapl:0" / "energy_uj").chmod(0)
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(root))
    gb.pytester.makepyfile("def test_x():\n    pass\n")
    result = gb.run("--greenbudget-meter=rapl")
    assert result.ret == 4
    assert "chmod" in result.stderr.str()


@pytest.mark.skipif(_gpu_visible(), reason="an NVIDIA GPU is visible here")
def test_nvml_without_a_gpu_is_a_usage_error(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile("def test_x():\n    pass\n")
    result = gb.run_sub("--greenbudget-meter=nvml")
    assert result.ret == 4
    assert_no_crash(result)
    assert "nvml" in result.stderr.str() and "not available" in result.stderr.str()


def _fake_nvidia(gb, gpu: FakeGpu) -> None:
    """A fake pynvml (on the subprocess's PYTHONPATH) and an NVIDIA driver that ``auto`` sees."""
    gb.pytester.makepyfile(pynvml=pynvml_source([gpu]))
    gb.pytester.makeconftest(
        "import pytest_greenbudget.meters.registry as r\n"
        "r._nvidia_driver_present = lambda: True\n"
        "r._amd_gpu_present = lambda: False\n"
    )


def _h100(**kw: object) -> FakeGpu:
    uuid = "GPU-aaaa1111-0000-0000-0000-000000000000"
    args: dict[str, object] = {"energy_mj": 10**9, "power_mw": 60_000, **kw}
    return FakeGpu(uuid, "NVIDIA H100 80GB HBM3", **args)  # type: ignore[arg-type]


BUDGETED = "import pytest\n@pytest.mark.energy_budget()\ndef test_x():\n    pass\n"


@pytest.mark.parametrize(
    ("gpu", "why"),
    [
        (_h100(), "its energy counter did not move in * ms"),
        (_h100(counter_w=2.0, update_s=0.02), "(ratio 0.0*, trusted only within 0.1 to 10)"),
        (_h100(counter_w=90_000.0, power_mw=90_000_000), "outside the plausible 1 to 1400 W*"),
    ],
    ids=["frozen", "15x-under", "absurd"],
)
def test_auto_leaves_an_untrusted_nvml_out_and_says_why(gb, monkeypatch, tmp_path, gpu, why):
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(tmp_path / "empty"))
    _fake_nvidia(gb, gpu)
    gb.pytester.makepyfile(BUDGETED)
    result, doc = gb.run_json("--greenbudget-meter=auto", sub=True)
    result.assert_outcomes(passed=1)
    assert [m["name"] for m in doc["meters"]] == ["estimate"]
    result.stdout.fnmatch_lines(
        [f"greenbudget: nvml not used: the NVML energy readings are not trusted: gpu:0 *{why}*"]
    )


def test_auto_uses_a_healthy_nvml(gb, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(tmp_path / "empty"))
    _fake_nvidia(gb, _h100(counter_w=60.0, update_s=0.02))
    gb.pytester.makepyfile(
        "import pytest, time\n@pytest.mark.energy_budget()\ndef test_x():\n    time.sleep(0.1)\n"
    )
    result, doc = gb.run_json("--greenbudget-meter=auto", sub=True)
    result.assert_outcomes(passed=1)
    assert [m["name"] for m in doc["meters"]] == ["estimate", "nvml"]
    assert "not used" not in result.stdout.str()
    (entry,) = doc["entries"]
    assert entry["domains"]["gpu:0"] > 0  # the counter moved under the fake's real clock
    result.stdout.fnmatch_lines(
        ["*nvml (measured: *", "*checked at start: gpu:0 * W by its energy*"]
    )


def test_named_nvml_with_an_untrusted_counter_is_a_usage_error(gb, assert_no_crash) -> None:
    _fake_nvidia(gb, _h100(counter_w=2.0, update_s=0.02))  # 30x under its power
    gb.pytester.makepyfile("def test_x():\n    open('ran', 'w').close()\n")
    result = gb.run_sub("--greenbudget-meter=nvml")
    assert result.ret == 4
    assert_no_crash(result)
    err = result.stderr.str()
    assert "meter 'nvml' is not available on this machine" in err
    assert "NVML energy readings are not trusted: gpu:0 NVIDIA H100 80GB HBM3" in err
    assert "trusted only within 0.1 to 10" in err
    assert not (gb.path / "ran").exists()


BAD_SPECS = [
    ("bogus", "unknown meter 'bogus'"),
    ("estimate,bogus", "bogus"),
    ("nosuchmodule_gb:Meter", "nosuchmodule_gb"),
    ("fakemeter:Nope", "Nope"),
    ("fakemeter:RaisingMeter", "no such sensor"),
    ("fakemeter:NotAMeter", "NotAMeter"),
    ("fakemeter:", "fakemeter:"),
    (":FakeMeter", ":FakeMeter"),
    (",", "--greenbudget-meter"),
]


@pytest.mark.parametrize(("spec", "shown"), BAD_SPECS, ids=[s for s, _ in BAD_SPECS])
def test_bad_meter_specs_are_usage_errors(gb, assert_no_crash, spec, shown) -> None:
    gb.pytester.makepyfile("def test_x():\n    open('ran', 'w').close()\n")
    result = gb.run(f"--greenbudget-meter={spec}")
    assert result.ret == 4, result.stdout.str()
    assert_no_crash(result)
    assert shown in result.stderr.str()
    assert not (gb.path / "ran").exists()


def test_close_is_called_once_at_the_end(gb, monkeypatch) -> None:
    log = gb.path / "close.log"
    monkeypatch.setenv("GB_CLOSE_LOG", str(log))
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 J")
        def test_a():
            fakemeter.spend(1)
        @pytest.mark.energy_budget("10 J")
        def test_b():
            fakemeter.spend(1)
        """
    )
    result = gb.run("--greenbudget-meter=fakemeter:ClosingMeter")
    result.assert_outcomes(passed=2)
    assert log.read_text() == "closed\n"


def test_estimate_meter_measures_cpu_time(gb) -> None:
    gb.pytester.makepyprojecttoml("[tool.greenbudget]\ncpu_watts = 64\n")
    gb.pytester.makepyfile(
        """
        import time, pytest
        @pytest.mark.energy_budget()
        def test_busy():
            end = time.process_time() + 0.05
            while time.process_time() < end:
                pass
        """
    )
    result, doc = gb.run_json("--greenbudget-meter=estimate")
    result.assert_outcomes(passed=1)
    (meter,) = doc["meters"]
    assert meter["name"] == "estimate" and meter["estimated"] is True
    assert meter["domains"] == ["cpu"]
    (entry,) = doc["entries"]
    # >= 0.05 CPU-seconds at 64 W per busy CPU; a loaded machine only adds
    assert entry["joules"] >= 0.05 * 64 * 0.99
    assert math.isfinite(entry["joules"])
    result.stdout.fnmatch_lines(["*estimated*64 W*"])


def test_meter_returning_nan_leaves_the_entry_unmeasured(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 J")
        def test_nan():
            fakemeter.spend(float("nan"))
        @pytest.mark.energy_budget("10 J")
        def test_after():
            pass
        """
    )
    result, doc = gb.run_json("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    result.assert_outcomes(passed=2, warnings=1)
    statuses = [e["status"] for e in doc["entries"]]
    assert statuses == ["unmeasured", "unmeasured"]  # the counter stays NaN
    assert "non-finite" in doc["entries"][0]["message"]


def test_counter_going_backwards_is_unmeasured(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 J")
        def test_back():
            fakemeter.spend(5)
            fakemeter.spend(-6)
        @pytest.mark.energy_budget("10 J")
        def test_fine():
            fakemeter.spend(1)
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=2, warnings=1)
    entries = [(e["status"], e["joules"]) for e in doc["entries"]]
    assert entries[0] == ("unmeasured", None)
    assert "backwards" in doc["entries"][0]["message"]
    assert entries[1] == ("ok", pytest.approx(1))


def test_custom_meter_in_a_package(gb) -> None:
    pkg = gb.pytester.mkpydir("gbpkg")
    (pkg / "meters.py").write_text(
        "class PkgMeter:\n"
        "    name = 'pkg'\n"
        "    estimated = True\n"
        "    def read(self):\n"
        "        return {'board': 1.0}\n"
    )
    gb.pytester.makepyfile(TEST)
    result, doc = gb.run_json("--greenbudget-meter=gbpkg.meters:PkgMeter")
    result.assert_outcomes(passed=1)
    assert [(m["name"], m["estimated"], m["domains"]) for m in doc["meters"]] == [
        ("pkg", True, ["board"])
    ]
    assert doc["entries"][0]["domains"] == {"board": 0.0}


def test_close_that_raises_does_not_crash_the_session(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(TEST)
    result = gb.run("--greenbudget-meter=fakemeter:BadCloseMeter")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert_no_crash(result)
