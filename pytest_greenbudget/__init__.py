"""pytest-greenbudget: energy and carbon budgets for pytest.

Importing this package stays cheap: no codecarbon, pynvml, pandas, numpy or torch.
"""

from pytest_greenbudget.fixture import RegionResult
from pytest_greenbudget.warning import EnergyBudgetWarning

__all__ = ["EnergyBudgetWarning", "RegionResult", "__version__"]
__version__ = "0.1.0"
