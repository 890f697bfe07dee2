"""SPEC 6-8 through real pytest runs: saving baselines, regressions, bad baseline files.

Every run uses the deterministic ``fakemeter`` of ``conftest.py``; the amount of work
each test "does" is read at call time from ``work.json`` in the pytester directory, so
one test file serves several runs (rewriting a test file with same-sized content
within a second could let Python reuse a stale ``.pyc``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_greenbudget.baseline import default_profile

SCHEMA = "greenbudget-baseline/1"
PROFILE = "--greenbudget-profile=p"
SAVE = "--greenbudget-save"
REGRESSION = "energy regression: used 12.4 J, baseline 9.8 J (+27 %, tolerance 10 %)"

WORKLOAD = "from fakemeter import use  # noqa: F401\n"

# One file with every kind of outcome; ids are test_work.py::<name>.
MIXED = """
import pytest
from workload import use


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")


@pytest.fixture
def broken_setup():
    raise RuntimeError("setup broke")


@pytest.mark.energy_budget
def test_pass():
    use("pass")


@pytest.mark.energy_budget
def test_fail():
    use("fail")
    assert False, "real failure"


@pytest.mark.energy_budget
def test_teardown_error(broken_teardown):
    use("teardown_error")


@pytest.mark.energy_budget
def test_setup_error(broken_setup):
    use("setup_error")


@pytest.mark.energy_budget
def test_skip_in_body():
    use("skip")
    pytest.skip("skipped in its body")


@pytest.mark.energy_budget
@pytest.mark.xfail(reason="expected", strict=True)
def test_xfail():
    use("xfail")
    assert False


def test_regions(energy_meter):
    with energy_meter.measure("a"):
        use("region_a")
    with energy_meter.measure("b"):
        use("region_b")


def test_regions_then_fail(energy_meter):
    with energy_meter.measure("c"):
        use("region_c")
    assert False, "fails after its region"


def test_unmeasured():
    use("unmeasured")


@pytest.mark.energy_budget
@pytest.mark.skip(reason="skipped before its call phase")
def test_skip_marker():
    use("skip")
"""

MIXED_WORK = {
    "pass": 9.8,
    "fail": 3.0,
    "teardown_error": 4.0,
    "setup_error": 5.0,
    "skip": 6.0,
    "xfail": 7.0,
    "region_a": 1.5,
    "region_b": 2.5,
    "region_c": 3.5,
    "unmeasured": 8.0,
}

# A single measured test, its amount under the key "a".
SINGLE = """
import pytest
from workload import use


@pytest.mark.energy_budget
def test_a():
    use("a")
"""


# --------------------------------------------------------------------------- helpers


def setup_project(gb: Any, tests: str, work: dict[str, float], toml: str = "") -> None:
    gb.pytester.makepyfile(workload=WORKLOAD, test_work=tests)
    (gb.path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n\n[tool.greenbudget]\n" + toml, encoding="utf-8"
    )
    set_work(gb, **work)


def set_work(gb: Any, **work: float) -> None:
    (gb.path / "work.json").write_text(json.dumps(work), encoding="utf-8")


def baseline_path(gb: Any) -> Path:
    return gb.path / ".greenbudget" / "baseline.json"


def write_baseline(path: Path, profiles: dict[str, dict[str, float]]) -> bytes:
    """A valid baseline: profile -> {id: joules}; returns the bytes written."""
    doc = {
        "schema": SCHEMA,
        "profiles": {
            name: {
                "machine": {"note": "written by the test"},
                "entries": {i: {"joules": j, "seconds": 0.25} for i, j in entries.items()},
            }
            for name, entries in profiles.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = json.dumps(doc, indent=2, sort_keys=True).encode()
    path.write_bytes(blob)
    return blob


def read_entries(path: Path, profile: str = "p") -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc["profiles"][profile]["entries"]  # type: ignore[no-any-return]


def joules(entries: dict[str, Any]) -> dict[str, float]:
    return {k: v["joules"] for k, v in entries.items()}


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


def header(result: pytest.RunResult) -> str:
    lines = [line for line in result.stdout.lines if line.startswith("greenbudget:")]
    assert len(lines) == 1, result.stdout.str()
    return lines[0]


def summary(result: pytest.RunResult) -> str:
    """The energy summary section of the terminal output."""
    text = result.stdout.str()
    match = re.search(r"^=+ [^\n]*energy[^\n]* =+$", text, re.MULTILINE | re.IGNORECASE)
    assert match, text
    return text[match.end() :]


def assert_sorted_and_indented(text: str) -> None:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        assert keys == sorted(keys), keys
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    lines = text.splitlines()
    indent = {
        key: len(line) - len(line.lstrip())
        for line in lines
        for key in ('"profiles"', '"p"', '"entries"', '"test_work.py::test_pass"')
        if line.lstrip().startswith(key)
    }
    assert len(indent) == 4, text
    assert (
        indent['"profiles"']
        < indent['"p"']
        < indent['"entries"']
        < indent['"test_work.py::test_pass"']
    ), text
    # one entry id per line, so a review diff shows one changed line per test
    assert sum('"test_work.py::' in line for line in lines) == 3, text


# --------------------------------------------------------------------------- saving


def test_save_writes_only_passed_tests_and_their_regions(gb: Any, assert_no_crash: Any) -> None:
    setup_project(gb, MIXED, MIXED_WORK)
    result, report = gb.run_json(PROFILE, SAVE, "-q")
    result.assert_outcomes(passed=4, failed=2, errors=2, skipped=2, xfailed=1)
    assert result.ret == 1
    assert_no_crash(result)

    outcomes = {e["id"]: e["outcome"] for e in report["entries"]}
    assert outcomes == {
        "test_work.py::test_pass": "passed",
        "test_work.py::test_fail": "failed",
        "test_work.py::test_teardown_error": "error",
        # skipped or xfailed in their call: no entry (SPEC 8, 15)
        "test_work.py::test_regions::a": "passed",
        "test_work.py::test_regions::b": "passed",
        "test_work.py::test_regions_then_fail::c": "failed",
    }

    path = baseline_path(gb)
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["schema"] == SCHEMA
    assert set(doc) == {"schema", "profiles"}
    assert set(doc["profiles"]) == {"p"}
    assert isinstance(doc["profiles"]["p"]["machine"], dict)
    entries = doc["profiles"]["p"]["entries"]
    assert joules(entries) == pytest.approx(
        {
            "test_work.py::test_pass": 9.8,
            "test_work.py::test_regions::a": 1.5,
            "test_work.py::test_regions::b": 2.5,
        },
        rel=1e-12,
    )
    for entry in entries.values():
        assert isinstance(entry["seconds"], float) and entry["seconds"] >= 0
    assert_sorted_and_indented(text)
    # nothing but the baseline beside it, and nothing else written into the project
    assert sorted(p.name for p in path.parent.iterdir()) == ["baseline.json"]
    written = {p.name for p in gb.path.iterdir()} - {"__pycache__", ".pytest_cache"}
    assert written == {
        "pyproject.toml",
        "work.json",
        "fakemeter.py",
        "workload.py",
        "test_work.py",
        ".greenbudget",
        "gb-report.json",
    }


def test_a_run_without_save_writes_no_baseline(gb: Any) -> None:
    setup_project(gb, SINGLE, {"a": 9.8})
    result = gb.run(PROFILE)
    assert result.ret == 0
    assert not (gb.path / ".greenbudget").exists()
    assert "(0 entries" in header(result)


def test_save_keeps_other_tests_profiles_and_old_entries_of_failed_tests(gb: Any) -> None:
    setup_project(gb, MIXED, MIXED_WORK)
    path = baseline_path(gb)
    doc = {
        "schema": SCHEMA,
        "profiles": {
            "p": {
                "machine": {"cpu": "old"},
                "entries": {
                    "test_work.py::test_gone": {"joules": 1.0, "seconds": 0.1, "note": "kept"},
                    "test_work.py::test_pass": {"joules": 100.0, "seconds": 1.0},
                    "test_work.py::test_fail": {"joules": 2.0, "seconds": 0.2},
                    "test_work.py::test_regions_then_fail::c": {"joules": 3.0, "seconds": 0.3},
                },
            },
            "other": {
                "machine": {"cpu": "elsewhere"},
                "entries": {"test_work.py::test_pass": {"joules": 55.5, "seconds": 5.0}},
            },
        },
    }
    path.parent.mkdir()
    path.write_text(json.dumps(doc), encoding="utf-8")

    result = gb.run(PROFILE, SAVE)
    assert result.ret == 1  # test_fail and friends still fail on their own

    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["schema"] == SCHEMA
    assert after["profiles"]["other"] == doc["profiles"]["other"]
    entries = after["profiles"]["p"]["entries"]
    assert entries["test_work.py::test_gone"] == {"joules": 1.0, "seconds": 0.1, "note": "kept"}
    assert entries["test_work.py::test_fail"] == {"joules": 2.0, "seconds": 0.2}
    assert entries["test_work.py::test_regions_then_fail::c"] == {"joules": 3.0, "seconds": 0.3}
    assert joules(entries) == pytest.approx(
        {
            "test_work.py::test_gone": 1.0,
            "test_work.py::test_fail": 2.0,
            "test_work.py::test_regions_then_fail::c": 3.0,
            "test_work.py::test_pass": 9.8,
            "test_work.py::test_regions::a": 1.5,
            "test_work.py::test_regions::b": 2.5,
        },
        rel=1e-12,
    )


def test_unmeasured_entry_is_not_saved_and_keeps_its_old_value(
    gb: Any, assert_no_crash: Any
) -> None:
    setup_project(
        gb,
        """
        import fakemeter
        import pytest
        from workload import use


        @pytest.mark.energy_budget
        def test_a():
            use("a")


        @pytest.mark.energy_budget
        def test_z_sensor_breaks():
            use("a")
            fakemeter.breaks()
        """,
        {"a": 9.8},
    )
    path = baseline_path(gb)
    write_baseline(path, {"p": {"test_work.py::test_z_sensor_breaks": 3.0}})
    result, report = gb.run_json(PROFILE, SAVE, "-q")
    assert result.ret == 0
    assert_no_crash(result)
    statuses = {e["id"]: e["status"] for e in report["entries"]}
    assert statuses == {
        "test_work.py::test_a": "new",
        "test_work.py::test_z_sensor_breaks": "unmeasured",
    }
    assert joules(read_entries(path)) == pytest.approx(
        {"test_work.py::test_a": 9.8, "test_work.py::test_z_sensor_breaks": 3.0}, rel=1e-12
    )


def test_greenbudget_off_saves_nothing(gb: Any) -> None:
    setup_project(gb, SINGLE, {"a": 12.4})
    result = gb.run(PROFILE, SAVE, "--greenbudget-off", "-q")
    assert result.ret == 0
    assert not (gb.path / ".greenbudget").exists()
    blob = write_baseline(baseline_path(gb), {"p": {"test_work.py::test_a": 1.0}})
    result = gb.run(PROFILE, SAVE, "--greenbudget-off", "-q")
    assert result.ret == 0
    assert baseline_path(gb).read_bytes() == blob


def test_baseline_corrupted_during_a_saving_run_is_not_overwritten(
    gb: Any, assert_no_crash: Any
) -> None:
    setup_project(
        gb,
        """
        import pathlib

        import pytest
        from workload import use


        @pytest.mark.energy_budget
        def test_a():
            use("a")
            pathlib.Path(".greenbudget/baseline.json").write_bytes(b"{half a merge")
        """,
        {"a": 9.8},
    )
    path = baseline_path(gb)
    write_baseline(path, {"p": {"test_work.py::test_a": 9.8}})
    result = gb.run(PROFILE, SAVE, "-q")
    assert_no_crash(result)
    assert "baseline.json" in output(result)
    assert path.read_bytes() == b"{half a merge"
    assert sorted(p.name for p in path.parent.iterdir()) == ["baseline.json"]


def test_baseline_key_is_relative_to_rootdir_not_the_invocation_dir(
    gb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_project(gb, SINGLE, {"a": 9.8}, toml='baseline = "energy/base.json"\n')
    sub = gb.path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    result = gb.run(PROFILE, SAVE, str(gb.path / "test_work.py"))
    assert result.ret == 0, output(result)
    assert "energy/base.json" in header(result)
    assert joules(read_entries(gb.path / "energy" / "base.json")) == pytest.approx(
        {"test_work.py::test_a": 9.8}, rel=1e-12
    )
    assert not (sub / "energy").exists()
    assert not (gb.path / ".greenbudget").exists()
    assert not (sub / ".greenbudget").exists()

    set_work(gb, a=12.4)
    result = gb.run(PROFILE, str(gb.path / "test_work.py"))
    assert result.ret == 1
    assert re.search(r"profile p\b.*energy/base\.json \(1 entr", header(result)), header(result)
    assert REGRESSION in result.stdout.lines


def test_profile_option_selects_the_profile_to_compare_and_to_save(gb: Any) -> None:
    setup_project(gb, SINGLE, {"a": 12.4})
    path = baseline_path(gb)
    write_baseline(path, {"q": {"test_work.py::test_a": 9.8}, "r": {"test_work.py::test_a": 50}})

    result, report = gb.run_json("--greenbudget-profile=q")
    assert result.ret == 1
    assert report["profile"] == "q"
    (entry,) = report["entries"]
    assert (entry["status"], entry["message"]) == ("regressed", REGRESSION)
    assert re.search(r"profile q\b.*\(1 entr", header(result)), header(result)

    result, report = gb.run_json("--greenbudget-profile=fresh", SAVE)
    assert result.ret == 0
    assert report["profile"] == "fresh"
    (entry,) = report["entries"]
    assert (entry["status"], entry["baseline_joules"]) == ("new", None)
    assert "(0 entries" in header(result)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc["profiles"]) == {"q", "r", "fresh"}
    assert joules(doc["profiles"]["fresh"]["entries"]) == pytest.approx(
        {"test_work.py::test_a": 12.4}, rel=1e-12
    )
    assert joules(doc["profiles"]["q"]["entries"]) == {"test_work.py::test_a": 9.8}
    assert joules(doc["profiles"]["r"]["entries"]) == {"test_work.py::test_a": 50}


def test_default_profile_is_a_slug_of_meters_and_hardware_named_in_the_header(gb: Any) -> None:
    setup_project(gb, SINGLE, {"a": 9.8})
    expected = default_profile([SimpleNamespace(name="fake")])  # type: ignore[list-item]
    assert expected.startswith("fake-") and f"-{os.cpu_count()}cpu" in expected

    result, report = gb.run_json(SAVE)
    assert result.ret == 0
    assert report["profile"] == expected
    assert f"profile {expected};" in header(result) or re.search(
        rf"profile {re.escape(expected)}\b", header(result)
    ), header(result)
    assert "(0 entries" in header(result)
    doc = json.loads(baseline_path(gb).read_text(encoding="utf-8"))
    assert list(doc["profiles"]) == [expected]

    set_work(gb, a=12.4)
    result = gb.run()
    assert result.ret == 1
    assert re.search(rf"profile {re.escape(expected)}\b.*\(1 entr", header(result)), header(result)
    assert REGRESSION in result.stdout.lines


# --------------------------------------------------------------------------- verdicts


def test_more_work_after_saving_is_a_regression_that_fails(gb: Any, assert_no_crash: Any) -> None:
    setup_project(gb, SINGLE, {"a": 9.8})
    assert gb.run(PROFILE, SAVE, "-q").ret == 0

    set_work(gb, a=12.4)
    result, report = gb.run_json(PROFILE, "-q", "-rf")
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    assert REGRESSION in result.stdout.lines
    result.stdout.fnmatch_lines(["FAILED test_work.py::test_a - *energy regression*"])
    assert_no_crash(result)
    (entry,) = report["entries"]
    assert entry["status"] == "regressed"
    assert entry["outcome"] == "failed"
    assert entry["message"] == REGRESSION
    assert entry["joules"] == pytest.approx(12.4)
    assert entry["baseline_joules"] == pytest.approx(9.8)


def test_less_work_is_improved_passes_and_suggests_saving(gb: Any) -> None:
    setup_project(gb, SINGLE, {"a": 9.8})
    assert gb.run(PROFILE, SAVE, "-q").ret == 0
    before = baseline_path(gb).read_bytes()

    set_work(gb, a=7.0)
    result, report = gb.run_json(PROFILE, "-q")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    (entry,) = report["entries"]
    assert (entry["status"], entry["outcome"]) == ("improved", "passed")
    text = summary(result)
    assert "--greenbudget-save" in text
    assert re.search(r"test_work\.py::test_a\s+7 J\s.*9\.8 J \(-29 %\).*improved", text), text
    assert baseline_path(gb).read_bytes() == before  # improving does not save by itself


@pytest.mark.parametrize(
    ("toml", "used", "status"),
    [
        ("", 1.004, "ok"),  # +0.4 %, 0.004 J: below tolerance and the default min_delta
        ('min_delta = "0.5 J"\n', 1.4, "ok"),  # +40 % but only 0.4 J
        ('min_delta = "0.5 J"\n', 0.6, "ok"),  # -40 %, 0.4 J: no improvement either
        ('min_delta = "0.5 J"\n', 1.6, "regressed"),  # +60 % and 0.6 J
        ('min_delta = "0.5 J"\n', 0.4, "improved"),  # -60 % and 0.6 J
        ("", 1.4, "regressed"),  # the default 5 mJ does not hide +40 % of 1 J
        ("tolerance = 0\n", 1.0049, "ok"),  # 4.9 mJ < 5 mJ
        ("tolerance = 0\n", 1.0051, "regressed"),
        ('min_delta = "0.1 J"\n', 1.4, "regressed"),
        ('min_delta = "0.1 J"\n', 0.6, "improved"),
        ('min_delta = "1 kJ"\n', 1.6, "ok"),
        ("min_delta = 2\n", 2.9, "ok"),  # a plain number means joules
    ],
)
def test_min_delta_is_an_absolute_floor(gb: Any, toml: str, used: float, status: str) -> None:
    setup_project(gb, SINGLE, {"a": used}, toml=toml)
    write_baseline(baseline_path(gb), {"p": {"test_work.py::test_a": 1.0}})
    result, report = gb.run_json(PROFILE, "-q")
    (entry,) = report["entries"]
    assert entry["status"] == status
    assert result.ret == (1 if status == "regressed" else 0)


TOLERANCE_TESTS = """
import pytest
from workload import use


@pytest.mark.energy_budget(tolerance=0.5)
def test_marker_loose():
    use("a")


@pytest.mark.energy_budget(tolerance=0.2)
def test_marker_tight():
    use("a")


def test_pattern_loose():
    use("a")


def test_pattern_tight():
    use("a")


@pytest.mark.energy_budget(tolerance=0.2)
def test_pattern_and_marker():
    use("a")


@pytest.mark.energy_budget
def test_default():
    use("a")
"""

TOLERANCE_TOML = """tolerance = 0.3

[tool.greenbudget.budgets]
"test_work.py::test_pattern_*" = { tolerance = 0.3 }
"test_work.py::test_pattern_tight" = { tolerance = 0.25 }
"test_work.py::test_pattern_and*" = { tolerance = 0.9 }
"""


def test_tolerance_from_marker_budgets_pattern_and_table(gb: Any) -> None:
    setup_project(gb, TOLERANCE_TESTS, {"a": 12.4}, toml=TOLERANCE_TOML)
    names = [
        "marker_loose",
        "marker_tight",
        "pattern_loose",
        "pattern_tight",
        "pattern_and_marker",
        "default",
    ]
    write_baseline(baseline_path(gb), {"p": {f"test_work.py::test_{n}": 9.8 for n in names}})
    result, report = gb.run_json(PROFILE, "-q")
    entries = gb.entries(report)
    verdicts = {i.split("::test_")[1]: (e["status"], e["message"]) for i, e in entries.items()}
    regression = "energy regression: used 12.4 J, baseline 9.8 J (+27 %, tolerance {} %)"
    assert verdicts == {
        "marker_loose": ("ok", None),
        "marker_tight": ("regressed", regression.format(20)),
        "pattern_loose": ("ok", None),
        "pattern_tight": ("regressed", regression.format(25)),
        "pattern_and_marker": ("regressed", regression.format(20)),
        "default": ("ok", None),
    }
    result.assert_outcomes(passed=3, failed=3)
    assert result.ret == 1


def test_regions_default_to_the_tests_tolerance(gb: Any) -> None:
    setup_project(
        gb,
        """
        import pytest
        from workload import use


        @pytest.mark.energy_budget(tolerance=0.5)
        def test_loose(energy_meter):
            with energy_meter.measure("inherits"):
                use("a")
            with energy_meter.measure("own", tolerance=0.2):
                use("a")


        def test_pattern(energy_meter):
            with energy_meter.measure("inherits"):
                use("a")
        """,
        {"a": 12.4},
        toml='[tool.greenbudget.budgets]\n"test_work.py::test_pattern" = { tolerance = 0.25 }\n',
    )
    write_baseline(
        baseline_path(gb),
        {
            "p": {
                "test_work.py::test_loose::inherits": 9.8,
                "test_work.py::test_loose::own": 9.8,
                "test_work.py::test_pattern::inherits": 9.8,
            }
        },
    )
    result, report = gb.run_json(PROFILE, "-q")
    regression = "energy regression: used 12.4 J, baseline 9.8 J (+27 %, tolerance {} %)"
    verdicts = {e["id"]: (e["status"], e["message"]) for e in report["entries"]}
    assert verdicts == {
        "test_work.py::test_loose": ("new", None),
        "test_work.py::test_loose::inherits": ("ok", None),
        "test_work.py::test_loose::own": ("regressed", regression.format(20)),
        "test_work.py::test_pattern": ("new", None),
        "test_work.py::test_pattern::inherits": ("regressed", regression.format(25)),
    }
    result.assert_outcomes(failed=2)


def test_no_baseline_entry_is_new_and_within_budget_is_ok(gb: Any) -> None:
    setup_project(
        gb,
        """
        import pytest
        from workload import use


        @pytest.mark.energy_budget
        def test_new():
            use("a")


        @pytest.mark.energy_budget("20 J")
        def test_budget():
            use("a")
        """,
        {"a": 12.4},
    )
    write_baseline(baseline_path(gb), {"p": {"test_work.py::test_other": 1.0}})
    result, report = gb.run_json(PROFILE, "-q")
    assert result.ret == 0
    entries = gb.entries(report)
    assert [(e["status"], e["baseline_joules"]) for e in entries.values()] == [
        ("new", None),
        ("ok", None),
    ]


SAVE_TESTS = """
import pytest
from workload import use


@pytest.mark.energy_budget
def test_regress():
    use("a")


@pytest.mark.energy_budget("10 J")
def test_over_budget():
    use("a")
"""


def test_saving_run_reports_regression_without_failing_but_enforces_budgets(
    gb: Any, assert_no_crash: Any
) -> None:
    setup_project(gb, SAVE_TESTS, {"a": 12.4})
    path = baseline_path(gb)
    write_baseline(
        path, {"p": {"test_work.py::test_regress": 9.8, "test_work.py::test_over_budget": 9.0}}
    )
    result, report = gb.run_json(PROFILE, SAVE, "-q")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    assert_no_crash(result)
    entries = gb.entries(report)
    regress = entries["test_work.py::test_regress"]
    assert (regress["status"], regress["outcome"], regress["message"]) == (
        "regressed",
        "passed",
        REGRESSION,
    )
    over = entries["test_work.py::test_over_budget"]
    assert (over["status"], over["outcome"]) == ("over_budget", "failed")
    assert "energy budget exceeded: used 12.4 J, budget 10 J (124 %)" in result.stdout.lines
    assert joules(read_entries(path)) == pytest.approx(
        {"test_work.py::test_regress": 12.4, "test_work.py::test_over_budget": 9.0}, rel=1e-12
    )


@pytest.mark.parametrize(
    ("toml", "args"),
    [
        ('on_exceed = "warn"\n', ()),
        ('[tool.greenbudget.budgets]\n"test_work.py::*" = { on_exceed = "warn" }\n', ()),
        ("", ("--greenbudget-warn-only",)),
    ],
    ids=["table", "pattern", "warn-only"],
)
def test_regression_in_warn_mode_warns_and_passes(
    gb: Any, assert_no_crash: Any, toml: str, args: tuple[str, ...]
) -> None:
    setup_project(gb, SINGLE, {"a": 12.4}, toml=toml)
    write_baseline(baseline_path(gb), {"p": {"test_work.py::test_a": 9.8}})
    result, report = gb.run_json(PROFILE, "-q", *args)
    result.assert_outcomes(passed=1, warnings=1)
    assert result.ret == 0
    assert_no_crash(result)
    result.stdout.fnmatch_lines([f"*EnergyBudgetWarning: *test_work.py::test_a*{REGRESSION}*"])
    (entry,) = report["entries"]
    assert (entry["status"], entry["outcome"]) == ("regressed", "passed")

    # the warning is issued inside the test's run: as an error it fails that test
    result = gb.run(PROFILE, "-q", *args, "-W", "error::pytest_greenbudget.EnergyBudgetWarning")
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    assert_no_crash(result)


# --------------------------------------------------------------------------- bad files

VALID_ENTRY = {"joules": 1.0, "seconds": 0.1}
BAD_FILES: dict[str, bytes] = {
    "not-json": b'{"schema": "greenbudget-baseline/1", "profiles": {',
    "empty": b"",
    "merge-conflict": b'<<<<<<< HEAD\n{"schema": "greenbudget-baseline/1"}\n>>>>>>> x\n',
    "not-utf8": b'{"schema": "greenbudget-baseline/1", "profiles": {}, "x": "\xff\xfe"}',
    "latin1": '{"schema": "greenbudget-baseline/1", "profiles": {"caf\xe9": {}}}'.encode("latin-1"),
    "list": b"[]",
    "string": b'"greenbudget-baseline/1"',
    "no-schema": json.dumps({"profiles": {}}).encode(),
    "wrong-schema": json.dumps({"schema": "greenbudget-baseline/2", "profiles": {}}).encode(),
    "report-schema": json.dumps({"schema": "greenbudget/1", "profiles": {}}).encode(),
    "no-profiles": json.dumps({"schema": SCHEMA}).encode(),
    "profiles-list": json.dumps({"schema": SCHEMA, "profiles": []}).encode(),
    "profile-not-object": json.dumps({"schema": SCHEMA, "profiles": {"p": 3}}).encode(),
    "no-entries": json.dumps({"schema": SCHEMA, "profiles": {"p": {"machine": {}}}}).encode(),
    "no-machine": json.dumps({"schema": SCHEMA, "profiles": {"p": {"entries": {}}}}).encode(),
    "entry-not-object": json.dumps(
        {"schema": SCHEMA, "profiles": {"p": {"machine": {}, "entries": {"t::a": 1.0}}}}
    ).encode(),
    "joules-missing": json.dumps(
        {"schema": SCHEMA, "profiles": {"p": {"machine": {}, "entries": {"t::a": {}}}}}
    ).encode(),
    "joules-nan": b'{"schema": "greenbudget-baseline/1", "profiles": {"p": {"machine": {}, '
    b'"entries": {"t::a": {"joules": NaN}}}}}',
    "joules-string": json.dumps(
        {
            "schema": SCHEMA,
            "profiles": {"p": {"machine": {}, "entries": {"t::a": {"joules": "12 J"}}}},
        }
    ).encode(),
}


@pytest.mark.parametrize("save", [False, True], ids=["compare", "save"])
@pytest.mark.parametrize("blob", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_corrupt_baseline_is_a_usage_error_and_left_untouched(
    gb: Any, assert_no_crash: Any, blob: bytes, save: bool
) -> None:
    setup_project(gb, SINGLE.replace('use("a")', 'use("a"); open("ran", "w").close()'), {"a": 1})
    path = baseline_path(gb)
    path.parent.mkdir()
    path.write_bytes(blob)
    result = gb.run(PROFILE, "-q", *([SAVE] if save else []))
    assert result.ret == 4, output(result)
    assert_no_crash(result)
    assert re.search(r"\.greenbudget[/\\]baseline\.json", output(result)), output(result)
    assert not (gb.path / "ran").exists()
    assert path.read_bytes() == blob
    assert sorted(p.name for p in path.parent.iterdir()) == ["baseline.json"]


@pytest.mark.parametrize("save", [False, True], ids=["compare", "save"])
def test_directory_at_the_baseline_path_is_a_usage_error(
    gb: Any, assert_no_crash: Any, save: bool
) -> None:
    setup_project(gb, SINGLE.replace('use("a")', 'use("a"); open("ran", "w").close()'), {"a": 1})
    path = baseline_path(gb)
    path.mkdir(parents=True)
    result = gb.run(PROFILE, "-q", *([SAVE] if save else []))
    assert result.ret == 4, output(result)
    assert_no_crash(result)
    assert re.search(r"\.greenbudget[/\\]baseline\.json", output(result)), output(result)
    assert not (gb.path / "ran").exists()
    assert path.is_dir() and list(path.iterdir()) == []
    assert sorted(p.name for p in path.parent.iterdir()) == ["baseline.json"]


def test_a_file_where_the_baseline_folder_should_be_is_a_usage_error(
    gb: Any, assert_no_crash: Any
) -> None:
    setup_project(gb, SINGLE.replace('use("a")', 'use("a"); open("ran", "w").close()'), {"a": 1})
    folder = gb.path / ".greenbudget"
    folder.write_bytes(b"not a folder")
    result = gb.run(PROFILE, SAVE, "-q")
    assert result.ret == 4, output(result)
    assert_no_crash(result)
    assert "baseline.json" in output(result)
    assert not (gb.path / "ran").exists()
    assert folder.read_bytes() == b"not a folder"


def test_corrupt_baseline_under_xdist_is_a_usage_error(gb: Any, assert_no_crash: Any) -> None:
    setup_project(gb, SINGLE, {"a": 1})
    path = baseline_path(gb)
    path.parent.mkdir()
    path.write_bytes(BAD_FILES["wrong-schema"])
    result = gb.run(PROFILE, SAVE, "-q", "-n", "2")
    assert result.ret == 4, output(result)
    assert_no_crash(result)
    assert "baseline.json" in output(result)
    assert path.read_bytes() == BAD_FILES["wrong-schema"]


def test_corrupt_baseline_does_not_break_help(gb: Any) -> None:
    setup_project(gb, SINGLE, {"a": 1})
    path = baseline_path(gb)
    path.parent.mkdir()
    path.write_bytes(b"{nope")
    result = gb.run("--help")
    assert result.ret == 0
    assert "--greenbudget-save" in result.stdout.str()
    assert path.read_bytes() == b"{nope"


def test_a_baseline_with_byte_order_mark_and_foreign_keys_is_read(gb: Any) -> None:
    setup_project(gb, SINGLE, {"a": 12.4})
    path = baseline_path(gb)
    path.parent.mkdir()
    doc = {
        "schema": SCHEMA,
        "profiles": {"p": {"machine": {}, "entries": {"test_work.py::test_a": {"joules": 9.8}}}},
    }
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    result, report = gb.run_json(PROFILE, "-q")
    assert result.ret == 1
    assert report["entries"][0]["message"] == REGRESSION


# --------------------------------------------------------------------------- interrupts

INTERRUPTED = """
import pytest
from workload import use


@pytest.mark.energy_budget
def test_a():
    use("a")


@pytest.mark.energy_budget
def test_b():
    use("a")
    raise KeyboardInterrupt


@pytest.mark.energy_budget
def test_c():
    use("a")
"""


def test_interrupted_saving_run_leaves_the_baseline_byte_for_byte(gb: Any) -> None:
    setup_project(gb, INTERRUPTED, {"a": 5.0})
    path = baseline_path(gb)
    blob = write_baseline(path, {"p": {"test_work.py::test_a": 9.8, "test_work.py::test_c": 1.0}})
    result = gb.run_sub(PROFILE, SAVE, "-p", "no:cacheprovider")
    assert result.ret == 2, output(result)
    assert "INTERNALERROR" not in output(result)
    assert "KeyboardInterrupt" in output(result)
    assert path.read_bytes() == blob
    assert sorted(p.name for p in path.parent.iterdir()) == ["baseline.json"]
    leftovers = [p.name for p in gb.path.rglob("*") if ".tmp" in p.name or p.name.endswith("~")]
    assert leftovers == []


def test_interrupted_saving_run_creates_no_baseline(gb: Any) -> None:
    setup_project(gb, INTERRUPTED, {"a": 5.0})
    result = gb.run_sub(PROFILE, SAVE, "-p", "no:cacheprovider")
    assert result.ret == 2, output(result)
    assert "INTERNALERROR" not in output(result)
    assert not (gb.path / ".greenbudget").exists()


# --------------------------------------------------------------------------- xdist

# Also makes fakemeter importable in xdist workers, which get the controller's sys.path
# as frozen when xdist was imported (PYTHONPATH set later does not reach them).
SAVE_LOGGER = """
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest_greenbudget.lifecycle as lifecycle

_save = lifecycle.save_baseline


def _logged(*args, **kwargs):
    with open(os.path.join(os.path.dirname(__file__), "saves.log"), "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "controller") + "\\n")
    return _save(*args, **kwargs)


lifecycle.save_baseline = _logged
"""

XDIST_FILE = """
import os

import pytest
from workload import use


@pytest.mark.energy_budget
@pytest.mark.parametrize("i", [0, 1])
def test_x(i):
    use(f"{NAME}{i}")
    with open(f"worker-{NAME}{i}", "w") as out:
        out.write(os.environ.get("PYTEST_XDIST_WORKER", "none"))


def test_region(energy_meter):
    with energy_meter.measure("r"):
        use(f"{NAME}r")
"""


def test_xdist_baseline_is_written_once_by_the_controller_with_every_entry(
    gb: Any, assert_no_crash: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # this suite itself under -n
    gb.pytester.makepyfile(
        workload=WORKLOAD,
        conftest=SAVE_LOGGER,
        test_one="NAME = 'one'\n" + XDIST_FILE,
        test_two="NAME = 'two'\n" + XDIST_FILE,
    )
    (gb.path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
    work = {"one0": 1.0, "one1": 2.0, "oner": 3.0, "two0": 4.0, "two1": 5.0, "twor": 6.0}
    set_work(gb, **work)
    path = baseline_path(gb)
    write_baseline(path, {"p": {"test_old.py::test_kept": 7.0}, "q": {"test_one.py::x": 8.0}})

    result = gb.run(PROFILE, SAVE, "-q", "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=6)
    assert result.ret == 0, output(result)
    assert_no_crash(result)
    workers = {(gb.path / f"worker-{k}").read_text() for k in ("one0", "one1", "two0", "two1")}
    assert workers == {"gw0", "gw1"}  # both workers measured something
    assert (gb.path / "saves.log").read_text().splitlines() == ["controller"]

    doc = json.loads(path.read_text(encoding="utf-8"))
    assert joules(doc["profiles"]["q"]["entries"]) == {"test_one.py::x": 8.0}
    assert joules(doc["profiles"]["p"]["entries"]) == pytest.approx(
        {
            "test_old.py::test_kept": 7.0,
            "test_one.py::test_x[0]": 1.0,
            "test_one.py::test_x[1]": 2.0,
            "test_one.py::test_region::r": 3.0,
            "test_two.py::test_x[0]": 4.0,
            "test_two.py::test_x[1]": 5.0,
            "test_two.py::test_region::r": 6.0,
        },
        rel=1e-12,
    )
    assert sorted(p.name for p in path.parent.iterdir()) == ["baseline.json"]

    # and the workers compare against it: more work in both files regresses
    set_work(gb, **{k: v * 2 for k, v in work.items()})
    result = gb.run(PROFILE, "-q", "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(failed=6)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["energy regression: used 10 J, baseline 5 J (+100 %, tolerance 10 %)"]
    )
