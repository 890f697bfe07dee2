"""Watts per busy logical CPU: the estimate model now, before, codecarbon, and published figures.

For each CPU model string it prints the new model's figure (SPEC section 13: the TDP of
one package / that package's logical CPUs, from the shipped table), the old model's
(TDP / the VM's ``os.cpu_count()``, which is also what codecarbon's process mode does)
on 2- and 4-vCPU VMs, and published per-thread figures (FACTS.md, 2026-12-04):
SPECpower_ssj2008 (100 % load minus idle), Cloud Carbon Footprint's per-vCPU
coefficients (max - min), Eco CI's measured GitHub runner curve.

Then it runs the examples once with ``cpu_watts = 1`` (so joules = CPU seconds) and
prints their total energy under the old and new models on those machines.

    python benchmarks/watts.py [--no-examples]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_greenbudget.meters.estimate import (  # noqa: E402
    codecarbon_tdp,
    cpu_model,
    watts_per_cpu,
)

# Published figures, W per busy logical CPU (FACTS.md "Measured and gathered on 2026-12-04").
ECO_CI_7763 = "1.6-2.3"  # (8.18-1.76)/4 at 100 %, (4.06-1.76)/1 at 25 % of 4 vCPUs
PUBLISHED = {
    "AMD EPYC 7763 64-Core Processor": ("1.48", "1.57 (EPYC 3rd gen)", ECO_CI_7763),
    "AMD EPYC 7B13": ("", "1.57 (EPYC 3rd gen)", ""),
    "AMD EPYC 7R13 Processor": ("", "1.57 (EPYC 3rd gen)", ""),
    "AMD EPYC 7502 32-Core Processor": ("", "1.22 (EPYC 2nd gen)", ""),
    "AMD EPYC 7V12 64-Core Processor": ("", "1.22 (EPYC 2nd gen)", ""),
    "Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz": ("", "3.33 (Cascade Lake)", ""),
    "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz": ("", "3.33 (Cascade Lake)", ""),
    "Intel(R) Xeon(R) Platinum 8171M CPU @ 2.60GHz": ("", "3.61 (Skylake)", ""),
    "Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz": ("", "3.61 (Skylake)", ""),
}
MODELS = [
    *PUBLISHED,
    "Intel(R) Xeon(R) Platinum 8480+",
    "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz",
    "AMD EPYC 9R14",
    "11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz",
    "13th Gen Intel(R) Core(TM) i7-1355U",
    "AMD Ryzen 9 7950X 16-Core Processor",
    "Apple M2",
    "AMD EPYC",  # what this benchmark's VM reports
]


def old_watts(model: str, vcpus: int) -> float:
    """Turn 1's figure: codecarbon's TDP (else 4 W x vCPUs) / the VM's CPU count."""
    found = codecarbon_tdp(model)
    return found[0] / vcpus if found else 4.0


def table() -> list[str]:
    head = (
        "| CPU model | new W/CPU | source | old = codecarbon process mode, 2 / 4 vCPU "
        "| SPECpower | CCF max-min | Eco CI |"
    )
    lines = [head, "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for model in MODELS:
        new = watts_per_cpu(model)
        kind = (
            "default" if new.tdp_watts is None
            else "table" if "shipped CPU table" in new.source
            else "codecarbon TDP / name's cores"
        )  # fmt: skip
        spec, ccf, eco = PUBLISHED.get(model, ("", "", ""))
        lines.append(
            f"| {model} | {new.watts_per_cpu:.2f} | {kind} | "
            f"{old_watts(model, 2):.1f} / {old_watts(model, 4):.1f} | {spec} | {ccf} | {eco} |"
        )
    return lines


def example_cpu_seconds() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "cw1.toml"
        config.write_text('[tool.greenbudget]\nmeter = "estimate"\ncpu_watts = 1\n')
        report = Path(tmp) / "r.json"
        subprocess.run(
            [sys.executable, "-m", "pytest", "examples", "-q", "-p", "no:cacheprovider",
             f"--greenbudget-config={config}", f"--greenbudget-json={report}"],
            cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        doc = json.loads(report.read_text())
    return float(doc["totals"]["joules"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-examples", action="store_true")
    args = parser.parse_args()
    print("\n".join(table()))
    if args.no_examples:
        return 0
    seconds = example_cpu_seconds()
    print(f"\nexamples: {seconds:.3f} CPU seconds measured (one run; this VM is noisy)\n")
    print("| machine | old model | new model | ratio |")
    print("| --- | ---: | ---: | ---: |")
    here = cpu_model() or "unknown CPU"
    for label, model, vcpus in (
        (f"this VM ({here}, 2 vCPU)", here, 2),
        ("GitHub runner, EPYC 7763, 2 vCPU", "AMD EPYC 7763 64-Core Processor", 2),
        ("GitHub runner, EPYC 7763, 4 vCPU", "AMD EPYC 7763 64-Core Processor", 4),
        ("laptop i7-1185G7 (8 threads)", "11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", 8),
    ):
        old = seconds * old_watts(model, vcpus)
        new = seconds * watts_per_cpu(model).watts_per_cpu
        print(f"| {label} | {old:.2f} J | {new:.2f} J | {old / new:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
