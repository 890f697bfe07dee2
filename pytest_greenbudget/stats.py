"""Is a change in energy larger than the noise of measuring it? (SPEC 7 and 12)

The comparison works on the log of the ratio current / baseline, where the noise of a
shared machine is multiplicative. Its standard deviation has three parts:

    sd^2 = between^2 + within^2 * (f(n) + f(m)) + floor^2 * (1/(n*J^2) + 1/(m*J0^2))

* ``between``: the shift of the whole machine from one run to the next (load, caches,
  CPU frequency, a neighbour on the host). It is correlated across the tests of a run
  and does not shrink with more rounds, so it only comes from the meter's prior.
* ``within``: the jitter from one round to the next inside a run. It is estimated from
  the spread of the measured rounds and of the baseline's ``samples`` (pooled, in logs),
  shrunk toward the meter's prior; ``f(k)`` is the variance factor of a median of k.
* ``floor``: an absolute jitter in joules of one reading (the meter's resolution, the
  interpreter's own per-call noise), which dominates short tests.

A change is ``regressed`` (or ``improved``) when it passes ``tolerance`` and
``min_delta`` and ``|log ratio| > Z * sd``; past the thresholds but within the noise it is
``inconclusive``. With a meter that declares no noise and readings that repeat exactly,
sd is 0 and the threshold rules of SPEC 7 apply exactly. A run is never normalised
against itself: a uniform slowdown moves every ratio and is judged as such.

Pure ``math`` and NamedTuples: the plugin imports this module at start-up, and
``statistics`` alone costs 2 ms of import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

#: One-sided bound: under a normal model 1 unchanged verdict in ~10,000 passes it; the
#: real tails are heavier (a neighbour starting mid-run), which is what the margin is for.
Z = 3.7

#: The noise of the CPU time of fixed work, measured with ``benchmarks/verdicts.py`` on a
#: shared 2-vCPU KVM guest (quiet, and with a busy loop on the other core): the sd of
#: log(rerun / saved run) of one test between runs, the sd of log of one round within a
#: run, and the CPU seconds of jitter of any one call (first calls, the allocator, a
#: garbage collection). The ``estimate`` meter prices the jitter at its watts. 0.15 is the
#: median per-test sd while the VM was shared (0.14 to 0.17); alone, the typical sd is
#: 0.06 but 0.2 % of unchanged log ratios reach +-0.46, inside Z x 0.15 (README, "Noise").
CPU_TIME_BETWEEN_RUNS = 0.15
#: A window that kept more than PARALLEL_BUSY CPUs busy on average ran threads (BLAS,
#: OpenMP, joblib); their spin-waiting makes its CPU time swing between runs of unchanged
#: code far more: on scikit-learn's own tests in random order, |log ratio| had median
#: 0.65, p95 1.75 and max 2.9 for such tests (0.12, 0.65 for one-thread ones), so the
#: between-run sd of such a comparison is PARALLEL_BETWEEN (Z x 0.8: about 19x).
PARALLEL_BUSY = 1.15
PARALLEL_BETWEEN = 0.8
PARALLEL_HINT = (
    "it kept several CPUs busy, and the CPU time of threads (BLAS, OpenMP) varies between "
    "runs; limit its threads (threadpoolctl, OMP_NUM_THREADS=1) to compare it"
)
CPU_TIME_WITHIN_RUN = 0.03
CPU_TIME_JITTER_S = 0.0005

#: Machine-wide counters (RAPL, codecarbon, NVML): the time the same work takes moves
#: with the machine as its CPU time does, so the CPU-time figures are their prior too
#: (not measured on hardware counters: the VM above has none). Their resolution is
#: reported by ``below_resolution``; the spread of their rounds is measured.
COUNTER_PRIOR_SOURCE = "the CPU-time noise of a shared VM, as for the estimate meter"

#: The most rounds a suggestion ever names.
MAX_SUGGESTED_ROUNDS = 50

Decision = Literal["regressed", "improved", "inconclusive", "same"]


class NoisePrior(NamedTuple):
    """What the meter (on this machine) says about its own noise, as relative sds in logs."""

    #: sd of log(run A / run B) for the same work: machine shifts between runs.
    between: float = 0.0
    #: sd of log of one round within a run: the prior for the measured spread.
    within: float = 0.0
    #: sd in joules of one reading, whatever the work (resolution, per-call jitter).
    floor_j: float = 0.0
    #: How many degrees of freedom the ``within`` prior weighs against measured rounds.
    weight: float = 4.0
    #: Watts per busy CPU when the meter prices CPU time (``estimate``): joules over
    #: seconds then tell how many CPUs a window kept busy. 0: not a CPU-time meter.
    cpu_watts: float = 0.0
    #: Where the numbers come from, for the report.
    source: str = "the meter declares no noise"

    @property
    def exact(self) -> bool:
        return self.between == 0 and self.within == 0 and self.floor_j == 0


EXACT = NoisePrior()


def busy_cpus(joules: float, seconds: float | None, prior: NoisePrior) -> float:
    """How many CPUs a window kept busy on average, for a CPU-time meter; 0 if unknown."""
    if prior.cpu_watts <= 0 or seconds is None or seconds <= 0:
        return 0.0
    return joules / (prior.cpu_watts * seconds)


def for_parallel(prior: NoisePrior, *busy: float) -> NoisePrior:
    """The prior of a comparison where either side ran threads: a wider between-run sd."""
    if max(busy, default=0.0) <= PARALLEL_BUSY:
        return prior
    return prior._replace(
        between=max(prior.between, PARALLEL_BETWEEN),
        source=f"{prior.source}; several CPUs busy: +-{PARALLEL_BETWEEN:.0%} between runs",
    )


def counter_prior() -> NoisePrior:
    return NoisePrior(
        between=CPU_TIME_BETWEEN_RUNS, within=CPU_TIME_WITHIN_RUN, source=COUNTER_PRIOR_SOURCE
    )


def prior_for(meter: object) -> NoisePrior:
    """The meter's declared ``noise`` (a NoisePrior), or none; several meters add up."""
    meters = getattr(meter, "meters", None)
    if isinstance(meters, (list, tuple)):
        priors = [prior_for(m) for m in meters]
        if not priors:
            return EXACT
        if len(priors) == 1:
            return priors[0]  # its own, CPU-time watts included
        return NoisePrior(
            between=max(p.between for p in priors),
            within=max(p.within for p in priors),
            floor_j=math.sqrt(sum(p.floor_j**2 for p in priors)),
            weight=min(p.weight for p in priors),
            source="; ".join(p.source for p in priors if not p.exact) or EXACT.source,
        )
    noise = getattr(meter, "noise", None)
    return noise if isinstance(noise, NoisePrior) else EXACT


def median(values: Sequence[float]) -> float:
    """The median; ``statistics`` would cost 2 ms of import for these few lines."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    # Halves first: the mean of two huge finite values would overflow.
    return ordered[middle] if len(ordered) % 2 else ordered[middle - 1] / 2 + ordered[middle] / 2


def _median_factor(k: int) -> float:
    """Variance of the median of k normal draws, in units of one draw's variance."""
    if k <= 2:
        return 1.0 / max(k, 1)  # the median of one or two is their mean
    return math.pi / (2 * k)


def _sum_sq(logs: Sequence[float]) -> float:
    if len(logs) < 2:
        return 0.0
    mean = sum(logs) / len(logs)
    return sum((x - mean) ** 2 for x in logs)


def within_sd(current: Sequence[float], baseline: Sequence[float], prior: NoisePrior) -> float:
    """Pooled round-to-round sd in logs of both sample sets, shrunk toward the prior."""
    sets = [[math.log(x) for x in s if x > 0] for s in (current, baseline)]
    dof = sum(max(len(s) - 1, 0) for s in sets)
    weight = prior.weight if prior.within > 0 else 0.0
    if weight + dof == 0:
        return 0.0
    return math.sqrt((weight * prior.within**2 + sum(_sum_sq(s) for s in sets)) / (weight + dof))


def log_sd(
    n: int, m: int, joules: float, baseline: float, within: float, prior: NoisePrior
) -> float:
    """sd of log(median of n rounds / median of m baseline samples)."""
    var = prior.between**2 + within**2 * (_median_factor(n) + _median_factor(m))
    if prior.floor_j > 0:
        if joules <= 0 or baseline <= 0:
            return math.inf
        var += prior.floor_j**2 * (1 / (n * joules**2) + 1 / (m * baseline**2))
    return math.sqrt(var)


class Comparison(NamedTuple):
    """One current-against-baseline comparison and what would decide it."""

    status: Decision
    joules: float
    baseline: float
    ratio: float
    change_j: float
    #: The relative change the noise allows either way (exp(Z * sd) - 1); 0 for an exact meter.
    noise_rel: float
    rounds: int
    #: Rounds (current and baseline alike) that would decide this change; None if none would.
    rounds_needed: int | None

    def describe(self, parallel: bool = False) -> str:
        """E.g. ``+18 %, noise +-25 % at 1 round: set rounds = 5``."""
        change = f"{(self.ratio - 1) * 100:+.0f} %" if math.isfinite(self.ratio) else "from 0"
        plural = "round" if self.rounds == 1 else "rounds"
        text = f"{change}, noise +-{self.noise_rel * 100:.0f} % at {self.rounds} {plural}"
        if self.status != "inconclusive":
            return text
        if parallel:
            return f"{text}: {PARALLEL_HINT}"
        if self.rounds_needed is None:
            return (
                f"{text}: more rounds cannot decide it (the noise between runs on this "
                "machine is that large); measure on a quieter machine or a longer test"
            )
        return f"{text}: set rounds = {self.rounds_needed} (and save the baseline again)"


def compare(
    current: Sequence[float],
    baseline: Sequence[float],
    *,
    tolerance: float,
    min_delta: float,
    prior: NoisePrior,
    z: float = Z,
) -> Comparison:
    """Judge the median of ``current`` rounds against the median of ``baseline`` samples."""
    if not current or not baseline:
        raise ValueError("compare() needs at least one current and one baseline sample")
    joules, base = median(current), median(baseline)
    n, m = len(current), len(baseline)
    change = joules - base
    ratio = joules / base if base > 0 else (math.inf if joules > 0 else 1.0)
    within = within_sd(current, baseline, prior)
    sd = log_sd(n, m, joules, base, within, prior)
    # A noise past e^700 (a floor far above the figure) is "unbounded", not an OverflowError.
    noise_rel = math.expm1(z * sd) if math.isfinite(sd) and z * sd < 700 else math.inf

    def decided(sd_: float) -> bool:
        if sd_ == 0:
            return True
        if joules <= 0 or base <= 0:
            return False
        return abs(math.log(joules / base)) > z * sd_

    status: Decision = "same"
    if joules > base * (1 + tolerance) and change > min_delta:
        status = "regressed"
    elif joules < base * (1 - tolerance) and -change > min_delta:
        status = "improved"
    needed: int | None = None
    if status != "same" and not decided(sd):
        status = "inconclusive"
        for k in range(max(n, m) + 1, MAX_SUGGESTED_ROUNDS + 1):
            if decided(log_sd(k, k, joules, base, within, prior)):
                needed = k
                break
    return Comparison(status, joules, base, ratio, change, noise_rel, n, needed)
