"""The public benchmark instances for tests: found where evoforge looks, else a test
skips, except under CI, where a missing file fails it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evoforge.public_data import PublicDataMissing, public_file


def require_public(relative: str) -> Path:
    """The path of one public file or folder (`adrs_public/txn_workloads.json`)."""
    try:
        return public_file(relative)
    except PublicDataMissing as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI requires the public data: {missing}")
        pytest.skip(str(missing))
