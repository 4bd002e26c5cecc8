"""Fake Novas on 127.0.0.1 for testing through real HTTP, and what their fixtures share.

novaclient and keystoneauth run unmodified against them, so tests see the real requests
(paths, query strings, microversion headers) and can count them. Collections are served
with Nova's paging (``limit``/``marker`` and ``<key>_links``).

* ``FakeNova``: the reads (versions, services, hypervisors, servers, Placement providers).
* ``WritableFakeNova``: plus the write calls the submission engine makes:

  * ``POST /servers/{id}/action``: 200 with ``x-openstack-request-id`` (and, below 2.14, an
    ``adminPass`` body), or the refusal configured in ``refusals[id]``. It counts the calls
    in flight (``max_in_flight``) and can hold them at a ``gate`` until the test opens it.
    ``fates[id]`` (a list, one entry used per call) loses the answer the ways a network
    does: ``DROP_BEFORE`` (the connection closes before Nova acts), ``DROP_AFTER`` (Nova
    acts, then the connection closes), ``("delay", s)`` (Nova acts, the answer comes ``s``
    seconds later), ``("status", 502)`` (Nova acts, a proxy answers 502 with its own page).
  * ``unauthorized_after``: once that many evacuate calls went through, every request gets
    401, as Keystone's middleware answers an expired token.
  * ``PUT /os-services/...``: records the body, answers like Nova.
  * ``GET /os-migrations``: ``migrations`` filtered by ``source_compute``/``migration_type``/
    ``instance_uuid``/``status``.

* ``fake_request``: the Horizon request the API layer reads; ``running``: a fixture's body.

Its subclasses: ``evacuating_nova.EvacuatingFakeNova`` (plays evacuations forward) and
``history_nova.AuditFakeNova`` (instance actions).
"""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import threading
import time
from types import SimpleNamespace
import uuid
from urllib import parse

from evac_dashboard.api import client

GATE_TIMEOUT = 30  # a forgotten gate must not hang the test run forever
DROP_BEFORE = "drop_before"
DROP_AFTER = "drop_after"
UNAUTHORIZED = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires authentication."}}


class FakeNova:
    def __init__(self, max_version="2.100", min_version="2.1", max_limit=1000):
        self.max_version = max_version
        self.min_version = min_version
        self.max_limit = max_limit
        self.services = []
        self.hypervisors = []
        self.servers = []
        self.providers = {}   # Placement: uuid -> {"inventories": ..., "usages": ...}
        self.requests = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d/v2.1" % self._server.server_address[1]

    @property
    def placement_endpoint(self):
        return "http://127.0.0.1:%d/placement" % self._server.server_address[1]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def calls(self, path_prefix=""):
        return [r for r in self.requests if r.path.startswith("/v2.1" + path_prefix)
                or (not path_prefix and r.path.startswith("/"))]

    # --- answers -------------------------------------------------------------------
    def answer(self, method, path, query, headers):
        if path in ("/v2.1", "/v2.1/"):
            return 200, {"version": {"id": "v2.1", "status": "CURRENT",
                                     "min_version": self.min_version,
                                     "version": self.max_version}}
        if path == "/v2.1/os-services":
            items = [s for s in self.services
                     if all(s.get(k) == v[0] for k, v in query.items() if k in ("host", "binary"))]
            return 200, {"services": items}
        if path == "/v2.1/os-hypervisors/detail":
            with_servers = query.get("with_servers", ["false"])[0] == "true"
            items = []
            for hypervisor in self.hypervisors:
                item = dict(hypervisor)
                if not with_servers:
                    item.pop("servers", None)
                items.append(item)
            return 200, self._page("hypervisors", items, query, "os-hypervisors/detail")
        if path.startswith("/placement/resource_providers/"):
            _, _, _, uuid, what = path.split("/")
            provider = self.providers.get(uuid)
            if provider is None:
                return 404, {"errors": [{"status": 404, "detail": "No provider %s" % uuid}]}
            if what == "inventories":
                return 200, {"inventories": provider["inventories"],
                             "resource_provider_generation": 1}
            return 200, {"usages": provider["usages"], "resource_provider_generation": 1}
        if path == "/v2.1/servers/detail":
            items = self.servers
            if "host" in query:
                items = [s for s in items if s.get("OS-EXT-SRV-ATTR:host") == query["host"][0]]
            return 200, self._page("servers", items, query, "servers/detail")
        return 404, {"itemNotFound": {"code": 404, "message": "no route %s" % path}}

    def _page(self, key, items, query, path):
        limit = min(int(query.get("limit", [self.max_limit])[0]), self.max_limit)
        start = 0
        if "marker" in query:
            ids = [str(item["id"]) for item in items]
            start = ids.index(query["marker"][0]) + 1
        page = items[start:start + limit]
        body = {key: page}
        if page and len(page) == limit:  # Nova links a next page whenever a page is full
            next_query = dict((k, v[0]) for k, v in query.items())
            next_query["marker"] = str(page[-1]["id"])
            body[key + "_links"] = [{"rel": "next", "href": "%s/%s?%s" % (
                self.endpoint, path, parse.urlencode(next_query))}]
        return body

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = parse.urlparse(self.path)
                query = parse.parse_qs(url.query)
                fake.requests.append(SimpleNamespace(
                    method="GET", path=url.path, query=query,
                    microversion=self.headers.get("OpenStack-API-Version"),
                    legacy_microversion=self.headers.get("X-OpenStack-Nova-API-Version")))
                status, body = fake.answer("GET", url.path, query, self.headers)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


def fake_request(endpoint, token="token-1", region="RegionOne", placement=None):
    """The parts of a Horizon request the API layer reads: token and service catalog."""
    catalog = [{"type": "compute", "name": "nova", "endpoints": [
        {"interface": "public", "region": region, "region_id": region, "url": endpoint}]}]
    if placement:
        catalog.append({"type": "placement", "name": "placement", "endpoints": [
            {"interface": "public", "region": region, "region_id": region, "url": placement}]})
    user = SimpleNamespace(token=SimpleNamespace(id=token), service_catalog=catalog,
                           services_region=region, id="admin-id", username="admin")
    return SimpleNamespace(user=user)


def still_in_use(host):
    return 400, "Compute service of %s is still in use." % host


class WritableFakeNova(FakeNova):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refusals = {}          # server id -> (status, message)
        self.migrations = []
        self.migrations_status = 200
        self.force_up_refused = False
        self.gate = None            # threading.Event holding every evacuate until set
        self.in_flight = 0
        self.max_in_flight = 0
        self.issued_request_ids = []  # the x-openstack-request-id of every write, in order
        self.fates = {}             # server id -> [DROP_BEFORE | DROP_AFTER | (kind, value)]
        self.unauthorized_after = None
        self._let_through = 0
        self._lock = threading.Lock()

    # --- inspection --------------------------------------------------------------------
    def evacuations(self):
        """The evacuate POSTs received, in arrival order."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/action")]

    def evacuated_ids(self):
        return [r.path.split("/")[-2] for r in self.evacuations()]

    def token_expired(self, path=""):
        """Whether a request now gets 401: ``unauthorized_after`` evacuate calls were let
        through already (counting this one, for an evacuate call to ``path``)."""
        if self.unauthorized_after is None:
            return False
        with self._lock:
            if self._let_through >= self.unauthorized_after:
                return True
            if path.startswith("/v2.1/servers/") and path.endswith("/action"):
                self._let_through += 1
            return False

    def _fate(self, path):
        if not (path.startswith("/v2.1/servers/") and path.endswith("/action")):
            return None
        with self._lock:
            pending = self.fates.get(path.split("/")[-2])
            return pending.pop(0) if pending else None

    # --- answers -------------------------------------------------------------------------
    def answer(self, method, path, query, headers):
        if path == "/v2.1/os-migrations":
            if self.migrations_status != 200:
                return self.migrations_status, {"computeFault": {
                    "code": self.migrations_status, "message": "migrations broke"}}
            items = [m for m in self.migrations
                     if all(m.get(key) == query[key][0]
                            for key in ("source_compute", "migration_type", "instance_uuid",
                                        "status")
                            if key in query)]
            return 200, self._page("migrations", items, query, "os-migrations")
        return super().answer(method, path, query, headers)

    def answer_write(self, method, path, body):
        """``(status, body, headers)`` for a POST or PUT."""
        request_id = "req-" + str(uuid.uuid4())
        headers = {"x-openstack-request-id": request_id, "x-compute-request-id": request_id}
        self.issued_request_ids.append(request_id)
        if method == "POST" and path.startswith("/v2.1/servers/") and path.endswith("/action"):
            return self._evacuate(path.split("/")[-2], body, headers)
        if method == "PUT" and path.startswith("/v2.1/os-services/"):
            return self._update_service(path.rsplit("/", 1)[-1], body, headers)
        return 404, {"itemNotFound": {"code": 404, "message": "no route %s" % path}}, headers

    def _evacuate(self, server_id, body, headers):
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None and not self.gate.wait(GATE_TIMEOUT):
                self.gate.set()  # time out once, not once per call
            if server_id in self.refusals:
                status, message = self.refusals[server_id]
                return status, {"badRequest": {"code": status, "message": message}}, headers
            if self._version_sent() < (2, 14):
                return 200, {"adminPass": (body["evacuate"].get("adminPass")
                                           or "generated-pw")}, headers
            return 200, None, headers
        finally:
            with self._lock:
                self.in_flight -= 1

    def _update_service(self, what, body, headers):
        known = next((s for s in self.services if s["id"] == what), {"id": what})
        if body.get("forced_down") is False and self.force_up_refused:
            host = body.get("host") or known.get("host")
            return 400, {"badRequest": {"code": 400, "message": (
                "Unable to force up host %s as `done` evacuation migration records remain "
                "associated with the host. Ensure the compute service has been restarted, "
                "allowing these records to move to `completed` before retrying this request."
                % host)}}, headers
        if what in ("force-down", "enable", "disable", "disable-log-reason"):
            service = {k: body[k] for k in ("host", "binary") if k in body}
            if what == "force-down":
                service["forced_down"] = body["forced_down"]
            else:
                service["status"] = "enabled" if what == "enable" else "disabled"
                if "disabled_reason" in body:
                    service["disabled_reason"] = body["disabled_reason"]
            return 200, {"service": service}, headers
        service = dict(known)
        service.update(body)
        return 200, {"service": service}, headers

    def _version_sent(self):
        return self._current_version.value

    # --- HTTP --------------------------------------------------------------------------
    def _handler_class(self):
        fake = self
        fake._current_version = threading.local()
        base = super()._handler_class()

        class Handler(base):
            def do_GET(self):
                if fake.token_expired():
                    fake.requests.append(SimpleNamespace(
                        method="GET", path=parse.urlparse(self.path).path, query={},
                        microversion=None, legacy_microversion=None))
                    return self._send(401, UNAUTHORIZED, {})
                return super().do_GET()

            def _send(self, status, answer, headers, content_type="application/json"):
                data = (answer if isinstance(answer, bytes) else
                        json.dumps(answer).encode() if answer is not None else b"")
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if data:
                        self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a "delay" fate)

            def _drop(self):
                self.close_connection = True  # no answer at all: the client sees a reset

            def _write(self, method):
                url = parse.urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                microversion = self.headers.get("OpenStack-API-Version")
                legacy = self.headers.get("X-OpenStack-Nova-API-Version")
                version = (microversion or "compute " + (legacy or "2.1")).split()[-1]
                fake._current_version.value = tuple(int(p) for p in version.split("."))
                expired = fake.token_expired(url.path)
                fake.requests.append(SimpleNamespace(
                    method=method, path=url.path, query=parse.parse_qs(url.query), body=body,
                    microversion=microversion, legacy_microversion=legacy, version=version))
                if expired:
                    return self._send(401, UNAUTHORIZED, {})
                fate = fake._fate(url.path)
                if fate == DROP_BEFORE:
                    return self._drop()
                status, answer, headers = fake.answer_write(method, url.path, body)
                if fate == DROP_AFTER:
                    return self._drop()
                if isinstance(fate, tuple) and fate[0] == "delay":
                    time.sleep(fate[1])
                if isinstance(fate, tuple) and fate[0] == "status":
                    return self._send(fate[1], b"<html><body><h1>%d Bad Gateway</h1>"
                                      b"</body></html>" % fate[1], {}, "text/html")
                self._send(status, answer, headers)

            def do_POST(self):
                self._write("POST")

            def do_PUT(self):
                self._write("PUT")

        return Handler


def running(settings, fake, forget=()):
    """The body of a fake Nova fixture (``yield from nova.running(settings, WritableFakeNova())``):
    Nova's own microversions, no cached versions (nor what ``forget`` resets); yields the
    started fake, then opens its gate and stops it."""
    settings.EVAC_NOVA_MICROVERSION = None
    client.forget_versions()
    for reset in forget:
        reset()
    fake.start()
    yield fake
    if getattr(fake, "gate", None) is not None:
        fake.gate.set()
    fake.stop()
    client.forget_versions()
