"""The fake Nova of the history tests: ``WritableFakeNova`` plus instance actions and
Nova-like evacuation bookkeeping. ``running(settings)`` is the body of the tests'
``fake_nova`` fixture (``yield from history_nova.running(settings)``).

* ``GET /servers/{id}/os-instance-actions``: ``actions[id]`` (newest first), counted in
  ``action_reads``.
* Every accepted evacuate (``POST /servers/{id}/action``) creates what Nova creates: an
  evacuation migration (``accepted``) and an ``evacuate`` instance action with the request
  id of the answer, by ``acting_user``.
"""
from datetime import datetime, timezone
import itertools
import uuid

from evac_dashboard.api import client
from evac_dashboard.operations import external_sync
from tests.unit.batches.fakes import WritableFakeNova

_ids = itertools.count(1000)


def nova_time(when=None):
    when = when or datetime.now(timezone.utc)
    return when.astimezone(timezone.utc).replace(tzinfo=None).isoformat(
        timespec="microseconds")


def migration(instance_id, source="cmp1", dest="cmp2", status="done", created=None,
              user_id=None, project_id=None):
    stamp = nova_time(created)
    item = {"id": next(_ids), "uuid": str(uuid.uuid4()), "instance_uuid": instance_id,
            "source_compute": source, "dest_compute": dest, "status": status,
            "migration_type": "evacuation", "created_at": stamp, "updated_at": stamp}
    if user_id:
        item.update(user_id=user_id, project_id=project_id or "proj-ops")
    return item


def action(instance_id, request_id=None, user_id="cli-user", created=None,
           project_id="proj-ops"):
    stamp = nova_time(created)
    return {"action": "evacuate", "instance_uuid": instance_id,
            "request_id": request_id or "req-" + str(uuid.uuid4()), "user_id": user_id,
            "project_id": project_id, "start_time": stamp, "updated_at": stamp,
            "message": None}


class AuditFakeNova(WritableFakeNova):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.actions = {}          # server id -> [action dicts], newest first
        self.action_reads = []     # server ids, in order read
        self.acting_user = "admin-id"

    def add_external(self, instance_id, user_id="cli-user", **kwargs):
        """An evacuation made with the CLI: a migration and its instance action."""
        made = migration(instance_id, **kwargs)
        self.migrations.insert(0, made)
        found = action(instance_id, user_id=user_id,
                       created=datetime.fromisoformat(made["created_at"]).replace(
                           tzinfo=timezone.utc))
        self.actions.setdefault(instance_id, []).insert(0, found)
        return made, found

    def answer(self, method, path, query, headers):
        if path.startswith("/v2.1/servers/") and path.endswith("/os-instance-actions"):
            server_id = path.split("/")[3]
            self.action_reads.append(server_id)
            return 200, {"instanceActions": list(self.actions.get(server_id, []))}
        return super().answer(method, path, query, headers)

    def _evacuate(self, server_id, body, headers):
        status, answer, headers = super()._evacuate(server_id, body, headers)
        if status == 200:
            made = migration(server_id, status="accepted", dest=None)
            self.migrations.insert(0, made)
            self.actions.setdefault(server_id, []).insert(0, action(
                server_id, request_id=headers["x-openstack-request-id"],
                user_id=self.acting_user))
        return status, answer, headers


def running(settings):
    """Start an ``AuditFakeNova`` with the history's throttles off; yields it, then stops it."""
    settings.EVAC_NOVA_MICROVERSION = None
    settings.EVAC_AUDIT_SYNC_SECONDS = 0
    client.forget_versions()
    external_sync.forget_sync_times()
    server = AuditFakeNova().start()
    yield server
    if server.gate is not None:
        server.gate.set()
    server.stop()
    client.forget_versions()
