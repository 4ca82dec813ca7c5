"""A run whose candidate writes Markdown and HTML baits everywhere it can, and a
loopback listener that records any request a bait makes.

Every string the evaluation reports points an image at the listener: its metric
names and values, a `_flagged` metric, the cascade stage it stopped at (and so its
reason), its feedback, stdout, stderr and artifacts. Each bait carries both forms a
page could render, a Markdown image and an HTML `<img>`, and names where it came
from in its path, so a request that does arrive says which element let it through.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from cli_helpers import write_folder_task
from support.ui_server import free_port

from evoforge.api import run_task

BAIT = "![{where}](http://127.0.0.1:{port}/{where}-md.png) <img src=http://127.0.0.1:{port}/{where}-html.png>"
"""One bait: `where` names the field it was put in."""

PLACES = ("stage", "metric", "flag", "value", "feedback", "stdout", "stderr", "artifact")


def bait(where: str, port: int) -> str:
    return BAIT.format(where=where, port=port)


def hostile_task(root: Path, port: int) -> Path:
    """A task folder whose one cascade stage reports baits in every field and stops
    the candidate there (its threshold is out of reach), so the stage name is stored
    with the evaluation, as is a reason that quotes it."""
    evaluate = f"""
        import sys

        from evoforge.result import EvaluationResult

        PORT = {port}
        BAIT = {BAIT!r}


        def bait(where):
            return BAIT.format(where=where, port=PORT)


        def screen(program_path):
            print("stdout " + bait("stdout"))
            print("stderr " + bait("stderr"), file=sys.stderr)
            return EvaluationResult(
                score=0.5,
                metrics={{
                    bait("metric"): 1.0,
                    bait("flag") + "_flagged": 1.0,
                    "shown": bait("value"),
                }},
                feedback="feedback " + bait("feedback"),
                artifacts={{bait("artifact"): bait("artifact")}},
            )


        def evaluate(program_path):
            return 1.0
    """
    return write_folder_task(
        root,
        "hostile",
        {
            "program.py": """
                # EVOLVE-BLOCK-START
                X = 1.0
                # EVOLVE-BLOCK-END
            """,
            "evaluate.py": evaluate,
            "task.toml": f"""
                files = ["program.py"]

                [[stages]]
                name = "{bait("stage", port)}"
                function = "evaluate.py:screen"
                threshold = 100.0
            """,
        },
    )


def hostile_run(root: Path, port: int) -> tuple[str, str]:
    """The store URL and run id of one evaluation of the hostile task, made as a user
    makes a run (process sandbox, real harness)."""
    url = f"sqlite:///{root / 'hostile.db'}"
    task = hostile_task(root, port)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = run_task(task, db=url, max_evaluations=1)
        except BaseException as exc:  # handed to the test's thread below
            outcome["error"] = exc

    # In a thread: a Playwright session, when there is one, owns this thread's loop.
    runner = threading.Thread(target=run)
    runner.start()
    runner.join(timeout=120)
    if "error" in outcome:
        raise outcome["error"]
    assert "result" in outcome, "the hostile run did not end in 120 s"
    return url, outcome["result"].run_id


class Listener:
    """An HTTP server on a loopback port of its own that answers every request with
    an empty 200 and remembers its path: `with Listener() as bait: ... bait.paths`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.paths: list[str] = []
        seen = self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
