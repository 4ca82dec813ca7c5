"""OpenEvolve on the shared work, in the peers' environment (see compare.py).

Defaults kept, except what makes the work equal: the model (one, at the loopback
server), the number of iterations (one model call and one evaluation each) and
`evaluator.parallel_evaluations` (its worker processes, so its evaluation slots).
Checkpoints every 100 iterations, the island database and the process pool all
stay as a user gets them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import openevolve  # noqa: E402
from driver import load_spec, read_stamps, steady_rate, timed  # noqa: E402
from openevolve.api import run_evolution  # noqa: E402
from openevolve.config import Config, LLMConfig, LLMModelConfig  # noqa: E402
from workload import PROGRAM, evaluator_source  # noqa: E402

MODEL = "openevolve-bench"


def main() -> None:
    spec = load_spec()
    work = Path(spec["workdir"])
    program = work / "program.py"
    program.write_text(PROGRAM)
    evaluator = work / "evaluator.py"
    source = evaluator_source("openevolve", spec["eval_time"])
    if spec.get("stamps"):  # the pipeline run times each evaluation as it ends
        source = source.replace(
            "    value = _score(program_path)\n",
            "    value = _score(program_path)\n"
            f"    with open({spec['stamps']!r}, 'a') as log:\n"
            "        log.write(f'{time.time()}\\n')\n",
        )
    evaluator.write_text(source)
    config = Config()
    config.llm = LLMConfig(
        api_base=spec["api_base"], api_key="unused", models=[LLMModelConfig(name=MODEL)]
    )
    config.max_iterations = spec["candidates"]
    config.evaluator.parallel_evaluations = spec["slots"]
    settings = {
        "openevolve": openevolve.__version__,
        "iterations": spec["candidates"],
        "evaluator.parallel_evaluations": spec["slots"],
        "llm.models": [MODEL],
        "llm.api_base": "loopback",
        "diff_based_evolution": config.diff_based_evolution,
        "checkpoint_interval": config.checkpoint_interval,
        "database.num_islands": config.database.num_islands,
        "database.population_size": config.database.population_size,
        "log_level": config.log_level,
        "sandbox": "none (evaluate() runs in its worker processes)",
    }

    def run() -> dict[str, Any]:
        result = run_evolution(
            str(program),
            str(evaluator),
            config=config,
            iterations=spec["candidates"],
            output_dir=str(work / "openevolve_output"),
            cleanup=False,
        )
        stamps = read_stamps(spec.get("stamps"))
        return {
            "tool": "openevolve",
            "candidates": spec["candidates"],
            "evaluations": len(stamps) or None,
            "steady_rate": steady_rate(stamps),
            "best": result.best_score,
            "settings": settings,
        }

    timed(run)


if __name__ == "__main__":
    main()
