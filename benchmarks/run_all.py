"""Run overhead.py, sensitivity.py and noise.py; print one Markdown table of the figures.

Run: ``.venv/bin/python benchmarks/run_all.py [--quick] [--out figures.md]``

Each script's own output is shown as it runs; the final table (metric |
pytest-greenbudget | codecarbon | goal | met?) is meant for pasting into the README.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PYTHON, machine_line, markdown_table

HERE = Path(__file__).resolve().parent
SCRIPTS = ("overhead.py", "sensitivity.py", "noise.py")
HEADERS = ["metric", "pytest-greenbudget", "codecarbon", "goal", "met?"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--out", metavar="PATH", help="also write the final table to PATH")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, help="run only these scripts")
    args = parser.parse_args()
    started = time.perf_counter()
    machine = machine_line()
    rows: list[list[str]] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gb-run-all-") as tmp:
        for script in args.only or SCRIPTS:
            out = Path(tmp) / f"{script}.json"
            cmd = [PYTHON, str(HERE / script), "--json", str(out)]
            if args.quick:
                cmd.append("--quick")
            print(f"\n===== {script} =====", flush=True)
            code = subprocess.call(cmd)
            if code != 0 or not out.exists():
                failed.append(f"{script} (exit {code})")
                continue
            rows.extend(json.loads(out.read_text(encoding="utf-8"))["rows"])
    today = datetime.date.today().isoformat()
    table = markdown_table(HEADERS, rows)
    text = (
        f"Figures of {today} on {machine}; `benchmarks/run_all.py"
        f"{' --quick' if args.quick else ''}`, medians of repeated runs on a shared machine; "
        "the goal and met? columns are pytest-greenbudget's.\n\n" + table + "\n"
    )
    print("\n===== all figures =====\n")
    print(text)
    if failed:
        print("FAILED: " + ", ".join(failed))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(f"(run_all.py took {time.perf_counter() - started:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
