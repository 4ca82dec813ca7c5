"""Container-protocol task folders written by the tests: a seed and an evaluate.sh.

The evaluators are POSIX sh (and awk): no Python evaluator anywhere, which is the
point of the protocol. The candidate is a Python program the evaluator runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

SEED = """\
# EVOLVE-BLOCK-START
X = 1.0
# EVOLVE-BLOCK-END
print(X)
"""

# The defended pattern: the candidate runs as a subprocess whose stdout the evaluator
# captures, so nothing it prints reaches evaluate.sh's stdout. The score is
# -(x - target)^2, with a different target in MODE=test to show MODE arrives.
AWK_EVALUATOR = r"""
#!/bin/sh
set -eu
PROGRAM="$1"
MODE="${2:-train}"
if ! out=$(python3 "$PROGRAM" 2>/dev/null); then
    echo '{"status": "error", "combined_score": 0, "artifacts": {"error": "the program failed"}}'
    exit 0
fi
target=3
[ "$MODE" = test ] && target=4
echo "judged $PROGRAM in $MODE" >&2
x=$(printf '%s\n' "$out" | tail -n 1)
awk -v x="$x" -v t="$target" -v m="$MODE" 'BEGIN {
    d = x - t
    printf "{\"status\": \"success\", \"combined_score\": %.6f, ", -d * d
    printf "\"metrics\": {\"x\": %s}, \"artifacts\": {\"mode\": \"%s\"}}\n", x + 0, m
}'
"""

# Only COPY: it builds on any base, even a root with no shell (the tests' tiny one).
COPY_ONLY_DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /benchmark
COPY evaluate.sh /benchmark/evaluate.sh
"""


def write_protocol_folder(
    root: Path,
    name: str,
    evaluate_sh: str = AWK_EVALUATOR,
    seed: str = SEED,
    dockerfile: str = COPY_ONLY_DOCKERFILE,
    extra: dict[str, str] | None = None,
) -> Path:
    """A folder with initial_program.py, evaluator/evaluate.sh (+x) and evaluator/Dockerfile.

    Readable by others, as the docker sandbox's non-root user needs.
    """
    folder = root / name
    evaluator = folder / "evaluator"
    evaluator.mkdir(parents=True)
    (folder / "initial_program.py").write_text(textwrap.dedent(seed))
    script = evaluator / "evaluate.sh"
    script.write_text(textwrap.dedent(evaluate_sh).lstrip("\n"))
    script.chmod(0o755)
    (evaluator / "Dockerfile").write_text(dockerfile)
    for relative, text in (extra or {}).items():
        (folder / relative).write_text(textwrap.dedent(text).lstrip("\n"))
    for path in (root, *root.rglob("*")):
        if path.is_dir():
            path.chmod(0o755)
    return folder
