"""The plugin next to pytest's own plugins and options, and disabled with -p no:greenbudget."""

from __future__ import annotations

import json

import pytest

TESTS = """
import pytest, fakemeter

@pytest.mark.energy_budget("10 J")
def test_over():
    fakemeter.spend(12.4)

@pytest.mark.energy_budget("10 J")
def test_within():
    fakemeter.spend(1)
"""


@pytest.mark.parametrize(
    "plugin_args",
    [
        ["-p", "no:terminal"],
        ["-p", "no:cacheprovider"],
        ["-p", "no:xdist"],
        ["-p", "no:junitxml"],
        ["-p", "no:logging"],
        ["-s"],
    ],
    ids=lambda a: " ".join(a),
)
def test_runs_with_neighbour_options(gb, assert_no_crash, plugin_args) -> None:
    gb.pytester.makepyfile(TESTS)
    out = gb.path / "r.json"
    result = gb.run(*plugin_args, f"--greenbudget-json={out}")
    assert result.ret == 1  # the energy failure still fails the session
    assert_no_crash(result)
    doc = json.loads(out.read_text())
    assert [(e["status"], e["outcome"]) for e in doc["entries"]] == [
        ("over_budget", "failed"),
        ("ok", "passed"),
    ]
    if "no:terminal" in plugin_args:
        assert result.stdout.str().strip() == ""
    else:
        result.assert_outcomes(passed=1, failed=1)


def test_no_terminal_with_warn_mode_and_warnings_off(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(TESTS.replace('"10 J")', '"10 J", on_exceed="warn")'))
    for args in (["-p", "no:terminal"], ["-p", "no:warnings"]):
        # without pytest's warnings plugin the warning would leak into this process
        result = gb.run_sub(*args) if "no:warnings" in args else gb.run(*args)
        assert result.ret == 0, args
        assert_no_crash(result)


def test_energy_failure_counts_for_maxfail_and_last_failed(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 J")
        def test_a():
            fakemeter.spend(12.4)
        def test_b():
            pass
        @pytest.mark.energy_budget("10 J")
        def test_c():
            fakemeter.spend(12.4)
        """
    )
    result = gb.run("-x")
    result.assert_outcomes(failed=1)
    result = gb.run("--lf", "-p", "no:randomly")
    result.assert_outcomes(failed=1)  # only test_a failed last time: it alone reruns
    result.stdout.fnmatch_lines(["*run-last-failure*"])


def test_collect_only(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(TESTS)
    result = gb.run("--collect-only", "-q")
    assert result.ret == 0
    assert_no_crash(result)
    assert "energy summary" not in result.stdout.str()


def test_unittest_and_doctest_items(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        test_ut="""
        import unittest, pytest, fakemeter

        class T(unittest.TestCase):
            def setUp(self):
                with open("ut-setups.txt", "a") as f:
                    f.write("s")

            @pytest.mark.energy_budget("10 J", rounds=2)
            def test_m(self):
                with open("ut-calls.txt", "a") as f:
                    f.write("c")
                fakemeter.spend(3)
        """,
        mod='''
        def double(x):
            """
            >>> double(2)
            4
            """
            return 2 * x
        ''',
    )
    result, doc = gb.run_json("--greenbudget-all", "--doctest-modules")
    result.assert_outcomes(passed=2)
    assert_no_crash(result)
    entries = gb.entries(doc)
    assert entries["test_ut.py::T::test_m"]["joules"] == pytest.approx(3)
    assert entries["test_ut.py::T::test_m"]["rounds"] == 2
    assert (gb.path / "ut-calls.txt").read_text() == "cc"
    assert "mod.py::mod.double" in entries


# -- the plugin disabled: pytest's own behaviour -----------------------------------------

UNKNOWN = """
import pytest

@pytest.mark.{name}("10 J")
def test_x():
    pass
"""


@pytest.mark.parametrize("strict", [False, True])
def test_disabled_plugin_marker_is_an_unknown_marker(pytester, strict) -> None:
    """Exactly what pytest does with any unknown marker (compared with a made-up one).

    In a subprocess: in process, pytest's global ``pytest.mark`` remembers the markers
    of the outer session (which has the plugin), so the marker would look known.
    """
    args = ["-p", "no:greenbudget", "-p", "no:hypothesispytest", "-p", "no:cacheprovider"]
    if strict:
        args.append("--strict-markers")
    pytester.makepyfile(test_m=UNKNOWN.format(name="energy_budget"))
    ours = pytester.runpytest_subprocess(*args)
    pytester.makepyfile(test_m=UNKNOWN.format(name="made_up_marker"))
    theirs = pytester.runpytest_subprocess(*args)
    assert ours.ret == theirs.ret
    assert ours.parseoutcomes() == theirs.parseoutcomes()
    out = ours.stdout.str()
    assert "energy summary" not in out
    if strict:
        assert ours.ret == 2
        assert "'energy_budget' not found in `markers` configuration option" in out
    else:
        assert ours.ret == 0
        assert "PytestUnknownMarkWarning" in out and "energy_budget" in out


def test_disabled_plugin_has_no_marker_options_or_fixture(pytester) -> None:
    args = ("-p", "no:greenbudget", "-p", "no:hypothesispytest")
    result = pytester.runpytest(*args, "--markers")
    assert "energy_budget" not in result.stdout.str()
    result = pytester.runpytest(*args, "--help")
    assert "--greenbudget" not in result.stdout.str()
    result = pytester.runpytest(*args, "--greenbudget-off")
    assert result.ret == 4  # pytest's own usage error for an unknown option
    pytester.makepyfile("def test_f(energy_meter):\n    pass\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'energy_meter' not found*"])


def test_explicit_plugin_with_autoload_disabled(gb, monkeypatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    gb.pytester.makepyfile(TESTS)
    result = gb.run("-p", "greenbudget")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*energy summary*"])
    result = gb.pytester.runpytest()  # autoload off and no -p: the plugin is not there
    assert "energy summary" not in result.stdout.str()
