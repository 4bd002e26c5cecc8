"""Evacuations made outside the panel: copying them in from Nova and deciding whose each is
(the rule itself: ``tests/unit/rules/test_external.py``)."""
from datetime import datetime, timedelta, timezone

import pytest

from evac_dashboard.operations import external_sync
from evac_dashboard.operations import submission
from evac_dashboard.store import audit
from evac_dashboard.store import batches
from evac_dashboard.rules import external
from evac_dashboard.rules import request as evac_request
from evac_dashboard.models import AuditRecord, NovaEvacuation
from tests.unit.fakes import history_nova
from tests.unit.factories import migration as nova_migration, servers_on
from tests.unit.fakes.nova import fake_request

ADMIN = batches.Initiator("admin-id", "admin", "p-admin", "admin")


@pytest.fixture
def fake_nova(settings):
    yield from history_nova.running(settings)


# ------------------------------------------------------------------------------ syncing

@pytest.mark.django_db
def test_cli_evacuation_becomes_one_external_record_with_its_user(fake_nova):
    request = fake_request(fake_nova.endpoint)
    made, action = fake_nova.add_external("srv-cli-1", user_id="ops-bob")
    result = external_sync.sync_external(request)
    assert (result.new, result.external, result.actions_read) == (1, 1, 0)
    record = AuditRecord.objects.get(origin="external")
    assert record.migration_key == made["uuid"] and record.source_host == "cmp1"
    assert record.target_host == "cmp2" and record.outcome == AuditRecord.SUCCEEDED
    assert record.user_id == ""  # migration below 2.80 detail is read lazily

    shown = external_sync.complete_for_display(request, [record], resolve_names=False)
    assert shown[0].user_id == "ops-bob"
    assert shown[0].request_ids == [action["request_id"]]
    assert fake_nova.action_reads == ["srv-cli-1"]

    # Read once: showing it again, or syncing again, costs no instance-action request.
    external_sync.complete_for_display(request, shown, resolve_names=False)
    external_sync.sync_external(request, force=True)
    assert fake_nova.action_reads == ["srv-cli-1"]
    assert AuditRecord.objects.filter(origin="external").count() == 1


@pytest.mark.django_db
def test_user_from_the_migration_at_2_80(fake_nova):
    fake_nova.migrations.append(nova_migration("srv-2", user_id="ops-alice"))
    external_sync.sync_external(fake_request(fake_nova.endpoint))
    assert AuditRecord.objects.get(origin="external").user_id == "ops-alice"


@pytest.mark.django_db
def test_status_changes_follow_nova(fake_nova):
    request = fake_request(fake_nova.endpoint)
    made, _action = fake_nova.add_external("srv-3", status="accepted")
    external_sync.sync_external(request)
    assert AuditRecord.objects.get(origin="external").outcome == AuditRecord.IN_PROGRESS
    made["status"], made["updated_at"] = "failed", made["updated_at"] + "1"
    external_sync.sync_external(request, force=True)
    record = AuditRecord.objects.get(origin="external")
    assert record.outcome == AuditRecord.FAILED and record.completed_at is not None


@pytest.mark.django_db
def test_migrations_of_deleted_servers_stay_in_the_history(fake_nova):
    request = fake_request(fake_nova.endpoint)
    fake_nova.add_external("srv-gone")
    external_sync.sync_external(request)
    fake_nova.migrations.clear()  # the server was deleted: Nova no longer lists it
    external_sync.sync_external(request, force=True)
    assert AuditRecord.objects.filter(origin="external").count() == 1


@pytest.mark.django_db
def test_panel_evacuation_appears_once_not_twice(fake_nova):
    request = fake_request(fake_nova.endpoint)
    servers = servers_on("cmp1", 3)
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN)
    audit.begin_batch_action(ADMIN, AuditRecord.HOST_EVACUATE, batch)
    submission.start(batch, submission.Credentials.from_request(request),
                     executor=submission.InlineExecutor())
    fake_nova.add_external("srv-elsewhere")
    result = external_sync.sync_external(request)
    assert (result.new, result.matched, result.external) == (4, 3, 1)
    assert fake_nova.action_reads == []  # the window rule needed no Nova request
    assert AuditRecord.objects.count() == 2
    assert set(NovaEvacuation.objects.filter(batch_id=batch.pk)
               .values_list("match_rule", flat=True)) == {external.RULE_WINDOW}
    panel = AuditRecord.objects.get(origin="panel")
    assert panel.nova_summary == {"done": 0, "failed": 0, "running": 3}


@pytest.mark.django_db
def test_panel_evacuation_outside_its_window_is_matched_by_request_id(fake_nova):
    request = fake_request(fake_nova.endpoint)
    servers = servers_on("cmp1", 1)
    batch = batches.create_batch(kind="instance", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN)
    submission.start(batch, submission.Credentials.from_request(request),
                     executor=submission.InlineExecutor())
    # Nova's clock is an hour ahead: the window rule cannot see it.
    made = fake_nova.migrations[0]
    later = datetime.fromisoformat(made["created_at"]) + timedelta(hours=1)
    made["created_at"] = made["updated_at"] = later.isoformat(timespec="microseconds")
    result = external_sync.sync_external(request)
    assert (result.matched, result.external, result.actions_read) == (1, 0, 1)
    assert NovaEvacuation.objects.get().match_rule == external.RULE_REQUEST_ID
    assert not AuditRecord.objects.filter(origin="external").exists()


@pytest.mark.django_db
def test_action_reads_per_sync_are_bounded(fake_nova, settings):
    request = fake_request(fake_nova.endpoint)
    servers = servers_on("cmp1", 5)
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN)
    submission.start(batch, submission.Credentials.from_request(request),
                     executor=submission.InlineExecutor())
    for made in fake_nova.migrations:  # all outside the window: each needs its action
        made["created_at"] = (datetime.now(timezone.utc) - timedelta(days=3)).replace(
            tzinfo=None).isoformat()
    result = external_sync.sync_external(request, max_action_reads=2)
    assert result.actions_read == 2 and result.undecided == 3
    assert len(fake_nova.action_reads) == 2
    result = external_sync.sync_external(request, force=True, max_action_reads=2)
    assert len(fake_nova.action_reads) == 4  # never the same one twice


@pytest.mark.django_db
def test_sync_is_throttled(fake_nova, settings):
    settings.EVAC_AUDIT_SYNC_SECONDS = 3600
    request = fake_request(fake_nova.endpoint)
    external_sync.sync_external(request)
    assert external_sync.sync_external(request).skipped
    assert len(fake_nova.calls("/os-migrations")) == 1


@pytest.mark.django_db
def test_only_records_within_retention_are_copied(fake_nova, settings):
    settings.EVAC_AUDIT_RETENTION_DAYS = 30
    fake_nova.add_external("srv-old", created=datetime.now(timezone.utc) - timedelta(days=60))
    fake_nova.add_external("srv-new")
    external_sync.sync_external(fake_request(fake_nova.endpoint))
    assert [r.instances[0]["id"] for r in AuditRecord.objects.all()] == ["srv-new"]
