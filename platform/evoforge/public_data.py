"""Where the public benchmark instances live (the ADRS evaluations' scenarios,
workloads, cases and cloud profiles).

evoforge never ships them: they are other projects' data, fetched by the user. A run
scored on a public protocol reads them at the orchestrator, once, and hands them to the
evaluation as plain instances, so the sandbox needs no view of this folder.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "EVOFORGE_PUBLIC_DATA"
"""A folder holding `adrs_public/`, `spot_traces/` and `spot_traces_multi/`."""


class PublicDataMissing(FileNotFoundError):
    """The public instances a protocol needs are not where evoforge looks."""


def candidates() -> list[Path]:
    """The folders searched, in order: $EVOFORGE_PUBLIC_DATA, then `shared/data` beside
    a source checkout (the layout this project is developed in)."""
    places = [Path(os.environ[ENV])] if os.environ.get(ENV) else []
    checkout = Path(__file__).resolve().parents[2]
    places.append(checkout.parent / "shared" / "data")
    return places


def public_data_root() -> Path:
    """The first folder that exists, or a one-line error naming how to provide one."""
    for place in candidates():
        if place.is_dir():
            return place
    raise PublicDataMissing(
        "the public benchmark instances are not here (looked in "
        f"{', '.join(str(p) for p in candidates())}); set {ENV} to the folder holding "
        "adrs_public/ and spot_traces/"
    )


def public_file(relative: str) -> Path:
    """One file or folder under the public data root, or a one-line error naming it."""
    path = public_data_root() / relative
    if not path.exists():
        raise PublicDataMissing(
            f"{path} is missing: {ENV} must point at a folder holding {relative}"
        )
    return path
