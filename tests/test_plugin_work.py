"""SPEC 14 through pytest: energy per unit of work, one test per rule.

The fake meter makes the joules exact: ``fakemeter.spend(x)`` "uses" x J.
"""

from __future__ import annotations

import json

import pytest


def test_per_unit_budget_on_the_marker_and_every_report(gb, assert_no_crash) -> None:
    """A per-unit budget is compared with the per-unit figure; every report shows it."""
    gb.pytester.makepyfile(
        test_m="""
        import pytest, fakemeter

        @pytest.mark.energy_budget("0.5 mJ/sample")
        def test_cheap(energy_meter):
            fakemeter.spend(1.6)                 # 1.6 J for 4000 samples: 0.4 mJ/sample
            energy_meter.work(4000, "sample")

        @pytest.mark.energy_budget("0.5 mJ / sample")
        def test_dear(energy_meter):
            fakemeter.spend(1.2)                 # 1.2 J for 2000 samples: 0.6 mJ/sample
            energy_meter.work(2000, "sample")
        """
    )
    md = gb.path / "energy.md"
    result, doc = gb.run_json(f"--greenbudget-markdown={md}")
    result.assert_outcomes(passed=1, failed=1)
    assert_no_crash(result)
    entries = gb.entries(doc)
    cheap = entries["test_m.py::test_cheap"]
    assert cheap["status"] == "ok"
    assert cheap["work"] == {"count": 4000, "unit": "sample"}
    assert cheap["joules_per_unit"] == pytest.approx(4e-4)
    assert cheap["co2_grams_per_unit"] == pytest.approx(4e-4 / 3.6e6 * 475)
    assert cheap["budget"] == {"joules": pytest.approx(5e-4), "per": "sample"}
    dear = entries["test_m.py::test_dear"]
    assert dear["status"] == "over_budget"
    assert dear["outcome"] == "failed"
    result.stdout.fnmatch_lines(
        [
            "*test_dear - Failed: energy budget exceeded: used 600 uJ/sample, "
            "budget 500 uJ/sample (120 %)"
        ]
    )
    result.stdout.fnmatch_lines(
        ["test_m.py::test_cheap * 1.6 J (400 uJ/sample) * 500 uJ/sample (80 %) *ok"]
    )
    text = md.read_text()
    assert "| 1.6 J (400 uJ/sample) | 500 uJ/sample (80 %) |" in text
    assert "1.2 J (600 uJ/sample)" in text


def test_counts_add_up_within_a_round_and_median_over_rounds(gb) -> None:
    """Several work() calls in a round add up; with rounds, the median of per-round ratios."""
    seq = gb.path / "seq.txt"
    gb.pytester.makepyfile(
        test_r=f"""
        import pytest, fakemeter

        @pytest.mark.energy_budget(rounds=3, warmup=1)
        def test_batches(energy_meter):
            n = int(open({str(seq)!r}).read()) if __import__("os").path.exists({str(seq)!r}) else 0
            fakemeter.spend_seq({str(seq)!r}, [99.0, 10.0, 30.0, 12.0])
            counts = [1, 10, 10, 20][n]
            energy_meter.work(counts / 2, "token")
            energy_meter.work(counts / 2, "token")
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    entry = doc["entries"][0]
    # rounds: 10 J / 10, 30 J / 10, 12 J / 20 -> ratios 1, 3, 0.6; median 1 J per token
    assert entry["joules_per_unit"] == pytest.approx(1.0)
    assert entry["joules"] == pytest.approx(12.0)  # median of the joules
    assert entry["work"] == {"count": 10, "unit": "token"}  # median of the counts
    assert entry["rounds"] == 3


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        ('energy_meter.work(0, "sample")', "work(count=0, unit='sample'): the count must be"),
        ('energy_meter.work(-2.5, "sample")', "work(count=-2.5, unit='sample')"),
        ('energy_meter.work(float("nan"), "sample")', "work(count=nan, unit='sample')"),
        ('energy_meter.work(True, "sample")', "work(count=True, unit='sample')"),
        ('energy_meter.work("10", "sample")', "work(count='10', unit='sample')"),
        ('energy_meter.work(10, "1sample")', "work(count=10, unit='1sample'): the unit must"),
        ('energy_meter.work(10, "")', "work(count=10, unit=''): the unit must"),
        ("energy_meter.work(10, 3)", "work(count=10, unit=3): the unit must be a string"),
        (
            'energy_meter.work(10, "sample"); energy_meter.work(1, "token")',
            "work(count=1, unit='token'): this entry already recorded work in 'sample'; "
            "one unit per entry",
        ),
    ],
)
def test_bad_count_or_unit_fails_that_test_naming_test_unit_and_value(
    gb, assert_no_crash, call: str, shown: str
) -> None:
    gb.pytester.makepyfile(
        test_b=f"""
        import pytest, fakemeter

        @pytest.mark.energy_budget("1 J")
        def test_bad(energy_meter):
            fakemeter.spend(0.1)
            {call}

        @pytest.mark.energy_budget("1 J")
        def test_other(energy_meter):
            energy_meter.work(3, "sample")
        """
    )
    result = gb.run()
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    text = result.stdout.str()
    assert "INTERNALERROR" not in text
    assert f"test_b.py::test_bad: {shown}" in text, text


def test_region_work_bad_count_names_the_region(gb) -> None:
    gb.pytester.makepyfile(
        test_rb="""
        import fakemeter
        def test_r(energy_meter):
            with energy_meter.measure("int8") as r:
                r.work(-1, "token")
        """
    )
    result = gb.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*test_rb.py::test_r::int8: work(count=-1, unit='token'): the count must be*"]
    )


@pytest.mark.parametrize("on_exceed", ["fail", "warn"])
def test_per_unit_budget_without_work_fails_the_test(gb, assert_no_crash, on_exceed) -> None:
    gb.pytester.makepyfile(
        test_n=f"""
        import pytest, fakemeter

        @pytest.mark.energy_budget("0.5 mJ/sample", on_exceed={on_exceed!r})
        def test_forgot():
            fakemeter.spend(1.0)
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(failed=1)
    assert_no_crash(result)
    result.stdout.fnmatch_lines(
        [
            "*test_n.py::test_forgot: budget 500 uJ/sample is per sample, but the entry "
            "recorded no work; call energy_meter.work(n, 'sample') in it"
        ]
    )
    entry = doc["entries"][0]
    assert entry["outcome"] == "failed"
    assert entry["work"] is None and entry["joules"] == pytest.approx(1.0)


def test_work_in_another_unit_than_the_budget_fails_the_test(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        test_u="""
        import pytest, fakemeter

        @pytest.mark.energy_budget("2 J/token")
        def test_images(energy_meter):
            fakemeter.spend(1.0)
            energy_meter.work(8, "image")
        """
    )
    result = gb.run()
    result.assert_outcomes(failed=1)
    assert_no_crash(result)
    result.stdout.fnmatch_lines(
        [
            "*test_u.py::test_images: budget 2 J/token is per token, but the entry "
            "recorded work in 'image', not 'token'"
        ]
    )


def test_per_unit_default_budget_applies_only_to_work_in_its_unit(gb) -> None:
    gb.pytester.makepyfile(
        test_d="""
        import pytest, fakemeter

        def test_samples_over(energy_meter):
            fakemeter.spend(2.0)
            energy_meter.work(1000, "sample")    # 2 mJ/sample > 1 mJ/sample

        def test_samples_ok(energy_meter):
            fakemeter.spend(0.5)
            energy_meter.work(1000, "sample")

        def test_tokens(energy_meter):
            fakemeter.spend(50.0)
            energy_meter.work(10, "token")       # another unit: as if no default budget

        def test_no_work():
            fakemeter.spend(50.0)                # no work: as if no default budget

        @pytest.mark.energy_budget("1 mJ/sample")
        def test_marker_without_work():
            fakemeter.spend(0.1)                 # its own per-unit budget: an error
        """
    )
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget]
        measure_all = true
        default_budget = "1 mJ/sample"
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=3, failed=2)
    entries = gb.entries(doc)
    assert entries["test_d.py::test_samples_over"]["status"] == "over_budget"
    assert entries["test_d.py::test_samples_ok"]["status"] == "ok"
    assert entries["test_d.py::test_samples_ok"]["budget"]["per"] == "sample"
    for name in ("test_tokens", "test_no_work"):
        assert entries[f"test_d.py::{name}"]["budget"] is None
        assert entries[f"test_d.py::{name}"]["status"] == "new"
    result.stdout.fnmatch_lines(["*test_marker_without_work: budget 1 mJ/sample is per sample*"])


def test_per_unit_budget_in_a_pattern_entry(gb) -> None:
    gb.pytester.makepyfile(
        test_p="""
        import fakemeter
        def test_gen(energy_meter):
            fakemeter.spend(3.0)
            energy_meter.work(1000, "token")
        """
    )
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget.budgets]
        "test_p.py::*" = { budget = "2 mJ / token", rounds = 2 }
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(failed=1)
    entry = doc["entries"][0]
    assert entry["status"] == "over_budget"
    assert entry["joules_per_unit"] == pytest.approx(3e-3)
    assert entry["budget"] == {"joules": pytest.approx(2e-3), "per": "token"}
    result.stdout.fnmatch_lines(["*used 3 mJ/token, budget 2 mJ/token (150 %)*"])


def test_region_per_unit_budget_and_work(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        test_g="""
        import fakemeter

        def test_regions(energy_meter):
            with energy_meter.measure("fp32") as fp32:
                fakemeter.spend(4.0)
                fp32.work(1000, "token")
            with energy_meter.measure("int8", budget="2 mJ/token") as int8:
                fakemeter.spend(1.5)
            int8.work(1000, "token")             # after the block counts too
            assert int8.joules < fp32.joules

        def test_region_without_work(energy_meter):
            with energy_meter.measure("r", budget="20 ugCO2e/image"):
                fakemeter.spend(1.0)
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1, failed=1)
    assert_no_crash(result)
    entries = gb.entries(doc)
    fp32 = entries["test_g.py::test_regions::fp32"]
    int8 = entries["test_g.py::test_regions::int8"]
    assert fp32["joules_per_unit"] == pytest.approx(4e-3) and fp32["status"] == "new"
    assert int8["joules_per_unit"] == pytest.approx(1.5e-3) and int8["status"] == "ok"
    assert int8["work"] == {"count": 1000, "unit": "token"}
    result.stdout.fnmatch_lines(
        [
            "*test_g.py::test_region_without_work::r: budget 20 ugCO2e/image is per image, "
            "but the entry recorded no work*"
        ]
    )


def test_region_rounds_give_median_of_ratios(gb) -> None:
    seq = gb.path / "rseq.txt"
    gb.pytester.makepyfile(
        test_rr=f"""
        import pytest, fakemeter

        @pytest.mark.energy_budget(rounds=3)
        def test_t(energy_meter):
            with energy_meter.measure("r") as r:
                fakemeter.spend_seq({str(seq)!r}, [2.0, 8.0, 3.0])
                r.work(2, "image")
                r.work(2, "image")
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    region = gb.entries(doc)["test_rr.py::test_t::r"]
    assert region["joules_per_unit"] == pytest.approx(0.75)  # 0.5, 2, 0.75 J per image
    assert region["work"] == {"count": 4, "unit": "image"}


def _save_then_run(gb, first: tuple[float, int], second: tuple[float, int], *args: str):
    """Run test_b.py twice: saving (joules, samples) == first, then comparing second."""
    gb.pytester.makepyfile(
        test_base="""
        import json, pathlib, fakemeter
        def test_infer(energy_meter):
            joules, samples = json.loads((pathlib.Path(__file__).parent / "w.json").read_text())
            fakemeter.spend(joules)
            energy_meter.work(samples, "sample")
        """
    )
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget]
        measure_all = true
        tolerance = 0.1
        min_delta = "0.1 J"
        """
    )
    (gb.path / "w.json").write_text(json.dumps(first))
    saved = gb.run("--greenbudget-save", *args)
    saved.assert_outcomes(passed=1)
    (gb.path / "w.json").write_text(json.dumps(second))
    return gb.run_json(*args)


def test_baseline_per_unit_a_bigger_batch_is_not_a_regression(gb) -> None:
    result, doc = _save_then_run(gb, (2.0, 1000), (4.0, 2000))
    result.assert_outcomes(passed=1)
    entry = doc["entries"][0]
    assert entry["status"] == "ok"
    assert entry["baseline_joules"] == pytest.approx(2.0)
    assert entry["baseline_joules_per_unit"] == pytest.approx(2e-3)
    result.stdout.fnmatch_lines(["*4 J (2 mJ/sample)*2 mJ/sample (+0 %)*ok"])
    baseline = json.loads((gb.path / ".greenbudget" / "baseline.json").read_text())
    (profile,) = baseline["profiles"].values()
    saved = profile["entries"]["test_base.py::test_infer"]
    assert saved["work"] == {"count": 1000, "unit": "sample"}
    assert saved["joules_per_unit"] == pytest.approx(2e-3)


def test_baseline_per_unit_more_energy_per_sample_is_a_regression(gb) -> None:
    result, doc = _save_then_run(gb, (2.0, 1000), (1.3, 500))  # less in total, +30 % per sample
    result.assert_outcomes(failed=1)
    assert doc["entries"][0]["status"] == "regressed"
    result.stdout.fnmatch_lines(
        [
            "*energy regression: used 2.6 mJ/sample, baseline 2 mJ/sample "
            "(+30 %, tolerance 10 %)*"
        ]
    )


def test_baseline_without_work_is_compared_in_totals(gb) -> None:
    gb.pytester.makepyfile(
        test_old="""
        import fakemeter
        def test_infer(energy_meter):
            fakemeter.spend(4.0)
            energy_meter.work(2000, "sample")
        """
    )
    gb.pytester.makepyprojecttoml("[tool.greenbudget]\nmeasure_all = true\n")
    path = gb.path / ".greenbudget" / "baseline.json"
    path.parent.mkdir()
    probe, _ = gb.run_json()
    profile = "fake-" + probe.stdout.str().split("profile fake-")[1].split(";")[0]
    path.write_text(
        json.dumps(
            {
                "schema": "greenbudget-baseline/1",
                "profiles": {
                    profile: {"machine": {}, "entries": {"test_old.py::test_infer": {
                        "joules": 2.0, "seconds": 0.1}}}
                },
            }
        )
    )
    result, doc = gb.run_json()
    result.assert_outcomes(failed=1)
    entry = doc["entries"][0]
    assert entry["status"] == "regressed"
    assert entry["baseline_joules_per_unit"] is None
    result.stdout.fnmatch_lines(["*energy regression: used 4 J, baseline 2 J (+100 %*"])


def test_corrupt_work_in_the_baseline_is_a_usage_error(gb) -> None:
    gb.pytester.makepyfile(test_c="def test_x(): pass")
    path = gb.path / ".greenbudget" / "baseline.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                "schema": "greenbudget-baseline/1",
                "profiles": {"p": {"machine": {}, "entries": {"t": {
                    "joules": 2.0, "work": {"count": -1, "unit": "x"}}}}},
            }
        )
    )
    result = gb.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*baseline file * is corrupt: profiles.p.entries.t.work must be*"])


def test_off_accepts_work_and_judges_nothing(gb) -> None:
    gb.pytester.makepyfile(
        test_off="""
        import pytest, fakemeter

        @pytest.mark.energy_budget("1 uJ/sample")
        def test_t(energy_meter):
            with energy_meter.measure("r", budget="1 uJ/token") as r:
                r.work(5, "token")
            energy_meter.work(10, "sample")
            assert r.joules >= 0
        """
    )
    result = gb.run_sub("--greenbudget-off")
    result.assert_outcomes(passed=1)
    assert "energy summary" not in result.stdout.str()


def test_off_still_rejects_a_bad_count(gb) -> None:
    gb.pytester.makepyfile(
        test_off2="""
        def test_t(energy_meter):
            energy_meter.work(0, "sample")
        """
    )
    result = gb.run_sub("--greenbudget-off")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_off2.py::test_t: work(count=0, unit='sample')*"])


def test_work_during_warmup_is_not_counted(gb) -> None:
    gb.pytester.makepyfile(
        test_w="""
        import pytest, fakemeter

        @pytest.mark.energy_budget(rounds=2, warmup=2)
        def test_t(energy_meter):
            fakemeter.spend(1.0)
            energy_meter.work(4, "sample")
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    assert doc["entries"][0]["work"] == {"count": 4, "unit": "sample"}
    assert doc["entries"][0]["joules_per_unit"] == pytest.approx(0.25)


def test_xdist_entries_carry_work(gb) -> None:
    gb.pytester.makepyfile(
        test_x="""
        import pytest, fakemeter

        @pytest.mark.energy_budget("1 mJ/image")
        @pytest.mark.parametrize("n", [100, 200, 300])
        def test_t(energy_meter, n):
            fakemeter.spend(n * 5e-4)
            energy_meter.work(n, "image")
        """
    )
    result, doc = gb.run_json("-n", "2", sub=True)
    result.assert_outcomes(passed=3)
    assert sorted(e["work"]["count"] for e in doc["entries"]) == [100, 200, 300]
    assert all(e["joules_per_unit"] == pytest.approx(5e-4) for e in doc["entries"])


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ('min_delta = "0.1 J/sample"', "min_delta: '0.1 J/sample' is per sample"),
        ('default_budget = "1 J/1x"', "default_budget: '1 J/1x' is not a quantity"),
        ('[tool.greenbudget.budgets]\n"t*" = "1 J/"', "budgets.'t*': '1 J/' is not a quantity"),
    ],
)
def test_bad_per_unit_configuration_is_a_usage_error(gb, toml: str, fragment: str) -> None:
    header = "" if toml.startswith("[") else "[tool.greenbudget]\n"
    gb.pytester.makepyprojecttoml(header + toml)
    gb.pytester.makepyfile(test_x="def test_x(): pass")
    result = gb.run()
    assert result.ret == 4
    assert fragment in result.stderr.str()


def test_bad_per_unit_marker_errors_that_test_only(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        test_mk="""
        import pytest

        @pytest.mark.energy_budget("1 mJ/ sample s")
        def test_bad():
            pass

        def test_fine():
            pass
        """
    )
    result = gb.run()
    result.assert_outcomes(passed=1, errors=1)
    assert_no_crash(result)
    result.stdout.fnmatch_lines(["*energy_budget(budget='1 mJ/ sample s')*not a quantity*"])


def test_junit_budget_property_names_the_unit(gb) -> None:
    gb.pytester.makepyfile(
        test_j="""
        import pytest, fakemeter

        @pytest.mark.energy_budget("2 J/token")
        def test_t(energy_meter):
            fakemeter.spend(1.0)
            energy_meter.work(10, "token")
        """
    )
    xml = gb.path / "junit.xml"
    result = gb.run(f"--junitxml={xml}")
    result.assert_outcomes(passed=1)
    assert 'name="energy_budget" value="2 J/token"' in xml.read_text()


def test_phases_all_adds_setup_and_teardown_to_each_round(gb) -> None:
    gb.pytester.makepyfile(
        test_ph="""
        import pytest, fakemeter

        @pytest.fixture
        def model():
            fakemeter.spend(1.0)                 # setup
            yield
            fakemeter.spend(1.0)                 # teardown

        @pytest.mark.energy_budget("1 J/sample", rounds=3)
        def test_t(energy_meter, model):
            fakemeter.spend(2.0)
            energy_meter.work(2, "sample")
        """
    )
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nphases = "all"\n')
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1, errors=1)  # 4 J / 2 samples = 2 J/sample > 1 J/sample
    entry = doc["entries"][0]
    assert entry["joules"] == pytest.approx(4.0)
    assert entry["joules_per_unit"] == pytest.approx(2.0)
    assert entry["status"] == "over_budget"
