"""evoforge beside OpenEvolve and GEPA on the same work, in one script.

Every tool evolves the same one-constant program (`workload.py`) against the same
loopback OpenAI-compatible server (`tests/support/model_server.py`), which answers
each tool's prompt with a unique valid edit of the parent it shows: a SEARCH/REPLACE
block for evoforge and OpenEvolve, a full rewrite for GEPA. Each tool runs in its
own process (OpenEvolve and GEPA from their own virtual environment, made here from
`requirements.txt`), with the same number of candidates and evaluation slots and
its defaults otherwise. Three comparisons:

1. framework overhead: wall ms per candidate at `--small` and `--large` candidates,
   instant model and instant evaluator, and the large/small growth;
2. pipeline throughput: the model answers after `--latency` s, the evaluator takes
   `--eval-time` s; evaluations per second between the first and last child
   (evoforge twice: at its defaults, and with `--in-flight` model calls at once);
3. peak memory: the process tree's resident set during the `--large` run.

evoforge runs every candidate in its process sandbox; the peers run theirs
unsandboxed, in their own processes. The settings each tool ran with are printed
with the tables and written with the raw figures to `--out`.

    python benchmarks/peers/compare.py [--small 200] [--large 2000] [--repeats 1]
        [--pipeline-candidates 40] [--latency 2] [--eval-time 0.5] [--in-flight 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from memory import PeakTreeRss  # noqa: E402
from support.model_server import Reply, ScriptedModelServer, SeenRequest  # noqa: E402
from workload import PROGRAM, reply_maker, score_text  # noqa: E402

TOOLS = ("evoforge", "openevolve", "gepa")
PEERS = ("openevolve", "gepa")
MODELS = {"evoforge": "evoforge-bench", "openevolve": "openevolve-bench", "gepa": "gepa-bench"}


# -- the peers' environment ------------------------------------------------------------
def peer_python(venv: Path) -> Path:
    """The peers' interpreter, (re)installing them when requirements.txt changed."""
    requirements = HERE / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    python, marker = venv / "bin" / "python", venv / ".requirements-sha256"
    if python.exists() and marker.exists() and marker.read_text() == digest:
        return python
    print(f"installing the peers into {venv} (benchmark-only) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    marker.write_text(digest)
    return python


# -- one run of one tool ----------------------------------------------------------------
def responders(latency: float) -> dict[str, Callable[[SeenRequest], Reply]]:
    def answer_for(tool: str) -> Callable[[SeenRequest], Reply]:
        make = reply_maker(tool)
        return lambda request: Reply(make(request.prompt), delay_s=latency)

    return {MODELS[tool]: answer_for(tool) for tool in TOOLS}


def run_tool(
    tool: str,
    python: Path,
    server: ScriptedModelServer,
    candidates: int,
    slots: int,
    eval_time: float,
    stamps: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one driver in its own process; its figures plus memory and model calls."""
    with tempfile.TemporaryDirectory(prefix=f"peers-{tool}-") as tmp:
        work = Path(tmp)
        spec = {
            "api_base": server.api_base,
            "candidates": candidates,
            "slots": slots,
            "eval_time": eval_time,
            "workdir": str(work),
            "stamps": str(work / "stamps.log") if stamps else None,
            **(extra or {}),
        }
        (work / "spec.json").write_text(json.dumps(spec))
        calls_before = len(server.chat_requests(MODELS[tool]))
        log = work / "driver.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(python), str(HERE / f"drive_{tool}.py"), str(work / "spec.json")],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=work,
                env=env,
            )
            with PeakTreeRss(process.pid) as peak:
                code = process.wait()
        text = log.read_text()
        if code != 0:
            raise SystemExit(f"{tool} failed (exit {code}); its last output:\n{text[-3000:]}")
        figures = json.loads(text.strip().splitlines()[-1])
    figures["model_calls"] = len(server.chat_requests(MODELS[tool])) - calls_before
    figures["tree_peak_rss_mb"] = peak.mb
    check_equal_work(tool, candidates, figures)
    if stamps and figures["steady_rate"] is None:
        raise SystemExit(f"{tool} stored too few evaluations for a rate: raise the candidates")
    return figures


def check_equal_work(tool: str, candidates: int, figures: dict[str, Any]) -> None:
    """Refuse figures from a run that did less than the others: fewer model calls than
    candidates, or no child better than the seed (the replies were not applied)."""
    if figures["model_calls"] < candidates:
        raise SystemExit(
            f"{tool} made {figures['model_calls']} model calls for {candidates} candidates; "
            "its figures would not compare"
        )
    if not figures["best"] or figures["best"] <= score_text(PROGRAM):
        raise SystemExit(f"{tool} never improved on the seed: the scripted edits did not apply")


# -- the three comparisons ----------------------------------------------------------------
def overhead(
    pythons: dict[str, Path], sizes: tuple[int, int], slots: int, repeats: int
) -> dict[str, Any]:
    """ms per candidate at both sizes, sizes interleaved per repeat; medians kept."""
    raw: dict[str, dict[int, list[dict[str, Any]]]] = {t: {s: [] for s in sizes} for t in pythons}
    with ScriptedModelServer(models=responders(0.0)) as server:
        for tool, python in pythons.items():
            run_tool(tool, python, server, 10, slots, 0.0, stamps=False)  # warm the disk cache
        for _ in range(repeats):
            for size in sizes:
                for tool, python in pythons.items():
                    print(f"  overhead: {tool} at {size} candidates ...", flush=True)
                    raw[tool][size].append(
                        run_tool(tool, python, server, size, slots, 0.0, stamps=False)
                    )
    return raw


def pipeline(
    pythons: dict[str, Path],
    candidates: int,
    slots: int,
    latency: float,
    eval_time: float,
    in_flight: int,
) -> dict[str, dict[str, Any]]:
    """Each tool as configured above; evoforge also with `in_flight` model calls at once.

    OpenEvolve and GEPA make a model call only from a worker, so their calls in flight
    are their evaluation slots. evoforge sets the two apart (`proposal_slots`, default
    2); the second evoforge row shows what raising it buys, and is labelled as such.
    """
    runs: list[tuple[str, str, dict[str, Any]]] = [(t, t, {}) for t in pythons]
    if "evoforge" in pythons and in_flight:
        label = f"evoforge, proposal_slots={in_flight}"
        runs.insert(1, (label, "evoforge", {"proposal_slots": in_flight}))
    raw = {}
    with ScriptedModelServer(models=responders(latency)) as server:
        for label, tool, extra in runs:
            print(f"  pipeline: {label}, {candidates} candidates ...", flush=True)
            raw[label] = run_tool(
                tool, pythons[tool], server, candidates, slots, eval_time, True, extra
            )
    return raw


def ms_per_candidate(runs: list[dict[str, Any]]) -> float:
    return statistics.median(r["wall_s"] * 1000 / r["candidates"] for r in runs)


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, so the printout pastes into docs/benchmarks.md as it is."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([f"\n{title}\n", line(header), rule, *(line(r) for r in rows)])


def sandbox_note(label: str) -> str:
    return "process sandbox" if label.startswith("evoforge") else "none"


def versus(ours: float, peers: dict[str, float], lower_is_better: bool) -> str:
    """evoforge's figure over the best peer's, naming that peer."""
    best = (min if lower_is_better else max)(peers, key=lambda name: peers[name])
    return f"{ours / peers[best]:.2f} (vs {best})"


def overhead_table(results: dict[str, Any]) -> str:
    small, large = results["sizes"]
    over = results["overhead"]
    ms = {t: (ms_per_candidate(over[t][small]), ms_per_candidate(over[t][large])) for t in over}
    rows = [
        [t, sandbox_note(t), f"{a:.1f}", f"{b:.1f}", f"{b / a:.2f}",
         str(over[t][large][-1]["model_calls"])]
        for t, (a, b) in ms.items()
    ]  # fmt: skip
    peers = [t for t in ms if t in PEERS]
    if "evoforge" in ms and peers:
        at = {size: {t: ms[t][i] for t in peers} for i, size in enumerate((small, large))}
        ours = ms["evoforge"]
        rows.append(["evoforge / best peer", "", versus(ours[0], at[small], True),
                     versus(ours[1], at[large], True), "", ""])  # fmt: skip
    title = (
        "1. Framework overhead: wall ms per candidate, instant model and evaluator "
        f"({results['slots']} slots, median of {results['repeats']})"
    )
    header = ["tool", "sandbox", f"ms @ {small}", f"ms @ {large}", f"growth {large}/{small}",
              f"model calls @ {large}"]  # fmt: skip
    return table(title, header, rows)


def pipeline_table(results: dict[str, Any]) -> str:
    pipe = results["pipeline"]
    rate = {label: pipe[label]["steady_rate"] for label in pipe}
    rows = [
        [label, sandbox_note(label), f"{rate[label]:.2f}", str(run["evaluations"]),
         str(run["model_calls"]), f"{run['wall_s']:.1f}"]
        for label, run in pipe.items()
    ]  # fmt: skip
    peers = {label: rate[label] for label in pipe if label in PEERS}
    if peers:
        for ours in (label for label in pipe if label.startswith("evoforge")):
            rows.append([f"{ours} / best peer", "", versus(rate[ours], peers, False), "", "", ""])
    title = (
        f"2. Pipeline throughput: model {results['latency']:g} s, evaluator "
        f"{results['eval_time']:g} s, {results['slots']} slots, "
        f"{results['pipeline_candidates']} candidates"
    )
    header = ["tool", "sandbox", "evaluations/s", "evaluations", "model calls", "wall s"]
    return table(title, header, rows)


def memory_table(results: dict[str, Any]) -> str:
    large = results["sizes"][1]
    runs = {t: by_size[large] for t, by_size in results["overhead"].items()}
    tree = {t: statistics.median(r["tree_peak_rss_mb"] for r in rs) for t, rs in runs.items()}
    main = {t: statistics.median(r["main_peak_rss_mb"] for r in rs) for t, rs in runs.items()}
    rows = [[t, sandbox_note(t), f"{tree[t]:.0f}", f"{main[t]:.0f}"] for t in runs]
    peers = [t for t in runs if t in PEERS]
    if "evoforge" in runs and peers:
        rows.append(["evoforge / best peer", "",
                     versus(tree["evoforge"], {t: tree[t] for t in peers}, True),
                     versus(main["evoforge"], {t: main[t] for t in peers}, True)])  # fmt: skip
    header = ["tool", "sandbox", "process tree peak RSS", "main process peak RSS"]
    return table(f"3. Peak memory at {large} candidates (MB)", header, rows)


def report(results: dict[str, Any]) -> str:
    large = results["sizes"][1]
    overhead_runs = results.get("overhead", {})
    settings = ["\nSettings (each tool's defaults otherwise):"]
    for tool, by_size in overhead_runs.items():
        settings.append(f"  {tool}: {json.dumps(by_size[large][-1]['settings'])}")
    for label, run in results.get("pipeline", {}).items():
        if label not in overhead_runs:
            settings.append(f"  {label}: {json.dumps(run['settings'])}")
    tables = []
    if overhead_runs:
        tables += [overhead_table(results), memory_table(results)]
    if "pipeline" in results:
        tables.insert(1, pipeline_table(results))
    return "\n".join([*tables, "\n".join(settings)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=1, help="overhead runs per size")
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--pipeline-candidates", type=int, default=40)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--eval-time", type=float, default=0.5)
    parser.add_argument(
        "--in-flight",
        type=int,
        default=10,
        help="evoforge's proposal_slots for its second pipeline row (0: no second row)",
    )
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset")
    parser.add_argument(
        "--parts", default="overhead,pipeline", help="comparisons to run (overhead includes memory)"
    )
    parser.add_argument("--peers-venv", type=Path, default=ROOT / ".venv-peers")
    parser.add_argument("--out", type=Path, default=HERE / "last-run.json")
    args = parser.parse_args()
    chosen = [t for t in args.tools.split(",") if t]
    unknown = sorted(set(chosen) - set(TOOLS))
    if unknown:
        raise SystemExit(f"unknown tool {unknown[0]!r}: choose from {', '.join(TOOLS)}")
    peers_python = peer_python(args.peers_venv) if set(chosen) & set(PEERS) else None
    pythons = {t: Path(sys.executable) if t == "evoforge" else peers_python for t in chosen}
    started = time.time()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "sizes": [args.small, args.large],
        "repeats": args.repeats,
        "slots": args.slots,
        "latency": args.latency,
        "eval_time": args.eval_time,
        "pipeline_candidates": args.pipeline_candidates,
        "in_flight": args.in_flight,
    }  # fmt: skip
    parts = set(args.parts.split(","))
    if "overhead" in parts:
        results["overhead"] = overhead(pythons, (args.small, args.large), args.slots, args.repeats)
    if "pipeline" in parts:
        results["pipeline"] = pipeline(
            pythons, args.pipeline_candidates, args.slots, args.latency, args.eval_time,
            args.in_flight,
        )  # fmt: skip
    results["elapsed_s"] = time.time() - started
    text = report(results)
    results["report"] = text
    args.out.write_text(json.dumps(results, indent=1))
    print(text)
    print(f"\nraw figures and settings: {args.out}")


if __name__ == "__main__":
    main()
