"""The pytest plugin (entry point `pytest11`): the `gradlint_check` fixture.

`gradlint_check(model, example_inputs=None, **options)` is `gradlint.testing.assert_healthy`
with `--gradlint-device` applied. Nothing heavy is imported until the fixture is used, since
pytest loads this module in every session of an environment where gradlint is installed.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradlint")
    group.addoption(
        "--gradlint-device",
        choices=("auto", "cpu", "cuda"),
        default=None,
        help="Device for gradlint_check probes (default: the configured device, else auto).",
    )


@pytest.fixture
def gradlint_check(request: pytest.FixtureRequest) -> Callable[..., Any]:
    from gradlint.testing import assert_healthy

    device = request.config.getoption("gradlint_device")
    return assert_healthy if device is None else functools.partial(assert_healthy, device=device)
