"""The facts of a recovery timeline, read from the batch and the audit log
(``operations.timeline``): the right host records, the current attempt only, few queries."""
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evac_dashboard.models import AuditRecord
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.operations import timeline
from evac_dashboard.rules import timeline as rules

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def make_batch(host="cmp1", created=60, state=Batch.FINISHED, finished=70):
    return Batch.objects.create(kind=Batch.KIND_HOST, source_host=host, state=state,
                                user_id="u-1", project_id="p-1", microversion="2.94",
                                created_at=at(created), started_at=at(created),
                                finished_at=at(finished) if finished is not None else None)


def make_item(batch, n, **fields):
    values = dict(batch=batch, instance_id="i-%d" % n, instance_name="vm%d" % n, position=n)
    values.update(fields)
    return Item.objects.create(**values)


def record(action, host="cmp1", created=0, completed=None, outcome=AuditRecord.SUCCEEDED,
           batch=None, user="admin"):
    return AuditRecord.objects.create(
        action=action, source_host=host, created_at=at(created),
        completed_at=at(completed) if completed is not None else None, outcome=outcome,
        user_name=user, batch_id=batch.pk if batch is not None else None)


def test_the_host_records_of_this_incident_and_the_batch_records():
    batch = make_batch()
    record(AuditRecord.FENCE, created=-4000, completed=-3990)   # older than the lookback
    record(AuditRecord.FORCE_DOWN, created=-100, completed=-99)  # an earlier incident...
    record(AuditRecord.UNSET_FORCE_DOWN, created=-50)            # ...that ended here
    record(AuditRecord.FENCE, created=0, completed=8)
    record(AuditRecord.FORCE_DOWN, created=10, completed=11)
    record(AuditRecord.FORCE_DOWN, host="cmp10", created=12, completed=13)  # another host
    record(AuditRecord.POWER_ON, created=-60)                    # restored too, earlier
    record(AuditRecord.HOST_EVACUATE, created=60, batch=batch)
    record(AuditRecord.RETRY, created=65, batch=batch, user="bob")
    make_item(batch, 0, submit_state=Item.SUBMITTED, submitting_at=at(61),
              submitted_at=at(62), outcome_attempt=1, outcome_state="done",
              outcome_at=at(70), outcome_host="cmp2", stages=["submitted", "done"],
              stages_attempt=1)
    found = timeline.gather(batch, now=at(100))
    assert [(r.action, r.started) for r in found.host_records] == [
        ("fence", at(0)), ("force_down", at(10))]
    assert [(r.action, r.user) for r in found.batch_records] == [
        ("host_evacuate", "admin"), ("retry", "bob")]
    item, = found.items
    assert (item.outcome_state, item.outcome_at, item.outcome_host) == ("done", at(70),
                                                                          "cmp2")
    assert item.stages == ("submitted", "done")
    assert not found.active and found.created_at == at(60)


def test_records_before_the_previous_batch_of_the_host_are_not_this_ones():
    make_batch(created=-30, finished=-20)
    record(AuditRecord.FORCE_DOWN, created=-40, completed=-39)
    record(AuditRecord.DISABLE, created=-10, completed=-9)
    found = timeline.gather(make_batch(), now=at(100))
    assert [r.action for r in found.host_records] == ["disable"]


def test_host_records_after_the_batch_ended_are_left_out_unless_it_runs():
    batch = make_batch(finished=70)
    make_item(batch, 0, submit_state=Item.SUBMIT_FAILED, submitting_at=at(61),
              failed_at=at(62))
    record(AuditRecord.FORCE_DOWN, created=500, completed=501)
    assert timeline.gather(batch, now=at(1000)).host_records == ()
    running = make_batch(host="cmp2", state=Batch.SUBMITTING, finished=None)
    record(AuditRecord.FORCE_DOWN, host="cmp2", created=500, completed=501)
    found = timeline.gather(running, now=at(1000))
    assert [r.action for r in found.host_records] == ["force_down"] and found.active


def test_an_earlier_attempts_outcome_and_stages_are_not_the_current_ones():
    batch = make_batch()
    make_item(batch, 0, attempt=2, submit_state=Item.PENDING, outcome_attempt=1,
              outcome_state="failed", outcome_at=at(65), stages=["submitted", "failed"],
              stages_attempt=1)
    item, = timeline.gather(batch, now=at(100)).items
    assert (item.outcome_state, item.outcome_at, item.stages) == ("", None, ())
    lane = timeline.timeline(batch, now=at(100)).lanes[-1]
    assert lane.end == "" and lane.segments[0].phase == rules.QUEUED


def test_a_fixed_number_of_queries_whatever_the_size():
    batch = make_batch()
    for n in range(40):
        make_item(batch, n, submit_state=Item.SUBMITTED, submitting_at=at(61),
                  submitted_at=at(62))
    with CaptureQueriesContext(connection) as queries:
        found = timeline.timeline(batch, now=at(100))
    assert len(queries) <= 5
    assert len(found.lanes) == 42


def test_what_the_records_kept_of_novas_service_reaches_the_host_lane(settings):
    settings.EVAC_SERVICE_DOWN_TIME = 20
    batch = make_batch()
    fence = record(AuditRecord.FENCE, created=0, completed=8)
    fence.options = {"nova_state": "down", "nova_last_heartbeat": "2026-12-03T07:59:00"}
    fence.save()
    found = timeline.timeline(batch, now=at(100))
    host = found.lanes[0]
    assert [(m.kind, m.at) for m in host.marks] == [("last_heartbeat", at(-60)),
                                                    ("seen_down", at(-40))]
    assert found.start == at(-60)
