"""``python -m pytest_greenbudget`` in a subprocess, with RAPL on a fake powercap tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    assert "TDP from" in out  # where the estimate's TDP came from
    lines = out.splitlines()
    assert any(line.startswith("nvml ") for line in lines)  # available or why not
    assert any(line.startswith("codecarbon  available") for line in lines), out
    assert "codecarbon 3." in out
    assert 'meter = "auto" uses: rapl' in out
    assert "baseline profile: rapl" in out
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
