"""Hypothesis profiles for the fuzz suite: a short run in CI, a long campaign on demand.

    python -m pytest tests/fuzz                      # profile "ci": a few examples per test
    GRADLINT_FUZZ=long python -m pytest tests/fuzz   # profile "long": thousands, no deadline
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=_QUIET,
    database=None, print_blob=True,
)
settings.register_profile(
    "long", max_examples=int(os.environ.get("GRADLINT_FUZZ_EXAMPLES", "2000")), deadline=None,
    suppress_health_check=_QUIET, print_blob=True,
)
settings.load_profile(os.environ.get("GRADLINT_FUZZ", "ci"))
