"""A fake Nova that also plays evacuations forward, for the progress page's tests.

``EvacuatingFakeNova`` extends ``nova.WritableFakeNova`` (real HTTP, counts requests) with
what the progress endpoint reads:

* ``GET /servers/detail`` honours ``all_tenants`` and ``changes-since`` (servers whose
  ``updated`` is at or after it, deleted ones included, like Nova) and serves ``updated``
  (stamped now, or at ``clock`` when a test sets it);
* ``GET /os-migrations`` honours ``changes-since`` (``updated_at``) and answers newest first;
  a record just accepted has no ``updated_at`` yet (nova-api writes only ``created_at``), so
  a ``changes-since`` list skips it until the target compute claims it (``pre-migrating``);
* an accepted evacuate creates an ``accepted`` evacuation record and an ``evacuate``
  instance action (with the answer's request id) and sets the server to REBUILD/rebuilding,
  as nova-api does, before it answers (so a lost answer leaves them: ``nova.py``'s fates);
* ``GET /servers/{id}`` and ``GET /servers/{id}/os-instance-actions`` (reads counted in
  ``action_reads``);
* ``step(instance_id)`` moves one evacuation along Nova's real sequence (see
  ``SEQUENCE``), ``fail(...)`` ends it the two ways Nova does, ``cleanup(host)`` is the
  source compute's restart (``done`` -> ``completed``).
"""
import datetime
import threading

from tests.unit import factories
from tests.unit.fakes.nova import WritableFakeNova

# (migration status, status, task_state, host switched) after each step, from
# shared/reference/nova-evacuate.md section 2.
SEQUENCE = (
    ("accepted", "REBUILD", "rebuilding", False),
    ("pre-migrating", "REBUILD", "rebuilding", False),
    ("pre-migrating", "REBUILD", "rebuild_block_device_mapping", False),
    ("pre-migrating", "REBUILD", "rebuild_spawning", False),
    ("pre-migrating", "ACTIVE", None, False),   # task None *before* the host flips
    ("done", "ACTIVE", None, True),
)


def nova_time(when=None):
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


class EvacuatingFakeNova(WritableFakeNova):
    def __init__(self, *args, dest="cmp2", **kwargs):
        super().__init__(*args, **kwargs)
        self.dest = dest
        self.stopped_after = False    # 2.95 "stay stopped": SHUTOFF at the end
        self.servers_status = 200      # answer for /servers/detail (e.g. 503)
        self.progress_of = {}          # instance id -> index in SEQUENCE
        self.lock = threading.RLock()
        self.clock = None              # a fixed datetime for Nova's stamps (None: now)
        self.actions = {}              # server id -> [instance actions], newest first
        self.action_reads = []

    # --- state ---------------------------------------------------------------------
    def add_servers(self, servers, updated_seconds_ago=3600):
        stamp = nova_time(datetime.datetime.now(datetime.timezone.utc)
                          - datetime.timedelta(seconds=updated_seconds_ago))
        for server in servers:
            server.setdefault("updated", stamp)
            self.servers.append(server)

    def server(self, instance_id):
        return next(s for s in self.servers if s["id"] == instance_id)

    def migration_of(self, instance_id):
        found = [m for m in self.migrations if m["instance_uuid"] == instance_id]
        return found[-1] if found else None

    def _now(self):
        return nova_time(self.clock)

    def _touch(self, thing, key="updated"):
        thing[key] = self._now()

    def _apply(self, instance_id):
        with self.lock:
            status, server_status, task, moved = SEQUENCE[self.progress_of[instance_id]]
            migration = self.migration_of(instance_id)
            server = self.server(instance_id)
            migration["status"] = status
            if status != "accepted":
                migration["dest_compute"] = self.dest
                self._touch(migration, "updated_at")  # Nova writes it from the claim on
            if moved and self.stopped_after:
                server_status = "SHUTOFF"
            server["status"] = server_status
            server["OS-EXT-STS:task_state"] = task
            server["OS-EXT-STS:vm_state"] = {"SHUTOFF": "stopped", "REBUILD": "active"}.get(
                server_status, "active")
            if moved:
                server["OS-EXT-SRV-ATTR:host"] = self.dest
            self._touch(server)

    def step(self, instance_id, to=None):
        """One step forward (or straight to index ``to`` of SEQUENCE)."""
        with self.lock:
            current = self.progress_of[instance_id]
            self.progress_of[instance_id] = (min(current + 1, len(SEQUENCE) - 1)
                                             if to is None else to)
            self._apply(instance_id)

    def step_all(self, to=None):
        for instance_id in list(self.progress_of):
            self.step(instance_id, to)

    def finish_all(self):
        self.step_all(len(SEQUENCE) - 1)

    def fail(self, instance_id, migration_status="error",
             fault_message="No valid host was found. There are not enough hosts available."):
        """``error``: scheduling failed, the server goes ERROR with a fault. ``failed``:
        the target refused it; Nova restores the server's previous state."""
        with self.lock:
            migration = self.migration_of(instance_id)
            server = self.server(instance_id)
            migration["status"] = migration_status
            self._touch(migration, "updated_at")
            server["OS-EXT-STS:task_state"] = None
            if migration_status == "error":
                server["status"] = "ERROR"
                server["OS-EXT-STS:vm_state"] = "error"
                server["fault"] = {"code": 500, "created": self._now(),
                                   "message": fault_message}
            else:
                server["status"] = "ACTIVE"
            self._touch(server)
            self.progress_of.pop(instance_id, None)

    def cleanup(self, host):
        """The failed host's nova-compute restarted: its ``done`` records -> ``completed``."""
        with self.lock:
            for migration in self.migrations:
                if (migration["source_compute"] == host
                        and migration["status"] in ("accepted", "pre-migrating", "done")):
                    migration["status"] = "completed"
                    self._touch(migration, "updated_at")

    def delete(self, instance_id):
        with self.lock:
            server = self.server(instance_id)
            server["status"] = "DELETED"
            server["OS-EXT-STS:vm_state"] = "deleted"
            self._touch(server)
            self.migrations = [m for m in self.migrations if m["instance_uuid"] != instance_id]

    # --- answers ----------------------------------------------------------------------
    def answer(self, method, path, query, headers):
        with self.lock:
            if path.startswith("/v2.1/servers/") and path.endswith("/os-instance-actions"):
                server_id = path.split("/")[3]
                self.action_reads.append(server_id)
                return 200, {"instanceActions": list(self.actions.get(server_id, []))}
            if path.startswith("/v2.1/servers/") and path.count("/") == 3 \
                    and path != "/v2.1/servers/detail":
                found = [s for s in self.servers if s["id"] == path.split("/")[3]]
                if not found or found[0]["status"] == "DELETED":
                    return 404, {"itemNotFound": {"code": 404, "message": "not found"}}
                return 200, {"server": found[0]}
            if path == "/v2.1/servers/detail" and "changes-since" in query:
                if self.servers_status != 200:
                    return self.servers_status, {"computeFault": {
                        "code": self.servers_status, "message": "servers broke"}}
                since = _parse(query["changes-since"][0])
                items = [s for s in self.servers if _parse(s["updated"]) >= since]
                return 200, self._page("servers", items, query, "servers/detail")
            if path == "/v2.1/os-migrations" and "changes-since" in query:
                if self.migrations_status != 200:
                    return super().answer(method, path, query, headers)
                since = _parse(query["changes-since"][0])
                items = [m for m in reversed(self.migrations)
                         if m.get("source_compute") == query.get("source_compute", [None])[0]
                         and m["updated_at"] and _parse(m["updated_at"]) >= since]
                return 200, self._page("migrations", items, query, "os-migrations")
            return super().answer(method, path, query, headers)

    def _evacuate(self, server_id, body, headers):
        status, answer, headers = super()._evacuate(server_id, body, headers)
        if status == 200:
            with self.lock:
                server = self.server(server_id)
                now = self._now()
                migration = factories.migration(
                    server_id, server["OS-EXT-SRV-ATTR:host"], now, status="accepted",
                    dest=None)
                migration["updated_at"] = None  # as nova-api creates it: only created_at
                self.migrations.append(migration)
                self.progress_of[server_id] = 0
                server.pop("fault", None)
                self._apply(server_id)
                self.actions.setdefault(server_id, []).insert(0, factories.action(
                    server_id, request_id=headers["x-openstack-request-id"],
                    user_id="admin-id", created=self.clock))
        return status, answer, headers


def serve_progress_page(case, max_limit=1000):
    """Start an ``EvacuatingFakeNova`` for a Django test ``case`` and point the progress
    page at it: the compute endpoint, project names, and an inline sender (a batch is sent
    when it starts). Returns the fake; everything is undone at the case's cleanup."""
    from unittest import mock

    from evac_dashboard.api import client
    from evac_dashboard.api import nova
    from evac_dashboard.operations import progress_reads
    from evac_dashboard.operations import submission

    client.forget_versions()
    progress_reads.forget_cache()
    fake = EvacuatingFakeNova(max_limit=max_limit).start()
    case.addCleanup(fake.stop)
    case.addCleanup(client.forget_versions)
    for target, name, value in ((client, "compute_endpoint", fake.endpoint),
                                (nova, "project_names", {"p1": "demo"})):
        patcher = mock.patch.object(target, name, return_value=value)
        patcher.start()
        case.addCleanup(patcher.stop)
    patcher = mock.patch.object(submission, "_pool",
                                side_effect=lambda batch: submission.InlineExecutor())
    patcher.start()
    case.addCleanup(patcher.stop)
    return fake
