"""Batch inference, measured over several rounds.

The models are trained once per module by fixtures, which are not measured: the
energy of each test is the energy of predicting one batch. Each test's call phase
runs 1 warm-up round and 5 measured rounds, and the report shows the median
round. The file-wide budget, rounds and warm-up come from the
`"test_inference.py::*"` entry in pyproject.toml; the marker on
`test_logistic_regression_batch_inference` shows the same settings written on
the test itself (a marker wins over a pyproject entry).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

# One BLAS thread, so CPU time (what the `estimate` meter charges) does not grow
# with the number of cores. See test_train.py.
threadpool_limits(limits=1)

COPIES = 100  # 450 held-out images x 100 = a batch of 45,000 images


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def batch(digits):
    """A large batch: the held-out images repeated, with their labels."""
    _, X_test, _, y_test = digits
    return np.tile(X_test, (COPIES, 1)), np.tile(y_test, COPIES)


@pytest.fixture(scope="module")
def mlp(digits):
    X_train, _, y_train, _ = digits
    net = MLPClassifier(hidden_layer_sizes=(64,), tol=1e-3, max_iter=300, random_state=0)
    return make_pipeline(StandardScaler(), net).fit(X_train, y_train)


@pytest.fixture(scope="module")
def logreg(digits):
    X_train, _, y_train, _ = digits
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)


def test_mlp_batch_inference(mlp, batch):
    # No marker: budget "15 J", rounds = 5, warmup = 1 come from pyproject.toml.
    X, y = batch
    proba = mlp.predict_proba(X)
    assert proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    # The classes are 0..9, so the column index is the predicted digit.
    accuracy = np.mean(proba.argmax(axis=1) == y)
    assert accuracy >= 0.95  # 97.3 % when this example was written


@pytest.mark.energy_budget("5 J", rounds=5, warmup=1)
def test_logistic_regression_batch_inference(logreg, batch):
    X, y = batch
    predictions = logreg.predict(X)
    accuracy = np.mean(predictions == y)
    assert accuracy >= 0.95  # 96.9 % when this example was written
