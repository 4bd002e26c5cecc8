"""The fake Nova of the history tests: ``WritableFakeNova`` plus instance actions and
Nova-like evacuation bookkeeping (its migrations and actions: ``tests.unit.factories``).
``running(settings)`` is the body of the tests' ``fake_nova`` fixture
(``yield from history_nova.running(settings)``).

* ``GET /servers/{id}/os-instance-actions``: ``actions[id]`` (newest first), counted in
  ``action_reads``.
* Every accepted evacuate (``POST /servers/{id}/action``) creates what Nova creates: an
  evacuation migration (``accepted``) and an ``evacuate`` instance action with the request
  id of the answer, by ``acting_user``.
"""
from datetime import datetime, timezone

from evac_dashboard.operations import external_sync
from tests.unit.factories import action, migration
from tests.unit.fakes import nova


class AuditFakeNova(nova.WritableFakeNova):
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
    settings.EVAC_AUDIT_SYNC_SECONDS = 0
    yield from nova.running(settings, AuditFakeNova(), forget=(external_sync.forget_sync_times,))
