"""The secret values evoforge knows, and their removal from what a candidate emits.

The sandbox keeps credentials out of a candidate's environment, but a candidate
has other ways to a key: a `.env` file it finds by walking up from the paths it is
given, a file in a home folder, a key that leaks into a traceback. Whatever it then
prints or reports is stored, shown in the UI and quoted in the next model prompt,
which sends it to the model provider. So every evaluation outcome has the values
evoforge knows replaced by `MARKER` before anything keeps it, on every side that
holds it: the process that ran the sandbox (a Celery worker scrubs with the secrets
of its own machine) and the orchestrator on receipt (with its own).

The values known here:

* environment variables whose names look like credentials (`*_API_KEY`, `*_TOKEN`,
  `*SECRET*`, `*PASSWORD*`, ...: the same rule that strips them from a candidate's
  environment, `evoforge.sandboxes.environment.is_secret_name`);
* the same names in the `.env` files of the working folder, each folder above it
  (where `find_dotenv` looks) and HOME, read whether or not anything loaded them;
* passwords inside any URL in the environment or those files (`redis://:pw@host`,
  `postgresql://user:pw@host/db`), and the URLs evoforge was given on its command
  line or in code (`remember_url`: the store, the broker);
* values registered with `remember` (a model key read from a variable of any name).

Values shorter than `MIN_LENGTH` characters are ignored, so scrubbing never mangles
ordinary text, and values that are an existing absolute path are ignored (a credentials
*file* name is not itself a secret, and removing it would garble every traceback).
Besides the value itself its simple encodings are removed: reversed, hex (either
case), base64 (standard and URL-safe, at any alignment inside a longer encoded
text), percent-quoted and JSON-escaped. A candidate that splits a key into pieces or
encrypts it defeats this: scrubbing is the second line of defence behind a sandbox
that shows a candidate no secret at all.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import stat
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from evoforge.sandboxes.environment import is_secret_name
from evoforge.untrusted import CUT, MAX_NESTING

if TYPE_CHECKING:
    from evoforge.jobs import EvaluationOutcome

log = logging.getLogger(__name__)

MARKER = "[secret removed]"
"""What a secret value (or an encoding of it) is replaced with."""

MIN_LENGTH = 8
"""Shorter values are not treated as secrets: `true`, `1`, `admin` are everywhere."""

ENV_FILE = ".env"
MAX_ENV_FILE_BYTES = 1 << 20

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
"""A URL inside a longer value (`DATABASE_URL=...`, a connection string in a list)."""

_remembered: set[str] = set()
_remembered_files: set[Path] = set()
_lock = threading.Lock()


# -- what is known --------------------------------------------------------------------
def remember(value: str | None) -> None:
    """Treat `value` as a secret from now on in this process (a model key read from
    a variable whose name does not look like one, a password given on a command line)."""
    if value and len(value) >= MIN_LENGTH:
        with _lock:
            _remembered.add(value)


def remember_url(url: str | None) -> None:
    """Treat the password inside `url` (a store or broker URL) as a secret."""
    for value in url_secrets(url or ""):
        remember(value)


def remember_env_file(path: str | Path | None) -> None:
    """Also read this dotenv file for secrets (one loaded under another name than
    `.env`); it is read again whenever it changes."""
    if path:
        with _lock:
            _remembered_files.add(Path(path))


def url_secrets(text: str) -> list[str]:
    """The passwords in the URLs inside `text`: the userinfo password and query
    parameters with credential names (`?password=`, `?sslpassword=`, `?token=`), each
    as written and percent-decoded."""
    found: list[str] = []
    for match in _URL.finditer(text):
        try:
            parts = urlsplit(match.group(0))
            password = parts.password
        except ValueError:  # a malformed port or netloc: nothing to read
            continue
        candidates = [password or ""]
        candidates += [v for k, v in parse_qsl(parts.query) if is_secret_name(k)]
        for value in candidates:
            found.extend(v for v in {value, unquote(value)} if v)
    return found


def secrets_in(variables: Mapping[str, str | None]) -> set[str]:
    """The secret values among `variables`: those with credential names, and the
    passwords inside every URL whatever its variable's name."""
    found: set[str] = set()
    for name, value in variables.items():
        if not value:
            continue
        if is_secret_name(name):
            found.add(value)
        if "://" in value:
            found.update(url_secrets(value))
    return found


def env_files(cwd: Path | None = None, home: Path | None = None) -> list[Path]:
    """The dotenv files whose secrets are known: `.env` in the working folder and
    every folder above it, in HOME, and any remembered one (existing or not)."""
    if cwd is None:
        try:
            cwd = Path(os.getcwd())
        except OSError:  # the working folder was removed
            cwd = None
    if home is None:
        try:
            home = Path.home()
        except RuntimeError:
            home = None
    with _lock:
        extra = tuple(sorted(_remembered_files))
    return list(_env_file_paths(cwd, home, extra))


@lru_cache(maxsize=16)
def _env_file_paths(
    cwd: Path | None, home: Path | None, extra: tuple[Path, ...]
) -> tuple[Path, ...]:
    """Cached by its inputs: asked for every outcome, with the same folders each time."""
    folders = [cwd, *cwd.parents] if cwd is not None else []
    if home is not None:
        folders.append(home)
    return tuple(dict.fromkeys([*(folder / ENV_FILE for folder in folders), *extra]))


def known_secrets(
    environ: Mapping[str, str] | None = None, files: Iterable[Path] | None = None
) -> frozenset[str]:
    """Every secret value this process knows now, long enough to scrub safely."""
    environ = os.environ if environ is None else environ
    parts = [_environ_secrets(_environ_key(environ))]
    parts += [_file_secrets(path) for path in (env_files() if files is None else files)]
    with _lock:
        parts.append(frozenset(_remembered))
    return _worth_scrubbing(frozenset().union(*parts))


def _environ_key(environ: Mapping[str, str]) -> tuple[tuple[Any, Any], ...]:
    """The environment's contents as a cache key. For `os.environ`, its encoded
    mapping: reading it through the `Mapping` interface decodes every name and value,
    and this is asked for every outcome."""
    data = getattr(environ, "_data", None) if environ is os.environ else None
    if isinstance(data, dict):
        return tuple(data.items())
    return tuple(environ.items())


@lru_cache(maxsize=16)
def _environ_secrets(items: tuple[tuple[Any, Any], ...]) -> frozenset[str]:
    """Cached by the environment's contents: checked on every outcome, rarely changed."""
    return frozenset(secrets_in({_text(name): _text(value) for name, value in items}))


def _text(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


@lru_cache(maxsize=16)
def _worth_scrubbing(values: frozenset[str]) -> frozenset[str]:
    """The values long enough to scrub safely that are not an existing absolute path."""
    return frozenset(value for value in values if len(value) >= MIN_LENGTH and not _is_path(value))


def _is_path(value: str) -> bool:
    try:
        return os.path.isabs(value) and os.path.exists(value)
    except (OSError, ValueError):  # NUL bytes, names too long: not a path
        return False


def _file_secrets(path: Path) -> frozenset[str]:
    """The secrets of one dotenv file, parsed again only when the file changes."""
    try:
        status = path.stat()
    except (OSError, ValueError):
        return frozenset()
    if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_ENV_FILE_BYTES:
        return frozenset()  # a FIFO would block the read; no real .env is that large
    return _parsed_file(str(path), status.st_mtime_ns, status.st_size, status.st_ino)


@lru_cache(maxsize=64)
def _parsed_file(path: str, mtime_ns: int, size: int, inode: int) -> frozenset[str]:
    """Keyed by the file's identity and version, so an edited file is read again."""
    from dotenv import dotenv_values

    try:
        # Interpolated (`${OTHER}` expanded), as `load_dotenv` puts values in the
        # environment.
        return frozenset(secrets_in(dotenv_values(path)))
    except (OSError, UnicodeDecodeError, ValueError):
        return frozenset()


# -- scrubbing --------------------------------------------------------------------------
def encodings(value: str) -> set[str]:
    """The forms of `value` a candidate could emit with one standard-library call."""
    raw = value.encode("utf-8", "surrogatepass")
    forms = {value, value[::-1], raw.hex(), raw.hex().upper()}
    forms.add(quote(value, safe=""))
    forms.add(json.dumps(value)[1:-1])
    forms.add(repr(value)[1:-1])
    for offset in range(3):
        core = _base64_core(raw, offset)
        forms.update({core, core.replace("+", "-").replace("/", "_")})
    return {form for form in forms if len(form) >= MIN_LENGTH}


def _base64_core(raw: bytes, offset: int) -> str:
    """The base64 characters that depend on `raw` alone when it starts `offset`
    bytes into the encoded data: whatever surrounds it, an encoding of a longer text
    holding `raw` at that alignment contains these characters."""
    encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode("ascii")
    start_bit, end_bit = 8 * offset, 8 * (offset + len(raw))
    first = -(-start_bit // 6)  # the first character starting inside `raw`
    last = end_bit // 6  # one past the last character ending inside it
    return encoded[first:last]


class Scrubber:
    """Replaces a set of secret values, and their encodings, in text and data."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {form for value in secrets for form in encodings(value)}
        # Longest first, so a value and a longer value holding it both go entirely.
        self.forms = sorted(forms, key=lambda form: (-len(form), form))
        self.pattern = re.compile("|".join(map(re.escape, self.forms))) if self.forms else None

    def text(self, text: str) -> str:
        """`text` with every known secret replaced by `MARKER`."""
        if self.pattern is None or not text:
            return text
        # Substring search is several times faster than the alternation over long
        # output, and almost every text holds no secret at all.
        if not any(form in text for form in self.forms):
            return text
        return self.pattern.sub(MARKER, text)

    def value(self, value: Any, depth: int = 0) -> Any:
        """`value` with secrets replaced in every string, dict keys included; the same
        object where nothing changed. Nesting is already cut at `MAX_NESTING` levels
        (evoforge.untrusted); deeper data is cut here too, so this never recurses
        without bound."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (dict, list, tuple)):
            if depth > MAX_NESTING:
                return CUT
            if isinstance(value, dict):
                items = [
                    (self.value(k, depth + 1), self.value(v, depth + 1)) for k, v in value.items()
                ]
                changed = any(
                    nk is not k or nv is not v
                    for (nk, nv), (k, v) in zip(items, value.items(), strict=True)
                )
                return dict(items) if changed else value
            cleaned = [self.value(item, depth + 1) for item in value]
            if all(new is old for new, old in zip(cleaned, value, strict=True)):
                return value
            return cleaned if isinstance(value, list) else tuple(cleaned)
        return value


@lru_cache(maxsize=8)
def scrubber_for(secrets: frozenset[str]) -> Scrubber:
    """One compiled scrubber per set of secrets (the set rarely changes in a run)."""
    return Scrubber(secrets)


def current_scrubber() -> Scrubber:
    """The scrubber for the secrets this process knows now."""
    return scrubber_for(known_secrets())


def scrub(value: Any) -> Any:
    """`value` (text or JSON-like data) with the secrets known now removed."""
    return current_scrubber().value(value)


def scrub_outcome(outcome: EvaluationOutcome) -> EvaluationOutcome:
    """The outcome with the known secrets removed from every field a candidate can
    write (reason, stdout, stderr, feedback, metrics, artifacts, instance score names,
    stage); the same object where none held a secret."""
    try:
        scrubber = current_scrubber()
        if scrubber.pattern is None:
            return outcome
        changes = {}
        for name, value in outcome:
            cleaned = scrubber.value(value)
            if cleaned is not value:
                changes[name] = cleaned
    except Exception as exc:  # fail closed: keep nothing that could not be checked
        log.exception("the outcome could not be checked for secrets; it is dropped")
        return type(outcome)(
            status="crashed",
            reason=f"the evaluation's output could not be checked for secrets "
            f"({type(exc).__name__}), so none of it was kept",
            duration_s=outcome.duration_s,
            host=outcome.host,
            sandbox=outcome.sandbox,
        )
    return outcome.model_copy(update=changes) if changes else outcome
