"""The warning class users filter on (``-W error::pytest_greenbudget.EnergyBudgetWarning``)."""

import pytest


class EnergyBudgetWarning(pytest.PytestWarning):
    """A test broke its energy budget or regressed, in warn mode."""

    __module__ = "pytest_greenbudget"
