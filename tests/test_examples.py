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
