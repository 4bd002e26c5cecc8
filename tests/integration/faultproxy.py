"""A scripted fault-injecting HTTP proxy in front of nova-api, for the integration tests.

Why not a packaged tool: Toxiproxy works on TCP streams (latency, resets, bandwidth) and
cannot answer one chosen HTTP call with a 409 or lose the answer of the evacuate Nova has
just accepted; mitmproxy could, at the cost of a large dependency tree for forty lines of
scripting. This is a small asyncio proxy the tests drive directly.

Each request is matched against the rules in order; the first rule whose method, path and
body patterns match and whose ``when(n)`` holds (``n``: how many requests that rule has
matched, from 1) decides what happens to it. A rule's ``cycle`` (a list of ``Fault``) gives
its matches their faults in turn, the ``n``-th one ``cycle[(n - 1) % len(cycle)]``:

* ``STATUS`` (``status=500/503/409``): answered by the proxy itself, never forwarded, with a
  body shaped like Nova's fault bodies: Nova never saw the call;
* ``RESET``: the connection is reset before anything is forwarded: Nova never saw it;
* ``LATE`` (``delay``): held ``delay`` seconds, then forwarded: Nova acts late, usually after
  the client has given up;
* ``SLOW`` (``delay``): forwarded at once, Nova's answer held ``delay`` seconds: Nova acted,
  the answer arrives (if at all) after the client's timeout;
* ``DROP``: forwarded, Nova's whole answer read, then the connection reset without it:
  Nova acted and the answer is lost;
* no rule: forwarded as is.

One request per connection (``Connection: close`` both ways) keeps the parsing small.
``log`` lists every request and what was done to it, for the tests' assertions.
"""
import asyncio
import dataclasses
import json
import re
import socket
import struct
import threading
import uuid
from urllib import parse

STATUS, RESET, LATE, SLOW, DROP, PASS = "status", "reset", "late", "slow", "drop", "pass"
_FAULT_KEYS = {409: "conflictingRequest", 500: "computeFault", 503: "serviceUnavailable",
               502: "badGateway", 504: "gatewayTimeout"}
_REASONS = {409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


def always(n):
    return True


def every(k, offset=0):
    """``when`` for every ``k``-th match (the ``offset``-th, the ``offset + k``-th, ...)."""
    return lambda n: n % k == offset % k


@dataclasses.dataclass(frozen=True)
class Fault:
    action: str
    status: int = 500
    delay: float = 0.0


@dataclasses.dataclass
class Rule:
    action: str = PASS
    method: str = ".*"
    path: str = ".*"            # a regular expression searched in the path (query included)
    body: str = ""              # a regular expression searched in the request body
    when: object = always
    status: int = 500
    delay: float = 0.0
    cycle: tuple = ()
    matched: int = 0

    def matches(self, method, path, body):
        return (re.fullmatch(self.method, method) is not None
                and re.search(self.path, path) is not None
                and (not self.body or re.search(self.body, body) is not None))

    def fault(self):
        """The fault of the match just counted."""
        if self.cycle:
            return self.cycle[(self.matched - 1) % len(self.cycle)]
        return Fault(self.action, self.status, self.delay)


@dataclasses.dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: str
    action: str
    status: int | None          # what the client got (None: reset or nothing)


class FaultProxy:
    """``FaultProxy("http://127.0.0.1:8774/v2.1")``: ``url`` is the same path on the proxy.
    ``script(rules)`` replaces the rules; ``close()`` stops it."""

    def __init__(self, upstream):
        parts = parse.urlsplit(upstream)
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self._lock = threading.Lock()
        self._rules = []
        self.log = []
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True,
                                        name="fault-proxy")
        self._thread.start()
        ready.wait(10)
        self.url = parse.urlunsplit(parts._replace(netloc="127.0.0.1:%d" % self.port))

    # ---- the tests' side ---------------------------------------------------------------
    def script(self, rules):
        with self._lock:
            self._rules = list(rules)

    def seen(self, action=None, method=None, path=None):
        with self._lock:
            return [s for s in self.log if (action is None or s.action == action)
                    and (method is None or s.method == method)
                    and (path is None or re.search(path, s.path))]

    def close(self):
        """Stop serving; calls still held are cut off (their clients see a reset)."""
        asyncio.run_coroutine_threadsafe(self._shut_down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shut_down(self):
        self._server.close()
        current = asyncio.current_task()
        held = [task for task in asyncio.all_tasks() if task is not current]
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)

    # ---- the proxy ---------------------------------------------------------------------
    def _serve(self, ready):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, limit=2 ** 20))
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()

    def _decide(self, method, path, body):
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, body):
                    rule.matched += 1
                    if rule.when(rule.matched):
                        return rule.fault()
        return Fault(PASS)

    def _record(self, method, path, body, action, status):
        with self._lock:
            self.log.append(Seen(method, path, body, action, status))

    async def _handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request_line, headers = _parse_head(head)
        method, target = request_line.split(" ")[:2]
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        text = body.decode("utf-8", "replace")
        rule = self._decide(method, target, text)
        action = rule.action
        try:
            if action == STATUS:
                answer = _fault_answer(rule.status, method, target)
                writer.write(answer)
                await writer.drain()
                self._record(method, target, text, action, rule.status)
                return
            if action == RESET:
                self._record(method, target, text, action, None)
                _reset(writer)
                return
            if action == LATE:
                await asyncio.sleep(rule.delay)
            answer = await self._forward(head, body)
            if action == DROP:
                self._record(method, target, text, action, None)
                _reset(writer)
                return
            if action == SLOW:
                await asyncio.sleep(rule.delay)
            writer.write(answer)
            await writer.drain()
            self._record(method, target, text, action, _status_of(answer))
        except (ConnectionError, OSError, asyncio.CancelledError):
            self._record(method, target, text, action, None)  # the client gave up first
        finally:
            if not writer.is_closing():
                writer.close()

    async def _forward(self, head, body):
        upstream_reader, upstream_writer = await asyncio.open_connection(
            self.upstream_host, self.upstream_port, limit=2 ** 20)
        try:
            upstream_writer.write(_close_after(head) + body)
            await upstream_writer.drain()
            return await upstream_reader.read(-1)  # Connection: close: Nova ends the answer
        finally:
            upstream_writer.close()


def _parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def _close_after(head):
    """The request head with ``Connection: close`` (one request per connection)."""
    lines = [line for line in head.decode("latin-1").split("\r\n")
             if line and not line.lower().startswith(("connection:", "keep-alive:"))]
    return ("\r\n".join(lines) + "\r\nConnection: close\r\n\r\n").encode("latin-1")


def _status_of(answer):
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def _fault_answer(status, method, target):
    key = _FAULT_KEYS.get(status, "computeFault")
    message = ("Cannot 'evacuate' instance while it is in task_state rebuilding"
               if status == 409 else "injected by the test's fault proxy (%s %s)"
               % (method, target))
    body = json.dumps({key: {"code": status, "message": message}}).encode()
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            "x-openstack-request-id: req-%s\r\nConnection: close\r\n\r\n"
            % (status, _REASONS.get(status, "Error"), len(body), uuid.uuid4()))
    return head.encode("latin-1") + body


def _reset(writer):
    """Close with a TCP reset (SO_LINGER 0), as a crashed balancer or a cut link does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


def via_proxy(service_catalog, proxy_url, service_type="compute"):
    """A copy of a Keystone catalog whose ``service_type`` endpoints point at the proxy."""
    proxied = parse.urlsplit(proxy_url)
    catalog = json.loads(json.dumps(service_catalog))
    for service in catalog:
        if service.get("type") != service_type:
            continue
        for endpoint in service.get("endpoints", []):
            endpoint["url"] = parse.urlunsplit(
                parse.urlsplit(endpoint["url"])._replace(netloc=proxied.netloc))
    return catalog
