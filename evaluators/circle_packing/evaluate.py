"""Score a circle packing: 26 disjoint circles inside the unit square, sum of radii.

Runs inside the sandbox. The program runs in a process of its own
(`evoforge.candidate_process`): only its circles come back, as plain numbers, and this
process checks and scores them, so nothing the program patches can reach the score.
The check is strict because an optimiser finds every hole in
a lenient one: exactly 26 circles, finite numbers, non-negative radii, every circle
inside [0, 1]² and no two overlapping, each up to `TOLERANCE`. A packing that breaks
a rule is invalid, and the reason names the offending circles so the proposer (and the
person reading the run) can see what went wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evoforge.candidate_process import CandidateError, CandidateProcess, CandidateRaised
from evoforge.result import EvaluationResult

N_CIRCLES = 26
TOLERANCE = 1e-9
REFERENCE = 2.635  # AlphaEvolve's sum of radii for 26 circles
MAX_LISTED = 5  # violations named in the one-line reason


def evaluate(program_path: str) -> EvaluationResult:
    """Run the candidate's `construct_packing()` and check and score what it returns.

    An exception the candidate raises (`CandidateRaised`, with its traceback as the
    cause) propagates: the sandbox harness records a failure with the traceback, which
    tells the proposer more than a reason string could. A process that dies, or an
    answer that is not plain numbers, is invalid with the reason.
    """
    with CandidateProcess(program_path) as remote:
        build = next((n for n in ("construct_packing", "run_packing") if remote.has(n)), None)
        if build is None:
            return _invalid("the program defines no construct_packing() function")
        try:
            returned = remote.call(build)
        except CandidateRaised:
            raise
        except CandidateError as error:
            return _invalid(str(error))
    if not isinstance(returned, (tuple, list)) or len(returned) not in (2, 3):
        return _invalid(
            f"construct_packing() returned {type(returned).__name__}; "
            "return a (centers, radii) pair"
        )
    return check_packing(returned[0], returned[1])


def check_packing(centers: Any, radii: Any) -> EvaluationResult:
    """Validate a packing and score it; pure, so tests and scripts can call it directly."""
    try:
        c = np.asarray(centers, dtype=float)
        r = np.asarray(radii, dtype=float)
    except (TypeError, ValueError) as exc:
        return _invalid(f"centers and radii must be arrays of numbers ({exc})")
    if c.shape != (N_CIRCLES, 2) or r.shape != (N_CIRCLES,):
        return _invalid(
            f"expected {N_CIRCLES} circles: centers of shape ({N_CIRCLES}, 2) and radii of "
            f"shape ({N_CIRCLES},), got {c.shape} and {r.shape}"
        )
    problems = _violations(c, r)
    if problems:
        listed = "; ".join(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        return _invalid(f"{len(problems)} violation(s): {listed}{more}", "\n".join(problems))
    return _score(c, r)


def _violations(c: np.ndarray, r: np.ndarray) -> list[str]:
    """Every broken rule, one line each, naming circles by their 0-based index."""
    bad_numbers = np.flatnonzero(~(np.isfinite(c).all(axis=1) & np.isfinite(r)))
    if bad_numbers.size:
        return [
            f"circle {i} has a non-finite centre or radius (centre {tuple(c[i])}, radius {r[i]})"
            for i in bad_numbers
        ]
    problems = [f"circle {i} has a negative radius {r[i]:.6g}" for i in np.flatnonzero(r < 0)]
    outside = np.maximum(r - c.min(axis=1), c.max(axis=1) + r - 1.0)
    problems += [
        f"circle {i} (centre ({c[i, 0]:.6g}, {c[i, 1]:.6g}), radius {r[i]:.6g}) "
        f"sticks out of the unit square by {outside[i]:.3g}"
        for i in np.flatnonzero(outside > TOLERANCE)
    ]
    distance = np.hypot(*(c[:, None, :] - c[None, :, :]).transpose(2, 0, 1))
    overlap = r[:, None] + r[None, :] - distance
    first, second = np.nonzero(np.triu(overlap > TOLERANCE, k=1))
    order = np.argsort(-overlap[first, second], kind="stable")  # worst first
    problems += [
        f"circles {i} and {j} overlap by {overlap[i, j]:.3g} "
        f"(distance {distance[i, j]:.6g} < r{i} + r{j} = {r[i] + r[j]:.6g})"
        for i, j in zip(first[order], second[order], strict=True)
    ]
    return problems


def _score(c: np.ndarray, r: np.ndarray) -> EvaluationResult:
    """Score a valid packing and describe where it could still improve."""
    total = float(r.sum())
    border_gap = np.minimum(c, 1.0 - c).min(axis=1) - r
    distance = np.hypot(*(c[:, None, :] - c[None, :, :]).transpose(2, 0, 1))
    pair_gap = distance - r[:, None] - r[None, :]
    np.fill_diagonal(pair_gap, np.inf)
    slack = np.maximum(np.minimum(border_gap, pair_gap.min(axis=1)), 0.0)
    mean = float(r.mean())
    metrics = {
        "sum_radii": total,
        "target_ratio": total / REFERENCE,
        # Spread of sizes (coefficient of variation): near 0 for equal circles, larger
        # when a few big circles sit among small ones. A MAP-Elites feature.
        "spread": float(r.std() / mean) if mean > 0 else 0.0,
        # Share of circles touching the border: another layout feature.
        "border_fraction": float(np.mean(border_gap <= 1e-6)),
        "min_radius": float(r.min()),
        "max_radius": float(r.max()),
        "total_slack": float(slack.sum()),
    }
    smallest = np.argsort(r, kind="stable")[:5]
    loosest = [i for i in np.argsort(-slack, kind="stable")[:5] if slack[i] > 1e-6]
    lines = [
        f"sum of radii {total:.6f} ({100 * total / REFERENCE:.2f}% of the {REFERENCE} reference)",
        "smallest circles: "
        + ", ".join(f"#{i} r={r[i]:.4f} at ({c[i, 0]:.3f}, {c[i, 1]:.3f})" for i in smallest),
    ]
    if loosest:
        lines.append(
            "circles with room to grow (slack): "
            + ", ".join(f"#{i} +{slack[i]:.4f}" for i in loosest)
            + f"; total slack {slack.sum():.4f}"
        )
    else:
        lines.append("every circle touches a neighbour or the border (no slack left)")
    return EvaluationResult(score=total, metrics=metrics, feedback="\n".join(lines))


def _invalid(reason: str, feedback: str = "") -> EvaluationResult:
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=feedback or reason)
