"""Starting a test's service: a failure under CI, a skip on a developer's machine.

CI installs every service the tests use (`.ci/run`), so there a service that does not
start is a broken test run, never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def start_service(start: Callable[[], T], unavailable: type[Exception], what: str) -> T:
    try:
        return start()
    except unavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {what}: {error}")
        pytest.skip(str(error))
