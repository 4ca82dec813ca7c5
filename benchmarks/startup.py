"""How long `evoforge --help`, `tasks`, `runs` and `show` take to start, against Python itself.

Each command runs as a fresh process (as a user types it), `--repeats` times interleaved
with the baselines, and the median wall time is reported. The ratio divides by
`python -c "import typer"` measured in the same loop: the least any Typer command can
cost, so the machine's speed cancels out and the ratio says what evoforge adds on top.
The heavy libraries each command loaded are listed: `--help` should load none of them,
and only `runs`/`show` need SQLAlchemy.

    python benchmarks/startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("sqlalchemy", "alembic", "pydantic", "numpy", "litellm", "celery", "docker",
         "streamlit", "torch")  # fmt: skip

LOADED = """
import io, json, runpy, sys, contextlib
sys.argv = ["evoforge", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    runpy.run_module("evoforge.cli.app", run_name="__main__")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def heavy_loaded(args: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", LOADED, *args], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    return [name for name in HEAVY if name in loaded]


def store_with_a_run(root: Path) -> tuple[str, str]:
    """A SQLite store holding one finished 2-evaluation circle_packing run, for `show`."""
    db = f"sqlite:///{root / 'startup.db'}"
    out = subprocess.run(
        [sys.executable, "-m", "evoforge.cli.app", "run", "circle_packing",
         "--max-evaluations", "2", "--seed", "1", "--db", db, "--json"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return db, json.loads(out)["run_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of each, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, run_id = store_with_a_run(Path(tmp))
        evoforge = [sys.executable, "-m", "evoforge.cli.app"]
        commands = {
            'python -c "pass"': [sys.executable, "-c", "pass"],
            'python -c "import typer"': [sys.executable, "-c", "import typer"],
            "evoforge --help": [*evoforge, "--help"],
            "evoforge tasks": [*evoforge, "tasks"],
            "evoforge runs": [*evoforge, "runs", "--db", db],
            "evoforge show": [*evoforge, "show", run_id, "--db", db],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():
            seconds(argv)  # warm the page cache, not reported
        for _ in range(args.repeats):  # interleaved, so a noisy minute hits all alike
            for name, argv in commands.items():
                times[name].append(seconds(argv))
        loaded = {
            name: heavy_loaded(argv[3:]) for name, argv in commands.items() if argv[:3] == evoforge
        }
    baseline = statistics.median(times['python -c "import typer"'])
    print(f"{'command':26} {'median s':>9} {'x typer':>8}  heavy libraries loaded")
    for name, samples in times.items():
        median = statistics.median(samples)
        heavy = (", ".join(loaded[name]) or "none") if name in loaded else ""
        print(f"{name:26} {median:9.3f} {median / baseline:8.1f}  {heavy}")


if __name__ == "__main__":
    main()
