"""The harness's side of the result channel: a JSON file written atomically.

`json` is not imported here: it costs every evaluation ~10 ms of imports (`re`,
`enum`), so values are written with the C string encoder `json` itself uses.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # `typing` costs every evaluation milliseconds to import
if TYPE_CHECKING:
    from typing import Any


try:  # the C string encoder `json` itself uses, without `json`'s ~10 ms of imports
    from _json import encode_basestring_ascii as _json_string
except ImportError:  # pragma: no cover - every CPython has it
    from json import dumps as _json_string


def plain(value: Any) -> Any:
    """Reduce a value to JSON's types (non-finite floats become text)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value - value == 0 else repr(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return str(value)


def to_json(value: Any) -> str:
    """JSON text of a `plain` value; the parent reads it with `json.loads`."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(map(to_json, value)) + "]"
    return "{" + ",".join(f"{_json_string(k)}:{to_json(v)}" for k, v in value.items()) + "}"


RESERVE_BYTES = 1 << 20
"""1 MB: room for any ordinary result (the parent keeps at most 1 Mi characters of
artifacts and 64 Ki of feedback). Reserving 4 MB cost a warm evaluation about 1.4 ms
of its 9 (tmpfs zeroes every page). A larger result from a candidate that filled its
folder is recorded as invalid, saying it could not be written."""


def reserve_space(path: str) -> None:
    """Set aside room for the result before the candidate runs.

    The work folder is a capped filesystem of its own: a candidate that fills it
    would otherwise leave no room for its own result, and its evaluation would end
    as an unexplained crash. `write_result` frees the room just before it writes.
    """
    try:
        fd = os.open(f"{path}.reserve", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        return
    try:
        os.posix_fallocate(fd, 0, RESERVE_BYTES)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_result(path: str, payload: dict[str, Any]) -> None:
    """Write atomically: the parent reads either nothing or the whole file."""
    try:
        os.unlink(f"{path}.reserve")
    except OSError:
        pass
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(to_json(plain(payload)))
    except (OSError, TypeError, ValueError, RecursionError) as error:  # e.g. RLIMIT_FSIZE
        why = getattr(error, "strerror", None) or str(error)
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(
                to_json(
                    {
                        "status": "invalid",
                        "reason": f"the result could not be written ({why}); "
                        "are its artifacts larger than the file size limit?",
                        "nonce": payload["nonce"],
                    }
                )
            )
    os.replace(temporary, path)
