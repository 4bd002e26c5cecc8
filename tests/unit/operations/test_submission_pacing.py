"""Pacing a submission by what Nova finishes (``operations.submission_pacing``), against the
fake Nova that plays evacuations forward. The sender's wait between checks is replaced by
a step of the test (``_pause``): Nova finishes rebuilds there."""
import datetime
import threading
from types import SimpleNamespace

from django.utils import timezone
import pytest

from evac_dashboard.models import EvacuationBatch, EvacuationItem
from evac_dashboard.operations import leases
from evac_dashboard.operations import snapshots
from evac_dashboard.operations import submission
from evac_dashboard.operations import submission_pacing
from evac_dashboard.rules import priority
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import batches
from tests.unit import factories
from tests.unit.factories import ADMIN
from tests.unit.fakes.nova import fake_request

pytestmark = pytest.mark.django_db

FINAL = ("done", "completed", "failed", "error")
WAIT = 60


@pytest.fixture
def paced(settings):
    settings.EVAC_PACING = True
    settings.EVAC_PACING_MIN_WINDOW = 1
    settings.EVAC_PACING_START_WINDOW = 2
    settings.EVAC_PACING_MAX_WINDOW = 3
    settings.EVAC_PACING_CHECK_SECONDS = 0.05
    return settings


def create(nova, count, host="cmp1"):
    servers = [factories.server("vm-%02d" % i, host,
                                metadata={"evac:restart_priority": str(i % 3)})
               for i in range(count)]
    nova.add_servers(servers)
    batch = batches.create_batch(kind=EvacuationBatch.KIND_HOST, source_host=host,
                                 servers=servers, options=evac_request.EvacuateOptions(),
                                 microversion="2.94", initiator=ADMIN)
    return batch, [s["id"] for s in priority.submission_order(servers)]


def login(nova, seconds=3600):
    request = fake_request(nova.endpoint)
    request.user.token = SimpleNamespace(
        id="token-1", expires=timezone.now() + datetime.timedelta(seconds=seconds))
    return submission.Credentials.from_request(request)


def unfinished(nova):
    return [m for m in nova.migrations if m["status"] not in FINAL]


def count_rebuilds_at_each_send(nova):
    """Record, at every evacuate Nova accepts, how many rebuilds it has unfinished."""
    seen = []
    original = nova._evacuate

    def counting(server_id, body, headers):
        seen.append(len(unfinished(nova)))
        return original(server_id, body, headers)

    nova._evacuate = counting
    return seen


def finishing(nova, per_pause=1, also=None):
    """A ``_pause`` in which Nova finishes the ``per_pause`` oldest unfinished rebuilds."""
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        if also is not None:
            also(len(pauses))
        for migration in unfinished(nova)[:per_pause]:
            nova.step(migration["instance_uuid"], to=5)  # done, host switched
    return pause, pauses


def states(batch):
    return [i.submit_state for i in EvacuationItem.objects.filter(batch=batch)
            .order_by("position")]


def test_never_more_rebuilds_in_flight_than_the_window_and_in_priority_order(
        evac_nova, paced, monkeypatch):
    batch, order = create(evac_nova, 9)
    at_send = count_rebuilds_at_each_send(evac_nova)
    pause, pauses = finishing(evac_nova)
    monkeypatch.setattr(submission_pacing, "_pause", pause)

    run = submission.start(batch, login(evac_nova),
                           executor=submission.InlineExecutor(paced=True))

    assert run.done
    assert evac_nova.evacuated_ids() == order  # restart-priority order, every one
    # Before each send at most window-1 others were rebuilding: never more than the
    # window's maximum (3) at once, and the first two went before any wait (start 2).
    assert max(at_send) <= 2
    assert at_send[:2] == [0, 1]
    assert pauses  # it did wait for Nova
    # One Nova list call per check, whatever the batch's size.
    assert len(evac_nova.calls("/os-migrations")) == len(pauses)
    assert states(batch) == ["submitted"] * 9
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED
    assert batch.pacing["minimum"] == 1 and batch.pacing["maximum"] == 3
    assert 1 <= batch.pacing["window"] <= 3


def test_without_pacing_every_call_goes_at_once_as_before(evac_nova, paced, monkeypatch):
    paced.EVAC_PACING = False
    batch, order = create(evac_nova, 6)
    at_send = count_rebuilds_at_each_send(evac_nova)
    pause, pauses = finishing(evac_nova)
    monkeypatch.setattr(submission_pacing, "_pause", pause)

    run = submission.start(batch, login(evac_nova),
                           executor=submission.InlineExecutor(paced=True))

    assert run.done and not pauses
    assert evac_nova.evacuated_ids() == order
    assert at_send == [0, 1, 2, 3, 4, 5]
    assert not evac_nova.calls("/os-migrations")
    batch.refresh_from_db()
    assert batch.pacing is None


def test_the_window_is_on_the_batch_and_in_the_progress_document(evac_nova, paced,
                                                                   monkeypatch):
    batch, _order = create(evac_nova, 5)
    seen = []

    def look(_number):
        data = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)
        seen.append(data["pacing"])

    pause, _pauses = finishing(evac_nova, also=look)
    monkeypatch.setattr(submission_pacing, "_pause", pause)
    submission.start(batch, login(evac_nova), executor=submission.InlineExecutor(paced=True))

    assert seen[0] == {"active": True, "window": 2, "in_flight": 2, "minimum": 1,
                       "maximum": 3}
    assert all(p["active"] and 1 <= p["window"] <= 3 for p in seen)
    batch.refresh_from_db()
    final = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)["pacing"]
    assert final["active"] is False  # sent: nothing to pace any more


def test_cancelled_items_leave_the_queue(evac_nova, paced, monkeypatch):
    batch, order = create(evac_nova, 6)

    def cancel(number):
        if number == 1:
            batches.cancel_pending_items(batch.pk)

    pause, _pauses = finishing(evac_nova, also=cancel)
    monkeypatch.setattr(submission_pacing, "_pause", pause)
    run = submission.start(batch, login(evac_nova),
                           executor=submission.InlineExecutor(paced=True))

    assert run.done
    assert evac_nova.evacuated_ids() == order[:2]
    assert states(batch) == ["submitted"] * 2 + ["cancelled"] * 4
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED


def test_a_login_expiring_while_waiting_leaves_the_rest_for_a_resume(evac_nova, paced,
                                                                     monkeypatch):
    batch, order = create(evac_nova, 6)
    credentials = login(evac_nova)

    def expire(number):
        credentials.user.token.expires = timezone.now() - datetime.timedelta(seconds=1)

    pause, _pauses = finishing(evac_nova, also=expire)
    monkeypatch.setattr(submission_pacing, "_pause", pause)
    run = submission.start(batch, credentials, executor=submission.InlineExecutor(paced=True))

    assert run.done
    assert evac_nova.evacuated_ids() == order[:2]
    assert states(batch) == ["submitted"] * 2 + ["pending"] * 4
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.INTERRUPTED
    assert batch.error_message == submission.LOGIN_EXPIRED_MESSAGE


def test_a_401_on_the_records_read_stops_the_sending(evac_nova, paced, monkeypatch):
    batch, order = create(evac_nova, 6)
    evac_nova.unauthorized_after = 2  # every request after the first two evacuates: 401
    pause, _pauses = finishing(evac_nova)
    monkeypatch.setattr(submission_pacing, "_pause", pause)
    run = submission.start(batch, login(evac_nova),
                           executor=submission.InlineExecutor(paced=True))

    assert run.done
    assert evac_nova.evacuated_ids() == order[:2]
    assert states(batch) == ["submitted"] * 2 + ["pending"] * 4
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.INTERRUPTED
    assert batch.error_message == submission.LOGIN_EXPIRED_MESSAGE


def test_a_lost_lease_sends_nothing_more(evac_nova, paced, monkeypatch):
    batch, order = create(evac_nova, 6)
    lost = threading.Event()
    held = leases.Lease.still_held
    monkeypatch.setattr(leases.Lease, "still_held",
                        lambda self: not lost.is_set() and held(self))
    pause, _pauses = finishing(evac_nova, also=lambda number: lost.set())
    monkeypatch.setattr(submission_pacing, "_pause", pause)
    run = submission.start(batch, login(evac_nova),
                           executor=submission.InlineExecutor(paced=True))

    assert run.done
    assert evac_nova.evacuated_ids() == order[:2]
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.SUBMITTING  # left to the lease's new holder


def test_unreadable_records_send_the_rest_unpaced(evac_nova, paced, monkeypatch):
    batch, order = create(evac_nova, 6)
    evac_nova.migrations_status = 500
    pause, pauses = finishing(evac_nova)
    monkeypatch.setattr(submission_pacing, "_pause", pause)
    run = submission.start(batch, login(evac_nova),
                           executor=submission.InlineExecutor(paced=True))

    assert run.done
    assert evac_nova.evacuated_ids() == order
    assert len(pauses) == submission_pacing.MAX_READ_FAILURES
    assert states(batch) == ["submitted"] * 6


def test_a_failed_rebuild_cuts_the_window(evac_nova, paced, monkeypatch):
    paced.EVAC_PACING_START_WINDOW = 3
    batch, order = create(evac_nova, 6)
    windows = []

    def fail_first(number):
        if number == 1:
            evac_nova.fail(unfinished(evac_nova)[0]["instance_uuid"])
        windows.append(EvacuationBatch.objects.get(pk=batch.pk).pacing["window"])

    pause, _pauses = finishing(evac_nova, per_pause=0, also=fail_first)

    def pause_and_finish(seconds):
        pause(seconds)
        for migration in unfinished(evac_nova)[:1]:
            evac_nova.step(migration["instance_uuid"], to=5)

    monkeypatch.setattr(submission_pacing, "_pause", pause_and_finish)
    submission.start(batch, login(evac_nova), executor=submission.InlineExecutor(paced=True))
    assert windows[0] == 3
    assert windows[1] == 2  # 3 -> 2 after the failure
    assert evac_nova.evacuated_ids() == order


@pytest.mark.django_db(transaction=True)
def test_a_thread_pool_run_paces_and_bounds_calls(evac_nova, paced):
    paced.EVAC_SUBMIT_CONCURRENCY = 1
    batch, order = create(evac_nova, 8)
    at_send = count_rebuilds_at_each_send(evac_nova)
    stop = threading.Event()

    def nova_finishes():
        while not stop.wait(0.02):
            for migration in unfinished(evac_nova)[:1]:
                evac_nova.step(migration["instance_uuid"], to=5)

    worker = threading.Thread(target=nova_finishes, daemon=True)
    worker.start()
    try:
        run = submission.start(batch, login(evac_nova))
        assert run.wait(WAIT)
    finally:
        stop.set()
        worker.join(5)
    assert evac_nova.evacuated_ids() == order
    assert max(at_send) <= 2  # a window of at most 3, with one call at a time
    assert evac_nova.max_in_flight == 1


def test_a_resume_counts_the_rebuilds_an_earlier_run_left_in_flight(evac_nova, paced,
                                                                    monkeypatch):
    batch, order = create(evac_nova, 6)
    lost = threading.Event()
    held = leases.Lease.still_held
    monkeypatch.setattr(leases.Lease, "still_held",
                        lambda self: not lost.is_set() and held(self))
    monkeypatch.setattr(submission_pacing, "_pause", lambda seconds: lost.set())
    submission.start(batch, login(evac_nova), executor=submission.InlineExecutor(paced=True))
    assert evac_nova.evacuated_ids() == order[:2] and len(unfinished(evac_nova)) == 2

    lost.clear()
    at_send = count_rebuilds_at_each_send(evac_nova)
    pause, pauses = finishing(evac_nova)
    monkeypatch.setattr(submission_pacing, "_pause", pause)
    batch.refresh_from_db()
    run = submission.start(batch, login(evac_nova),
                           executor=submission.InlineExecutor(paced=True))

    assert run.resumed and run.done
    assert evac_nova.evacuated_ids() == order
    # The window (2) was full of the earlier run's rebuilds: the first send of this run
    # waited until Nova finished one of them.
    assert at_send[0] == 1
    assert max(at_send) <= 2


def test_the_pacing_settings(settings):
    from evac_dashboard import conf

    for raw, expected in ((True, True), (False, False), ("off", False), ("0", False),
                          ("yes", True), (None, False)):
        settings.EVAC_PACING = raw
        assert conf.pacing() is expected
    del settings.EVAC_PACING
    assert conf.pacing() is True and conf.pacing_check_seconds() == 0.5
    assert conf.pacing_window() == (2, 4, 16)
    settings.EVAC_PACING_MIN_WINDOW = 5
    settings.EVAC_PACING_START_WINDOW = 1
    settings.EVAC_PACING_MAX_WINDOW = 3
    assert conf.pacing_window() == (5, 5, 5)
    settings.EVAC_PACING_START_WINDOW = 99
    settings.EVAC_PACING_MAX_WINDOW = 8
    assert conf.pacing_window() == (5, 8, 8)


@pytest.mark.django_db(transaction=True)
def test_a_process_exiting_mid_wait_lets_the_lease_go_at_once(evac_nova, paced):
    """A graceful reload: the paced loop waits on a daemon thread while Nova rebuilds; the
    exit hook must end that wait and release the lease (not leave it to expire)."""
    from evac_dashboard.operations import submission_runtime

    paced.EVAC_PACING_CHECK_SECONDS = 30  # the loop sits in its wait
    paced.EVAC_SUBMIT_CONCURRENCY = 1
    batch, order = create(evac_nova, 6)
    run = submission.start(batch, login(evac_nova))  # the dashboard's own thread pool
    for _ in range(200):
        if len(evac_nova.evacuated_ids()) == 2:  # the window (2) is full, nothing finishes
            break
        threading.Event().wait(0.02)
    assert evac_nova.evacuated_ids() == order[:2]
    try:
        submission_runtime.leave_on_exit(grace=5)
        assert run.done  # within the grace, not after the 30 s wait
    finally:
        submission_runtime.EXITING.clear()
    assert evac_nova.evacuated_ids() == order[:2]  # nothing more sent
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.SUBMITTING  # in flight, for a takeover
    assert not run._lease.still_held()
