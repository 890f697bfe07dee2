"""SPEC 7, 8 and 12 through real pytest runs: inconclusive, max_rounds, samples, traced runs.

The meter here declares a noise prior (like the ``estimate`` meter does), and each call
round spends the next value of a list from ``work.json``, so every verdict is exact
arithmetic on known numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_greenbudget.stats import NoisePrior, compare

NOISY = '''
import json, os, pathlib
from pytest_greenbudget.stats import NoisePrior

TOTAL = [0.0]
HERE = pathlib.Path(__file__).parent


def use(key):
    """Spend the next value of work.json[key]; the position is kept in a file per key."""
    values = json.loads((HERE / "work.json").read_text())[key]
    pos = HERE / f".pos-{key}"
    n = int(pos.read_text()) if pos.exists() else 0
    pos.write_text(str(n + 1))
    TOTAL[0] += values[min(n, len(values) - 1)]


class NoisyMeter:
    name = "noisy"
    estimated = True
    per_process = True
    noise = NoisePrior(between=0.05, within=0.10, weight=4.0, source="the test's meter")

    def read(self):
        return {"cpu": TOTAL[0]}
'''

PRIOR = NoisePrior(between=0.05, within=0.10, weight=4.0)
METER = "--greenbudget-meter=noisymeter:NoisyMeter"
ARGS = ("-p", "no:hypothesispytest", METER, "--greenbudget-profile=p", "-p", "no:cacheprovider")


class Noisy:
    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = pytester.path

    def work(self, **values: list[float]) -> None:
        (self.path / "work.json").write_text(json.dumps(values))
        for pos in self.path.glob(".pos-*"):
            pos.unlink()

    def run(self, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
        out = self.path / "report.json"
        out.unlink(missing_ok=True)
        result = self.pytester.runpytest_subprocess(*ARGS, f"--greenbudget-json={out}", *args)
        doc = json.loads(out.read_text()) if out.exists() else {"entries": []}
        return result, {e["id"]: e for e in doc["entries"]} | {"_doc": doc}

    def baseline(self) -> dict[str, Any]:
        data = json.loads((self.path / ".greenbudget" / "baseline.json").read_text())
        return data["profiles"]["p"]["entries"]  # type: ignore[no-any-return]


@pytest.fixture
def noisy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Noisy:
    pytester.makepyfile(noisymeter=NOISY)
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    return Noisy(pytester)


TEST = """
import pytest
from noisymeter import use

@pytest.mark.energy_budget{args}
def test_a():
    use("a")
"""

ID = "test_a.py::test_a"


def test_change_within_noise_is_inconclusive_never_a_failure(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    noisy.work(a=[10.0])
    result, _ = noisy.run("--greenbudget-save")
    assert result.ret == 0
    assert noisy.baseline()[ID]["samples"] == [10.0]
    noisy.work(a=[13.0])
    result, entries = noisy.run()
    assert result.ret == 0, result.stdout.str()
    entry = entries[ID]
    assert entry["status"] == "inconclusive"
    expected = compare([13.0], [10.0], tolerance=0.1, min_delta=0.005, prior=PRIOR)
    assert expected.status == "inconclusive" and expected.rounds_needed is not None
    assert entry["message"] == (
        f"energy change inconclusive: used 13 J, baseline 10 J ({expected.describe()})"
    )
    assert "+30 %, noise +-" in entry["message"]
    assert f"at 1 round: set rounds = {expected.rounds_needed}" in entry["message"]
    assert entry["rounds"] == 1  # rounds = 1 and no max_rounds: never repeated


def test_change_past_the_noise_is_regressed(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    noisy.work(a=[10.0])
    noisy.run("--greenbudget-save")
    noisy.work(a=[30.0])
    result, entries = noisy.run()
    assert result.ret == 1
    assert entries[ID]["status"] == "regressed"
    result.stdout.fnmatch_lines(
        ["*energy regression: used 30 J, baseline 10 J (+200 %, tolerance 10 %, noise +-*"]
    )
    noisy.work(a=[3.0])
    result, entries = noisy.run()
    assert result.ret == 0
    assert entries[ID]["status"] == "improved"


def test_inconclusive_is_a_github_notice(noisy: Noisy, monkeypatch: pytest.MonkeyPatch) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    noisy.work(a=[10.0])
    noisy.run("--greenbudget-save")
    noisy.work(a=[11.8])
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result, _ = noisy.run()
    assert result.ret == 0
    notices = [line for line in result.stdout.lines if line.startswith("::notice ")]
    assert len(notices) == 1, result.stdout.str()
    assert "file=test_a.py" in notices[0] and "energy change inconclusive" in notices[0]
    assert not [line for line in result.stdout.lines if line.startswith(("::error", "::warning"))]


def test_max_rounds_runs_more_rounds_until_decided(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args="(max_rounds=6)"))
    noisy.work(a=[10.0])
    result, entries = noisy.run("--greenbudget-save")
    assert entries[ID]["rounds"] == 1  # no baseline yet: nothing to decide
    # 16 J: open at 1 round against the one-sample baseline, decided at 2
    assert compare([16.0], [10.0], tolerance=0.1, min_delta=0, prior=PRIOR).status == (
        "inconclusive"
    )
    assert compare([16.0] * 2, [10.0], tolerance=0.1, min_delta=0, prior=PRIOR).status == (
        "regressed"
    )
    noisy.work(a=[16.0])
    result, entries = noisy.run()
    assert entries[ID]["rounds"] == 2
    assert entries[ID]["status"] == "regressed"
    assert result.ret == 1


def test_max_rounds_stops_at_its_limit_when_still_undecided(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args="(max_rounds=4)"))
    noisy.work(a=[10.0])
    noisy.run("--greenbudget-save")
    noisy.work(a=[11.8])
    result, entries = noisy.run()
    assert result.ret == 0
    assert entries[ID]["rounds"] == 4
    assert entries[ID]["status"] == "inconclusive"


def test_no_extra_rounds_when_decided_at_once(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args="(rounds=3)"))  # default max 6
    noisy.work(a=[10.0, 10.1, 9.9])
    noisy.run("--greenbudget-save")
    assert noisy.baseline()[ID]["samples"] == pytest.approx([10.0, 10.1, 9.9])
    assert noisy.baseline()[ID]["joules"] == 10.0
    noisy.work(a=[10.0, 10.2, 9.9])
    result, entries = noisy.run()
    assert result.ret == 0
    assert entries[ID]["status"] == "ok" and entries[ID]["rounds"] == 3


def test_rounds_allow_default_max_rounds(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args="(rounds=2)"))
    noisy.work(a=[10.0])
    noisy.run("--greenbudget-save")
    noisy.work(a=[11.8])
    _, entries = noisy.run()
    assert entries[ID]["rounds"] == 4  # 2 x rounds, then still inconclusive
    assert entries[ID]["status"] == "inconclusive"


def test_max_rounds_in_pattern_and_table(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    noisy.pytester.makepyprojecttoml(
        '[tool.greenbudget]\nmax_rounds = 3\n[tool.greenbudget.budgets]\n"test_a.py::*" = {}\n'
    )
    noisy.work(a=[10.0])
    noisy.run("--greenbudget-save")
    noisy.work(a=[11.8])
    _, entries = noisy.run()
    assert entries[ID]["rounds"] == 3
    noisy.pytester.makepyprojecttoml(
        '[tool.greenbudget.budgets]\n"test_a.py::*" = { max_rounds = 2 }\n'
    )
    noisy.work(a=[11.8])
    _, entries = noisy.run()
    assert entries[ID]["rounds"] == 2


def test_bad_max_rounds_marker_fails_that_test(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args="(rounds=3, max_rounds=2)"))
    noisy.work(a=[10.0])
    result, _ = noisy.run()
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*max_rounds=2*must be >= rounds (3)*"])
    assert "INTERNALERROR" not in result.stdout.str()


def test_bad_max_rounds_key_is_a_usage_error(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    noisy.pytester.makepyprojecttoml("[tool.greenbudget]\nmax_rounds = 0\n")
    result, _ = noisy.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*max_rounds*"])


def test_old_baseline_without_samples_is_one_reading(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    folder = noisy.path / ".greenbudget"
    folder.mkdir()
    doc = {"schema": "greenbudget-baseline/1",
           "profiles": {"p": {"machine": {}, "entries": {ID: {"joules": 10.0, "seconds": 1.0}}}}}
    (folder / "baseline.json").write_text(json.dumps(doc))
    noisy.work(a=[30.0])
    result, entries = noisy.run()
    assert entries[ID]["status"] == "regressed"
    assert result.ret == 1


@pytest.mark.parametrize("bad", ["[]", "[1, -2]", '"many"', "[1, null]"])
def test_malformed_samples_are_a_usage_error(noisy: Noisy, bad: str) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    folder = noisy.path / ".greenbudget"
    folder.mkdir()
    text = (
        '{"schema": "greenbudget-baseline/1", "profiles": {"p": {"machine": {}, "entries": '
        f'{{"{ID}": {{"joules": 10.0, "samples": {bad}}}}}}}}}}}'
    )
    (folder / "baseline.json").write_text(text)
    before = (folder / "baseline.json").read_bytes()
    noisy.work(a=[10.0])
    result, _ = noisy.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [f"*{ID}.samples must be a non-empty list of non-negative numbers*"]
    )
    assert (folder / "baseline.json").read_bytes() == before


def test_at_most_50_samples_are_saved(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args="(rounds=60)"))
    noisy.work(a=[float(i) for i in range(1, 61)])
    noisy.run("--greenbudget-save")
    assert len(noisy.baseline()[ID]["samples"]) == 50


TRACED = """
import sys
sys.setprofile(lambda *args: None)  # as a profiler would, before the session starts
"""


def test_instrumented_run_has_its_own_profile(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    noisy.pytester.makeconftest(TRACED)
    noisy.work(a=[10.0])
    result, entries = noisy.run("--greenbudget-save", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["greenbudget: instrumentation active (a profile function*"])
    data = json.loads((noisy.path / ".greenbudget" / "baseline.json").read_text())
    assert list(data["profiles"]) == ["p-traced"]
    assert entries["_doc"]["profile"] == "p-traced"


def test_plain_run_has_no_instrumentation_line(noisy: Noisy) -> None:
    noisy.pytester.makepyfile(test_a=TEST.format(args=""))
    noisy.work(a=[10.0])
    result, entries = noisy.run()
    assert "instrumentation active" not in result.stdout.str()
    assert entries["_doc"]["profile"] == "p"


def test_exact_meter_keeps_the_threshold_rules(gb: Any) -> None:
    """The shared fake meter declares no noise: +11 % over 10 % tolerance fails at once."""
    gb.pytester.makepyfile(
        test_b="import pytest\nfrom fakemeter import use\n\n"
        "@pytest.mark.energy_budget\ndef test_b():\n    use('b')\n"
    )
    (Path(gb.path) / "work.json").write_text('{"b": 10.0}')
    gb.run_sub("--greenbudget-save", "--greenbudget-profile=p")
    (Path(gb.path) / "work.json").write_text('{"b": 11.1}')
    result = gb.run_sub("--greenbudget-profile=p")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*energy regression: used 11.1 J, baseline 10 J (+11 %, tolerance 10 %)*"]
    )


PER_UNIT_METER = '''
from pytest_greenbudget.stats import NoisePrior

TOTAL = [0.0]


class FlooredMeter:
    """1 J per call round, with a per-reading floor of 1 mJ, like the estimate meter's."""

    name = "floored"
    estimated = True
    per_process = True
    noise = NoisePrior(between=0.05, within=0.05, floor_j=1e-3, source="the test's meter")

    def read(self):
        return {"cpu": TOTAL[0]}
'''


def test_per_unit_verdicts_share_the_floor_over_the_work(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compared per unit (1e6 samples a round), the 1 mJ floor of a reading is 1 nJ a sample.

    Before: the floor was set against microjoules per sample, the noise overflowed, and
    every unchanged rerun of a per-unit test failed with an OverflowError.
    """
    pytester.makepyfile(flooredmeter=PER_UNIT_METER)
    pytester.makepyfile(
        test_pu='''
        import os
        import pytest
        import flooredmeter

        @pytest.mark.energy_budget("5 uJ/sample")
        def test_batch(energy_meter):
            flooredmeter.TOTAL[0] += float(os.environ.get("JOULES", "1"))
            energy_meter.work(1_000_000, "sample")
        '''
    )
    args = ("-p", "no:hypothesispytest", "--greenbudget-meter=flooredmeter:FlooredMeter",
            "--greenbudget-profile=p", "-p", "no:cacheprovider")
    pytester.runpytest_subprocess(*args, "--greenbudget-save").assert_outcomes(passed=1)
    report = pytester.path / "r.json"
    result = pytester.runpytest_subprocess(*args, f"--greenbudget-json={report}")
    result.assert_outcomes(passed=1)
    (entry,) = json.loads(report.read_text())["entries"]
    assert entry["status"] == "ok"
    assert entry["joules_per_unit"] == pytest.approx(1e-6)
    # Three times the energy per sample is far past the noise: decided, not inconclusive.
    monkeypatch.setenv("JOULES", "3")
    result = pytester.runpytest_subprocess(*args, f"--greenbudget-json={report}")
    result.assert_outcomes(failed=1)
    (entry,) = json.loads(report.read_text())["entries"]
    assert entry["status"] == "regressed"


IMPORTING = """
import os
import pytest
from noisymeter import use

@pytest.mark.energy_budget{args}
def test_a():
    if os.environ.get("GB_IMPORT"):
        import lazymod  # first use in this process: a one-off cost that follows the order
    use("a")
"""


@pytest.mark.parametrize("importing_run", ["rerun", "save"])
def test_a_change_with_a_first_import_in_the_call_is_inconclusive(
    noisy: Noisy, monkeypatch: pytest.MonkeyPatch, importing_run: str
) -> None:
    """Which test of a process imports a module first depends on the order: not evidence."""
    noisy.pytester.makepyfile(test_a=IMPORTING.format(args=""), lazymod="VALUE = 1\n")
    first, second = ([10.0], [30.0]) if importing_run == "rerun" else ([30.0], [10.0])
    if importing_run == "save":
        monkeypatch.setenv("GB_IMPORT", "1")
    noisy.work(a=first)
    noisy.run("--greenbudget-save")
    assert ("imported" in noisy.baseline()[ID]) == (importing_run == "save")
    monkeypatch.setenv("GB_IMPORT", "1" if importing_run == "rerun" else "")
    noisy.work(a=second)
    result, entries = noisy.run()
    assert result.ret == 0, result.stdout.str()
    entry = entries[ID]
    assert entry["status"] == "inconclusive"
    side = "this run" if importing_run == "rerun" else "the saving run"
    assert f"{side} first imported 1 module during the call" in entry["message"]
    assert "set warmup = 1" in entry["message"]


def test_warmup_takes_the_first_import_out_of_the_measured_call(noisy: Noisy,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    noisy.pytester.makepyfile(test_a=IMPORTING.format(args="(warmup=1)"), lazymod="VALUE = 1\n")
    noisy.work(a=[0.0, 10.0])
    noisy.run("--greenbudget-save")
    monkeypatch.setenv("GB_IMPORT", "1")
    noisy.work(a=[0.0, 30.0])
    result, entries = noisy.run()
    assert result.ret == 1  # decided: the import happened in the unmeasured warm-up
    assert entries[ID]["status"] == "regressed"


def test_per_process_meters_under_xdist_keep_a_profile_of_their_own(
    pytester: pytest.Pytester,
) -> None:
    """Tests measured side by side share the CPUs: not comparable with a serial run."""
    pytester.makepyfile(test_a="def test_a(): pass\n")
    base = ("-p", "no:hypothesispytest", "--greenbudget-all", "--greenbudget-meter=estimate")
    serial = pytester.runpytest_subprocess(*base)
    parallel = pytester.runpytest_subprocess(*base, "-n", "2")
    named = pytester.runpytest_subprocess(*base, "-n", "2", "--greenbudget-profile=ci")
    assert "-xdist" not in serial.stdout.str()
    parallel.stdout.fnmatch_lines(["greenbudget: meters estimate *; profile estimate2-*-xdist2;*"])
    named.stdout.fnmatch_lines(["greenbudget: meters estimate *; profile ci;*"])
