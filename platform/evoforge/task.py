"""The task model: everything a plugin or a task folder declares about one problem.

A task is plain data. The `evaluate` callable is named by reference
(`package.module:function` or `/abs/path/evaluate.py:function`) rather than held as
an object, because it runs inside a sandbox process (or on another machine), never
in the orchestrator.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Direction = Literal["maximize", "minimize"]
CandidateArgument = Literal["auto", "path", "text", "components"]


class ArtifactFile(BaseModel):
    """One named text file of the artifact with its seed version."""

    model_config = ConfigDict(frozen=True)

    name: str
    seed: str

    @field_validator("name")
    @classmethod
    def _relative_name(cls, value: str) -> str:
        if not value or value.startswith("/") or ".." in value.split("/"):
            raise ValueError(
                f"artifact file name {value!r} must be a relative path inside the task"
            )
        return value


class Resources(BaseModel):
    """What one evaluation may use; the sandbox enforces these."""

    timeout_s: float = Field(default=60.0, gt=0)
    memory_mb: int = Field(default=2048, gt=0)
    cpus: float = Field(default=1.0, gt=0)
    gpus: int = Field(default=0, ge=0)
    max_processes: int = Field(default=64, gt=0)
    max_file_mb: int = Field(default=256, gt=0)
    disk_mb: int = Field(default=1024, gt=0)
    """The work folder's size: where evoforge is root it is a filesystem of its own,
    so a candidate that fills it cannot fill a disk another evaluation needs."""
    max_files: int = Field(default=100_000, gt=0)
    """Files and folders the work folder may hold (its inodes)."""
    max_open_files: int = Field(default=1024, gt=0)
    image: str | None = None
    network: bool = False
    """Whether the evaluator may reach the network. Off for every task that runs the
    candidate's code; a prompt task whose evaluator calls its task model turns it on
    (the candidate there is text, not code)."""
    queue: str | None = None
    """The Celery queue for this task's evaluations (default `gpu` if it needs a GPU,
    else `cpu`): a task needing special machines names the queue their workers take."""


class Stage(BaseModel):
    """A cascade stage: a cheaper check whose score must reach `threshold` to go on."""

    name: str
    function: str
    threshold: float | None = None
    instances: list[Any] | None = None
    """Instances this stage judges instead of the job's (the Pareto strategy's
    minibatch: a few training instances a child must not regress on)."""


OWN_SPLITS: tuple[str, ...] = ("train", "validation", "test")
"""The task's own instances: what it generates or ships."""
SPLITS: tuple[str, ...] = (*OWN_SPLITS, "public")
"""With `public`: a public benchmark's instances, under that benchmark's rules."""


class Baseline(BaseModel):
    """A human-designed policy shipped with a task, so every run can be read against it.

    `scores` holds its measured score per split (`public`: on the task's public
    protocol, in the public score), as the task's README documents them; the task's
    tests recompute them, so a changed simulator cannot leave a stale figure behind.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    files: dict[str, str]
    note: str = ""
    scores: dict[str, float] = Field(default_factory=dict)


def strongest_baseline(baselines: list[Baseline], direction: Direction) -> Baseline | None:
    """The documented baseline with the best training score (the split a search is scored
    on), or None when none has one. A task's `reference_score` is often its simplest
    baseline (1.0 by construction), so "best 1.69 vs reference 1" reads as a triumph
    when a shipped baseline scores 2.14; runs are shown beside this one too."""
    scored = [b for b in baselines if b.scores.get("train") is not None]
    if not scored:
        return None
    pick = max if direction == "maximize" else min
    return pick(scored, key=lambda b: b.scores["train"])


class Objective(BaseModel):
    """One goal a task offers, chosen per run with `--objective NAME`.

    Some tasks can be judged in more than one way, and which one a machine can run
    differs: a kernel task offers `speedup` (timed on a GPU) and `correctness` (the
    Triton interpreter on the CPU, no timing). Choosing one replaces the task's metric,
    direction, GPU count and timeout, and adds its `env` for the evaluator to read.
    """

    model_config = ConfigDict(frozen=True)

    metric: str
    direction: Direction = "maximize"
    gpus: int = Field(default=0, ge=0)
    timeout_s: float | None = Field(default=None, gt=0)
    env: dict[str, str] = Field(default_factory=dict)
    note: str = ""
    """Shown when a run starts with this objective and kept with the run, e.g. that no
    timing is measured."""


class Task(BaseModel):
    """A problem to evolve solutions for."""

    name: str
    description: str = ""
    objective: str = ""
    background: str = ""
    files: list[ArtifactFile]
    evaluate: str
    candidate_argument: CandidateArgument = "auto"
    """What the evaluator's first parameter receives when its name is not one evoforge
    knows (`evaluate(x)`): the primary file's `path`, the candidate's `text` (a dict
    by component name for several files), `components` (that dict even for one file,
    as GEPA passes a dict seed), or `auto`: the text when the evaluator also takes
    GEPA's `example`, `opt_state` or `**kwargs` (`evaluate(x, example)`), else the
    path (OpenEvolve's `evaluate(program_path)`)."""
    stages: list[Stage] = Field(default_factory=list)
    instances: list[Any] | None = None
    """The training instances: every evaluation during the search judges these."""
    validation_instances: list[Any] | None = None
    """Scored only for candidates the search ranks highly, never shown to the proposer,
    so overfitting to the training instances shows as a gap."""
    test_instances: list[Any] | None = None
    """Held out: scored once, when the run ends, for the candidates it would export."""
    public_protocol: str = ""
    """`package.module:function` returning the instances of the public benchmark this
    task mirrors (plain dicts, each with `"protocol": "public"`), read from the user's
    copy of that data (`evoforge.public_data`) only when a run asks for them. On them
    the evaluator applies the public rules and its score is the public score."""
    public_instances: list[Any] | None = None
    """The public protocol's instances when the run asked to be scored on it (loaded
    from `public_protocol` as the run starts): scored once at the end, like `test`."""
    public_protocols: dict[str, str] = Field(default_factory=dict)
    """Further public protocols by name, loaded like `public_protocol`; a run searches
    on one with `--train-on public:NAME` (spot_scheduling's `multi_region`)."""
    trained_on_public: str | bool = False
    """The public protocol the search itself was judged on (`public` or `public:NAME`,
    from `--train-on`), so training scores, the reference and the baselines' figures are
    that protocol's scores; False for the task's own instances."""
    baselines: list[Baseline] = Field(default_factory=list)
    direction: Direction = "maximize"
    metric: str = "score"
    features: list[str] = Field(default_factory=list)
    score_excludes: list[str] = Field(default_factory=list)
    """Metrics left out when a score is read off a metrics dict as the mean of its
    numbers (OpenEvolve leaves out its MAP-Elites feature dimensions)."""
    resources: Resources = Field(default_factory=Resources)
    reference_score: float | None = None
    reference_note: str = ""
    python_path: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    warm_imports: list[str] = Field(default_factory=list)
    """Modules a warm sandbox server imports once for every evaluation it forks (e.g.
    `numpy`, `torch`, `triton`), beyond the evaluator's own module-level imports.
    Importing must not initialise CUDA: each forked child does that on its own GPU."""
    prompts: dict[str, str] = Field(default_factory=dict)
    """Prompt templates replacing a model proposer's defaults, by template name (the
    LLM proposer's are `system`, `diff`, `full` and `crossover`; docs/proposers.md)."""
    source: str = ""
    objectives: dict[str, Objective] = Field(default_factory=dict)
    """Alternative goals, most wanted first; a run with no `--objective` takes the
    first one this machine can run (see `evoforge.objectives`)."""
    run_defaults: dict[str, Any] = Field(default_factory=dict)
    """Run options the task's folder asks for (an OpenEvolve `config.yaml`): `run` holds
    RunConfig fields, `llm` the llm proposer's options; a run config file and flags
    override them (`evoforge.config.layer_task_defaults`)."""
    settings_ignored: list[str] = Field(default_factory=list)
    """Settings of the folder's config that have no meaning here, so a run can say so."""
    objective_name: str | None = None
    """Which of `objectives` this copy of the task is judged by (set by `with_objective`)."""

    @model_validator(mode="after")
    def _check(self) -> Task:
        if not self.files:
            raise ValueError(f"task {self.name!r} declares no artifact files")
        names = [f.name for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"task {self.name!r} repeats an artifact file name: {names}")
        if ":" not in self.evaluate:
            raise ValueError(
                f"task {self.name!r}: evaluate={self.evaluate!r} must look like "
                "'package.module:function' or '/path/evaluate.py:function'"
            )
        return self

    def with_objective(self, name: str) -> Task:
        """This task judged by one of its objectives: a copy with that metric, direction,
        GPU count, timeout and env."""
        if name not in self.objectives:
            offered = ", ".join(self.objectives) or "none"
            raise ValueError(f"task {self.name!r} has no objective {name!r}; it offers: {offered}")
        chosen = self.objectives[name]
        resources = self.resources.model_copy(
            update={
                "gpus": chosen.gpus,
                "timeout_s": chosen.timeout_s or self.resources.timeout_s,
            }
        )
        return self.model_copy(
            update={
                "metric": chosen.metric,
                "direction": chosen.direction,
                "resources": resources,
                "env": {**self.env, **chosen.env},
                "objective_name": name,
            }
        )

    @property
    def primary(self) -> str:
        """The file OpenEvolve-style evaluators receive as `program_path`."""
        return self.files[0].name

    def split_instances(self, split: str) -> list[Any] | None:
        """The instances of one split (`train` is `instances`)."""
        if split not in SPLITS:
            raise ValueError(f"no split {split!r}; splits are {', '.join(SPLITS)}")
        return {
            "train": self.instances,
            "validation": self.validation_instances,
            "test": self.test_instances,
            "public": self.public_instances,
        }[split]

    def seed_files(self) -> dict[str, str]:
        return {f.name: f.seed for f in self.files}

    def fitness(self, score: float | None) -> float:
        """Direction-adjusted score: larger is always better; no score is worst."""
        if score is None:
            return float("-inf")
        return score if self.direction == "maximize" else -score

    def is_better(self, score: float | None, than: float | None) -> bool:
        return self.fitness(score) > self.fitness(than)


def content_hash(files: dict[str, str]) -> str:
    """Identity of an artifact: identical files never get evaluated twice."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(files[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()
