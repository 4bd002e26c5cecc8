"""``FakeNova`` extended with the write calls the submission engine makes.

* ``POST /servers/{id}/action``: 200 with ``x-openstack-request-id`` (and, below 2.14, an
  ``adminPass`` body), or the refusal configured in ``refusals[id]``. It counts the calls in
  flight (``max_in_flight``) and can hold them at a ``gate`` until the test opens it.
* ``PUT /os-services/...``: records the body, answers like Nova.
* ``GET /os-migrations``: ``migrations`` filtered by ``source_compute``/``migration_type``.
"""
import itertools
import json
import threading
from types import SimpleNamespace
import uuid
from urllib import parse

from tests.unit import factories
from tests.unit.fakenova import FakeNova, fake_request  # noqa: F401 - re-exported

GATE_TIMEOUT = 30  # a forgotten gate must not hang the test run forever


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
        self._lock = threading.Lock()

    # --- inspection --------------------------------------------------------------------
    def evacuations(self):
        """The evacuate POSTs received, in arrival order."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/action")]

    def evacuated_ids(self):
        return [r.path.split("/")[-2] for r in self.evacuations()]

    # --- answers -------------------------------------------------------------------------
    def answer(self, method, path, query, headers):
        if path == "/v2.1/os-migrations":
            if self.migrations_status != 200:
                return self.migrations_status, {"computeFault": {
                    "code": self.migrations_status, "message": "migrations broke"}}
            items = [m for m in self.migrations
                     if all(m.get(key) == query[key][0]
                            for key in ("source_compute", "migration_type", "instance_uuid")
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
            def _write(self, method):
                url = parse.urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                microversion = self.headers.get("OpenStack-API-Version")
                legacy = self.headers.get("X-OpenStack-Nova-API-Version")
                version = (microversion or "compute " + (legacy or "2.1")).split()[-1]
                fake._current_version.value = tuple(int(p) for p in version.split("."))
                fake.requests.append(SimpleNamespace(
                    method=method, path=url.path, query=parse.parse_qs(url.query), body=body,
                    microversion=microversion, legacy_microversion=legacy, version=version))
                status, answer, headers = fake.answer_write(method, url.path, body)
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                self._write("POST")

            def do_PUT(self):
                self._write("PUT")

        return Handler


_migration_ids = itertools.count(1)


def migration(instance_id, source, created_at, status="done"):
    return {"id": next(_migration_ids), "uuid": str(uuid.uuid4()), "instance_uuid": instance_id,
            "source_compute": source, "dest_compute": "cmp9", "status": status,
            "migration_type": "evacuation", "created_at": created_at, "updated_at": created_at}


def servers_on(host, count, prefix="vm", **kwargs):
    return [factories.server("%s-%s%03d" % (host, prefix, i), host, **kwargs)
            for i in range(count)]
