"""Evacuates whose answer was lost, against the fake Nova over HTTP (issue 13, part 1).

The fake accepts (or not) and then loses the answer the ways a network does
(``fakes.nova``: fates): an answer later than EVAC_NOVA_TIMEOUT, a proxy's 502 after Nova
acted, a connection closed before or after Nova acted. Nothing is ever evacuated twice:
every test counts the evacuate POSTs the fake received per server.
"""
from collections import Counter
from datetime import timedelta

from django.utils import timezone
import pytest

from evac_dashboard.models import EvacuationBatch, EvacuationItem
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import snapshots
from evac_dashboard.operations import submission
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import batches
from tests.unit.factories import ADMIN, servers_on
from tests.unit.fakes.nova import DROP_AFTER, DROP_BEFORE, fake_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_timeout(settings):
    """Nova calls time out after 0.3 s, so an absence is proven 0.6 s after the send."""
    settings.EVAC_NOVA_TIMEOUT = 0.3
    settings.EVAC_NOVA_CONNECT_RETRIES = 0


def batch_of(nova, count=3):
    servers = servers_on("cmp1", count)
    nova.add_servers(servers)
    return batches.create_batch(kind=EvacuationBatch.KIND_HOST, source_host="cmp1",
                                servers=servers, options=evac_request.EvacuateOptions(),
                                microversion="2.94", initiator=ADMIN)


def send(nova, batch):
    run = submission.start(batch, submission.Credentials.from_request(
        fake_request(nova.endpoint)), executor=submission.InlineExecutor())
    assert run.done
    batch.refresh_from_db()
    return run


def item_of(batch, position):
    return EvacuationItem.objects.get(batch=batch, position=position)


def posts(nova):
    return Counter(nova.evacuated_ids())


def retry(nova, batch, **kwargs):
    return evacuations.retry(fake_request(nova.endpoint), batch,
                             executor=submission.InlineExecutor(), **kwargs)


def test_a_timeout_after_nova_acted_is_submitted_and_never_sent_again(evac_nova,
                                                                      short_timeout):
    batch = batch_of(evac_nova)
    slow = batch.items.order_by("position")[1]
    evac_nova.fates[slow.instance_id] = [("delay", 1.5)]  # Nova acts, answers too late

    send(evac_nova, batch)

    slow.refresh_from_db()
    assert slow.submit_state == "submitted", (slow.submit_state, slow.error_message)
    assert slow.found_migration_id == evac_nova.migration_of(slow.instance_id)["uuid"]
    assert batch.state == EvacuationBatch.FINISHED
    row = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)["items"][1]
    assert row["state"] == "rebuilding" and not row["can_retry"] and row["advice"] is None
    with pytest.raises(evacuations.ActionRefused, match="No instance of this batch has failed"):
        retry(evac_nova, batch)
    assert set(posts(evac_nova).values()) == {1}
    evac_nova.finish_all()
    data = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)
    assert data["final"] and data["summary"]["counts"]["done"] == 3


def test_a_502_after_nova_acted_is_submitted_not_failed(evac_nova, short_timeout):
    batch = batch_of(evac_nova, 2)
    proxied = batch.items.order_by("position")[0]
    evac_nova.fates[proxied.instance_id] = [("status", 502)]

    send(evac_nova, batch)

    proxied.refresh_from_db()
    assert proxied.submit_state == "submitted" and proxied.found_migration_id
    assert proxied.error_status is None and proxied.advice_code == ""
    row = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)["items"][0]
    assert row["state"] == "rebuilding"
    assert list(posts(evac_nova).values()) == [1, 1]


def test_a_reset_before_nova_acted_becomes_retryable_and_is_sent_once_more(evac_nova,
                                                                           short_timeout):
    batch = batch_of(evac_nova, 2)
    lost = batch.items.order_by("position")[1]
    evac_nova.fates[lost.instance_id] = [DROP_BEFORE]

    send(evac_nova, batch)

    lost.refresh_from_db()
    # The run asked Nova once the request could no longer be inside nova-api: no record,
    # no evacuate action, the server not being rebuilt.
    assert (lost.submit_state, lost.advice_code, lost.retryable) == (
        "submit_failed", "not_received", True)
    assert lost.instance_id in evac_nova.action_reads
    assert evac_nova.migration_of(lost.instance_id) is None
    row = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)["items"][1]
    assert row["state"] == "failed" and row["can_retry"]
    assert row["advice"]["code"] == "not_received" and "sent again" in row["advice"]["text"]

    assert retry(evac_nova, batch) == 1

    lost.refresh_from_db()
    assert (lost.attempt, lost.submit_state) == (2, "submitted")
    assert posts(evac_nova)[lost.instance_id] == 2  # the lost one and the retry
    assert len([m for m in evac_nova.migrations if m["instance_uuid"] == lost.instance_id]) == 1


def test_retry_never_sends_a_lost_answer_nova_has(evac_nova, short_timeout):
    """The connection drops after Nova acted, and Nova's records cannot be read while the
    sender asks: the item stays unknown. Retry asks again and finds the evacuation."""
    batch = batch_of(evac_nova, 2)
    lost = batch.items.order_by("position")[0]
    evac_nova.fates[lost.instance_id] = [DROP_AFTER]
    evac_nova.migrations_status = 500  # the sender cannot ask

    send(evac_nova, batch)

    lost.refresh_from_db()
    assert lost.submit_state == "unknown" and lost.advice_code == "answer_lost"
    assert batch.state == EvacuationBatch.FINISHED  # nothing left to send
    evac_nova.migrations_status = 200
    evac_nova.servers_status = 503  # the page cannot read servers: the row says what it knows
    data = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)
    row = data["items"][0]
    assert (row["state"], row["can_retry"]) == ("unknown", True)
    assert row["advice"]["code"] == "answer_lost" and not data["final"]
    evac_nova.servers_status = 200

    with pytest.raises(evacuations.ActionRefused, match="No instance of this batch has failed"):
        retry(evac_nova, batch)  # it asked Nova first: Nova has it, nothing to retry

    lost.refresh_from_db()
    assert lost.submit_state == "submitted" and lost.attempt == 1
    assert set(posts(evac_nova).values()) == {1}


def test_retry_sends_nothing_nova_cannot_tell_about_yet(evac_nova, short_timeout, settings):
    batch = batch_of(evac_nova, 1)
    lost = batch.items.get()
    evac_nova.fates[lost.instance_id] = [DROP_BEFORE]
    evac_nova.migrations_status = 500  # the sender cannot ask
    send(evac_nova, batch)
    assert batches.answer_lost_items(batch.pk)
    evac_nova.migrations_status = 200

    # No trace in Nova, but with a 60 s timeout nova-api may still be working on it.
    settings.EVAC_NOVA_TIMEOUT = 60
    with pytest.raises(evacuations.ActionRefused, match="Nothing was sent for 1 instance"):
        retry(evac_nova, batch)
    assert posts(evac_nova)[lost.instance_id] == 1
    assert batches.answer_lost_items(batch.pk)

    settings.EVAC_NOVA_TIMEOUT = 0.3  # long enough ago now: never received, so sent
    assert retry(evac_nova, batch) == 1
    assert posts(evac_nova)[lost.instance_id] == 2
    lost.refresh_from_db()
    assert (lost.attempt, lost.submit_state) == (2, "submitted")


def test_the_page_settles_a_lost_answer_from_the_records_it_reads_anyway(evac_nova,
                                                                         short_timeout):
    batch = batch_of(evac_nova, 1)
    lost = batch.items.get()
    evac_nova.fates[lost.instance_id] = [DROP_AFTER]
    evac_nova.migrations_status = 500
    send(evac_nova, batch)
    evac_nova.migrations_status = 200
    # The target compute claimed it: its record is in Nova's changes-since list from now on.
    evac_nova.step(lost.instance_id)
    before = len(evac_nova.requests)

    row = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)["items"][0]

    assert row["state"] == "rebuilding"
    calls = [r.path for r in evac_nova.requests[before:]]
    assert calls == ["/v2.1/os-migrations", "/v2.1/servers/detail"]  # no per-item read
    lost.refresh_from_db()
    assert lost.submit_state == "submitted" and lost.found_migration_id


def test_a_refusal_is_not_a_lost_answer(evac_nova, short_timeout):
    batch = batch_of(evac_nova, 1)
    item = batch.items.get()
    evac_nova.refusals[item.instance_id] = (409, "Cannot 'evacuate' instance %s while it is "
                                                 "in vm_state paused" % item.instance_id)
    send(evac_nova, batch)
    item.refresh_from_db()
    assert (item.submit_state, item.advice_code) == ("submit_failed", "state_not_evacuable")
    assert not evac_nova.action_reads  # nothing to ask Nova about


def _died_with_a_call_in_flight(nova, seconds_ago):
    """A batch whose process died while its first call was in flight; Nova never got it."""
    batch = batch_of(nova, 2)
    batch = batches.claim(batch, "old-node:1")
    first = item_of(batch, 0)
    batches.mark_submitting(first.pk)
    EvacuationItem.objects.filter(pk=first.pk).update(
        submitting_at=timezone.now() - timedelta(seconds=seconds_ago))
    batches.finish_batch(batch.pk, "the worker died")
    batch.refresh_from_db()
    return batch, first


def test_resume_sends_a_call_left_in_flight_only_once_nova_shows_it_never_got_it(
        evac_nova, short_timeout):
    batch, first = _died_with_a_call_in_flight(evac_nova, seconds_ago=30)
    evacuations.resume(fake_request(evac_nova.endpoint), batch,
                       executor=submission.InlineExecutor())
    assert [item_of(batch, i).submit_state for i in (0, 1)] == ["submitted", "submitted"]
    assert first.instance_id in evac_nova.action_reads  # asked before it was sent
    assert set(posts(evac_nova).values()) == {1}


def test_resume_sends_a_call_left_in_flight_only_once_nova_proves_it_never_got_it(
        evac_nova, short_timeout):
    batch, first = _died_with_a_call_in_flight(evac_nova, seconds_ago=0)
    evacuations.resume(fake_request(evac_nova.endpoint), batch,
                       executor=submission.InlineExecutor())
    # Too early to tell at first: a lost answer; once it can no longer be inside nova-api
    # and Nova shows nothing of it, the resume sends it (once): Resume means "send the rest".
    first.refresh_from_db()
    assert first.submit_state == "submitted" and first.request_id
    assert posts(evac_nova)[first.instance_id] == 1
    assert item_of(batch, 1).submit_state == "submitted"
