"""The Celery app both sides build: the orchestrator to send, a worker to consume.

Both must agree on the broker, the serializer, the task name and the delivery
guarantees, so they build the app from this one function rather than from a
config file each machine could get wrong.

Delivery guarantees (what a lost worker relies on):

* **Late acknowledgement**: a message is acknowledged after its evaluation is stored,
  so a worker that dies mid-evaluation never acknowledges it.
* **Re-delivery**: a worker process killed under the pool rejects its message back to
  the queue at once (`task_reject_on_worker_lost`); a whole worker (or machine) that
  vanishes leaves the message unacknowledged in Redis, and a surviving worker puts
  it back on the queue once `visibility_timeout` has passed since delivery.
* **One message at a time per process** (`worker_prefetch_multiplier=1`), so a busy
  worker does not sit on evaluations an idle one could run.
* **Results that survive a broker restart**: a worker whose result write fails keeps
  retrying (`result_backend_always_retry`), and the evaluation itself is already in
  the SQL store before that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evoforge.protocols import ExecutorUnavailable
from evoforge.task import Resources

if TYPE_CHECKING:
    from celery import Celery

TASK_NAME = "evoforge.evaluate"
BROKER_ENV = "EVOFORGE_BROKER"
CPU_QUEUE = "cpu"
GPU_QUEUE = "gpu"
DEFAULT_VISIBILITY_TIMEOUT_S = 3600.0

SOFT_LIMIT_MARGIN_S = 60.0
"""Time past the sandbox's own deadline before Celery interrupts the task: enough
for a container to start and be removed, so the soft limit only fires when the
platform itself hangs."""
HARD_LIMIT_MARGIN_S = 30.0
"""Time past the soft limit before Celery kills the worker process outright."""

BROKER_HINT = f"pass --broker redis://HOST:6379/0 or set {BROKER_ENV}"


class BrokerConfigError(ExecutorUnavailable):
    """The broker option is missing or unusable; the message names the fix."""


def resolve_broker(broker: str | None, stored: bool = True) -> str:
    """The broker URL from the option, else from the environment.

    A URL with a password must come from the environment when the option is `stored`
    with the run (the orchestrator's), since the store is readable by everyone who
    can read the runs; a worker's is not stored.
    """
    url = broker or os.environ.get(BROKER_ENV, "")
    if not url:
        raise BrokerConfigError(f"the celery executor needs a broker: {BROKER_HINT}")
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        raise BrokerConfigError(f"broker {redact(url)!r} is not a Redis URL: {BROKER_HINT}")
    if stored and broker and _has_password(broker):
        raise BrokerConfigError(
            f"the broker URL holds a password, which would be stored with the run: "
            f"set {BROKER_ENV} instead of passing --broker"
        )
    return url


def _has_password(url: str) -> bool:
    from kombu.utils.url import url_to_parts

    return bool(url_to_parts(url).password)


def redact(url: str) -> str:
    """The URL with any password hidden, safe to print and to store."""
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def queue_for(resources: Resources, override: str | None = None) -> str:
    """The queue an evaluation goes to: the run's or task's own, else by what it needs."""
    if override:
        return override
    if resources.queue:
        return resources.queue
    return GPU_QUEUE if resources.gpus > 0 else CPU_QUEUE


@dataclass(frozen=True)
class TimeLimits:
    soft_s: float
    hard_s: float


def time_limits(resources: Resources) -> TimeLimits:
    """Celery's limits for one evaluation, above the sandbox's wall deadline.

    The sandbox enforces `timeout_s` itself and records a `timeout`; these limits only
    catch a hung platform (a wedged Docker call, a sandbox bug) so a worker slot is
    never lost for good.
    """
    soft = resources.timeout_s + SOFT_LIMIT_MARGIN_S
    return TimeLimits(soft_s=soft, hard_s=soft + HARD_LIMIT_MARGIN_S)


def make_app(
    broker: str,
    visibility_timeout_s: float = DEFAULT_VISIBILITY_TIMEOUT_S,
    backend: str | None = None,
) -> Celery:
    """A Celery app for evoforge evaluations; results go to the broker's Redis unless
    `backend` names another."""
    from celery import Celery

    app = Celery("evoforge", broker=broker, backend=backend or broker, set_as_current=False)
    restore_every = max(1, min(10, int(visibility_timeout_s // 10) or 1))
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        task_default_queue=CPU_QUEUE,
        # Results are read once by the orchestrator and then deleted; the expiry only
        # cleans up after an orchestrator that died before reading them.
        result_expires=24 * 3600,
        result_backend_always_retry=True,
        result_backend_max_retries=float("inf"),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={
            "visibility_timeout": visibility_timeout_s,
            # Look for abandoned messages often enough that a short visibility
            # timeout actually means a fast re-delivery.
            "unacked_restore_interval": restore_every,
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": 5,
        },
        redis_socket_connect_timeout=5,
        redis_backend_health_check_interval=10,
        # A running evaluation finishes and is stored even if the broker drops; its
        # acknowledgement is then lost and the message comes back, which the worker
        # answers from the store without evaluating again.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_pool_limit=10,
    )
    return app
