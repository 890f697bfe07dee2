"""The README's demo: the examples run green on the default meter and show a warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytest.importorskip("sklearn")


def test_demo_runs_green_with_summary_and_warning(tmp_path: Path) -> None:
    report = tmp_path / "energy.json"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--greenbudget-json={report}"],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "energy summary" in output
    assert "EnergyBudgetWarning" in output
    assert "Traceback" not in output
    document = json.loads(report.read_text())
    statuses = {entry["id"]: entry["status"] for entry in document["entries"]}
    assert statuses["test_over_budget.py::test_hyperparameter_search"] == "over_budget"
    assert statuses["test_compression.py::test_pruned_forest_is_cheaper::pruned"] == "ok"
    assert all(entry["outcome"] in ("passed", "skipped") for entry in document["entries"])
    # Energy per unit of work (SPEC 14): the per-sample rows, in the JSON and the summary.
    entries = {entry["id"]: entry for entry in document["entries"]}
    per_sample = [e for i, e in entries.items() if i.startswith("test_per_sample.py::")]
    assert len(per_sample) == 5, sorted(entries)
    for entry in per_sample:
        if entry["kind"] == "region" or "[" in entry["id"]:
            assert entry["work"]["unit"] == "sample", entry
            assert entry["joules_per_unit"] * entry["work"]["count"] > 0, entry
            assert entry["budget"]["per"] == "sample", entry
            assert entry["status"] == "ok", entry
    large = entries["test_per_sample.py::test_mlp_energy_per_sample[large]"]
    assert large["work"]["count"] == 27000
    assert "uJ/sample" in output
    distilled = "test_torch_distillation.py::test_distilled_student_is_cheaper_per_image"
    if distilled in entries:  # torch is installed
        assert entries[f"{distilled}::student"]["work"]["unit"] == "image"
        assert entries[f"{distilled}::student"]["status"] == "ok"
    assert not (EXAMPLES / ".greenbudget").exists(), "the demo writes no baseline unless asked"


def test_demo_saved_then_rerun_compares_every_entry(tmp_path: Path) -> None:
    """The demo as a user tries it: save a baseline, run again unchanged.

    Every entry is compared with its baseline (per unit where it records work) and no
    test fails for anything but an energy regression, which the noise model makes rare
    (see benchmarks/verdicts.py --examples); a crash in a comparison fails here.
    """
    import shutil

    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns(".greenbudget", "__pycache__"))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly"]
    saved = subprocess.run(
        [*base, "--greenbudget-save"], cwd=folder, capture_output=True, text=True,
        timeout=300, env=env,
    )
    assert saved.returncode == 0, saved.stdout + saved.stderr
    report = tmp_path / "rerun.json"
    rerun = subprocess.run(
        [*base, f"--greenbudget-json={report}"], cwd=folder, capture_output=True, text=True,
        timeout=300, env=env,
    )
    output = rerun.stdout + rerun.stderr
    assert rerun.returncode in (0, 1), output
    assert "Traceback" not in output and "Error" not in output.replace("EnergyBudgetWarning", "")
    entries = json.loads(report.read_text())["entries"]
    compared = [e for e in entries if e["baseline_joules"] is not None]
    assert len(compared) == len(entries) >= 9
    per_unit = [e for e in entries if e.get("work")]
    assert per_unit and all(e["baseline_joules_per_unit"] is not None for e in per_unit)
    for entry in entries:
        if entry["outcome"] == "failed":
            assert entry["status"] == "regressed", entry
