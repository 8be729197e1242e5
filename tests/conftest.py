"""Shared test configuration: hypothesis profiles.

"ci" (the default) keeps the whole suite fast; "thorough" runs many more examples:

    MICROTORCH_HYPOTHESIS_PROFILE=thorough python -m pytest tests

Tests that set their own `@settings(max_examples=...)` keep that number in both profiles.
"""
import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.filter_too_much],
}
settings.register_profile("ci", max_examples=10, **_COMMON)
settings.register_profile("thorough", max_examples=300, **_COMMON)
settings.load_profile(os.environ.get("MICROTORCH_HYPOTHESIS_PROFILE", "ci"))
