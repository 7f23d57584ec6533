"""`hybrid-eval-serve CHECKPOINT` (= `python -m hybrid_eval.harness.serve`): an OpenAI-compatible chat-completions
server for a local checkpoint, decoded by this project's own decoder (docs/endpoints.md).

    hybrid-eval-serve outputs/quick/.../checkpoint --port 8000 [--name probe] [--device cpu]
    hybrid-eval ~experiment model=endpoint model.base_url=http://127.0.0.1:8000/v1 model.name=probe

It serves any checkpoint `model=pretrained` loads (a probe, including all-linear ones that transformers'
`generate()` cannot decode, or a small pretrained model), so the endpoint path can be checked against the
in-process one on the same weights, and a probe can be shared over HTTP. Standard library HTTP (no extra
dependency), one model, one request decoded at a time; generation stops at the end-of-sequence token (`stop`
strings are not applied) (requests queue on a lock; the client's concurrency still
overlaps network and rendering).

    POST /v1/chat/completions   messages, max_tokens (default 16), temperature (0: greedy), seed, tools, stop
                                ignored; prompts rendered with the checkpoint's chat template; `tools` given and a
                                reply that parses as `call NAME(...)` of one of them -> `tool_calls`
    POST /v1/completions        prompt (one string, tokenized as it is), max_tokens, temperature, seed (lm-eval's
                                `local-completions` on exported harness tasks)
    GET  /v1/models             the served name

Errors are OpenAI-shaped JSON: 400 for a bad body, a chat template that fails, or a prompt + max_tokens longer
than `--max-model-len` (default: the config's max_position_embeddings); 401 without the key `--api-key-env`
names; 404 for another model name. For testing clients: `--fail-first K [--fail-status 500|429|503]` answers
the first K requests with that status; `--malformed-first K` answers them with HTTP 200 and no choices;
`--stop-after N` exits (as a killed server would) after answering N.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from omegaconf import OmegaConf

from hybrid_eval.harness.decode.conversation import Conversation
from hybrid_eval.harness.evaluate.openai_tools import from_openai
from hybrid_eval.models import load_pretrained
from hybrid_eval.models.tokenizer import chat_ids
from hybrid_eval.tasks.multi_turn.tool_call import ParseError, parse_call

ROLES = ("system", "user", "assistant", "tool")


class BadRequest(ValueError):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.kind = status, kind


class ChatModel:
    """The checkpoint and how a chat request is answered (thread-safe: one generation at a time)."""

    def __init__(self, path: str, name: str, device: str = "cpu", max_model_len: int | None = None,
                 dtype: str = "auto"):
        cfg = OmegaConf.create({"family": "pretrained", "path": path, "dtype": dtype, "trust_remote_code": False})
        self.model, self.tokenizer, self.info = load_pretrained(cfg)
        self.model.to(device).eval()
        self.name = name
        self.max_model_len = max_model_len or getattr(self.model.config, "max_position_embeddings", None)
        self.stop = {self.tokenizer.eos_token_id}
        self._lock = threading.Lock()

    def _sampling(self, body) -> tuple[int, float, int | None]:
        """(max_tokens, temperature, seed) of a request body, checked."""
        if not isinstance(body, dict):
            raise BadRequest(400, "the body must be a JSON object")
        if body.get("model", self.name) != self.name:
            raise BadRequest(404, f"model {body.get('model')!r} is not served here; served: {self.name!r}",
                             "not_found_error")
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens", 16))
        temperature = body.get("temperature", 1.0)
        seed = body.get("seed")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
            raise BadRequest(400, f"max_tokens={max_tokens!r}; accepted: an integer >= 0")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature < 0:
            raise BadRequest(400, f"temperature={temperature!r}; accepted: a number >= 0")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise BadRequest(400, f"seed={seed!r}; accepted: an integer")
        return max_tokens, float(temperature), seed

    def _generate(self, ids: list[int], max_tokens: int, temperature: float, seed: int | None) -> tuple[list[int], str]:
        if self.max_model_len is not None and len(ids) + max_tokens > self.max_model_len:
            raise BadRequest(400, f"context too long: {len(ids)} prompt tokens + max_tokens {max_tokens} > "
                                  f"max model length {self.max_model_len}")
        generator = torch.Generator().manual_seed(seed if seed is not None else int(time.time_ns() % 2 ** 31))
        with self._lock, torch.no_grad():
            conv = Conversation(self.model, decode="plain")
            conv.extend_to(ids)
            out = conv.generate(max_new_tokens=max_tokens, stop_ids=self.stop, temperature=temperature,
                                generator=generator)
        return out, self.tokenizer.decode(out, skip_special_tokens=True).strip()

    def complete(self, body) -> dict:
        """/v1/completions: the prompt text as it is (no template, no special tokens added)."""
        max_tokens, temperature, seed = self._sampling(body)
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1:
            prompt = prompt[0]
        if not isinstance(prompt, str) or not prompt:
            raise BadRequest(400, "prompt must be one non-empty string (one prompt per request)")
        ids = self.tokenizer.encode(prompt, add_special_tokens=False)
        out, text = self._generate(ids, max_tokens, temperature, seed)
        return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
                "model": self.name, "choices": [{"index": 0, "text": text, "logprobs": None,
                                                 "finish_reason": "length" if len(out) >= max_tokens else "stop"}],
                "usage": {"prompt_tokens": len(ids), "completion_tokens": len(out),
                          "total_tokens": len(ids) + len(out)}}

    def answer(self, body) -> dict:
        """/v1/chat/completions."""
        max_tokens, temperature, seed = self._sampling(body)
        messages = body.get("messages")
        if (not isinstance(messages, list) or not messages
                or not all(isinstance(m, dict) and m.get("role") in ROLES for m in messages)):
            raise BadRequest(400, f"messages must be a non-empty list of {{role, content}} with role in {ROLES}")
        tools = body.get("tools") or []
        tool_names = {t.get("function", {}).get("name") for t in tools if isinstance(t, dict)}
        history = from_openai(messages)
        if not all(isinstance(m["content"], str) for m in history):
            raise BadRequest(400, "every message content must be a string")
        try:
            ids = chat_ids(self.tokenizer, history, add_generation_prompt=True)
        except Exception as e:  # a template that raises on this conversation: the client's error, not the server's
            raise BadRequest(400, f"chat template failed: {' '.join(str(e).split())[:160]}") from None
        out, text = self._generate(ids, max_tokens, temperature, seed)
        message, finish = {"role": "assistant", "content": text}, ("length" if len(out) >= max_tokens else "stop")
        if tool_names:
            try:
                call = parse_call(text)
            except ParseError:
                call = None
            if call is not None and call.name in tool_names:
                message = {"role": "assistant", "content": None, "tool_calls": [{
                    "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.args)}}]}
                finish = "tool_calls"
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": self.name, "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": len(ids), "completion_tokens": len(out),
                          "total_tokens": len(ids) + len(out)}}


def make_server(chat: ChatModel, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                fail_first: int = 0, fail_status: int = 500, stop_after: int | None = None,
                malformed_first: int = 0, quiet: bool = True) -> ThreadingHTTPServer:
    state = {"failures_left": int(fail_first), "malformed_left": int(malformed_first), "requests": 0, "answered": 0}
    lock = threading.Lock()

    class OpenAIRoutes(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str) -> None:
            self._send(status, {"error": {"message": message, "type": kind, "code": status}})

        def _authorized(self) -> bool:
            if api_key is None:
                return True
            if self.headers.get("Authorization", "") == f"Bearer {api_key}":
                return True
            self._error(401, "missing or wrong API key", "authentication_error")
            return False

        def do_GET(self):  # noqa: N802 (http.server's name)
            if not self._authorized():
                return
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [{"id": chat.name, "object": "model", "owned_by": "hybrid-eval"}]})
            elif self.path.rstrip("/") in ("/health", ""):
                self._send(200, {"status": "ok"})
            else:
                self._error(404, f"no route {self.path}", "not_found_error")

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with lock:
                state["requests"] += 1
                fail = state["failures_left"] > 0
                if fail:
                    state["failures_left"] -= 1
                malformed = not fail and state["malformed_left"] > 0
                if malformed:
                    state["malformed_left"] -= 1
            if not self._authorized():
                return
            route = {"/v1/chat/completions": chat.answer, "/chat/completions": chat.answer,
                     "/v1/completions": chat.complete, "/completions": chat.complete}.get(self.path.rstrip("/"))
            if route is None:
                return self._error(404, f"no route {self.path}", "not_found_error")
            if fail:
                return self._error(fail_status, "injected failure (--fail-first)", "server_error")
            if malformed:
                return self._send(200, {"object": "chat.completion", "choices": []})  # --malformed-first
            try:
                body = json.loads(raw)
            except ValueError:
                return self._error(400, "the body is not JSON", "invalid_request_error")
            try:
                self._send(200, route(body))
            except BadRequest as e:
                self._error(e.status, str(e), e.kind)
                return
            with lock:
                state["answered"] += 1
                last = stop_after is not None and state["answered"] == stop_after
            if last:  # a server that dies mid-run (--stop-after): the process exits, connections drop
                self.wfile.flush()
                os._exit(0)

        def log_message(self, fmt, *args):
            if not quiet:
                sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    server = ThreadingHTTPServer((host, port), OpenAIRoutes)
    server.daemon_threads = True
    server.state = state  # requests seen (tests read it)
    return server


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="hybrid-eval-serve", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="a directory written by save_pretrained (a probe's <job>/checkpoint, or any model)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0: a free port (printed)")
    p.add_argument("--name", default=None, help="the served model name (default: the checkpoint directory's name)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: the cores other processes leave free)")
    p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"))
    p.add_argument("--max-model-len", type=int, default=None, help="prompt + max_tokens at most (default: the config's)")
    p.add_argument("--api-key-env", default=None, help="require the key held by this environment variable")
    p.add_argument("--fail-first", type=int, default=0, help="answer the first K requests with --fail-status")
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--malformed-first", type=int, default=0,
                   help="answer the first K requests with HTTP 200 and a reply that is not a chat completion")
    p.add_argument("--stop-after", type=int, default=None, help="exit after answering N requests (to test resuming)")
    p.add_argument("--log", action="store_true", help="log every request line to stderr")
    args = p.parse_args(argv)
    from hybrid_eval.harness.errors import USER_ERRORS

    from hybrid_eval.harness.threads import choose_threads

    torch.set_num_threads(choose_threads(args.threads))
    name = args.name or os.path.basename(os.path.normpath(args.checkpoint))
    try:
        chat = ChatModel(args.checkpoint, name, device=args.device, max_model_len=args.max_model_len, dtype=args.dtype)
    except USER_ERRORS as e:  # the checkpoint's one line, named as this command's argument
        print(f"hybrid-eval-serve: error: {str(e).replace('model.path=', 'CHECKPOINT=')}", file=sys.stderr)
        raise SystemExit(2) from None
    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not key:
        print(f"hybrid-eval-serve: error: --api-key-env {args.api_key_env} but that variable is not set", file=sys.stderr)
        raise SystemExit(2)
    server = make_server(chat, args.host, args.port, api_key=key, fail_first=args.fail_first,
                         fail_status=args.fail_status, stop_after=args.stop_after,
                         malformed_first=args.malformed_first, quiet=not args.log)
    host, port = server.server_address[:2]
    print(f"serving {name} on http://{host}:{port}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
