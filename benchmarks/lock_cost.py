"""Cost of the shared side of the xdist lock, which every test holds under machine-wide meters.

A figure, not a test: on a shared VM a timing assertion fails for reasons of its own.

    python benchmarks/lock_cost.py [--n N] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_greenbudget.xdist import SessionLock, make_session_dir, remove_session_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    folder = make_session_dir()
    lock = SessionLock(folder)
    try:
        figures = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            for _ in range(args.n):
                with lock.shared():
                    pass
            figures.append((time.perf_counter() - start) / args.n * 1e6)
    finally:
        lock.close()
        remove_session_dir(folder)
    print(
        f"shared lock enter+exit: median {statistics.median(figures):.1f} us "
        f"(min {min(figures):.1f}, max {max(figures):.1f}; {args.repeats} x {args.n})"
    )


if __name__ == "__main__":
    main()
