"""A tiny OpenAI-compatible server on loopback, for the engine client's fast tests.

It streams a reply word by word (one SSE chunk per word) that depends on the seed, so tests can
tell candidates apart; honours max_tokens and stop strings like vLLM (the stop string is not
part of the text); keeps a set of LoRA adapters like vLLM's runtime endpoints; and records every
request body. `delay_s` slows each word (cancel tests); `fail_with` makes chat requests fail.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BASE_MODEL = "fake-base"


def reply_words(seed: int, count: int = 40) -> list[str]:
    """The words the fake model answers with for `seed` (different seeds, different words)."""
    return [f"w{(seed * 7 + k * 13) % 97}" for k in range(count)]


@dataclass
class FakeEngine:
    delay_s: float = 0.0
    fail_with: int | None = None  # HTTP status for chat requests
    drop_finish_reason: bool = False
    adapters: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    closed_early: list[int] = field(default_factory=list)  # seeds whose client hung up
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeEngine:
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    models = [{"id": BASE_MODEL, "parent": None, "root": BASE_MODEL}]
                    models += [{"id": name, "parent": BASE_MODEL, "root": path} for name, path in engine.adapters.items()]
                    self._json(200, {"object": "list", "data": models})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                engine.requests.append({"path": self.path, **body})
                if self.path == "/v1/load_lora_adapter":
                    if body["lora_name"] in engine.adapters:
                        self._json(400, {"error": {"message": f"The lora adapter '{body['lora_name']}' has already been loaded."}})
                    else:
                        engine.adapters[body["lora_name"]] = body["lora_path"]
                        self._text(200, f"Success: LoRA adapter '{body['lora_name']}' added successfully.")
                elif self.path == "/v1/unload_lora_adapter":
                    if engine.adapters.pop(body["lora_name"], None) is None:
                        self._json(404, {"error": {"message": f"The lora adapter '{body['lora_name']}' cannot be found."}})
                    else:
                        self._text(200, "Success")
                elif self.path == "/v1/chat/completions":
                    self._chat(body)
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def _chat(self, body: dict[str, Any]) -> None:
                if engine.fail_with is not None:
                    self._json(engine.fail_with, {"error": {"message": "the fake engine fails on purpose"}})
                    return
                if body["model"] not in (BASE_MODEL, *engine.adapters):
                    self._json(404, {"error": {"message": f"The model `{body['model']}` does not exist."}})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                words, reason = _completion(body)
                continuing = bool(body.get("continue_final_message"))  # the answer's next word has its space
                try:
                    for k, word in enumerate(words):
                        content = (" " if k or continuing else "") + word
                        choice = {"index": 0, "delta": {"content": content}}
                        if body.get("logprobs"):
                            choice["logprobs"] = _logprobs(content, body.get("top_logprobs") or 0)
                        self._event({"choices": [choice]})
                        time.sleep(engine.delay_s)
                    finish = None if engine.drop_finish_reason else reason
                    self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                    self._event({"choices": [], "usage": {"completion_tokens": len(words)}})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    engine.closed_early.append(body["seed"])
                self.close_connection = True

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                self._text(status, json.dumps(payload), "application/json")

            def _text(self, status: int, text: str, kind: str = "text/plain") -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-engine", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def chats(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/v1/chat/completions"]


def _completion(body: dict[str, Any]) -> tuple[list[str], str]:
    """The words to stream and the finish reason, as vLLM would decide them."""
    words = reply_words(int(body["seed"]))
    text = " ".join(words)
    for stop in body.get("stop") or ():
        if stop in text:
            return text[: text.index(stop)].split(), "stop"
    if len(words) > body["max_tokens"]:
        return words[: body["max_tokens"]], "length"
    return words, "stop"


# A word's log-probability and its top alternatives, as vLLM lists them: the sampled token
# first, then the others by rank (so not sorted when the sampled one is not the likeliest).
WORD_LOGPROB = -0.7
LOGPROBS = [("<sampled>", WORD_LOGPROB), ("top", -0.2), ("third", -2.0), ("fourth", -3.0), ("fifth", -4.0)]


def _logprobs(content: str, top: int) -> dict[str, Any]:
    alternatives = [{"token": content if name == "<sampled>" else name, "logprob": logprob} for name, logprob in LOGPROBS]
    return {"content": [{"token": content, "logprob": WORD_LOGPROB, "top_logprobs": alternatives[:top]}]}
