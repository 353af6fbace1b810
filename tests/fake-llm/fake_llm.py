#!/usr/bin/env python3
"""A fake LLM provider for tests: OpenAI's chat completions API and Anthropic's messages
API over real HTTP/1.1, plain and streamed (server-sent events), scripted per test.
Standard library only.

Endpoints
  POST /v1/chat/completions   OpenAI (Authorization: Bearer <key>); "stream": true streams
                              chunks and "data: [DONE]", with a usage chunk when
                              stream_options.include_usage is set
  POST /v1/messages           Anthropic (x-api-key, anthropic-version); "stream": true gives
                              message_start, content_block_start/delta/stop, ping,
                              message_delta, message_stop
  GET  /v1/models             either provider's list, chosen by the auth header sent
  POST /_script               {"scenario": s, "replies": [...], "default": {...}}
  GET  /_requests[?scenario=s] the requests recorded so far (JSON list)
  POST /_reset                forget scripts and recorded requests

A wrong key gets 401 in the provider's error shape, a malformed body 400 with the
provider's kind of message (tool calls without their results included), as the real APIs.

Scenarios
  The request's "model" names its scenario. Each scenario has a queue of replies, taken
  one per request; when it is empty the scenario's default reply is used, and without
  one the echo reply: the text of the last message, sent back.

Replies (all keys optional)
  text          the answer's text;            echo: true  answers the last message's text
  chunks        stream the text in this many pieces (default: one piece per word)
  tool_calls    [{"name", "arguments": {...} or "json text", "id"}]
  usage         {"input_tokens", "output_tokens"} (default: estimated from the sizes)
  stop_reason   the provider's word (default: stop/end_turn, or tool_calls/tool_use)
  delay         seconds before the answer starts
  chunk_delay   seconds between streamed pieces
  error         {"status", "message", "type", "retry_after", "retry_after_ms", "body"}:
                an HTTP error in the provider's shape ("body": a raw body instead)
  stream_error  {"message", "type", "after": n}: an error event after n text pieces
  drop          true: close the connection without answering
  drop_after    close the connection after this many streamed text pieces
  repeat        use this reply for this many requests
  model         the model id the answer reports (default: the request's)

As a module:
    with FakeLLM() as fake:
        fake.script("m1", {"text": "Hello"}, {"error": {"status": 429, "retry_after": 1}})
        ... point the client at fake.openai_base_url / fake.anthropic_base_url ...
        fake.requests("m1")

As a process:  python3 fake_llm.py [--port 0] [--host 127.0.0.1] [--watch-stdin]
    prints the port on the first line of stdout, then serves until killed (or, with
    --watch-stdin, until its standard input closes).
"""

import argparse
import asyncio
import collections
import copy
import json
import os
import re
import signal
import sys
import threading
import time
import uuid

DEFAULT_OPENAI_KEY = "sk-fake-openai"
DEFAULT_ANTHROPIC_KEY = "sk-ant-fake"
ANTHROPIC_VERSIONS = ("2023-06-01", "2023-01-01")
MAX_BODY = 32 * 1024 * 1024
MAX_HEADER_LINES = 200

REASONS = {
        100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
        404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 413: "Payload Too Large",
        429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
        503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
}

OPENAI_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_denied",
                      404: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error",
                      503: "server_error"}
ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                         404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                         500: "api_error", 529: "overloaded_error"}
DEFAULT_MESSAGES = {400: "Invalid request", 401: "Invalid API key", 403: "Permission denied",
                    404: "Not found", 429: "Rate limit reached for requests", 500: "The server had an error",
                    503: "The service is unavailable", 529: "Overloaded"}


class BadRequest(Exception):
        pass


def _raise_nofile_limit():
        try:
                import resource
                soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                if soft != hard:
                        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ImportError, ValueError, OSError):
                pass


def _split_words(text):
        pieces = re.findall(r"\S+\s*|\s+", text)
        return pieces or [text]


def _split_even(text, n):
        n = max(1, min(n, len(text) or 1))
        size = -(-len(text) // n) if text else 0
        return [text[i:i + size] for i in range(0, len(text), size)] if text else [""]


def _split_arguments(arguments):
        """Argument JSON in three fragments, as providers stream it."""
        if len(arguments) < 3:
                return [arguments]
        third = len(arguments) // 3
        return [arguments[:third], arguments[third:2 * third], arguments[2 * third:]]


class Script:
        """Scripted replies per scenario and the requests seen, shared between the server's
        thread and the test's."""

        def __init__(self):
                self.lock = threading.Lock()
                self.reset()

        def reset(self):
                with self.lock:
                        self.queues = collections.defaultdict(collections.deque)
                        self.defaults = {}
                        self.recorded = []

        def add(self, scenario, replies=(), default=None):
                with self.lock:
                        for reply in replies:
                                if not isinstance(reply, dict):
                                        raise ValueError("a reply is an object")
                                self.queues[scenario].append(copy.deepcopy(reply))
                        if default is not None:
                                self.defaults[scenario] = copy.deepcopy(default)
                        return len(self.queues[scenario])

        def next(self, scenario):
                with self.lock:
                        queue = self.queues.get(scenario)
                        if queue:
                                reply = queue[0]
                                repeat = int(reply.get("repeat", 1))
                                if repeat > 1:
                                        reply["repeat"] = repeat - 1
                                else:
                                        queue.popleft()
                                return copy.deepcopy(reply)
                        return copy.deepcopy(self.defaults.get(scenario, {"echo": True}))

        def record(self, entry):
                with self.lock:
                        self.recorded.append(entry)

        def requests(self, scenario=None):
                with self.lock:
                        return [copy.deepcopy(r) for r in self.recorded
                                if scenario is None or r.get("scenario") == scenario]


class Request:
        def __init__(self, method, target, headers, body):
                self.method = method
                self.path, _, self.query = target.partition("?")
                self.headers = headers
                self.body = body

        def json(self):
                try:
                        return json.loads(self.body.decode("utf-8")) if self.body else None
                except (UnicodeDecodeError, ValueError):
                        raise BadRequest("the body is not valid JSON")


class Connection:
        """Writes HTTP/1.1 answers on one connection."""

        def __init__(self, writer):
                self.writer = writer
                self.pending = []

        async def send(self, status, body=b"", content_type="application/json", headers=()):
                if isinstance(body, (dict, list)):
                        body = json.dumps(body).encode()
                elif isinstance(body, str):
                        body = body.encode()
                head = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status")),
                        "Content-Type: %s" % content_type,
                        "Content-Length: %d" % len(body)]
                head += ["%s: %s" % h for h in headers]
                self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                await self.writer.drain()

        async def start_stream(self, headers=()):
                head = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream; charset=utf-8",
                        "Cache-Control: no-cache", "Transfer-Encoding: chunked"]
                head += ["%s: %s" % h for h in headers]
                self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
                await self.writer.drain()

        async def event(self, data, event=None):
                """Queues one event (one HTTP chunk); flush() sends what is queued."""
                text = ("event: %s\n" % event if event else "") + "data: %s\n\n" % (
                        data if isinstance(data, str) else json.dumps(data))
                raw = text.encode()
                self.pending.append(b"%x\r\n%s\r\n" % (len(raw), raw))

        async def flush(self):
                if self.pending:
                        self.writer.write(b"".join(self.pending))
                        self.pending = []
                await self.writer.drain()

        async def end_stream(self):
                self.pending.append(b"0\r\n\r\n")
                await self.flush()


def _last_text(messages):
        """The text of the last message (what the echo reply sends back)."""
        if not messages:
                return ""
        content = messages[-1].get("content")
        if isinstance(content, str):
                return content
        parts = []
        for block in content or []:
                if not isinstance(block, dict):
                        continue
                if block.get("type") == "text":
                        parts.append(block.get("text", ""))
                elif block.get("type") == "tool_result":
                        inner = block.get("content")
                        parts.append(inner if isinstance(inner, str) else _last_text([{"content": inner}]))
        return "".join(parts)


class Answer:
        """What one reply says, independent of the dialect."""

        def __init__(self, reply, body, messages):
                self.reply = reply
                self.model = reply.get("model") or body.get("model")
                self.text = _last_text(messages) if reply.get("echo") or (
                        "text" not in reply and "tool_calls" not in reply) else reply.get("text", "")
                self.tool_calls = []
                for call in reply.get("tool_calls") or []:
                        arguments = call.get("arguments", {})
                        if not isinstance(arguments, str):
                                arguments = json.dumps(arguments)
                        self.tool_calls.append({"id": call.get("id"), "name": call["name"],
                                                "arguments": arguments})
                usage = reply.get("usage") or {}
                self.input_tokens = int(usage.get("input_tokens", max(1, len(json.dumps(messages)) // 4)))
                self.output_tokens = int(usage.get("output_tokens",
                                                   max(1, len(self.text) // 4 + 10 * len(self.tool_calls))))
                chunks = reply.get("chunks")
                self.pieces = _split_even(self.text, int(chunks)) if chunks else _split_words(self.text)
                if not self.text:
                        self.pieces = []

        async def pause(self, key):
                delay = float(self.reply.get(key) or 0)
                if delay > 0:
                        await asyncio.sleep(delay)


class FakeLLM:
        def __init__(self, host="127.0.0.1", port=0, openai_key=DEFAULT_OPENAI_KEY,
                     anthropic_key=DEFAULT_ANTHROPIC_KEY, verbose=False):
                """openai_key / anthropic_key: the keys accepted (None: any non-empty key)."""
                self.host = host
                self.port = port
                self.openai_key = openai_key
                self.anthropic_key = anthropic_key
                self.verbose = verbose
                self.state = Script()
                self._loop = None
                self._thread = None
                self._server = None
                self._ids = 0

        # --- the test's side ------------------------------------------------------------

        @property
        def url(self):
                return "http://%s:%d" % (self.host, self.port)

        @property
        def openai_base_url(self):
                return self.url + "/v1"

        @property
        def anthropic_base_url(self):
                return self.url

        def script(self, scenario, *replies, default=None):
                """Queues replies for the requests of a scenario (the model name)."""
                return self.state.add(scenario, replies, default)

        def reset(self):
                self.state.reset()

        def requests(self, scenario=None):
                return self.state.requests(scenario)

        def start(self):
                _raise_nofile_limit()
                ready = threading.Event()
                failure = []

                def run():
                        self._loop = asyncio.new_event_loop()
                        asyncio.set_event_loop(self._loop)
                        try:
                                self._server = self._loop.run_until_complete(asyncio.start_server(
                                        self._connection, self.host, self.port, backlog=4096,
                                        limit=MAX_BODY))
                                self.port = self._server.sockets[0].getsockname()[1]
                        except OSError as e:
                                failure.append(e)
                                ready.set()
                                return
                        ready.set()
                        try:
                                self._loop.run_forever()
                        finally:
                                self._server.close()
                                tasks = asyncio.all_tasks(self._loop)
                                for task in tasks:
                                        task.cancel()
                                self._loop.run_until_complete(
                                        asyncio.gather(*tasks, return_exceptions=True))
                                self._loop.close()

                self._thread = threading.Thread(target=run, name="fake-llm", daemon=True)
                self._thread.start()
                ready.wait()
                if failure:
                        raise failure[0]
                return self

        def stop(self):
                if self._thread:
                        self._loop.call_soon_threadsafe(self._loop.stop)
                        self._thread.join(10)
                        self._thread = None

        def __enter__(self):
                return self.start()

        def __exit__(self, *exc):
                self.stop()

        # --- HTTP ------------------------------------------------------------------------

        async def _read_request(self, reader, writer):
                line = await reader.readline()
                if not line:
                        return None
                parts = line.decode("latin-1").split()
                if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                        raise ValueError("bad request line")
                headers = {}
                for _ in range(MAX_HEADER_LINES):
                        h = await reader.readline()
                        if h in (b"\r\n", b"\n", b""):
                                break
                        name, _, value = h.decode("latin-1").partition(":")
                        headers[name.strip().lower()] = value.strip()
                else:
                        raise ValueError("too many headers")
                if headers.get("expect", "").lower() == "100-continue":
                        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                        await writer.drain()
                body = b""
                if "chunked" in headers.get("transfer-encoding", "").lower():
                        while True:
                                size = int((await reader.readline()).split(b";")[0], 16)
                                if size == 0:
                                        await reader.readline()
                                        break
                                body += await reader.readexactly(size)
                                await reader.readexactly(2)
                                if len(body) > MAX_BODY:
                                        raise ValueError("body too large")
                else:
                        length = int(headers.get("content-length") or 0)
                        if length > MAX_BODY:
                                raise ValueError("body too large")
                        body = await reader.readexactly(length) if length else b""
                request = Request(parts[0], parts[1], headers, body)
                request.keep_alive = headers.get("connection", "").lower() != "close"
                return request

        async def _connection(self, reader, writer):
                conn = Connection(writer)
                try:
                        while True:
                                request = await self._read_request(reader, writer)
                                if request is None:
                                        break
                                keep = await self._dispatch(request, conn)
                                if not keep or not request.keep_alive:
                                        break
                except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
                        pass
                finally:
                        try:
                                writer.close()
                        except RuntimeError:
                                pass

        async def _dispatch(self, request, conn):
                """Answers one request; False closes the connection."""
                path, method = request.path, request.method
                try:
                        if path == "/_script" and method == "POST":
                                spec = request.json() or {}
                                n = self.script(spec.get("scenario", ""), *spec.get("replies", []),
                                                default=spec.get("default"))
                                await conn.send(200, {"ok": True, "queued": n})
                        elif path == "/_requests" and method == "GET":
                                scenario = None
                                for pair in request.query.split("&"):
                                        key, _, value = pair.partition("=")
                                        if key == "scenario":
                                                from urllib.parse import unquote
                                                scenario = unquote(value)
                                await conn.send(200, self.requests(scenario))
                        elif path == "/_reset" and method == "POST":
                                self.reset()
                                await conn.send(200, {"ok": True})
                        elif path == "/_health":
                                await conn.send(200, {"ok": True})
                        elif path == "/v1/chat/completions" and method == "POST":
                                return await self._openai(request, conn)
                        elif path == "/v1/messages" and method == "POST":
                                return await self._anthropic(request, conn)
                        elif path == "/v1/models" and method == "GET":
                                return await self._models(request, conn)
                        else:
                                await conn.send(404, {"error": {"message": "Unknown path %s %s" % (method, path),
                                                                "type": "invalid_request_error"}})
                except BadRequest as e:
                        await conn.send(400, {"error": {"message": str(e), "type": "invalid_request_error"}})
                return True

        def _record(self, request, body, scenario):
                self.state.record({"method": request.method, "path": request.path,
                                   "headers": dict(request.headers), "body": body,
                                   "scenario": scenario, "time": time.time()})

        def _new_id(self, prefix):
                return prefix + uuid.uuid4().hex[:24]

        # --- errors in each provider's shape ---------------------------------------------

        async def _openai_error(self, conn, status, message, type_=None, code=None, headers=()):
                await conn.send(status, {"error": {"message": message,
                                                   "type": type_ or OPENAI_ERROR_TYPES.get(status, "api_error"),
                                                   "param": None, "code": code}}, headers=headers)

        async def _anthropic_error(self, conn, status, message, type_=None, headers=()):
                await conn.send(status, {"type": "error", "error": {
                        "type": type_ or ANTHROPIC_ERROR_TYPES.get(status, "api_error"), "message": message}},
                        headers=headers)

        async def _scripted_error(self, conn, error, anthropic):
                status = int(error.get("status", 500))
                headers = []
                if error.get("retry_after") is not None:
                        headers.append(("Retry-After", str(error["retry_after"])))
                if error.get("retry_after_ms") is not None:
                        headers.append(("retry-after-ms", str(error["retry_after_ms"])))
                if "body" in error:
                        raw = error["body"]
                        await conn.send(status, raw, content_type=error.get("content_type", "text/html"),
                                        headers=headers)
                        return
                message = error.get("message") or DEFAULT_MESSAGES.get(status, "Error %d" % status)
                if anthropic:
                        await self._anthropic_error(conn, status, message, error.get("type"), headers)
                else:
                        await self._openai_error(conn, status, message, error.get("type"), error.get("code"), headers)

        # --- OpenAI ----------------------------------------------------------------------

        def _openai_check(self, body):
                if not isinstance(body, dict):
                        raise BadRequest("We could not parse the JSON body of your request.")
                if not isinstance(body.get("model"), str) or not body["model"]:
                        raise BadRequest("you must provide a model parameter")
                messages = body.get("messages")
                if not isinstance(messages, list) or not messages:
                        raise BadRequest("[] is too short - 'messages'")
                pending = []
                for i, m in enumerate(messages):
                        role = m.get("role") if isinstance(m, dict) else None
                        if role not in ("system", "developer", "user", "assistant", "tool"):
                                raise BadRequest("Invalid value for 'messages[%d].role'" % i)
                        if role == "tool":
                                if m.get("tool_call_id") not in pending:
                                        raise BadRequest("Invalid parameter: messages with role 'tool' must be a "
                                                         "response to a preceeding message with 'tool_calls'.")
                                pending.remove(m["tool_call_id"])
                                continue
                        if pending:
                                raise BadRequest("An assistant message with 'tool_calls' must be followed by tool "
                                                 "messages responding to each 'tool_call_id'. The following "
                                                 "tool_call_ids did not have response messages: "
                                                 + ", ".join(pending))
                        if "content" not in m and not m.get("tool_calls"):
                                raise BadRequest("Missing required parameter: 'messages[%d].content'." % i)
                        for call in m.get("tool_calls") or []:
                                function = call.get("function") or {}
                                if call.get("type") != "function" or not call.get("id") or \
                                   not isinstance(function.get("name"), str) or \
                                   not isinstance(function.get("arguments"), str):
                                        raise BadRequest("Invalid 'messages[%d].tool_calls'" % i)
                                pending.append(call["id"])
                if pending:
                        raise BadRequest("An assistant message with 'tool_calls' must be followed by tool messages "
                                         "responding to each 'tool_call_id'. The following tool_call_ids did not "
                                         "have response messages: " + ", ".join(pending))
                for tool in body.get("tools") or []:
                        if tool.get("type") != "function" or not (tool.get("function") or {}).get("name"):
                                raise BadRequest("Invalid 'tools': each needs type 'function' and a name")
                if "max_tokens" in body and "max_completion_tokens" in body:
                        raise BadRequest("max_tokens and max_completion_tokens cannot both be set")

        async def _openai(self, request, conn):
                try:
                        body = request.json()
                except BadRequest:
                        body = None
                scenario = body.get("model") if isinstance(body, dict) else None
                self._record(request, body, scenario)
                auth = request.headers.get("authorization", "")
                key = auth[7:] if auth.startswith("Bearer ") else ""
                if not key or (self.openai_key is not None and key != self.openai_key):
                        await self._openai_error(conn, 401, "Incorrect API key provided: %s." % (key or "(none)"),
                                                 "invalid_request_error", "invalid_api_key")
                        return True
                try:
                        self._openai_check(body)
                except BadRequest as e:
                        await self._openai_error(conn, 400, str(e))
                        return True

                reply = self.state.next(scenario)
                answer = Answer(reply, body, body["messages"])
                await answer.pause("delay")
                if reply.get("drop"):
                        return False
                if reply.get("error"):
                        await self._scripted_error(conn, reply["error"], anthropic=False)
                        return True
                calls = [dict(c, id=c["id"] or self._new_id("call_")) for c in answer.tool_calls]
                finish = reply.get("stop_reason") or ("tool_calls" if calls else "stop")
                usage = {"prompt_tokens": answer.input_tokens, "completion_tokens": answer.output_tokens,
                         "total_tokens": answer.input_tokens + answer.output_tokens}
                cid = self._new_id("chatcmpl-")
                created = int(time.time())

                if not body.get("stream"):
                        message = {"role": "assistant", "content": answer.text if answer.text or not calls else None,
                                   "refusal": None}
                        if calls:
                                message["tool_calls"] = [{"id": c["id"], "type": "function",
                                                          "function": {"name": c["name"], "arguments": c["arguments"]}}
                                                         for c in calls]
                        await conn.send(200, {"id": cid, "object": "chat.completion", "created": created,
                                              "model": answer.model, "choices": [{
                                                      "index": 0, "message": message, "logprobs": None,
                                                      "finish_reason": finish}],
                                              "usage": usage, "system_fingerprint": None})
                        return True

                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

                def chunk(delta, finish_reason=None):
                        c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": answer.model,
                             "system_fingerprint": None, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                                      "finish_reason": finish_reason}]}
                        if include_usage:
                                c["usage"] = None
                        return c

                await conn.start_stream()
                await conn.event(chunk({"role": "assistant", "content": "", "refusal": None}))
                stream_error = reply.get("stream_error")
                for i, piece in enumerate(answer.pieces):
                        if stream_error and int(stream_error.get("after", 0)) == i:
                                break
                        if reply.get("drop_after") is not None and int(reply["drop_after"]) == i:
                                await conn.flush()
                                return False
                        if i > 0:
                                await conn.flush()
                                await answer.pause("chunk_delay")
                        await conn.event(chunk({"content": piece}))
                if stream_error:
                        await conn.event({"error": {"message": stream_error.get("message", "The server had an error"),
                                                    "type": stream_error.get("type", "server_error"),
                                                    "param": None, "code": None}})
                        await conn.end_stream()
                        return True
                for index, c in enumerate(calls):
                        await conn.event(chunk({"tool_calls": [{"index": index, "id": c["id"], "type": "function",
                                                                "function": {"name": c["name"], "arguments": ""}}]}))
                        for fragment in _split_arguments(c["arguments"]):
                                await conn.event(chunk({"tool_calls": [{"index": index,
                                                                        "function": {"arguments": fragment}}]}))
                await conn.event(chunk({}, finish))
                if include_usage:
                        await conn.event({"id": cid, "object": "chat.completion.chunk", "created": created,
                                          "model": answer.model, "system_fingerprint": None, "choices": [],
                                          "usage": usage})
                await conn.event("[DONE]")
                await conn.end_stream()
                return True

        # --- Anthropic ---------------------------------------------------------------------

        def _anthropic_check(self, body):
                if not isinstance(body, dict):
                        raise BadRequest("There was an issue with your request body. Please check the JSON.")
                if not isinstance(body.get("model"), str) or not body["model"]:
                        raise BadRequest("model: Field required")
                if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
                        raise BadRequest("max_tokens: Field required")
                system = body.get("system")
                if system is not None and not isinstance(system, (str, list)):
                        raise BadRequest("system: Input should be a valid list")
                messages = body.get("messages")
                if not isinstance(messages, list) or not messages:
                        raise BadRequest("messages: Field required")
                previous_uses = []
                for i, m in enumerate(messages):
                        role = m.get("role") if isinstance(m, dict) else None
                        if role not in ("user", "assistant"):
                                raise BadRequest("messages.%d.role: Input should be 'user' or 'assistant'" % i)
                        content = m.get("content")
                        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
                        if not isinstance(blocks, list) or not blocks:
                                raise BadRequest("messages.%d: all messages must have non-empty content except "
                                                 "for the optional final assistant message" % i)
                        uses, results = [], []
                        for j, block in enumerate(blocks):
                                kind = block.get("type") if isinstance(block, dict) else None
                                if kind == "text":
                                        if not block.get("text"):
                                                raise BadRequest("messages.%d.content.%d.text: text content blocks "
                                                                 "must be non-empty" % (i, j))
                                elif kind == "tool_use":
                                        if role != "assistant" or not block.get("id") or not block.get("name") or \
                                           not isinstance(block.get("input"), dict):
                                                raise BadRequest("messages.%d.content.%d: invalid tool_use" % (i, j))
                                        uses.append(block["id"])
                                elif kind == "tool_result":
                                        if role != "user":
                                                raise BadRequest("messages.%d.content.%d: tool_result in an "
                                                                 "assistant message" % (i, j))
                                        if len(results) != j:
                                                raise BadRequest("messages.%d: tool_result blocks must come first"
                                                                 % i)
                                        results.append(block)
                                elif kind not in ("image", "document", "thinking", "redacted_thinking"):
                                        raise BadRequest("messages.%d.content.%d.type: unknown block type" % (i, j))
                        ids = [b.get("tool_use_id") for b in results]
                        unexpected = [x for x in ids if x not in previous_uses]
                        if unexpected:
                                raise BadRequest("messages.%d.content.0: unexpected `tool_use_id` found in "
                                                 "`tool_result` blocks: %s. Each `tool_result` block must have a "
                                                 "corresponding `tool_use` block in the previous message."
                                                 % (i, unexpected[0]))
                        missing = [x for x in previous_uses if x not in ids]
                        if missing:
                                raise BadRequest("messages.%d: `tool_use` ids were found without `tool_result` "
                                                 "blocks immediately after: %s. Each `tool_use` block must have a "
                                                 "corresponding `tool_result` block in the next message."
                                                 % (i - 1, ", ".join(missing)))
                        previous_uses = uses
                for tool in body.get("tools") or []:
                        if not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
                                raise BadRequest("tools: each tool needs a name and an input_schema")

        async def _anthropic(self, request, conn):
                try:
                        body = request.json()
                except BadRequest:
                        body = None
                scenario = body.get("model") if isinstance(body, dict) else None
                self._record(request, body, scenario)
                key = request.headers.get("x-api-key", "")
                if not key or (self.anthropic_key is not None and key != self.anthropic_key):
                        await self._anthropic_error(conn, 401, "invalid x-api-key", "authentication_error")
                        return True
                version = request.headers.get("anthropic-version")
                if not version:
                        await self._anthropic_error(conn, 400, "anthropic-version: header is required")
                        return True
                if version not in ANTHROPIC_VERSIONS:
                        await self._anthropic_error(conn, 400, "anthropic-version: invalid version %s" % version)
                        return True
                try:
                        self._anthropic_check(body)
                except BadRequest as e:
                        await self._anthropic_error(conn, 400, str(e))
                        return True

                reply = self.state.next(scenario)
                answer = Answer(reply, body, body["messages"])
                await answer.pause("delay")
                if reply.get("drop"):
                        return False
                if reply.get("error"):
                        await self._scripted_error(conn, reply["error"], anthropic=True)
                        return True
                calls = [dict(c, id=c["id"] or self._new_id("toolu_")) for c in answer.tool_calls]
                stop = reply.get("stop_reason") or ("tool_use" if calls else "end_turn")
                mid = self._new_id("msg_")

                if not body.get("stream"):
                        content = [{"type": "text", "text": answer.text}] if answer.text else []
                        content += [{"type": "tool_use", "id": c["id"], "name": c["name"],
                                     "input": json.loads(c["arguments"] or "{}")} for c in calls]
                        await conn.send(200, {"id": mid, "type": "message", "role": "assistant", "model": answer.model,
                                              "content": content, "stop_reason": stop, "stop_sequence": None,
                                              "usage": {"input_tokens": answer.input_tokens,
                                                        "output_tokens": answer.output_tokens,
                                                        "cache_creation_input_tokens": 0,
                                                        "cache_read_input_tokens": 0}})
                        return True

                await conn.start_stream()
                await conn.event({"type": "message_start", "message": {
                        "id": mid, "type": "message", "role": "assistant", "model": answer.model, "content": [],
                        "stop_reason": None, "stop_sequence": None,
                        "usage": {"input_tokens": answer.input_tokens, "output_tokens": 1,
                                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}},
                        "message_start")
                index = 0
                stream_error = reply.get("stream_error")
                if answer.pieces or stream_error:
                        await conn.event({"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}}, "content_block_start")
                        await conn.event({"type": "ping"}, "ping")
                        for i, piece in enumerate(answer.pieces):
                                if stream_error and int(stream_error.get("after", 0)) == i:
                                        break
                                if reply.get("drop_after") is not None and int(reply["drop_after"]) == i:
                                        await conn.flush()
                                        return False
                                if i > 0:
                                        await conn.flush()
                                        await answer.pause("chunk_delay")
                                await conn.event({"type": "content_block_delta", "index": 0,
                                                  "delta": {"type": "text_delta", "text": piece}},
                                                 "content_block_delta")
                        if stream_error:
                                await conn.event({"type": "error", "error": {
                                        "type": stream_error.get("type", "overloaded_error"),
                                        "message": stream_error.get("message", "Overloaded")}}, "error")
                                await conn.end_stream()
                                return True
                        await conn.event({"type": "content_block_stop", "index": 0}, "content_block_stop")
                        index = 1
                for c in calls:
                        await conn.event({"type": "content_block_start", "index": index, "content_block": {
                                "type": "tool_use", "id": c["id"], "name": c["name"], "input": {}}},
                                "content_block_start")
                        for fragment in [""] + _split_arguments(c["arguments"]):
                                await conn.event({"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "input_json_delta", "partial_json": fragment}},
                                                 "content_block_delta")
                        await conn.event({"type": "content_block_stop", "index": index}, "content_block_stop")
                        index += 1
                await conn.event({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                  "usage": {"output_tokens": answer.output_tokens}}, "message_delta")
                await conn.event({"type": "message_stop"}, "message_stop")
                await conn.end_stream()
                return True

        # --- models -------------------------------------------------------------------------

        async def _models(self, request, conn):
                with self.state.lock:
                        names = sorted(set(["fake-model"] + [k for k in self.state.queues if k]
                                           + [k for k in self.state.defaults if k]))
                self._record(request, None, None)
                if "x-api-key" in request.headers:
                        key = request.headers["x-api-key"]
                        if not key or (self.anthropic_key is not None and key != self.anthropic_key):
                                await self._anthropic_error(conn, 401, "invalid x-api-key", "authentication_error")
                                return True
                        data = [{"type": "model", "id": n, "display_name": n,
                                 "created_at": "2025-01-01T00:00:00Z"} for n in names]
                        await conn.send(200, {"data": data, "has_more": False, "first_id": names[0],
                                              "last_id": names[-1]})
                        return True
                auth = request.headers.get("authorization", "")
                key = auth[7:] if auth.startswith("Bearer ") else ""
                if not key or (self.openai_key is not None and key != self.openai_key):
                        await self._openai_error(conn, 401, "Incorrect API key provided: %s." % (key or "(none)"),
                                                 "invalid_request_error", "invalid_api_key")
                        return True
                await conn.send(200, {"object": "list", "data": [
                        {"id": n, "object": "model", "created": 1735689600, "owned_by": "fake"} for n in names]})
                return True


def main(argv=None):
        parser = argparse.ArgumentParser(description="A fake OpenAI/Anthropic server for tests.")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=0, help="0: a free port (printed on stdout)")
        parser.add_argument("--openai-key", default=DEFAULT_OPENAI_KEY, help="'' accepts any key")
        parser.add_argument("--anthropic-key", default=DEFAULT_ANTHROPIC_KEY, help="'' accepts any key")
        parser.add_argument("--watch-stdin", action="store_true", help="exit when standard input closes")
        args = parser.parse_args(argv)

        fake = FakeLLM(args.host, args.port, args.openai_key or None, args.anthropic_key or None)
        fake.start()
        print(fake.port, flush=True)

        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
        if args.watch_stdin:
                def watch():
                        try:
                                while os.read(sys.stdin.fileno(), 4096):
                                        pass
                        except OSError:
                                pass
                        done.set()
                threading.Thread(target=watch, daemon=True).start()
        while not done.wait(1):
                pass
        fake.stop()
        return 0


if __name__ == "__main__":
        sys.exit(main())
