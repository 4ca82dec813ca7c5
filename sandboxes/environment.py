"""The environment a candidate sees: a short whitelist, never the orchestrator's secrets.

The orchestrator's own environment holds model API keys, database and broker URLs.
A candidate that can read them can leak them into its output (which the proposer's
next prompt may quote) or use them. So the child starts from an empty environment,
gets only what programs need to run, plus the task's own `env`, and then loses
every name that looks like a credential, even one the task set on purpose (a task
that needs a credential should read it from a file it controls).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from functools import lru_cache

from evoforge.task import Resources

# Copied from the parent when present: locating programs, text encoding, time zone,
# and the library paths CUDA toolkits need.
PASSED_THROUGH = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "LD_LIBRARY_PATH",
    "CUDA_HOME",
    "CUDA_PATH",
    "SYSTEMROOT",
)
PASSED_THROUGH_PREFIXES = ("LC_",)

SECRET_NAME = re.compile(
    r"""(
        API_?KEY | (^|_)KEY$ | (^|_)TOKEN($|_) | SECRET | PASSW(OR)?D | PASSPHRASE | CREDENTIAL
        | PRIVATE_KEY | ACCESS_KEY | AUTH | COOKIE | _DSN$ | DATABASE_URL | BROKER_URL
        | REDIS_URL | ^AWS_ | ^AZURE_
    )""",
    re.IGNORECASE | re.VERBOSE,
)

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name suggests it holds a credential (cached:
    the same few dozen names are checked for every evaluation and every outcome)."""
    return SECRET_NAME.search(name) is not None


def child_environment(
    workdir: str,
    resources: Resources,
    job_env: Mapping[str, str],
    gpu_slot: int | None,
    parent: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Build the candidate's environment from the whitelist, the task's env and the limits."""
    parent = os.environ if parent is None else parent
    # Names first, values only of the names kept: built for every evaluation, and
    # reading `os.environ`'s items decodes every value of the orchestrator's environment.
    env = {
        name: parent[name]
        for name in parent
        if name in PASSED_THROUGH or name.startswith(PASSED_THROUGH_PREFIXES)
    }
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    for name in ("HOME", "TMPDIR", "TMP", "TEMP"):
        env[name] = workdir
    threads = str(max(1, math.ceil(resources.cpus)))
    for name in THREAD_VARIABLES:
        env[name] = threads
    env.update({str(k): str(v) for k, v in job_env.items()})
    # The slot is the executor's decision, not the task's: set it after the task's env.
    env["CUDA_VISIBLE_DEVICES"] = "" if gpu_slot is None else str(gpu_slot)
    return {name: value for name, value in env.items() if not is_secret_name(name)}
