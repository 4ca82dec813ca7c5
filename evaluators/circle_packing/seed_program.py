"""Pack 26 circles into the unit square so that the sum of their radii is as large as possible.

`construct_packing()` returns the centres and radii; the evaluator checks that every
circle lies inside the square and that no two overlap, then scores the sum of radii.
"""

import math

import numpy as np

N = 26  # the task fixes the count; the evaluator rejects any other
SIDE = 1.0  # the square is [0, SIDE] x [0, SIDE]


# EVOLVE-BLOCK-START
def place_centers() -> np.ndarray:
    """One circle in the middle, an inner ring, and an outer ring bent toward the corners."""
    cx, cy = 0.5, 0.5
    n_inner = 8
    inner_radius = 0.24
    outer_radius = 0.4
    inner_phase = 0.0
    outer_phase = 0.2
    corner_pull = 0.8  # below 1 bends the outer ring out toward the corners
    margin = 0.1  # keeps centres this far from the edges
    centers = [(cx, cy)]
    for k in range(n_inner):
        angle = inner_phase + math.tau * k / n_inner
        centers.append((cx + inner_radius * math.cos(angle), cy + inner_radius * math.sin(angle)))
    n_outer = N - len(centers)
    for k in range(n_outer):
        angle = outer_phase + math.tau * k / n_outer
        c, s = math.cos(angle), math.sin(angle)
        x = math.copysign(abs(c) ** corner_pull, c)
        y = math.copysign(abs(s) ** corner_pull, s)
        centers.append((cx + outer_radius * x, cy + outer_radius * y))
    return np.clip(np.array(centers), margin, SIDE - margin)


def compute_radii(centers: np.ndarray) -> np.ndarray:
    """The radii these centres allow, found greedily; valid for any centres.

    Start from each centre's distance to the border, shrink every circle by its worst
    overlap ratio (which removes all overlaps at once), then let each circle in turn
    grow until it touches a neighbour or the border.
    """
    x, y = centers.T
    border = np.minimum.reduce([x, y, SIDE - x, SIDE - y])
    gaps = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(gaps, np.inf)
    ratio = gaps / (border[:, None] + border[None, :])
    radii = np.minimum(border, border * np.minimum.reduce(ratio))  # worst ratio per circle
    for i in range(len(radii)):
        room = gaps[i] - radii
        radii[i] = min(border[i], room.min())
    return radii


def construct_packing() -> tuple[np.ndarray, np.ndarray]:
    """Return (centers, radii): arrays of shape (26, 2) and (26,)."""
    centers = place_centers()
    return centers, compute_radii(centers)


# EVOLVE-BLOCK-END
