"""The prompts the LLM proposer sends, from templates a task may override.

Templates are plain text with `$name` placeholders (`string.Template`), so braces
in code or JSON need no escaping. The defaults live in `templates/`; a task replaces
any of them through `Task.prompts` (a task folder's `[prompts]` table or
`prompts/<name>.txt` files). A template naming an unknown placeholder is refused when
the run is created, with the list of known ones.

Every placeholder renders its own heading, or nothing when it has nothing to say (no
inspirations yet, no failures), so a template needs no conditionals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from string import Template

from evoforge.evolve_blocks import EvolveBlockError, regions
from evoforge.proposals import CandidateView, ProposalRequest
from evoforge.task import Task

TEMPLATE_NAMES: tuple[str, ...] = ("system", "diff", "full", "crossover")
PLACEHOLDERS: dict[str, str] = {
    "objective": "the task's objective (or its description)",
    "background": "the task's background text",
    "metric": "the name of the score",
    "direction": "'higher is better' or 'lower is better'",
    "files": "every file of the parent, each under a ### heading in a code fence",
    "first_file": "the name of the artifact's first file",
    "file_names": "the artifact's file names, comma separated",
    "parent_evaluation": "the parent's score, status and metrics",
    "feedback": "the evaluator's feedback on the parent: text, reason, stderr tail, artifacts",
    "inspirations": "other good versions with their scores (evolve blocks only)",
    "failures": "recent failed evaluations and rejected proposals with their reasons",
    "other_files": "crossover: the second parent's files",
    "other_evaluation": "crossover: the second parent's score and metrics",
}

_LANGUAGES = {
    ".py": "python", ".pyi": "python", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp",
    ".cu": "cuda", ".rs": "rust", ".go": "go", ".js": "javascript", ".ts": "typescript",
    ".java": "java", ".sh": "bash", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
    ".toml": "toml", ".md": "markdown", ".txt": "text", ".sql": "sql",
}  # fmt: skip


# Where a value goes in a rendered template: NUL never occurs in a template's text.
_SLOT = re.compile("\x00(\\w+)\x00")


class PromptTemplateError(ValueError):
    """A task's prompt template is unusable; the message names the template and the fix."""


def default_template(name: str) -> str:
    return resources.files(__package__).joinpath("templates", f"{name}.txt").read_text()


def load_templates(task: Task) -> dict[str, Template]:
    """The defaults with the task's overrides, each checked for unknown placeholders."""
    unknown_names = sorted(set(task.prompts) - set(TEMPLATE_NAMES))
    if unknown_names:
        raise PromptTemplateError(
            f"task {task.name!r} overrides prompt template(s) {unknown_names}; "
            f"the llm proposer's templates are {', '.join(TEMPLATE_NAMES)}"
        )
    templates: dict[str, Template] = {}
    for name in TEMPLATE_NAMES:
        template = Template(task.prompts.get(name) or default_template(name))
        if not template.is_valid():
            raise PromptTemplateError(
                f"prompt template {name!r} of task {task.name!r} has a stray '$'; "
                "write $$ for a literal dollar sign"
            )
        unknown = sorted(set(template.get_identifiers()) - set(PLACEHOLDERS))
        if unknown:
            raise PromptTemplateError(
                f"prompt template {name!r} of task {task.name!r} uses unknown "
                f"placeholder(s) {', '.join('$' + u for u in unknown)}; known: "
                + ", ".join("$" + p for p in PLACEHOLDERS)
            )
        templates[name] = template
    return templates


def fenced(name: str, text: str) -> str:
    """One file under a heading, in a fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    language = _LANGUAGES.get(suffix.lower(), "")
    body = text if text.endswith("\n") else text + "\n"
    return f"### {name}\n{fence}{language}\n{body}{fence}"


def tail(text: str, limit: int) -> str:
    """The end of a long text (where tracebacks and summaries are), marked as cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return "[...]\n" + text[-limit:]


def evolvable_text(name: str, text: str) -> str:
    """Only the evolve blocks of a file (all of it without markers): cheap context."""
    try:
        found = regions(text, name)
    except EvolveBlockError:
        return text
    return "\n...\n".join(region.body(text).strip("\n") for region in found)


def _score(view: CandidateView) -> str:
    return "none" if view.score is None else f"{view.score:.6g}"


def _metrics_line(view: CandidateView) -> str:
    shown = [
        f"{key}={value:.6g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in sorted(view.metrics.items())
        if isinstance(value, (int, float, str, bool)) and len(str(value)) < 80
    ]
    return ", ".join(shown[:20])


@dataclass
class PromptContext:
    """What a prompt is built from: the request plus the proposer's size limits."""

    request: ProposalRequest
    mate: CandidateView | None
    inspirations: int
    failures: int
    feedback_chars: int
    artifact_chars: int = 20 * 1024

    def values(self) -> dict[str, str]:
        task = self.request.task
        parent = self.request.parent
        values = {
            "objective": task.objective or task.description or f"Improve {task.metric}.",
            "background": task.background,
            "metric": task.metric,
            "direction": "higher is better" if task.direction == "maximize" else "lower is better",
            "files": self._files(parent),
            "first_file": task.primary,
            "file_names": ", ".join(sorted(parent.files)),
            "parent_evaluation": self._evaluation("Its evaluation", parent),
            "feedback": self._feedback(parent),
            "inspirations": self._inspirations(),
            "failures": self._failures(),
            "other_files": self._files(self.mate) if self.mate else "",
            "other_evaluation": self._evaluation("Its evaluation", self.mate) if self.mate else "",
        }
        return values

    @staticmethod
    def _files(view: CandidateView) -> str:
        return "\n\n".join(fenced(name, view.files[name]) for name in sorted(view.files))

    def _evaluation(self, title: str, view: CandidateView) -> str:
        metric = self.request.task.metric
        lines = [f"# {title}", f"status: {view.status}, {metric}: {_score(view)}"]
        metrics = _metrics_line(view)
        if metrics:
            lines.append(f"metrics: {metrics}")
        return "\n".join(lines)

    def _feedback(self, view: CandidateView) -> str:
        parts = []
        if view.reason:
            parts.append(f"reason: {tail(view.reason, self.feedback_chars)}")
        if view.feedback.strip():
            parts.append(tail(view.feedback, self.feedback_chars))
        if view.log_tail.strip():
            parts.append("stderr (end):\n" + tail(view.log_tail, self.feedback_chars))
        artifacts = self._artifacts(view)
        if artifacts:
            parts.append(artifacts)
        if not parts:
            return ""
        return "# Evaluator feedback\n" + "\n\n".join(parts)

    def _artifacts(self, view: CandidateView) -> str:
        """What the evaluator attached, each under its name, cut to `artifact_chars` in
        all (the end of each kept: that is where tracebacks and summaries are)."""
        if not view.artifacts or self.artifact_chars <= 0:
            return ""
        share = max(200, self.artifact_chars // len(view.artifacts))
        sections = []
        for name in sorted(view.artifacts)[: max(1, self.artifact_chars // 200)]:
            value = view.artifacts[name]
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            sections.append(f"## {name}\n{tail(text, share)}")
        return "Artifacts:\n" + "\n".join(sections)

    def _inspirations(self) -> str:
        chosen = [
            c
            for c in self.request.inspirations
            if c.id != self.request.parent.id and (self.mate is None or c.id != self.mate.id)
        ][: self.inspirations]
        if not chosen:
            return ""
        blocks = ["# Other versions for inspiration (evolve blocks only)"]
        for view in chosen:
            blocks.append(f"## Version {view.id}: score {_score(view)}")
            metrics = _metrics_line(view)
            if metrics:
                blocks.append(f"metrics: {metrics}")
            for name in sorted(view.files):
                blocks.append(fenced(name, evolvable_text(name, view.files[name])))
        return "\n".join(blocks)

    def _failures(self) -> str:
        lines: list[str] = []
        for view in self.request.recent_failures[: self.failures]:
            why = view.reason or (view.feedback.strip().splitlines() or [""])[-1]
            lines.append(f"- a {view.kind} evaluated as {view.status}: {tail(why, 500)}")
        for attempt in self.request.recent_rejections[: self.failures]:
            what = attempt.kind or "proposal"
            lines.append(f"- a {what} answer was rejected: {tail(attempt.reason, 500)}")
        if not lines:
            return ""
        return "# Recent failed attempts (do not repeat them)\n" + "\n".join(lines)


def render(template: Template, context: PromptContext) -> str:
    """The prompt: the template's own blank lines tidied, every value kept byte for byte.

    A placeholder with nothing to say leaves a run of blank lines in the template, so
    runs are squeezed, but only in the template's text: the values (the files above
    all) go in afterwards, untouched, because a model asked to copy lines exactly must
    be shown them exactly. Squeezing the whole prompt once made careful rewrites of
    any file with a blank-line run look like edits outside the evolve blocks.
    """
    values = context.values()
    slots = {name: f"\x00{name}\x00" if value else "" for name, value in values.items()}
    skeleton = template.substitute(slots)
    skeleton = re.sub(r"\n{3,}", "\n\n", skeleton).strip() + "\n"
    return _SLOT.sub(lambda found: values[found.group(1)], skeleton)
