"""The candidate's side of `evoforge.candidate_process`: load a program, serve its calls.

Started by `CandidateProcess` as ``python -I -S candidate_child.py READ_FD WRITE_FD``,
never imported by the platform. Everything here runs in a process that holds
candidate code, so nothing in it is trusted by the scorer: a candidate may patch it,
write to the pipes itself or never answer. It exists so an honest program works
without ceremony, not to enforce anything; the scorer checks every reply and enforces
every limit from its own process.

The protocol, over two pipes (stdin is /dev/null, stdout and stderr are the
evaluation's, so the candidate's prints reach the user as before):

* scorer -> child: ``[4-byte little-endian length][marshal]``. The first message is
  the setup (folder, sys.path, package folders, program, adapter); then each message
  is ``(function name, args tuple, kwargs dict)``. marshal, because the scorer is
  trusted and it is the fastest codec CPython has.
* child -> scorer: ``[1-byte kind][4-byte length][ASCII JSON]``. JSON, because the
  scorer parses it with the C scanner, which builds only plain values whatever the
  bytes say (marshal can build code objects and is not hardened against hostile
  input). Kinds: ``L`` loaded (the program's callable names), ``R`` a call's result,
  ``E`` the candidate raised (type, message, traceback), ``N`` the result is not
  plain data (why).

Standard library only, and little of it: it starts once per evaluator call, so every
import is paid by every candidate.
"""

from __future__ import annotations

import marshal
import os
import sys
from importlib.machinery import ModuleSpec, SourceFileLoader

TYPE_CHECKING = False  # `typing` costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

ADAPTER_PACKAGE = "_evoforge_adapter"
TEXT_LIMIT = 2000
TRACEBACK_LIMIT = 8000


class _PackageFinder:
    """Finds evoforge's top-level packages where the scorer found them (as the harness does)."""

    def __init__(self, packages: dict[str, str]) -> None:
        self.packages = packages

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        folder = self.packages.get(fullname)
        if folder is None:
            return None
        return _file_spec(fullname, os.path.join(folder, "__init__.py"), folder)


def _file_spec(name: str, path: str, package_folder: str | None = None) -> ModuleSpec:
    spec = ModuleSpec(
        name, SourceFileLoader(name, path), origin=path, is_package=bool(package_folder)
    )
    spec.has_location = True
    if package_folder:
        spec.submodule_search_locations = [package_folder]
    return spec


def _load_file(name: str, path: str) -> Any:
    """Import a source file under `name` (`importlib.util`, without importing it)."""
    spec = _file_spec(name, path)
    module = type(sys)(name)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = path
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _load_adapter(path: str) -> Any:
    """The adapter as a module of a private package made of its folder, so its relative
    imports (`from .oracle import Oracle`) work without running the task package's
    `__init__` (which imports pluggy, tens of milliseconds)."""
    folder = os.path.dirname(path)
    package = type(sys)(ADAPTER_PACKAGE)
    package.__path__ = [folder]
    package.__spec__ = ModuleSpec(ADAPTER_PACKAGE, None, is_package=True)
    package.__spec__.submodule_search_locations = [folder]
    sys.modules[ADAPTER_PACKAGE] = package
    stem = os.path.splitext(os.path.basename(path))[0]
    name = f"{ADAPTER_PACKAGE}.{stem}"
    spec = _file_spec(name, path)
    module = type(sys)(name)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = path
    module.__package__ = ADAPTER_PACKAGE
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class _Channel:
    """Length-prefixed frames over the two pipes."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.reader = open(read_fd, "rb", buffering=1 << 16, closefd=False)  # noqa: SIM115
        self.write_fd = write_fd

    def receive(self) -> Any:
        header = self.reader.read(4)
        if len(header) < 4:
            return None  # the scorer closed the pipe: nothing more to do
        size = int.from_bytes(header, "little")
        return marshal.loads(self.reader.read(size))

    def send(self, kind: bytes, body: bytes) -> None:
        data = memoryview(kind + len(body).to_bytes(4, "little") + body)
        while data:
            data = data[os.write(self.write_fd, data) :]


def _plain(value: Any) -> Any:
    """The JSON encoder's fallback: numpy arrays and scalars become lists and numbers."""
    tolist = getattr(type(value), "tolist", None)
    if tolist is not None:
        return tolist(value)
    raise TypeError(f"{type(value).__name__} is not plain data")


def _json_encoder() -> Any:
    """value -> JSON text (ASCII, compact, NaN allowed: the scorer refuses it by name).

    The C encoder `json` itself uses, made directly: importing `json` costs a fresh
    interpreter about 20 ms (`re`, `enum`), paid by every evaluator call. A new one per
    value, as `json` does, so a failed encoding leaves no stale circularity markers.
    """
    try:
        from _json import encode_basestring_ascii, make_encoder

        make_encoder({}, _plain, encode_basestring_ascii, None, ":", ",", False, False, True)
    except (ImportError, TypeError):  # another Python: the module itself
        import json

        return json.JSONEncoder(default=_plain, separators=(",", ":")).encode

    def encode(value: Any) -> str:
        encoder = make_encoder(
            {}, _plain, encode_basestring_ascii, None, ":", ",", False, False, True
        )
        if isinstance(value, str):
            return encode_basestring_ascii(value)
        return "".join(encoder(value, 0))

    return encode


def _text(value: Any, limit: int) -> str:
    try:
        text = str(value)
    except BaseException:  # a hostile __str__
        text = "<unprintable>"
    return text[:limit]


def _error(error: BaseException) -> list[str]:
    """(type, message, traceback) of an exception, each capped; the traceback starts
    below this module's own frame, at the code the task or the candidate wrote."""
    try:
        import traceback

        trace = error.__traceback__
        while trace is not None and trace.tb_next is not None:
            if trace.tb_frame.f_code.co_filename != __file__:
                break
            trace = trace.tb_next
        formatted = "".join(traceback.format_exception(type(error), error, trace))
    except BaseException:
        formatted = ""
    return [
        _text(type(error).__name__, 200),
        _text(error, TEXT_LIMIT),
        formatted[-TRACEBACK_LIMIT:],
    ]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - no contextlib: every import here is paid per candidate
            stream.flush()
        except BaseException:  # a candidate may have closed or replaced it
            pass


def main(argv: list[str]) -> int:
    read_fd, write_fd = int(argv[1]), int(argv[2])
    # Before any candidate code: keep only stdio and the two pipes.
    low, high = sorted((read_fd, write_fd))
    os.closerange(3, low)
    os.closerange(low + 1, high)
    os.closerange(high + 1, 1 << 16)
    channel = _Channel(read_fd, write_fd)
    setup = channel.receive()
    if setup is None:
        return 0
    os.chdir(setup["cwd"])
    sys.path[:] = list(setup["sys_path"])
    sys.meta_path.insert(0, _PackageFinder(dict(setup["packages"])))
    import builtins

    def _exit(code: Any = None) -> None:
        raise SystemExit(code)

    builtins.exit = builtins.quit = _exit  # type: ignore[assignment]  # as `site` would
    try:  # noqa: SIM105
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        pass
    encode = _json_encoder()
    try:
        adapter = _load_adapter(setup["adapter"]) if setup.get("adapter") else None
        program = _load_file(setup["module"], setup["program"])
    except BaseException as error:
        _flush()
        channel.send(b"E", encode(_error(error)).encode("ascii"))
        return 0
    names = sorted(
        name
        for name, value in list(vars(program).items())
        if not name.startswith("__") and callable(value)
    )
    _flush()
    channel.send(b"L", encode(names).encode("ascii"))
    while True:
        request = channel.receive()
        if request is None:
            return 0
        name, args, kwargs = request
        try:
            if adapter is not None:
                result = getattr(adapter, name)(program, *args, **kwargs)
            else:
                result = getattr(program, name)(*args, **kwargs)
        except BaseException as error:
            _flush()
            channel.send(b"E", encode(_error(error)).encode("ascii"))
            continue
        try:
            body = encode(result).encode("ascii")
        except BaseException as error:
            _flush()
            channel.send(b"N", encode(_text(error, TEXT_LIMIT)).encode("ascii"))
            continue
        _flush()
        channel.send(b"R", body)


if __name__ == "__main__":
    try:
        code = main(sys.argv)
    except BaseException:
        code = 1
    _flush()
    # Skip interpreter shutdown: a thread the candidate left running must not keep
    # this process alive.
    os._exit(code)
