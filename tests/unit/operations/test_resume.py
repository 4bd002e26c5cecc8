"""Resume after the dashboard process died mid-batch: only what Nova never got is sent.

The death is simulated with an executor that stops running tasks after a given number of
evacuate calls were answered and recorded, with one more call that reaches Nova but whose
answer is never recorded (the process died while it was in flight). The process's memory
(the running submission) is then dropped and the batch's worker points at a process of this
host that no longer exists, exactly what a restarted dashboard finds in the database.
(tests/integration/test_progress.py does the same with a real dashboard process killed
mid-batch against the local cloud.)
"""
from collections import Counter
from concurrent import futures
from datetime import timedelta
import socket
import subprocess

from django.utils import timezone
import pytest
from tooz import coordination

from evac_dashboard.api import actions
from evac_dashboard.store import batches
from evac_dashboard.rules import request as evac_request
from evac_dashboard.operations import submission
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import leases
from evac_dashboard.operations import liveness
from evac_dashboard.operations import snapshots
from evac_dashboard.models import EvacuationBatch, EvacuationItem
from tests.unit.fakes.nova import fake_request
from tests.unit.factories import ADMIN, servers_on

pytestmark = pytest.mark.django_db


class DyingExecutor:
    """Like ``InlineExecutor`` until the process "dies": after ``answered`` evacuate calls
    were answered and recorded, the next one is sent to Nova but never recorded, and no
    task runs after that."""

    def __init__(self, answered):
        self.answered = answered
        self.sent = 0
        self.dead = False
        self.in_flight_item = None

    def submit(self, run_task, function, *args):
        if self.dead:
            return futures.Future()  # never runs: the process is gone
        if getattr(function, "__name__", "") == "_send":
            if self.sent == self.answered:
                item = args[0]
                run = function.__self__
                batches.mark_submitting(item.pk)
                actions.evacuate(run._credentials, item.instance_id, run._request_for(item))
                self.in_flight_item = item
                self.dead = True
                return futures.Future()
            self.sent += 1
        return submission.InlineExecutor().submit(run_task, function, *args)

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def dead_pid():
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def died_mid_batch(nova, count=8, answered=3):
    servers = servers_on("cmp1", count)
    nova.add_servers(servers)
    batch = batches.create_batch(kind=EvacuationBatch.KIND_HOST, source_host="cmp1",
                                 servers=servers, options=evac_request.EvacuateOptions(),
                                 microversion="2.94", initiator=ADMIN)
    executor = DyingExecutor(answered)
    submission.start(batch, submission.Credentials.from_request(fake_request(nova.endpoint)),
                     executor=executor)
    # The process is gone: its memory (the running submission) with it.
    with submission._running_lock:
        run = submission._running.pop(str(batch.pk), None)
    run._lease.release()  # the kernel (file driver) or the lease time (memcached) does this
    EvacuationBatch.objects.filter(pk=batch.pk).update(
        worker="%s:%d" % (socket.gethostname(), dead_pid()))
    batch.refresh_from_db()
    return batch, executor


def states(batch):
    return Counter(EvacuationItem.objects.filter(batch=batch).values_list("submit_state",
                                                                           flat=True))


def test_resume_after_the_worker_died_sends_only_the_missing_items(evac_nova):
    batch, executor = died_mid_batch(evac_nova, count=8, answered=3)
    request = fake_request(evac_nova.endpoint)

    # What the restarted dashboard finds: 3 answered, 1 in flight (Nova got it), 4 never sent.
    assert batch.state == EvacuationBatch.SUBMITTING
    assert states(batch) == {"submitted": 3, "submitting": 1, "pending": 4}
    assert len(evac_nova.evacuations()) == 4
    # Nova got the call in flight and a target compute claimed it (its record is in Nova's
    # changes-since list from then on).
    evac_nova.step(executor.in_flight_item.instance_id)
    data = snapshots.snapshot(request, batch)
    assert data["resume"]["possible"] and data["resume"]["open_items"] == 5
    assert "gone" in data["resume"]["reason"]
    assert not data["final"]
    in_flight = {r["instance_id"]: r for r in data["items"]}[executor.in_flight_item.instance_id]
    assert in_flight["state"] == "rebuilding"  # the truth from Nova, not the stored "submitting"

    migrations_before = len(evac_nova.calls("/os-migrations"))
    posts_before = len(evac_nova.evacuations())
    run = evacuations.resume(request, batch, executor=submission.InlineExecutor())

    assert run.resumed and run.done
    # One read of Nova's evacuation records (two list calls: updated since the batch began,
    # just accepted) decided what was already sent.
    assert len(evac_nova.calls("/os-migrations")) - migrations_before == 2
    resent = evac_nova.evacuated_ids()[posts_before:]
    assert len(resent) == 4
    assert executor.in_flight_item.instance_id not in resent
    # Nothing was evacuated twice: every instance exactly once.
    assert set(Counter(evac_nova.evacuated_ids()).values()) == {1}
    assert len(evac_nova.evacuated_ids()) == 8
    item = EvacuationItem.objects.get(pk=executor.in_flight_item.pk)
    assert item.submit_state == "submitted" and item.found_migration_id
    assert item.request_id is None
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED and batch.active_source_host is None

    evac_nova.finish_all()
    data = snapshots.snapshot(request, batch)
    assert data["final"] and data["summary"]["counts"]["done"] == 8
    assert not data["resume"]["possible"]


def test_resume_is_not_offered_while_this_process_sends_it(evac_nova):
    servers = servers_on("cmp1", 2)
    evac_nova.add_servers(servers)
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN)
    executor = DyingExecutor(answered=0)
    submission.start(batch, submission.Credentials.from_request(
        fake_request(evac_nova.endpoint)), executor=executor)
    batch.refresh_from_db()
    try:
        status = liveness.resume_status(batch)
        assert not status.possible and "this dashboard process" in status.reason.lower()
        with pytest.raises(evacuations.ActionRefused):
            evacuations.resume(fake_request(evac_nova.endpoint), batch)
    finally:
        with submission._running_lock:
            submission._running.pop(str(batch.pk))._lease.release()


def other_node_holding(batch):
    """Another dashboard node's coordinator holding the batch's lease on the same backend."""
    other = coordination.get_coordinator(leases.backend_url(), b"other-node:4242")
    other.start()
    lock = other.get_lock(("evac-batch-%s" % batch.pk).encode())
    assert lock.acquire(blocking=False)
    return other, lock


def test_a_live_sender_on_another_node_is_never_called_gone(evac_nova, settings):
    """A node whose sender holds its lease is alive however long it has been silent (an
    evacuate call that takes minutes): no "gone" banner, no Resume, on any node."""
    settings.EVAC_RESUME_STALE_SECONDS = 90
    servers = servers_on("cmp1", 2)
    evac_nova.add_servers(servers)
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN)
    other, lock = other_node_holding(batch)
    try:
        batch = batches.claim(batch, "other-node:4242")
        old = timezone.now() - timedelta(minutes=5)
        EvacuationBatch.objects.filter(pk=batch.pk).update(updated_at=old, created_at=old)
        EvacuationItem.objects.filter(batch=batch).update(updated_at=old, created_at=old)
        batch.refresh_from_db()
        status = liveness.resume_status(batch)
        assert not status.possible and "other-node:4242" in status.reason
        assert "gone" not in status.reason
        with pytest.raises(evacuations.ActionRefused):
            evacuations.resume(fake_request(evac_nova.endpoint), batch)
    finally:
        lock.release()
        other.stop()
    # The other node is gone (its lease freed): offered at once, not after 90 s of silence.
    EvacuationBatch.objects.filter(pk=batch.pk).update(updated_at=timezone.now())
    batch.refresh_from_db()
    status = liveness.resume_status(batch)
    assert status.possible and status.open_items == 2 and "gone" in status.reason


def test_without_a_coordination_backend_silence_decides(evac_nova, settings):
    settings.EVAC_RESUME_STALE_SECONDS = 90
    settings.EVAC_COORDINATION_URL = "memcached://127.0.0.1:9?timeout=1"  # nothing listens
    leases.forget()
    try:
        servers = servers_on("cmp1", 2)
        batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                     options=evac_request.EvacuateOptions(),
                                     microversion="2.94", initiator=ADMIN)
        batch = batches.claim(batch, "other-node:4242")
        status = liveness.resume_status(batch)
        assert not status.possible and "other-node:4242" in status.reason
        old = timezone.now() - timedelta(minutes=5)
        EvacuationBatch.objects.filter(pk=batch.pk).update(updated_at=old, created_at=old)
        EvacuationItem.objects.filter(batch=batch).update(updated_at=old, created_at=old)
        batch.refresh_from_db()
        status = liveness.resume_status(batch)
        assert status.possible and "cannot be checked" in status.reason
    finally:
        leases.forget()


def test_an_interrupted_batch_is_offered_and_a_finished_one_is_not(evac_nova):
    servers = servers_on("cmp1", 2)
    evac_nova.add_servers(servers)
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN)
    batches.claim(batch, submission.worker_name())
    batches.finish_batch(batch.pk, "nova-api went away")
    batch.refresh_from_db()
    assert batch.state == "interrupted"
    assert liveness.resume_status(batch).possible
    evacuations.resume(fake_request(evac_nova.endpoint), batch,
                    executor=submission.InlineExecutor())
    batch.refresh_from_db()
    assert batch.state == "finished" and len(evac_nova.evacuations()) == 2
    assert not liveness.resume_status(batch).possible


def test_resume_asks_for_the_password_again(evac_nova):
    servers = servers_on("cmp1", 1)
    evac_nova.add_servers(servers)
    batch = batches.create_batch(
        kind="host", source_host="cmp1", servers=servers,
        options=evac_request.EvacuateOptions(admin_password="Pw-1"), microversion="2.94",
        initiator=ADMIN)
    batches.claim(batch, submission.worker_name())
    batches.finish_batch(batch.pk, "stopped")
    batch.refresh_from_db()
    with pytest.raises(evacuations.ActionRefused, match="admin password"):
        evacuations.resume(fake_request(evac_nova.endpoint), batch)
    assert not evac_nova.evacuations()
    evacuations.resume(fake_request(evac_nova.endpoint), batch, password="Pw-1",
                    executor=submission.InlineExecutor())
    assert evac_nova.evacuations()[0].body["evacuate"]["adminPass"] == "Pw-1"


def test_an_unreachable_coordination_backend_does_not_stop_an_evacuation(evac_nova, settings):
    settings.EVAC_COORDINATION_URL = "memcached://127.0.0.1:9?timeout=1"  # nothing listens
    leases.forget()
    try:
        servers = servers_on("cmp1", 2)
        evac_nova.add_servers(servers)
        batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                     options=evac_request.EvacuateOptions(),
                                     microversion="2.94", initiator=ADMIN)
        run = submission.start(batch, submission.Credentials.from_request(
            fake_request(evac_nova.endpoint)), executor=submission.InlineExecutor())
        assert run.done and len(evac_nova.evacuations()) == 2
    finally:
        leases.forget()


class DeferredExecutor:
    """Runs the submitted tasks only when ``drain()`` is called (in the calling thread)."""

    def __init__(self):
        self.tasks = []

    def submit(self, function, *args):
        self.tasks.append((function, args))
        return futures.Future()

    def drain(self):
        while self.tasks:
            function, args = self.tasks.pop(0)
            function(*args)

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_a_sender_that_finished_while_the_page_was_reading_is_not_gone(evac_nova):
    """The page reads the batch, then spends seconds reading Nova (a busy nova-api during
    the submission burst); meanwhile the sender finishes and lets its lease go. The page
    must say the submission is over, never that its sender is gone (seen on the local
    cloud: a new batch showed a "gone" banner and a Resume button)."""
    servers = servers_on("cmp1", 3)
    evac_nova.add_servers(servers)
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN)
    executor = DeferredExecutor()
    run = submission.start(batch, submission.Credentials.from_request(
        fake_request(evac_nova.endpoint)), executor=executor)
    page_read = EvacuationBatch.objects.get(pk=batch.pk)  # what the page read first
    assert page_read.state == EvacuationBatch.SUBMITTING
    executor.drain()  # meanwhile the sender sends everything and ends
    assert run.done and batches.current_state(batch.pk) == EvacuationBatch.FINISHED
    status = liveness.resume_status(page_read)
    assert not status.possible
    assert "gone" not in status.reason and "over" in status.reason


def test_resume_finds_a_call_nova_only_just_accepted_in_one_read(evac_nova):
    """The call in flight when the worker died is only ``accepted`` (no compute claimed it
    yet: Nova's changes-since list skips it). The resume's own read finds it all the same:
    not sent again, no per-instance question."""
    batch, executor = died_mid_batch(evac_nova, count=4, answered=1)
    in_flight = executor.in_flight_item.instance_id
    assert evac_nova.migration_of(in_flight)["status"] == "accepted"
    posts_before = len(evac_nova.evacuations())

    def instance_reads():
        return sum(1 for r in evac_nova.calls("/os-migrations") if "instance_uuid" in r.query)
    before = instance_reads()
    run = evacuations.resume(fake_request(evac_nova.endpoint), batch,
                             executor=submission.InlineExecutor())
    assert run.done
    assert in_flight not in evac_nova.evacuated_ids()[posts_before:]
    assert set(Counter(evac_nova.evacuated_ids()).values()) == {1}
    assert EvacuationItem.objects.get(pk=executor.in_flight_item.pk).found_migration_id
    assert instance_reads() == before
