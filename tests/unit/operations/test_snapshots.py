"""The progress snapshot against a fake Nova over HTTP that plays evacuations forward."""
import time

from datetime import timedelta

from django.utils import timezone
import pytest

from evac_dashboard.api import progress as progress_api
from evac_dashboard.store import batches
from evac_dashboard.rules import request as evac_request
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import submission
from evac_dashboard.operations import progress_reads
from evac_dashboard.operations import snapshots
from evac_dashboard.models import EvacuationBatch, EvacuationItem
from tests.unit.fakes.nova import fake_request, still_in_use
from tests.unit.factories import ADMIN, servers_on
from tests.unit.fakes.evacuating_nova import SEQUENCE

pytestmark = pytest.mark.django_db


def create(nova, count=3, host="cmp1", microversion="2.94", **options):
    servers = servers_on(host, count)
    nova.add_servers(servers)
    return batches.create_batch(kind=EvacuationBatch.KIND_HOST, source_host=host,
                                servers=servers,
                                options=evac_request.EvacuateOptions(**options),
                                microversion=microversion, initiator=ADMIN)


def submit(nova, batch):
    return submission.start(batch, submission.Credentials.from_request(
        fake_request(nova.endpoint)), executor=submission.InlineExecutor())


def snap(nova, batch):
    return snapshots.snapshot(fake_request(nova.endpoint), batch)


def rows_by_name(data):
    return {row["name"]: row for row in data["items"]}


def test_before_anything_is_sent_rows_come_from_the_batch(evac_nova):
    batch = create(evac_nova)
    data = snap(evac_nova, batch)
    # Not sent yet (the burst is about to begin): the evacuation records only.
    assert data["nova"]["ok"] and data["nova"]["calls"] == 1
    assert not data["nova"]["servers_read"]
    assert [r["state"] for r in data["items"]] == ["pending"] * 3
    row = data["items"][0]
    # Nova has not changed these servers since the batch began: shown from stored data.
    assert row["nova_seen"] is False and row["status"] is None
    assert row["from_host"] == "cmp1" and row["to_host"] is None
    assert row["can_cancel"] and not row["can_retry"]
    assert row["stages"] == ["pending"]
    assert data["summary"]["counts"]["pending"] == 3 and data["summary"]["percent"] == 0
    assert not data["final"]
    assert data["batch"]["state"] == "pending"


def test_an_evacuation_goes_through_nova_s_stages(evac_nova):
    batch = create(evac_nova, count=1)
    submit(evac_nova, batch)
    instance = batch.items.get().instance_id
    seen = []
    for index, (migration_status, status, task, moved) in enumerate(SEQUENCE):
        if index:
            evac_nova.step(instance)
        row = snap(evac_nova, batch)["items"][0]
        seen.append((row["state"], row["label"], row["migration_status"], row["status"],
                     row["task_state"]))
    assert seen == [
        # Just accepted: Nova's changes-since list skips the record (updated_at still
        # null); the server's task tells.
        ("rebuilding", "rebuilding", None, "REBUILD", "rebuilding"),
        ("rebuilding", "rebuilding", "pre-migrating", "REBUILD", "rebuilding"),
        ("rebuilding", "rebuild_block_device_mapping", "pre-migrating", "REBUILD",
         "rebuild_block_device_mapping"),
        ("rebuilding", "rebuild_spawning", "pre-migrating", "REBUILD", "rebuild_spawning"),
        # task_state None while the host has not switched yet: not done.
        ("rebuilding", "finishing", "pre-migrating", "ACTIVE", None),
        ("done", "done", "done", "ACTIVE", None),
    ]
    row = snap(evac_nova, batch)["items"][0]
    assert row["to_host"] == "cmp2" and row["host"] == "cmp2" and row["final"]
    # Every stage a poll saw is recorded on the item, the short "finishing" one included.
    assert row["stages"] == ["submitted", "rebuilding", "rebuild_block_device_mapping",
                             "rebuild_spawning", "finishing", "done"]
    assert batch.items.get().stages == row["stages"]
    assert not row["cleaned_up"] and not row["stopped"]


def test_an_evacuation_first_seen_done_passed_the_stages_every_one_passes(evac_nova):
    batch = create(evac_nova, count=1)
    submit(evac_nova, batch)
    evac_nova.finish_all()
    row = snap(evac_nova, batch)["items"][0]
    assert row["stages"] == ["submitted", "rebuilding", "rebuild_block_device_mapping",
                             "rebuild_spawning", "done"]


def test_done_needs_the_record_done_and_the_host_switched(evac_nova):
    batch = create(evac_nova, count=1)
    submit(evac_nova, batch)
    instance = batch.items.get().instance_id
    evac_nova.step(instance, to=len(SEQUENCE) - 1)
    evac_nova.server(instance)["OS-EXT-SRV-ATTR:host"] = "cmp1"  # record done, host not yet
    assert snap(evac_nova, batch)["items"][0]["state"] == "rebuilding"


def test_source_cleanup_shows_as_completed(evac_nova):
    batch = create(evac_nova, count=2)
    submit(evac_nova, batch)
    evac_nova.finish_all()
    data = snap(evac_nova, batch)
    assert data["final"] and data["summary"]["cleaned_up"] == 0
    evac_nova.cleanup("cmp1")
    data = snap(evac_nova, batch)
    assert all(r["cleaned_up"] and r["migration_status"] == "completed" and r["state"] == "done"
               for r in data["items"])
    assert data["summary"]["cleaned_up"] == 2


def test_left_stopped_with_2_95_shows_the_stop(evac_nova):
    evac_nova.stopped_after = True
    batch = create(evac_nova, count=1, microversion="2.95", keep_running=False)
    submit(evac_nova, batch)
    evac_nova.finish_all()
    row = snap(evac_nova, batch)["items"][0]
    assert row["state"] == "done" and row["status"] == "SHUTOFF" and row["stopped"]
    assert row["stages"][-2:] == ["done", "stopped"]


def test_failed_in_nova_shows_fault_and_advice(evac_nova):
    batch = create(evac_nova, count=2)
    submit(evac_nova, batch)
    first, second = [i.instance_id for i in batch.items.order_by("position")]
    evac_nova.fail(first, "error")
    evac_nova.fail(second, "failed")
    rows = {r["instance_id"]: r for r in snap(evac_nova, batch)["items"]}
    assert rows[first]["state"] == "failed"
    assert rows[first]["fault_message"].startswith("No valid host was found")
    assert rows[first]["advice"]["code"] == "no_valid_host"
    assert rows[first]["advice"]["nova_message"].startswith("No valid host")
    assert rows[second]["state"] == "failed" and rows[second]["fault_message"] is None
    assert rows[second]["advice"]["code"] == "target_refused"
    assert rows[first]["can_retry"] and rows[second]["can_retry"]  # the batch is finished


def test_refused_request_shows_nova_s_message_and_advice(evac_nova):
    batch = create(evac_nova, count=2)
    refused = batch.items.order_by("position")[1].instance_id
    evac_nova.refusals[refused] = still_in_use("cmp1")
    submit(evac_nova, batch)
    row = {r["instance_id"]: r for r in snap(evac_nova, batch)["items"]}[refused]
    assert row["state"] == "failed" and row["submit_state"] == "submit_failed"
    assert row["advice"]["code"] == "source_still_up"
    assert "Force Down" in row["advice"]["text"]
    assert row["advice"]["nova_message"] == "Compute service of cmp1 is still in use."
    assert row["can_retry"]


def test_deleted_server_is_failed_and_not_retryable(evac_nova):
    batch = create(evac_nova, count=1)
    submit(evac_nova, batch)
    evac_nova.delete(batch.items.get().instance_id)
    row = snap(evac_nova, batch)["items"][0]
    assert row["state"] == "failed" and row["deleted"] and not row["can_retry"]


def test_summary_counts_and_final(evac_nova):
    batch = create(evac_nova, count=5)
    submit(evac_nova, batch)
    ids = [i.instance_id for i in batch.items.order_by("position")]
    evac_nova.step(ids[0], to=len(SEQUENCE) - 1)
    evac_nova.step(ids[1], to=2)
    evac_nova.fail(ids[2])
    data = snap(evac_nova, batch)
    counts = data["summary"]["counts"]
    assert (counts["done"], counts["rebuilding"], counts["failed"]) == (1, 3, 1)
    assert data["summary"]["final_count"] == 2 and data["summary"]["percent"] == 40
    assert not data["final"]
    evac_nova.finish_all()
    data = snap(evac_nova, batch)
    assert data["final"] and data["summary"]["counts"]["done"] == 4
    assert data["summary"]["retryable"] == 1


def test_nova_failure_is_reported_not_raised(evac_nova):
    batch = create(evac_nova, count=2)
    submit(evac_nova, batch)
    evac_nova.servers_status = 503
    data = snap(evac_nova, batch)
    assert data["nova"]["ok"] is False and "servers broke" in data["nova"]["error"]
    assert [r["state"] for r in data["items"]] == ["submitted", "submitted"]
    assert not data["final"]


def test_time_in_current_state(evac_nova):
    batch = create(evac_nova, count=2)
    waiting = batch.items.order_by("position")[1]
    EvacuationItem.objects.filter(pk=waiting.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5))
    rows = {r["id"]: r for r in snap(evac_nova, batch)["items"]}
    assert 300 <= rows[waiting.pk]["since_seconds"] < 360  # pending for 5 minutes
    submit(evac_nova, batch)
    data = snap(evac_nova, batch)
    assert all(0 <= r["since_seconds"] < 60 and r["since"].endswith("Z")
               for r in data["items"])  # rebuilding since Nova changed the server
    assert data["summary"]["elapsed_seconds"] < 60


def test_old_evacuations_of_the_same_server_are_ignored(evac_nova):
    batch = create(evac_nova, count=1)
    instance = batch.items.get().instance_id
    long_ago = (timezone.now() - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    evac_nova.migrations.append({
        "id": 1, "uuid": "old", "instance_uuid": instance, "source_compute": "cmp1",
        "dest_compute": "cmp3", "status": "done", "migration_type": "evacuation",
        "created_at": long_ago, "updated_at": (timezone.now()).strftime("%Y-%m-%dT%H:%M:%SZ")})
    row = snap(evac_nova, batch)["items"][0]
    assert row["migration_status"] is None and row["state"] == "pending"


# --- incremental servers reads ------------------------------------------------------------

class ServersReadSpy:
    """Wraps the real ``servers_changed_since``: which ``since`` each poll asked for and how
    many servers Nova's answer held."""

    def __init__(self):
        self.real = progress_api.servers_changed_since
        self.reads = []

    def __call__(self, request, since):
        answer = self.real(request, since)
        self.reads.append((since, len(answer)))
        return answer


@pytest.fixture
def servers_reads(monkeypatch):
    spy = ServersReadSpy()
    monkeypatch.setattr(progress_api, "servers_changed_since", spy)
    return spy.reads


def _second(when):
    return when.replace(microsecond=0)


def test_polls_after_the_first_ask_nova_only_for_recent_changes(evac_nova, servers_reads,
                                                                settings):
    settings.EVAC_PROGRESS_CHANGES_OVERLAP_SECONDS = 10
    batch = create(evac_nova, count=4)
    start = _second(timezone.now())
    evac_nova.clock = start
    submit(evac_nova, batch)
    first, second, third, _fourth = [i.instance_id for i in batch.items.order_by("position")]

    snap(evac_nova, batch)                     # full read since the batch began
    evac_nova.clock = start + timedelta(seconds=60)
    evac_nova.step(first, to=len(SEQUENCE) - 1)
    snap(evac_nova, batch)                     # since the newest change seen (start) - 10 s
    evac_nova.clock = start + timedelta(seconds=120)
    evac_nova.step(second, to=len(SEQUENCE) - 1)
    evac_nova.step(third, to=2)
    data = snap(evac_nova, batch)              # since start + 60 s - 10 s

    assert servers_reads == [(progress_reads.since_for(batch), 4),
                             (start - timedelta(seconds=10), 4),
                             (start + timedelta(seconds=50), 3)]
    # Servers not in the last answer keep what the earlier reads showed.
    assert [(r["state"], r["task_state"], r["host"]) for r in data["items"]] == [
        ("done", None, "cmp2"), ("done", None, "cmp2"),
        ("rebuilding", "rebuild_block_device_mapping", "cmp1"),
        ("rebuilding", "rebuilding", "cmp1")]
    assert data["nova"]["calls"] == progress_reads.NOVA_CALLS_PER_POLL


def test_a_record_done_with_the_host_unchanged_in_the_merged_view_is_not_done(
        evac_nova, servers_reads):
    batch = create(evac_nova, count=2)
    submit(evac_nova, batch)
    snap(evac_nova, batch)
    for item in batch.items.all():  # every record says done; Nova has not switched a host
        migration = evac_nova.migration_of(item.instance_id)
        migration["status"], migration["dest_compute"] = "done", "cmp2"
    assert {r["state"] for r in snap(evac_nova, batch)["items"]} == {"rebuilding"}
    evac_nova.finish_all()
    assert {r["state"] for r in snap(evac_nova, batch)["items"]} == {"done"}
    assert len(servers_reads) == 3 and servers_reads[0][0] == progress_reads.since_for(batch)
    assert all(since > progress_reads.since_for(batch) for since, _n in servers_reads[1:])


def test_a_full_read_comes_back_after_the_period(evac_nova, servers_reads, settings):
    settings.EVAC_PROGRESS_FULL_READ_SECONDS = 0  # every poll is a full read
    batch = create(evac_nova, count=2)
    submit(evac_nova, batch)
    for _poll in range(3):
        snap(evac_nova, batch)
    assert [since for since, _n in servers_reads] == [progress_reads.since_for(batch)] * 3


def test_a_server_deleted_between_polls_is_merged_as_deleted(evac_nova, servers_reads):
    batch = create(evac_nova, count=2)
    submit(evac_nova, batch)
    snap(evac_nova, batch)
    gone = batch.items.order_by("position")[0]
    evac_nova.delete(gone.instance_id)
    rows = {r["id"]: r for r in snap(evac_nova, batch)["items"]}
    assert rows[gone.pk]["deleted"] and rows[gone.pk]["state"] == "failed"
    assert servers_reads[-1][0] > progress_reads.since_for(batch)


def test_actions_decide_on_a_full_read(evac_nova, servers_reads):
    batch = create(evac_nova, count=2)
    submit(evac_nova, batch)
    snap(evac_nova, batch)
    snap(evac_nova, batch)
    progress_reads.cached_read(fake_request(evac_nova.endpoint), batch, fresh=True)
    assert [since == progress_reads.since_for(batch) for since, _n in servers_reads] == [
        True, False, True]


# --- what is recorded on the items ------------------------------------------------------

class DeferredExecutor:
    """Holds the submission's tasks until ``run`` (a retry caught with its call in flight)."""

    def __init__(self):
        self.tasks = []

    def submit(self, function, *args):
        self.tasks.append((function, args))

    def shutdown(self, wait=False):
        pass

    def run(self):
        while self.tasks:
            function, args = self.tasks.pop(0)
            function(*args)


def test_stages_seen_by_one_poll_are_shown_by_every_later_one(evac_nova):
    evac_nova.stopped_after = True
    batch = create(evac_nova, count=1, microversion="2.95", keep_running=False)
    submit(evac_nova, batch)
    instance = batch.items.get().instance_id
    evac_nova.step(instance, to=3)
    evac_nova.server(instance)["OS-EXT-STS:task_state"] = "powering-off"
    snap(evac_nova, batch)
    progress_reads.forget_cache()  # another dashboard process, or a reload
    evac_nova.finish_all()
    row = snap(evac_nova, batch)["items"][0]
    assert row["stages"] == ["submitted", "rebuilding", "rebuild_block_device_mapping",
                             "rebuild_spawning", "powering-off", "done", "stopped"]


def test_a_retried_item_is_not_failed_again_by_its_previous_record(evac_nova):
    batch = create(evac_nova, count=1)
    submit(evac_nova, batch)
    item = batch.items.get()
    evac_nova.fail(item.instance_id, "error")
    assert snap(evac_nova, batch)["items"][0]["stages"][-1] == "failed"

    deferred = DeferredExecutor()
    request = fake_request(evac_nova.endpoint)
    evacuations.retry(request, batch, executor=deferred)
    batches.mark_submitting(item.pk)  # the new call is on its way; Nova has not got it
    row = snap(evac_nova, batch)["items"][0]
    # Nova's newest record is still the failed one of attempt 1: not this attempt's.
    assert (row["attempt"], row["state"], row["stages"]) == (2, "pending", ["pending"])
    assert row["migration_status"] is None and row["advice"] is None

    deferred.run()
    evac_nova.finish_all()
    row = snap(evac_nova, batch)["items"][0]
    assert (row["attempt"], row["state"]) == (2, "done")
    assert row["stages"] == ["pending", "submitted", "rebuilding",
                             "rebuild_block_device_mapping", "rebuild_spawning", "done"]


def test_a_finished_batch_keeps_its_outcomes_when_the_servers_move_again(evac_nova):
    evac_nova.dest = "cmp2"
    first = create(evac_nova, count=3, host="cmp3")
    submit(evac_nova, first)
    evac_nova.finish_all()
    before = snap(evac_nova, first)
    assert before["final"] and before["summary"]["counts"]["done"] == 3

    # Later, another batch takes the same servers back: cmp2 -> cmp3.
    evac_nova.dest = "cmp3"
    moved = [evac_nova.server(i.instance_id) for i in first.items.order_by("position")]
    second = batches.create_batch(kind=EvacuationBatch.KIND_HOST, source_host="cmp2",
                                  servers=moved, options=evac_request.EvacuateOptions(),
                                  microversion="2.94", initiator=ADMIN)
    submit(evac_nova, second)
    evac_nova.finish_all()
    assert snap(evac_nova, second)["summary"]["counts"]["done"] == 3
    time.sleep(1.1)

    after = snap(evac_nova, first)
    assert after["final"]
    assert after["summary"]["counts"]["done"] == 3 and after["summary"]["final_count"] == 3
    assert after["summary"]["elapsed_seconds"] == before["summary"]["elapsed_seconds"]
    for row in after["items"]:
        assert (row["state"], row["to_host"], row["migration_status"]) == (
            "done", "cmp2", "done")
        assert row["moved_since"] == "cmp3"  # a later fact, shown as such
        assert row["since"] == {r["id"]: r for r in before["items"]}[row["id"]]["since"]


def test_a_failed_batch_counts_its_time_on_one_clock(evac_nova):
    """Nova's clock is 20 s behind ours; its evacuations fail 3 s after they were sent."""
    batch = create(evac_nova, count=2)
    behind = timezone.now() - timedelta(seconds=20)
    evac_nova.clock = behind
    submit(evac_nova, batch)
    time.sleep(3)
    evac_nova.clock = behind + timedelta(seconds=3)
    for item in batch.items.all():
        evac_nova.fail(item.instance_id, "error")
    data = snap(evac_nova, batch)
    assert data["final"] and data["summary"]["counts"]["failed"] == 2
    assert 2 <= data["summary"]["elapsed_seconds"] <= 4
    # Failed just now on our clock, not "20 s ago".
    assert all(r["since_seconds"] <= 1 for r in data["items"])


# --- several dashboard nodes ------------------------------------------------------------

def _as_another_node():
    """What one process keeps to itself is gone: the next poll is another node's (Horizon
    behind haproxy, the polls of one page landing on alternating nodes)."""
    for name in ("_cache", "_servers_seen", "_key_locks", "_process_locks"):
        getattr(progress_reads, name, {}).clear()


def _nova_reads_of(nova, polls, nodes, settings):
    """Nova requests made by ``polls`` polls of one 100-instance batch spread over
    ``nodes`` nodes, polling in turn 1 s apart on the batch's wall clock."""
    settings.EVAC_PROGRESS_CACHE_SECONDS = 2
    batch = create(nova, count=100)
    submit(nova, batch)
    nova.finish_all()
    started = time.time()
    before = len(nova.calls())
    for poll in range(polls):
        if nodes > 1:
            _as_another_node()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(progress_reads.time, "time", lambda: started + poll * 0.5)
            snap(nova, batch)
    return len(nova.calls()) - before


def test_two_nodes_polling_one_batch_cost_no_more_nova_calls_than_one(evac_nova, settings):
    one_node = _nova_reads_of(evac_nova, 8, 1, settings)
    progress_reads.forget_cache()
    two_nodes = _nova_reads_of(evac_nova, 8, 2, settings)
    assert two_nodes <= one_node, (one_node, two_nodes)


def test_project_names_are_reused_for_a_while_per_user(settings):
    """A progress poll that changed rows asked Keystone for every project (measured: a
    Keystone list per poll per watcher); now once a minute per user, on every node."""
    from unittest import mock

    from django.core.cache import cache

    from evac_dashboard.api import nova as nova_api
    from evac_dashboard.operations import cloud_reads

    settings.EVAC_PROJECT_NAMES_SECONDS = 60
    cache.clear()
    alice, bob = (mock.Mock(user=mock.Mock(id=user)) for user in ("u-alice", "u-bob"))
    with mock.patch.object(nova_api, "project_names", return_value={"p1": "demo"}) as read:
        for _ in range(3):
            assert snapshots.project_names(alice) == {"p1": "demo"}
        assert read.call_count == 1
        assert cloud_reads.project_names(bob) == {"p1": "demo"}  # another user: own read
        assert read.call_count == 2
        settings.EVAC_PROJECT_NAMES_SECONDS = 0
        cloud_reads.project_names(alice)
        assert read.call_count == 3
    cache.clear()
