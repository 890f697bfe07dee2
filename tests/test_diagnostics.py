"""``python -m pytest_greenbudget`` in a subprocess, with RAPL on a fake powercap tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_powercap import MovingCounters, build_flat_tree

from pytest_greenbudget.meters.rapl import ENV_ROOT

REPO = Path(__file__).resolve().parents[1]


def build_tree(base: Path) -> Path:
    """/sys/devices/virtual/powercap-like: two packages, each with core and dram."""
    root = base / "powercap"
    for pkg in (0, 1):
        package = root / "intel-rapl" / f"intel-rapl:{pkg}"
        zones = {package: f"package-{pkg}"}
        zones[package / f"intel-rapl:{pkg}:0"] = "core"
        zones[package / f"intel-rapl:{pkg}:1"] = "dram"
        for path, name in zones.items():
            path.mkdir(parents=True)
            (path / "name").write_text(name + "\n")
            (path / "energy_uj").write_text("1000\n")
            (path / "max_energy_range_uj").write_text("262143328850\n")
    return root


def run_diagnostics(powercap: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env[ENV_ROOT] = str(powercap)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest_greenbudget", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=powercap.parent,
        timeout=120,
    )


def test_names_the_rapl_zones_and_every_meter(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    with MovingCounters(root, watts=25.0):
        result = run_diagnostics(root)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"{ENV_ROOT}='{root}'" in out
    assert "rapl        available (measured, machine-wide)" in out
    for zone in (
        "cpu:package-0 (intel-rapl:0)",
        "dram:0 (intel-rapl:0:1)",
        "cpu:package-1 (intel-rapl:1)",
        "dram:1 (intel-rapl:1:1)",
    ):
        assert zone in out
    assert "intel-rapl:0:0" not in out  # core is inside the package
    assert "domains: cpu:package-0, dram:0, cpu:package-1, dram:1" in out
    assert "estimate    available (estimated, per-process)" in out
    assert "W per busy logical CPU" in out and "source: " in out  # the estimate's watts
    lines = out.splitlines()
    assert any(line.startswith("nvml ") for line in lines)  # available or why not
    assert any(line.startswith("codecarbon  available") for line in lines), out
    assert "codecarbon 3." in out
    assert 'meter = "auto" uses: rapl' in out
    assert "baseline profile: rapl" in out
    assert "amdsmi      not available" in out
    assert sorted(os.listdir(root.parent)) == ["powercap"]  # wrote nothing in its cwd


def test_unavailable_rapl_says_why(tmp_path: Path) -> None:
    empty = tmp_path / "powercap"
    empty.mkdir()
    result = run_diagnostics(empty, "--meters", "estimate,rapl")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "rapl        not available" in out
    assert f"no RAPL package zone under {empty}" in out
    assert not [line for line in out.splitlines() if line.startswith("codecarbon")]
    assert 'meter = "auto" uses: estimate' in out
    assert "baseline profile: estimate" in out


def test_bad_meter_argument(tmp_path: Path) -> None:
    result = run_diagnostics(tmp_path, "--meters", "bogus")
    assert result.returncode == 2
    assert "unknown meter 'bogus'" in result.stderr


def test_meter_modules_import_lazily() -> None:
    code = (
        "import sys, pytest_greenbudget.meters.rapl, pytest_greenbudget.meters.nvml, "
        "pytest_greenbudget.meters.codecarbon_meter, pytest_greenbudget.__main__\n"
        "heavy = {'codecarbon', 'pynvml', 'pandas', 'numpy', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_a_frozen_counter_is_not_trusted(tmp_path: Path) -> None:
    root = build_tree(tmp_path)  # counters that never move
    result = run_diagnostics(root, "--meters", "rapl")
    assert result.returncode == 0, result.stderr
    assert "rapl        not available" in result.stdout
    assert "not trusted: cpu:package-0 did not move" in result.stdout
    assert 'meter = "auto" uses: estimate' in result.stdout


def test_json(tmp_path: Path) -> None:
    empty = tmp_path / "powercap"
    empty.mkdir()
    result = run_diagnostics(
        empty, "--json", "--cpu-model", "AMD EPYC 7763 64-Core Processor"
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)  # one object, nothing else on stdout
    estimate = doc["estimate"]
    assert estimate["cpu_model"] == "AMD EPYC 7763 64-Core Processor"
    assert estimate["watts_per_cpu"] == pytest.approx(280 / 128)
    assert "shipped CPU table" in estimate["source"]
    assert set(doc["meters"]) == {"estimate", "rapl", "nvml", "amdsmi", "codecarbon"}
    assert doc["meters"]["estimate"]["available"] is True
    assert doc["meters"]["estimate"]["domains"] == ["cpu"]
    rapl = doc["meters"]["rapl"]
    assert rapl["available"] is False and "no RAPL package zone" in rapl["reason"]
    for meter in doc["meters"].values():
        assert meter["available"] or meter["reason"]
    assert doc["auto"][0] == "estimate"
    assert doc["profile"].startswith("estimate2-")


def test_json_cpu_watts_and_the_default(tmp_path: Path) -> None:
    result = run_diagnostics(tmp_path, "--json", "--meters", "estimate", "--cpu-watts", "1.7")
    doc = json.loads(result.stdout)
    assert doc["estimate"]["watts_per_cpu"] == 1.7
    assert doc["estimate"]["source"] == "cpu_watts setting"
    result = run_diagnostics(tmp_path, "--json", "--meters", "estimate", "--cpu-model", "Nope 1")
    doc = json.loads(result.stdout)
    assert doc["estimate"]["watts_per_cpu"] == 2.76
    assert "Cloud Carbon Footprint" in doc["estimate"]["source"]


def test_calibrate_without_rapl_says_why_and_exits_1(tmp_path: Path) -> None:
    empty = tmp_path / "powercap"
    empty.mkdir()
    result = run_diagnostics(empty, "calibrate")
    assert result.returncode == 1
    assert "rapl meter is not available" in result.stdout
    assert "no RAPL package zone" in result.stdout


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid``, the children it reaped and its live children (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(p: int | str) -> list[str]:
        text = Path(f"/proc/{p}/stat").read_text()
        return text.rsplit(")", 1)[1].split()

    try:
        own = fields(pid)
        total = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    for child in children:
        try:
            f = fields(child)
            total += int(f[11]) + int(f[12])
        except OSError:
            pass  # exited: now in the parent's cutime
    return total / tick


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="needs /proc/<pid>/task/<tid>/children")
def test_calibrate_recovers_the_watts_of_a_fake_counter(tmp_path: Path) -> None:
    """The fake package draws 10 W idle + 3 W per CPU second of the calibrate process tree."""
    root = build_flat_tree(tmp_path / "powercap")
    env = dict(os.environ, PYTHONPATH=str(REPO), **{ENV_ROOT: str(root)})
    args = ["calibrate", "--seconds", "0.5", "--rounds", "2", "--cpus", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_greenbudget", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    t0 = time.perf_counter()
    base = [-1.0]

    def microjoules() -> float:
        cpu = _tree_cpu_seconds(proc.pid)
        if base[0] < 0:
            base[0] = cpu
        return (10.0 * (time.perf_counter() - t0) + 3.0 * (cpu - base[0])) * 1e6

    with MovingCounters(root, microjoules=microjoules, interval=0.002):
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert "cpu_watts = " in out
    watts = float(out.split("cpu_watts = ")[1].split()[0])
    assert 2.0 <= watts <= 4.5, out
    assert "spread" in out and "idle package power" in out
