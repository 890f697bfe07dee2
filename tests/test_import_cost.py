"""SPEC 1: importing the plugin (or running it with the default meter) stays cheap."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("codecarbon", "pynvml", "amdsmi", "pandas", "numpy", "torch", "pygal", "matplotlib")

CHECK = """
import importlib, json, pkgutil, sys
import pytest_greenbudget, pytest_greenbudget.plugin
names = [m.name for m in pkgutil.walk_packages(pytest_greenbudget.__path__, "pytest_greenbudget.")]
for name in names:
    importlib.import_module(name)
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
print(json.dumps({"modules": names, "heavy": heavy}))
""".replace("HEAVY", repr(HEAVY))


def _gpu_visible() -> bool:
    return bool(shutil.which("nvidia-smi")) or Path("/dev/nvidiactl").exists()


def test_importing_every_module_imports_nothing_heavy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert "pytest_greenbudget.plugin" in report["modules"]
    assert "pytest_greenbudget.meters.nvml" in report["modules"]
    assert report["heavy"] == []


@pytest.mark.skipif(_gpu_visible(), reason="with a GPU, auto selects nvml, which needs pynvml")
def test_a_run_with_the_default_meter_imports_nothing_heavy(pytester) -> None:
    pytester.makeconftest(
        f"""
        import json, sys
        HEAVY = {HEAVY!r}
        def pytest_unconfigure(config):
            heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY))
            with open("heavy.json", "w") as f:
                json.dump(heavy, f)
        """
    )
    pytester.makepyfile(
        """
        import sys, pytest

        @pytest.mark.energy_budget("1 kJ")
        def test_trivial():
            assert sum(range(100)) == 4950
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
    header = next(line for line in result.stdout.lines if line.startswith("greenbudget:"))
    heavy = json.loads((pytester.path / "heavy.json").read_text())
    if "nvml" in header:  # an NVIDIA GPU is visible: the nvml meter is selected
        heavy = [m for m in heavy if m != "pynvml"]
    assert heavy == [], header
