"""The estimate model in configuration and baselines: cpu_watts / cpu_model keys, the
profile's model version, and the note about a baseline saved under the old model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_settings import load, usage_error

from pytest_greenbudget.baseline import default_profile, machine_info, older_model_profile
from pytest_greenbudget.meters.estimate import EstimateMeter


def test_cpu_watts_and_cpu_model_keys(tmp_path: Path) -> None:
    s = load(tmp_path, '[tool.greenbudget]\ncpu_watts = 2\ncpu_model = "AMD EPYC 7763"\n')
    assert s.cpu_watts == 2.0 and isinstance(s.cpu_watts, float)
    assert s.cpu_model == "AMD EPYC 7763"
    assert load(tmp_path, "[tool.greenbudget]\n").cpu_watts is None


@pytest.mark.parametrize(("key", "value"), [
    ("cpu_watts", "0"), ("cpu_watts", "-1"), ("cpu_watts", '"2 W"'), ("cpu_watts", "true"),
    ("cpu_watts", "nan"), ("cpu_model", '""'), ("cpu_model", "7763"),
])
def test_bad_values(tmp_path: Path, key: str, value: str) -> None:
    text = usage_error(tmp_path, f"[tool.greenbudget]\n{key} = {value}\n")
    assert f"[tool.greenbudget] {key}:" in text and str(tmp_path / "pyproject.toml") in text


def test_misspelt_key_suggests_cpu_watts(tmp_path: Path) -> None:
    assert "cpu_watts" in usage_error(tmp_path, "[tool.greenbudget]\ncpu_wats = 2\n")


def test_machine_info_records_the_model_and_watts() -> None:
    meter = EstimateMeter(cpu_model="Intel(R) Xeon(R) Platinum 8480+")
    info = machine_info([meter])
    assert info["estimate_model"] == "2"
    assert info["watts_per_cpu"] == pytest.approx(350 / 112, abs=1e-4)
    assert "estimate_model" not in machine_info()


def test_profile_carries_the_model_version() -> None:
    machine = {"cpu": "AMD EPYC 7763 64-Core Processor", "logical_cpus": 4}
    profile = default_profile([EstimateMeter(cpu_watts=1.0)], machine)
    assert profile == "estimate2-amd-epyc-7763-4cpu"


def test_older_model_profile() -> None:
    old = "estimate-amd-epyc-7763-4cpu"
    assert older_model_profile([old, "rapl-x"], "estimate2-amd-epyc-7763-4cpu") == old
    assert older_model_profile([old], old) is None
    new = "estimate2-amd-epyc-7763-4cpu"
    assert older_model_profile([new], new) is None
    assert older_model_profile([old], "estimate2-amd-epyc-7763-2cpu") is None  # other hardware
    assert older_model_profile(["estimate+nvml-x-h100x1"], "estimate2+nvml-x-h100x1") == (
        "estimate+nvml-x-h100x1"
    )
    assert older_model_profile([old], "rapl-amd-epyc-7763-4cpu") is None


def test_header_says_the_baseline_is_under_the_old_model(gb: object) -> None:
    pytester = gb.pytester  # type: ignore[attr-defined]
    pytester.makepyprojecttoml('[tool.greenbudget]\nmeter = "estimate"\ncpu_watts = 2\n')
    pytester.makepyfile("import pytest\n@pytest.mark.energy_budget()\ndef test_x():\n    pass\n")
    result = pytester.runpytest("--greenbudget-save")
    new = json.loads((pytester.path / ".greenbudget" / "baseline.json").read_text())
    (profile,) = new["profiles"]
    assert profile.startswith("estimate2-")
    assert new["profiles"][profile]["machine"]["estimate_model"] == "2"
    assert new["profiles"][profile]["machine"]["watts_per_cpu"] == 2.0
    old = profile.replace("estimate2-", "estimate-", 1)
    new["profiles"] = {old: new["profiles"][profile]}
    (pytester.path / ".greenbudget" / "baseline.json").write_text(json.dumps(new))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [f"greenbudget: the baseline's profile '{old}' was measured under an older estimate "
         f"model; its numbers are not compared with profile '{profile}'*"]
    )
