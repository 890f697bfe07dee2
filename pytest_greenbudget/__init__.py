"""pytest-greenbudget: energy and carbon budgets for pytest.

Importing this package stays cheap: no codecarbon, pynvml, pandas, numpy or torch.
"""

from typing import TYPE_CHECKING

from pytest_greenbudget.warning import EnergyBudgetWarning

if TYPE_CHECKING:
    from pytest_greenbudget.fixture import RegionResult

__all__ = ["EnergyBudgetWarning", "RegionResult", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name == "RegionResult":  # loaded on use: a run that never measures never pays for it
        from pytest_greenbudget.fixture import RegionResult

        return RegionResult
    raise AttributeError(f"module 'pytest_greenbudget' has no attribute {name!r}")
