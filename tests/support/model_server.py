"""An OpenAI-compatible HTTP server on loopback that answers from a script.

No model is reachable from CI, and litellm must not be mocked away, so the tests
(and `benchmarks/pipeline.py`) start this server and point litellm's `api_base` at
it: every request crosses real HTTP through litellm's OpenAI client.

A reply is chosen per request by a *responder*: a callable taking the parsed request
and returning a `Reply` (status, content, delay, headers, usage). `ScriptedModelServer`
takes one responder per model name (with or without litellm's provider prefix,
which litellm strips before sending), falling back to `default`; `Script` is a
responder that plays a fixed list of replies in order and then repeats its last one.
Every request is kept in `requests` so tests can assert on what litellm sent (the
prompt, the model, the Authorization header).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass
class SeenRequest:
    path: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def prompt(self) -> str:
        """All message contents joined, as the model would read them."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


Responder = Callable[[SeenRequest], Reply]


class Script:
    """Replies in order; once exhausted, the last reply repeats."""

    def __init__(self, *replies: Reply | str) -> None:
        self.replies = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        self.index = 0
        self.lock = threading.Lock()

    def __call__(self, request: SeenRequest) -> Reply:
        with self.lock:
            reply = self.replies[min(self.index, len(self.replies) - 1)]
            self.index += 1
            return reply


def _words(text: str) -> int:
    """A stable token count stand-in: the server's `usage` is what litellm prices."""
    return max(1, len(text.split()))


class ScriptedModelServer:
    """`with ScriptedModelServer(default=...) as server:` then use `server.api_base`."""

    def __init__(
        self,
        default: Responder | None = None,
        models: dict[str, Responder] | None = None,
        embed: Callable[[str], list[float]] | None = None,
    ) -> None:
        self.default = default or Script("")
        self.models = dict(models or {})
        self.embed = embed or (lambda text: [float(len(text)), 1.0])
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def chat_requests(self, model: str | None = None) -> list[SeenRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.endswith("/chat/completions") and (model is None or r.model == model)
            ]

    def __enter__(self) -> ScriptedModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- answering -----------------------------------------------------------------
    def _answer(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple:
        model = str(body.get("model", ""))
        seen = SeenRequest(path, model, body, headers)
        with self._lock:
            self.requests.append(seen)
        if path.endswith("/embeddings"):
            inputs = body.get("input", [])
            inputs = inputs if isinstance(inputs, list) else [inputs]
            data = [
                {"object": "embedding", "index": i, "embedding": self.embed(str(text))}
                for i, text in enumerate(inputs)
            ]
            tokens = sum(_words(str(t)) for t in inputs)
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            return 200, {"object": "list", "data": data, "model": model, "usage": usage}, {}, 0.0
        reply = self._responder(model)(seen)
        if reply.status != 200:
            error = {"message": f"scripted HTTP {reply.status}", "type": "scripted"}
            return reply.status, {"error": error}, reply.headers, reply.delay_s
        prompt_tokens = reply.prompt_tokens or _words(seen.prompt)
        completion_tokens = reply.completion_tokens or _words(reply.content)
        payload = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, payload, reply.headers, reply.delay_s

    def _responder(self, model: str) -> Responder:
        """By the name the server sees, which lacks litellm's provider prefix."""
        for name, responder in self.models.items():
            if model in (name, name.split("/", 1)[-1]):
                return responder
        return self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._send(200, {"object": "list", "data": []}, {})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload, headers, delay = server._answer(
                    self.path, body, {k.lower(): v for k, v in self.headers.items()}
                )
                if delay:
                    time.sleep(delay)
                self._send(status, payload, headers)

            def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell it

        return Handler
