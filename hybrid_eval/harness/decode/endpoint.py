"""A client for an OpenAI-compatible chat-completions server (`model=endpoint`; docs/endpoints.md): vLLM, SGLang,
`transformers serve`, an API provider, or this project's `hybrid-eval-serve`.

    client = ChatClient("http://127.0.0.1:8000/v1", "my-model", api_key=os.environ.get("KEY"), cache=ResponseCache(...))
    reply = client.chat(messages, max_tokens=16)          # {"content": str, "tool_calls": [...] or None}

Safe by construction:
- every request has a hard socket timeout (`timeout_s`); 429, 408, 5xx, timeouts and refused connections are retried
  with exponential backoff (`backoff_s` * 2^attempt, or the server's Retry-After), at most `max_retries` times, and
  then raise EndpointUnavailable (the job stops; the replies so far stay in the cache, so a rerun resumes);
- 401, 403, 404 (a wrong key, an unknown model) would fail every request alike: EndpointUnavailable at once;
- any other refusal (400: context too long, a bad chat template; 422) and a malformed reply raise
  RequestRejected with one line: the evaluator records it against that example (scored 0) and goes on;
- accepted replies are cached on disk (decode/response_cache.py) before they are returned;
- the API key goes into the Authorization header only: never into the cache, the records, errors or logs.
Thread-safe: the evaluator runs `concurrency` requests at once from a thread pool. `summary()` gives the counts,
token usage and latency (mean, p50, p95 over the requests actually sent) for results.json.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request

from hybrid_eval.harness.decode.response_cache import ResponseCache, request_key
from hybrid_eval.harness.errors import EndpointError

RETRIED_STATUS = {408, 409, 425, 429}  # plus every 5xx
FATAL_STATUS = {401: "the API key is missing or wrong", 403: "the API key may not use this model",
                404: "no such model or route"}  # every request would fail the same way: the job stops
MAX_ERROR_CHARS = 200


class EndpointUnavailable(EndpointError):
    """The server did not answer after every retry (or answered 5xx/429 each time), or refused the key or model."""


class RequestRejected(ValueError):
    """The server refused this request (4xx) or its reply is not a chat completion; one line saying which."""


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "..."


def _error_message(body: bytes) -> str:
    try:
        data = json.loads(body)
        err = data.get("error", data) if isinstance(data, dict) else data
        msg = err.get("message", err) if isinstance(err, dict) else err
        return _one_line(msg)
    except ValueError:
        return _one_line(body.decode("utf-8", "replace"))


def parse_reply(data) -> dict:
    """{"content", "tool_calls", "finish_reason", "usage"} of a chat-completion JSON, or RequestRejected."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
        content = message.get("content")
        calls = message.get("tool_calls") or None
        if content is not None and not isinstance(content, str):
            raise TypeError("message.content is not a string")
        if calls is not None and not isinstance(calls, list):
            raise TypeError("message.tool_calls is not a list")
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise RequestRejected(f"malformed reply (not a chat completion): {_one_line(e)}") from None
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return {"content": content or "", "tool_calls": calls, "finish_reason": choice.get("finish_reason"),
            "usage": {k: int(usage[k]) for k in ("prompt_tokens", "completion_tokens")
                      if isinstance(usage.get(k), int)}}


def _percentile(sorted_values: list[float], q: float) -> float:
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


class ChatClient:
    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 120.0,
                 max_retries: int = 5, backoff_s: float = 1.0, cache: ResponseCache | None = None,
                 extra_body: dict | None = None):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.cache = cache
        self.extra_body = dict(extra_body or {})
        self._lock = threading.Lock()
        self.counts = {"requests": 0, "sent": 0, "cached": 0, "retries": 0, "rejected": 0}
        self.latencies: list[float] = []
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}

    def __repr__(self) -> str:  # never the key
        return f"ChatClient({self.base_url!r}, {self.model!r})"

    def body(self, messages: list[dict], *, max_tokens: int, temperature: float = 0.0, seed: int | None = None,
             tools: list[dict] | None = None) -> dict:
        body = {"model": self.model, "messages": messages, "max_tokens": int(max_tokens),
                "temperature": float(temperature), "stream": False, **self.extra_body}
        if seed is not None:
            body["seed"] = int(seed)
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        return body

    def chat(self, messages: list[dict], **kw) -> dict:
        """The reply to `messages` (cached, or asked with retries); RequestRejected or EndpointUnavailable."""
        body = self.body(messages, **kw)
        key = request_key(self.base_url, self.model, body)
        with self._lock:
            self.counts["requests"] += 1
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                with self._lock:
                    self.counts["cached"] += 1
                return hit
        try:
            reply = parse_reply(self._post(body))
        except RequestRejected:
            with self._lock:
                self.counts["rejected"] += 1
            raise
        if self.cache is not None:
            self.cache.put(key, reply)
        return reply

    def _post(self, body: dict):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                with self._lock:
                    self.counts["retries"] += 1
            request = urllib.request.Request(f"{self.base_url}/chat/completions", data=data, headers=headers,
                                             method="POST")
            t0 = time.perf_counter()
            wait = self.backoff_s * 2 ** attempt
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    raw = response.read()
                latency = time.perf_counter() - t0
                with self._lock:
                    self.counts["sent"] += 1
                    self.latencies.append(latency)
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    raise RequestRejected(f"malformed reply (not JSON): {_one_line(raw[:80].decode('utf-8', 'replace'))}") from None
                self._count_usage(parsed)
                return parsed
            except urllib.error.HTTPError as e:
                message = _error_message(e.read())
                if e.code in FATAL_STATUS:
                    raise EndpointUnavailable(f"{self.base_url} ({self.model}): HTTP {e.code}, "
                                              f"{FATAL_STATUS[e.code]}: {message}") from None
                if e.code not in RETRIED_STATUS and e.code < 500:
                    raise RequestRejected(f"HTTP {e.code}: {message}") from None
                last = f"HTTP {e.code}: {message}"
                retry_after = e.headers.get("Retry-After") if e.headers else None
                if retry_after and retry_after.strip().isdigit():
                    wait = min(float(retry_after), 60.0)
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as e:
                # refused, timed out, or cut off mid-reply (a server that died): asked again
                reason = getattr(e, "reason", e)
                last = f"no reply ({_one_line(reason) or type(e).__name__})"
            if attempt < self.max_retries:
                time.sleep(wait)
        raise EndpointUnavailable(f"{self.base_url} ({self.model}): {last} after {self.max_retries} retries")

    def _count_usage(self, data) -> None:
        usage = data.get("usage") if isinstance(data, dict) else None
        if isinstance(usage, dict):
            with self._lock:
                for k in self.usage:
                    if isinstance(usage.get(k), int):
                        self.usage[k] += usage[k]

    def summary(self) -> dict:
        """Counts, token usage and latency in seconds (mean, p50, p95 over the requests sent) for results.json."""
        with self._lock:
            lat = sorted(self.latencies)
            latency = ({"mean": sum(lat) / len(lat), "p50": _percentile(lat, 0.5), "p95": _percentile(lat, 0.95),
                        "max": lat[-1]} if lat else None)
            return {**self.counts, "usage": dict(self.usage), "latency_s": latency}
