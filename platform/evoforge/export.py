"""Export a run's best artifacts as files, with metrics and lineage as JSON.

Layout (the UI's download uses the same one)::

    OUT/
      rank-01-<candidate>/<artifact files>
      rank-02-<candidate>/...
      metadata.json   run summary + one entry per exported candidate
      lineage.json    every candidate of the run (nodes) and its edges
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evoforge.proposals import CandidateView
from evoforge.store.database import Database
from evoforge.store.repository import Repository


class ExportError(RuntimeError):
    """Nothing to export, or the output folder cannot be written."""


def _safe_path(root: Path, name: str) -> Path:
    target = (root / name).resolve()
    if root.resolve() not in target.parents:
        raise ExportError(f"artifact file name {name!r} escapes the export folder")
    return target


def flags(metrics: dict[str, Any]) -> list[str]:
    """The metrics an evaluator set to mark a result for a human to check (a name ending
    in `_flagged`, e.g. the kernel evaluator's `speedup_flagged` above 10x)."""
    return sorted(name for name, value in metrics.items() if name.endswith("_flagged") and value)


def export_run(
    database: Database, run_id: str, out: Path, top_k: int = 1, select_on: str | None = None
) -> dict[str, Any]:
    """Write the run's `top_k` best valid candidates into `out`; returns metadata.json.

    `select_on` (default: the run's own setting) `validation` puts the candidate with
    the best validation score first, the one that generalises, ahead of the best on
    training; the rest follow by training score.
    """
    repo = Repository(database)
    if select_on is None:
        select_on = repo.get_run(run_id).config_json.get("select_on", "train")
    if select_on not in ("train", "validation"):
        raise ExportError(f"select_on {select_on!r}: choose train or validation")
    best = repo.top_candidates(run_id, top_k)
    if select_on == "validation":
        chosen = repo.best_on_validation(run_id)
        if chosen is None:
            raise ExportError(
                f"run {run_id} has no validation scores to select on; the task has no "
                "validation split or the run did not finish: export with --select-on train"
            )
        best = [chosen, *[c for c in best if c.id != chosen.id]][:top_k]
    if not best:
        raise ExportError(f"run {run_id} has no successfully evaluated candidate to export")
    return _write(database, run_id, best, out)


def export_candidates(
    database: Database, run_id: str, candidate_ids: Sequence[str], out: Path
) -> dict[str, Any]:
    """Write the chosen candidates of a run, ranked in the order given (the UI's
    "selected artifacts"); failed candidates export too, with their null score."""
    if not candidate_ids:
        raise ExportError("choose at least one candidate to export")
    repo = Repository(database)
    graph = repo.lineage(run_id)
    members = {node["id"] for node in graph["nodes"]}
    strangers = [candidate_id for candidate_id in candidate_ids if candidate_id not in members]
    if strangers:
        raise ExportError(f"candidate {strangers[0]} is not part of run {run_id}")
    chosen = [repo.candidate_view(candidate_id) for candidate_id in candidate_ids]
    return _write(database, run_id, chosen, out, graph)


def export_zip(
    database: Database, run_id: str, candidate_ids: Sequence[str] | None = None, top_k: int = 1
) -> bytes:
    """The export as a zip archive in memory, laid out exactly as the folder export
    (the UI offers it as a download): the chosen candidates, else the `top_k` best."""
    with tempfile.TemporaryDirectory(prefix="evoforge-export-") as folder:
        root = Path(folder)
        if candidate_ids:
            export_candidates(database, run_id, candidate_ids, root)
        else:
            export_run(database, run_id, root, top_k)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root).as_posix())
        return buffer.getvalue()


def _write(
    database: Database,
    run_id: str,
    candidates: Sequence[CandidateView],
    out: Path,
    graph: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the folders and both JSON files; `graph` is the run's lineage when the
    caller has already read it."""
    repo = Repository(database)
    summary = repo.run_summary(run_id)
    split_scores = repo.split_scores(run_id)
    out.mkdir(parents=True, exist_ok=True)
    exported = []
    for rank, candidate in enumerate(candidates, start=1):
        folder = out / f"rank-{rank:02d}-{candidate.id}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in candidate.files.items():
            path = _safe_path(folder, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        exported.append(
            {
                "rank": rank,
                "candidate_id": candidate.id,
                "folder": folder.name,
                "files": sorted(candidate.files),
                "score": candidate.score,
                "split_scores": {
                    split: found["score"]
                    for split, found in split_scores.get(candidate.id, {}).items()
                },
                "metrics": candidate.metrics,
                "flags": flags(candidate.metrics),
                "generation": candidate.generation,
                "island": candidate.island,
                "parent_id": candidate.parent_id,
                "ancestry": repo.ancestry(candidate.id),
            }
        )
    metadata = {
        "run": summary,
        "generalization": repo.generalization(run_id),
        "candidates": exported,
    }
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str))
    lineage = graph if graph is not None else repo.lineage(run_id)
    (out / "lineage.json").write_text(json.dumps(lineage, indent=2, default=str))
    return metadata
