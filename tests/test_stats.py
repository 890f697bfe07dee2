"""The noise-aware comparison (stats.py): exact rules without noise, the noise model with it."""

from __future__ import annotations

import math
import random

import pytest

from pytest_greenbudget.stats import EXACT, NoisePrior, compare, log_sd, prior_for, within_sd


def test_exact_meter_is_the_threshold_rule() -> None:
    def status(cur: float, base: float) -> str:
        return compare([cur], [base], tolerance=0.1, min_delta=0.5, prior=EXACT).status

    assert status(11.01, 10.0) == "regressed"
    assert status(11.0, 10.0) == "same"  # exactly at the tolerance is not past it
    assert status(1.2, 1.0) == "same"  # +20 % but only 0.2 J: under min_delta
    assert status(8.9, 10.0) == "improved"
    assert status(9.5, 10.0) == "same"
    assert status(10.0, 10.0) == "same"


def test_exact_meter_with_repeating_rounds_has_no_noise() -> None:
    c = compare([12.0] * 5, [10.0] * 5, tolerance=0.1, min_delta=0.0, prior=EXACT)
    assert c.status == "regressed"
    assert c.noise_rel == 0.0
    assert c.rounds == 5


def test_within_noise_past_tolerance_is_inconclusive_and_says_what_decides_it() -> None:
    prior = NoisePrior(between=0.02, within=0.10)
    c = compare([11.8], [10.0], tolerance=0.1, min_delta=0.0, prior=prior)
    assert c.status == "inconclusive"
    assert c.rounds_needed is not None and c.rounds_needed > 1
    text = c.describe()
    assert text.startswith("+18 %, noise +-")
    assert "at 1 round" in text
    assert f"set rounds = {c.rounds_needed}" in text
    # with that many rounds (and the same spread) the change is decided
    k = c.rounds_needed
    spread = [11.8 * math.exp(0.1 * (i - (k - 1) / 2) / k) for i in range(k)]
    base = [10.0 * math.exp(0.1 * (i - (k - 1) / 2) / k) for i in range(k)]
    assert compare(spread, base, tolerance=0.1, min_delta=0.0, prior=prior).status == "regressed"


def test_between_run_noise_cannot_be_averaged_away() -> None:
    prior = NoisePrior(between=0.2, within=0.01)
    c = compare([13.0] * 3, [10.0] * 3, tolerance=0.1, min_delta=0.0, prior=prior)
    assert c.status == "inconclusive"
    assert c.rounds_needed is None
    assert "more rounds cannot decide it" in c.describe()


def test_a_large_change_is_decided_at_one_round() -> None:
    prior = NoisePrior(between=0.1, within=0.05, floor_j=0.001)
    assert compare([20.0], [10.0], tolerance=0.1, min_delta=0.0, prior=prior).status == "regressed"
    assert compare([5.0], [10.0], tolerance=0.1, min_delta=0.0, prior=prior).status == "improved"


def test_floor_dominates_tiny_readings() -> None:
    prior = NoisePrior(floor_j=0.01)
    # 3x of 2 mJ is within a 10 mJ reading jitter; 3x of 2 J is not
    assert compare([0.006], [0.002], tolerance=0.1, min_delta=0.0, prior=prior).status == (
        "inconclusive"
    )
    assert compare([6.0], [2.0], tolerance=0.1, min_delta=0.0, prior=prior).status == "regressed"
    assert log_sd(1, 1, 0.0, 1.0, 0.0, prior) == math.inf


def test_zero_baseline_with_an_exact_meter() -> None:
    c = compare([1.0], [0.0], tolerance=0.1, min_delta=0.5, prior=EXACT)
    assert c.status == "regressed"
    assert "from 0" in c.describe()


def test_within_spread_is_pooled_and_shrunk_toward_the_prior() -> None:
    prior = NoisePrior(within=0.1, weight=4)
    assert within_sd([1.0], [1.0], prior) == pytest.approx(0.1)  # no data: the prior
    tight = within_sd([1.0] * 20, [1.0] * 20, prior)
    assert tight < 0.035  # 38 degrees of freedom of zero spread outweigh the prior
    assert within_sd([1.0, 2.0], [1.0], EXACT) == pytest.approx(math.log(2) / math.sqrt(2))


def test_uniform_slowdown_is_never_normalised_away() -> None:
    prior = NoisePrior(between=0.08, within=0.05, floor_j=0.0005)
    rng = random.Random(1)
    for _ in range(200):
        base = 0.05 * math.exp(rng.uniform(0, 4))
        assert compare([2 * base], [base], tolerance=0.1, min_delta=0.0, prior=prior).status == (
            "regressed"
        )


def test_seeded_noise_gives_no_false_failures_and_sees_doubling() -> None:
    """Draws from the model itself: the Z bound keeps false failures rare."""
    prior = NoisePrior(between=0.08, within=0.06)
    rng = random.Random(7)
    false = seen = 0
    for _ in range(2000):
        shift = rng.gauss(0, 0.08)
        base = [10.0 * math.exp(rng.gauss(0, 0.06))]
        same = [10.0 * math.exp(shift + rng.gauss(0, 0.06))]
        double = [20.0 * math.exp(shift + rng.gauss(0, 0.06))]
        false += compare(same, base, tolerance=0.1, min_delta=0, prior=prior).status == "regressed"
        seen += compare(double, base, tolerance=0.1, min_delta=0, prior=prior).status == "regressed"
    assert false <= 2
    assert seen >= 1940  # 2x is 3.0 sd away from the bound at Z = 3.7: about 98 %


def test_prior_for_reads_the_meters_declaration() -> None:
    class Declares:
        noise = NoisePrior(between=0.1, floor_j=0.003, source="x")

    class Silent:
        pass

    class Set:
        def __init__(self) -> None:
            self.meters = [Declares(), Silent()]

    assert prior_for(Declares()).between == 0.1
    assert prior_for(Silent()) is EXACT
    combined = prior_for(Set())
    assert combined.between == 0.1 and combined.floor_j == pytest.approx(0.003)


def test_compare_needs_samples() -> None:
    with pytest.raises(ValueError):
        compare([], [1.0], tolerance=0.1, min_delta=0, prior=EXACT)


def test_a_floor_far_above_the_figures_is_unbounded_noise_not_an_overflow() -> None:
    prior = NoisePrior(between=0.05, within=0.1, floor_j=1e-3)
    found = compare([2e-6], [1e-6], tolerance=0.1, min_delta=0.0, prior=prior)
    assert found.status == "inconclusive"
    assert math.isinf(found.noise_rel)


def test_a_window_that_kept_several_cpus_busy_gets_the_threaded_prior() -> None:
    from pytest_greenbudget.stats import PARALLEL_BETWEEN, busy_cpus, for_parallel

    prior = NoisePrior(between=0.15, within=0.03, floor_j=1e-3, cpu_watts=2.0)
    assert busy_cpus(2.0, 1.0, prior) == 1.0  # 2 J at 2 W in 1 s: one CPU
    assert busy_cpus(8.0, 1.0, prior) == 4.0
    assert busy_cpus(8.0, None, prior) == 0.0  # not timed
    assert busy_cpus(8.0, 1.0, prior._replace(cpu_watts=0.0)) == 0.0  # not a CPU-time meter
    assert for_parallel(prior, 1.0, 1.1) is prior
    wide = for_parallel(prior, 1.0, 2.0)
    assert wide.between == PARALLEL_BETWEEN and "several CPUs busy" in wide.source
    # A doubling of one-thread work is decided; of threaded work it is not.
    assert compare([2.0], [1.0], tolerance=0.1, min_delta=0, prior=prior).status == "regressed"
    found = compare([2.0], [1.0], tolerance=0.1, min_delta=0, prior=wide)
    assert found.status == "inconclusive"
    assert "limit its threads" in found.describe(parallel=True)


def test_one_meter_keeps_its_own_prior() -> None:
    class Meter:
        noise = NoisePrior(between=0.1, cpu_watts=3.0)

    class Meters:
        def __init__(self) -> None:
            self.meters = [Meter()]

    assert prior_for(Meters()).cpu_watts == 3.0
