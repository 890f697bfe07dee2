"""Energy per sample: a budget that holds whatever the batch size.

A per-test budget grows with the batch: predicting twice the images costs twice the
joules, and that is not a regression. What should not grow is the energy *per image*.
Each test says how much work its call did with `energy_meter.work(count, unit)`; the
report then shows joules per sample beside the total, per-unit budgets
(`"0.3 mJ/sample"`) are compared with that figure, and a saved baseline is compared
per sample too. So after `--greenbudget-save`, tripling the batch triples the total
but is no regression, while a model that spends 30 % more per sample is still caught.
(The per-sample figure is not exactly constant across batch sizes: a call has a fixed
cost, and a bigger batch no longer fits in the CPU caches. On the 2-vCPU VM where this
was written, the 27,000-image batch cost from 26 % less to 21 % more per sample than the
9,000-image one, depending on the run: far closer than the 3x of the totals.)
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

# One BLAS thread, so CPU time (what the `estimate` meter charges) does not grow
# with the number of cores. See test_train.py.
threadpool_limits(limits=1)

#: Held-out copies per batch: 450 images x 20 = 9,000 and x 60 = 27,000 images.
BATCHES = [20, 60]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def mlp(digits):
    X_train, _, y_train, _ = digits
    net = MLPClassifier(hidden_layer_sizes=(64,), tol=1e-3, max_iter=300, random_state=0)
    return make_pipeline(StandardScaler(), net).fit(X_train, y_train)


@pytest.mark.parametrize("copies", BATCHES, ids=["small", "large"])
@pytest.mark.energy_budget("0.3 mJ/sample", rounds=3, warmup=1)
def test_mlp_energy_per_sample(energy_meter, mlp, digits, copies):
    _, X_test, _, y_test = digits
    X, y = np.tile(X_test, (copies, 1)), np.tile(y_test, copies)
    predictions = mlp.predict(X)
    energy_meter.work(len(X), "sample")  # in every round: the figure is per round
    assert np.mean(predictions == y) >= 0.95  # 97.3 % when this example was written


def test_scaling_and_predicting_per_sample(energy_meter, mlp, digits):
    """Regions take work too: the budget of each region is per sample of that region."""
    _, X_test, _, _ = digits
    X = np.tile(X_test, (40, 1))
    scaler, net = mlp[0], mlp[-1]
    with energy_meter.measure("scale", budget="0.1 mJ/sample") as scaling:
        scaled = scaler.transform(X)
        scaling.work(len(X), "sample")
    with energy_meter.measure("predict", budget="0.05 ugCO2e/sample") as predicting:
        net.predict(scaled)
        predicting.work(len(X), "sample")
    # A standard scaler is one subtract and one divide per feature; the network is
    # two matrix products: scaling must be the cheaper step per sample.
    assert scaling.joules < predicting.joules
