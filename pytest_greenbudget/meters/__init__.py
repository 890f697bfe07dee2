"""Meters: sources of cumulative joules per domain (SPEC section 5)."""

from pytest_greenbudget.meters.base import Meter, MeterError, MeterUnavailable

__all__ = ["Meter", "MeterError", "MeterUnavailable"]
