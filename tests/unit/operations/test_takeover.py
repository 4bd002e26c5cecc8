"""Automatic takeover of a batch whose sender died: no click, nothing sent twice, and the
dead sender writes nothing over the new one's records when it wakes up."""
from collections import Counter
from datetime import timedelta

from django.utils import timezone
import pytest

from evac_dashboard.models import AuditRecord, EvacuationBatch, EvacuationItem
from evac_dashboard.operations import credentials as login
from evac_dashboard.operations import liveness
from evac_dashboard.operations import submission
from evac_dashboard.operations import takeover
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import batches
from tests.unit.factories import ADMIN, servers_on
from tests.unit.fakes.nova import fake_request
from tests.unit.operations.test_resume import died_mid_batch, states

pytestmark = pytest.mark.django_db


def a_login(nova, hours=1):
    request = fake_request(nova.endpoint)
    request.user.token.expires = timezone.now() + timedelta(hours=hours)
    return submission.Credentials.from_request(request)


def new_batch(nova, count):
    servers = servers_on("cmp1", count)
    nova.add_servers(servers)
    return batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                options=evac_request.EvacuateOptions(), microversion="2.94",
                                initiator=ADMIN), servers


def test_a_batch_whose_sender_died_is_taken_over_and_nothing_is_sent_twice(evac_nova):
    batch, executor = died_mid_batch(evac_nova, count=8, answered=3)
    login.remember_login(batch, a_login(evac_nova))
    dead = batch.worker
    assert len(evac_nova.evacuations()) == 4  # 3 answered + 1 in flight when it died

    run = takeover.take_over(batch.pk, executor=submission.InlineExecutor())

    assert run is not None and run.wait(30)
    assert set(Counter(evac_nova.evacuated_ids()).values()) == {1}
    assert len(evac_nova.evacuated_ids()) == 8
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED and batch.worker != dead
    record = AuditRecord.objects.get(batch_id=batch.pk, action=AuditRecord.TAKEOVER)
    assert dead in record.detail and submission.worker_name() in record.detail
    # The new sender sent the 4 never sent and found the one in flight already in Nova.
    assert "4 sent" in record.detail and "1 found already in Nova" in record.detail
    first = AuditRecord.objects.get(batch_id=batch.pk, action=AuditRecord.HOST_EVACUATE)
    assert first.detail.startswith("3 sent") and "taken over by" in first.detail
    assert login.remembered_login(batch.pk) is None  # forgotten once the run is over


def test_a_batch_someone_still_sends_is_not_taken_over(evac_nova):
    batch, servers = new_batch(evac_nova, 2)
    never_runs = type("NeverRuns", (), {
        "submit": lambda self, *a: __import__("concurrent.futures").futures.Future(),
        "shutdown": lambda self, **kw: None})()
    run = submission.start(batch, a_login(evac_nova), executor=never_runs)
    try:
        batch.refresh_from_db()
        assert batch.state == EvacuationBatch.SUBMITTING
        assert not takeover.orphaned(batch)
        assert takeover.take_over(batch.pk) is None
        assert evac_nova.evacuated_ids() == []
    finally:
        run._lease.release()
        with submission._running_lock:
            submission._running.pop(str(batch.pk), None)


def test_a_batch_with_an_admin_password_waits_for_resume(evac_nova):
    batch, _executor = died_mid_batch(evac_nova, count=3, answered=1)
    batch.options = dict(batch.options or {}, password_set=True)
    batch.save(update_fields=["options"])
    login.remember_login(batch, a_login(evac_nova))
    assert takeover.take_over(batch.pk) is None
    assert liveness.poll_status(batch).possible  # the operator resumes, with the password


def test_a_batch_without_a_kept_login_is_left_for_resume(evac_nova):
    batch, _executor = died_mid_batch(evac_nova, count=3, answered=1)
    assert takeover.take_over(batch.pk) is None
    assert liveness.poll_status(batch).possible


def test_a_poll_takes_it_over_and_says_so_instead_of_offering_resume(evac_nova,
                                                                     monkeypatch):
    batch, _executor = died_mid_batch(evac_nova, count=4, answered=1)
    login.remember_login(batch, a_login(evac_nova))
    monkeypatch.setattr(takeover, "take_over_soon", lambda batch_id: takeover.take_over(
        batch_id, executor=submission.InlineExecutor()))  # in this thread (sqlite)
    status = liveness.poll_status(batch)
    assert not status.possible and "takes it over" in status.reason
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED
    assert set(Counter(evac_nova.evacuated_ids()).values()) == {1}


def test_a_just_created_batch_is_not_an_orphan_yet(evac_nova):
    batch, servers = new_batch(evac_nova, 1)
    assert not takeover.orphaned(batch)  # its creator is about to claim it
    EvacuationBatch.objects.filter(pk=batch.pk).update(
        updated_at=timezone.now() - timedelta(seconds=60))
    batch.refresh_from_db()
    assert takeover.orphaned(batch)


def test_a_sender_that_lost_its_batch_writes_nothing(evac_nova):
    batch, _executor = died_mid_batch(evac_nova, count=3, answered=1)
    dead = batch.worker
    EvacuationBatch.objects.filter(pk=batch.pk).update(worker="node2:42")  # taken over
    pending = EvacuationItem.objects.filter(batch=batch, submit_state="pending").first()
    with batches.written_by(dead):
        assert not batches.mark_submitting(pending.pk)
        assert batches.finish_batch(batch.pk) is not None
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.SUBMITTING  # the new sender's to end
    assert states(batch)["pending"] == 1
    with batches.written_by("node2:42"):
        assert batches.mark_submitting(pending.pk)


class ExitingExecutor:
    """A pool of a process that is exiting (an Apache graceful reload): runs the first
    task, then refuses every new one as Python's pool does after interpreter shutdown."""

    def __init__(self):
        self.ran = 0

    def submit(self, run_task, function, *args):
        if self.ran:
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")
        self.ran += 1
        return submission.InlineExecutor().submit(run_task, function, *args)

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_a_reload_leaves_the_batch_in_flight_for_a_takeover_not_interrupted(evac_nova):
    batch, servers = new_batch(evac_nova, 3)
    run = submission.start(batch, a_login(evac_nova), executor=ExitingExecutor())
    assert run.wait(10)
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.SUBMITTING  # not "interrupted": nobody must click
    assert evac_nova.evacuated_ids() == []
    assert takeover.orphaned(batch)
    assert takeover.take_over(batch.pk, executor=submission.InlineExecutor()).wait(30)
    assert sorted(evac_nova.evacuated_ids()) == sorted(s["id"] for s in servers)
