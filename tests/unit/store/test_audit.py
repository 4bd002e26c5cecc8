"""Records: written before Nova is called, completed once after; batches; no password."""
import pytest

from evac_dashboard.store import audit
from evac_dashboard.store import batches
from evac_dashboard.rules import request as evac_request
from evac_dashboard.operations import submission
from evac_dashboard.models import AuditRecord, EvacuationBatch, EvacuationItem
from tests.unit.fakes.nova import fake_request, still_in_use
from tests.unit.factories import servers_on

ADMIN = batches.Initiator("u-admin", "admin", "p-admin", "admin")
pytestmark = pytest.mark.django_db


def create_batch(host="cmp1", count=3, options=None, kind=EvacuationBatch.KIND_HOST):
    return batches.create_batch(kind=kind, source_host=host, servers=servers_on(host, count),
                                options=options or evac_request.EvacuateOptions(),
                                microversion="2.94", initiator=ADMIN)


# ------------------------------------------------------------------------------ begin

def test_begin_writes_a_pending_record_with_who_and_what():
    record = audit.begin(ADMIN, AuditRecord.FORCE_DOWN, source_host="cmp1", microversion="2.96",
                         options={"reason": "PSU"})
    stored = AuditRecord.objects.get(pk=record.pk)
    assert stored.outcome == AuditRecord.PENDING and stored.completed_at is None
    assert (stored.user_id, stored.user_name, stored.project_id, stored.project_name) == (
        "u-admin", "admin", "p-admin", "admin")
    assert stored.source_host == "cmp1" and stored.microversion == "2.96"
    assert stored.options == {"reason": "PSU", "password_set": False}
    assert stored.origin == AuditRecord.ORIGIN_PANEL


def test_begin_reads_the_user_and_project_of_a_horizon_request():
    request = fake_request("http://127.0.0.1:1/v2.1")
    request.user.project_id, request.user.project_name = "p1", "ops"
    record = audit.begin(request, AuditRecord.ENABLE, source_host="cmp2")
    assert (record.user_id, record.user_name, record.project_id, record.project_name) == (
        "admin-id", "admin", "p1", "ops")
    assert record.microversion == ""  # not cached: no request is made to find it


def test_unknown_action_is_refused():
    with pytest.raises(ValueError):
        audit.begin(ADMIN, "reboot", source_host="cmp1")


def test_safe_options_never_keep_a_password():
    safe = audit.safe_options({"admin_password": "hunter2", "adminPass": "x",
                               "target_host": "cmp2", "force": False})
    assert safe == {"target_host": "cmp2", "force": False, "password_set": True}
    assert audit.safe_options({"admin_password": ""})["password_set"] is False
    assert audit.safe_options({"password_set": True}) == {"password_set": True}


# --------------------------------------------------------------------------- complete

def test_a_record_is_completed_once():
    record = audit.begin(ADMIN, AuditRecord.ENABLE, source_host="cmp1")
    assert audit.complete(record, AuditRecord.SUCCEEDED)
    assert not audit.complete(record, AuditRecord.FAILED, detail="late")
    record.refresh_from_db()
    assert record.outcome == AuditRecord.SUCCEEDED and record.detail == ""


def test_records_are_not_deleted_one_by_one():
    record = audit.begin(ADMIN, AuditRecord.ENABLE, source_host="cmp1")
    with pytest.raises(PermissionError):
        record.delete()
    assert AuditRecord.objects.filter(pk=record.pk).exists()


# ---------------------------------------------------------------------------- batches

def test_batch_record_lists_instances_options_and_microversion():
    options = evac_request.EvacuateOptions(target_host="cmp2", admin_password="pw-123456")
    batch = create_batch(options=options)
    record = audit.begin_batch_action(ADMIN, AuditRecord.HOST_EVACUATE, batch)
    assert record.batch_id == batch.pk and record.microversion == "2.94"
    assert record.target_host == "cmp2" and record.instance_count == 3
    assert [e["name"] for e in record.instances] == [
        i.instance_name for i in batch.items.order_by("position")]
    assert record.options["password_set"] is True
    assert "pw-123456" not in str(record.options)


def test_batch_outcomes():
    def items(*states):
        return [EvacuationItem(instance_id="i%d" % n, instance_name="vm%d" % n,
                               submit_state=state, request_id="req-%d" % n
                               if state == "submitted" else None, position=n)
                for n, state in enumerate(states)]

    assert audit.batch_outcome(items("submitted", "submitted"))[0] == AuditRecord.ACCEPTED
    assert audit.batch_outcome(items("submitted", "submit_failed"))[0] == AuditRecord.PARTIAL
    assert audit.batch_outcome(items("submit_failed"))[0] == AuditRecord.FAILED
    assert audit.batch_outcome(items("submitted", "pending"))[0] == AuditRecord.INTERRUPTED
    assert audit.batch_outcome(items("cancelled", "cancelled"))[0] == AuditRecord.CANCELLED
    outcome, detail, instances, request_ids = audit.batch_outcome(
        items("submitted", "submit_failed", "cancelled"))
    assert detail == "1 sent, 1 refused, 1 cancelled, 0 not sent"
    assert request_ids == ["req-0"] and instances[1]["state"] == "submit_failed"


def test_submission_end_completes_the_record_with_request_ids(fake_nova):
    servers = servers_on("cmp1", 3)
    fake_nova.refusals[servers[1]["id"]] = still_in_use("cmp1")
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN)
    record = audit.begin_batch_action(ADMIN, AuditRecord.HOST_EVACUATE, batch)
    credentials = submission.Credentials.from_request(fake_request(fake_nova.endpoint))
    submission.start(batch, credentials, executor=submission.InlineExecutor())
    record.refresh_from_db()
    assert record.outcome == AuditRecord.PARTIAL
    assert record.detail.startswith("2 sent, 1 refused")
    sent = [r.path.split("/")[-2] for r in fake_nova.evacuations()]
    assert len(sent) == 3
    items = {i.instance_id: i for i in EvacuationItem.objects.filter(batch=batch)}
    assert set(record.request_ids) == {i.request_id for i in items.values() if i.request_id}
    refused = [e for e in record.instances if e["state"] == "submit_failed"]
    assert refused and "still in use" in refused[0]["error"]


def test_a_run_started_without_a_record_writes_one_before_sending(fake_nova):
    batch = create_batch(count=2)
    credentials = submission.Credentials.from_request(fake_request(fake_nova.endpoint))
    submission.start(batch, credentials, executor=submission.InlineExecutor())
    record = AuditRecord.objects.get(batch_id=batch.pk)
    assert record.action == AuditRecord.HOST_EVACUATE and record.outcome == AuditRecord.ACCEPTED
    assert record.user_id == "admin-id" and record.project_id == "p-admin"
    assert len(record.request_ids) == 2


def test_resume_and_retry_records_are_completed_by_the_run(fake_nova):
    batch = create_batch(count=2)
    first = audit.begin_batch_action(ADMIN, AuditRecord.HOST_EVACUATE, batch)
    # The run stopped before sending anything: the batch is interrupted.
    batches.claim(batch, "w:1")
    batches.finish_batch(batch.pk, "worker died")
    audit.batch_submission_ended(batch.pk)
    first.refresh_from_db()
    assert first.outcome == AuditRecord.INTERRUPTED
    resume = audit.begin_batch_action(ADMIN, AuditRecord.RESUME, batch)
    batch.refresh_from_db()
    credentials = submission.Credentials.from_request(fake_request(fake_nova.endpoint))
    submission.start(batch, credentials, executor=submission.InlineExecutor())
    resume.refresh_from_db()
    assert resume.outcome == AuditRecord.ACCEPTED and len(resume.request_ids) == 2
    assert AuditRecord.objects.filter(batch_id=batch.pk).count() == 2


def test_cancel_is_recorded_by_its_caller():
    batch = create_batch(count=2)
    record = audit.begin_batch_action(ADMIN, AuditRecord.CANCEL, batch)
    cancelled = batches.cancel_pending_items(batch.pk)
    audit.complete(record, AuditRecord.CANCELLED, detail="%d pending instances cancelled" % cancelled)
    record.refresh_from_db()
    assert record.outcome == AuditRecord.CANCELLED and record.detail.startswith("2 pending")
    # A cancel record is not completed again by the batch's end.
    assert audit.batch_submission_ended(batch.pk) == []
