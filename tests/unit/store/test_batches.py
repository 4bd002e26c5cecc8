"""Batches in the database: creation order, one active batch per host, item states."""
import threading

from django.db import IntegrityError
from django.db import transaction
import pytest

from evac_dashboard import conf
from evac_dashboard.store import batches
from evac_dashboard.rules import errors
from evac_dashboard.rules.request import EvacuateOptions
from evac_dashboard.models import EvacuationBatch, EvacuationItem
from tests.unit import factories
from tests.unit.factories import ADMIN, servers_on


def new_batch(host="cmp1", servers=None, options=None, **kwargs):
    return batches.create_batch(
        kind=kwargs.pop("kind", EvacuationBatch.KIND_HOST), source_host=host,
        servers=servers if servers is not None else servers_on(host, 3),
        options=options or EvacuateOptions(), microversion="2.94", initiator=ADMIN, **kwargs)


@pytest.mark.django_db
def test_batch_records_who_what_and_how():
    batch = new_batch(options=EvacuateOptions(target_host=" cmp2 ", keep_running=False,
                                              admin_password="pw"))
    batch.refresh_from_db()
    assert (batch.user_id, batch.user_name, batch.project_id, batch.project_name) == (
        "u-1", "admin", "p-1", "admin-project")
    assert batch.state == EvacuationBatch.PENDING and batch.is_active
    assert batch.active_source_host == batch.source_host == "cmp1"
    assert batch.microversion == "2.94" and batch.target_host == "cmp2"
    assert batch.keep_running is False and batch.password_set is True
    assert batch.options == {"target_host": "cmp2", "on_shared_storage": None, "force": False,
                             "keep_running": False, "password_set": True}
    assert batch.concurrency == conf.DEFAULT_SUBMIT_CONCURRENCY
    assert [i.requested_target for i in batch.items.all()] == ["cmp2"] * 3


@pytest.mark.django_db
def test_items_are_stored_in_restart_priority_order(settings):
    settings.EVAC_SUBMIT_CONCURRENCY = 3
    servers = [factories.server("b-low", "cmp1", metadata={"evac:restart_priority": "-1"}),
               factories.server("a-default", "cmp1"),
               factories.server("z-high", "cmp1", metadata={"evac:restart_priority": "10"}),
               factories.server("c-mid", "cmp1", metadata={"evac:restart_priority": 5})]
    batch = new_batch(servers=servers, targets={servers[1]["id"]: "cmp7"})
    items = list(batch.items.order_by("position"))
    assert [i.instance_name for i in items] == ["z-high", "c-mid", "a-default", "b-low"]
    assert [i.priority for i in items] == [10, 5, 0, -1]
    assert [i.position for i in items] == [0, 1, 2, 3]
    assert [i.requested_target for i in items] == [None, None, "cmp7", None]
    assert {i.project_id for i in items} == {"p1"}
    assert batch.concurrency == 3


@pytest.mark.django_db
def test_second_active_batch_for_a_host_is_refused_with_the_running_one():
    first = new_batch("cmp1")
    with pytest.raises(batches.BatchAlreadyActive) as refused:
        new_batch("cmp1", kind=EvacuationBatch.KIND_INSTANCE, servers=servers_on("cmp1", 1))
    assert refused.value.batch_id == first.pk
    assert str(first.pk) in str(refused.value)
    assert EvacuationBatch.objects.count() == 1
    assert EvacuationItem.objects.count() == 3  # the refused batch left no items behind
    new_batch("cmp2")  # other hosts are not affected


@pytest.mark.django_db
def test_a_host_can_have_a_new_batch_once_the_first_ended():
    first = new_batch("cmp1")
    for item in first.items.all():
        batches.mark_submitting(item.pk)
        batches.mark_submitted(item.pk, "req-1")
    assert batches.finish_batch(first.pk) == EvacuationBatch.FINISHED
    second = new_batch("cmp1")
    first.refresh_from_db()
    assert first.active_source_host is None and first.finished_at is not None
    assert batches.active_batch("cmp1") == second


@pytest.mark.django_db
def test_the_database_itself_refuses_two_active_batches_for_a_host():
    # No look-up beforehand: the UNIQUE column is what stops a second Horizon node.
    fields = dict(kind="host", source_host="cmp1", active_source_host="cmp1", user_id="u",
                  project_id="p", microversion="2.94")
    EvacuationBatch.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        EvacuationBatch.objects.create(**fields)
    # Ended batches (NULL) never collide.
    EvacuationBatch.objects.create(**dict(fields, active_source_host=None))
    EvacuationBatch.objects.create(**dict(fields, active_source_host=None))


@pytest.mark.django_db(transaction=True)
def test_racing_creations_for_one_host_let_exactly_one_win():
    barrier = threading.Barrier(4)
    outcomes = []

    def create():
        from django import db
        try:
            barrier.wait()
            outcomes.append(new_batch("cmp1").pk)
        except batches.BatchAlreadyActive as refused:
            outcomes.append(refused)
        finally:
            db.connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4  # no thread died of anything else (e.g. "table is locked")
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(winners) == 1
    assert all(o.batch_id == winners[0] for o in outcomes if isinstance(o, Exception))
    assert EvacuationBatch.objects.count() == 1


@pytest.mark.django_db
def test_duplicate_servers_become_one_item_and_empty_batches_are_refused():
    server = factories.server("vm", "cmp1")
    assert new_batch(servers=[server, dict(server)]).items.count() == 1
    with pytest.raises(ValueError):
        new_batch("cmp2", servers=[])


@pytest.mark.django_db
def test_item_state_changes_are_timestamped_and_final():
    batch = new_batch(servers=servers_on("cmp1", 2))
    ok, refused = batch.items.order_by("position")
    assert batches.mark_submitting(ok.pk)
    assert batches.mark_submitted(ok.pk, "req-ok")
    advice = errors.advise(400, "Compute service of cmp1 is still in use.")
    assert batches.mark_submitting(refused.pk)
    assert batches.mark_submit_failed(refused.pk, advice, 400, "req-no")
    # Answered items do not change again (a late duplicate answer, a cancel).
    assert not batches.mark_submitting(ok.pk)
    assert not batches.mark_submitted(refused.pk, "req-late")
    ok.refresh_from_db()
    refused.refresh_from_db()
    assert (ok.submit_state, ok.request_id) == ("submitted", "req-ok")
    assert ok.submitting_at <= ok.submitted_at and ok.failed_at is None
    assert (refused.submit_state, refused.request_id, refused.error_status) == (
        "submit_failed", "req-no", 400)
    assert refused.advice_code == "source_still_up" and refused.retryable is True
    assert refused.error_message == "Compute service of cmp1 is still in use."
    assert refused.failed_at is not None and refused.attempt == 1
    assert batches.item_counts(batch.pk) == {"pending": 0, "submitting": 0, "submitted": 1,
                                             "submit_failed": 1, "cancelled": 0,
                                             "unknown": 0}


@pytest.mark.django_db
def test_a_lost_answer_is_unknown_until_nova_says_and_never_open_again():
    batch = new_batch(servers=servers_on("cmp1", 3))
    found, absent, expired = batch.items.order_by("position")
    lost = errors.answer_lost("no answer within 30 s")
    for item in (found, absent):
        assert batches.mark_submitting(item.pk)
        assert batches.mark_answer_lost(item.pk, lost, "HTTP 504", 504)
    assert batches.items_to_submit(batch.pk) == [expired]  # never sent again as it is
    assert [i.pk for i in batches.answer_lost_items(batch.pk)] == [found.pk, absent.pk]
    assert not batches.mark_submitting(found.pk) and not batches.mark_submitted(found.pk, "x")
    found.refresh_from_db()
    assert (found.submit_state, found.error_status, found.advice_code) == (
        "unknown", 504, "answer_lost")
    assert found.error_message == "HTTP 504"
    assert found.answer_lost_at is not None and found.retryable is None

    assert batches.mark_found(found.pk, "mig-1")
    assert batches.mark_not_received(absent.pk, errors.not_received("no answer"))
    assert not batches.mark_found(absent.pk, "mig-2")  # resolved once
    found.refresh_from_db()
    absent.refresh_from_db()
    assert (found.submit_state, found.found_migration_id) == ("submitted", "mig-1")
    assert (absent.submit_state, absent.advice_code, absent.retryable) == (
        "submit_failed", "not_received", True)
    assert batches.finish_batch(batch.pk) == "interrupted"  # the third was never sent

    # A 401 (the login expired) leaves the item waiting, as if never sent.
    assert batches.mark_submitting(expired.pk)
    assert batches.mark_pending_again(expired.pk)
    expired.refresh_from_db()
    assert (expired.submit_state, expired.submitting_at) == ("pending", None)


@pytest.mark.django_db
def test_items_to_submit_are_the_open_ones_in_order():
    batch = new_batch(servers=servers_on("cmp1", 4))
    first, second, third, fourth = batch.items.order_by("position")
    batches.mark_submitting(first.pk)
    batches.mark_submitted(first.pk, "req")
    batches.mark_submitting(third.pk)  # in flight when the dashboard died
    assert [i.pk for i in batches.items_to_submit(batch.pk)] == [second.pk, third.pk,
                                                                 fourth.pk]


@pytest.mark.django_db
def test_finish_state_follows_the_items():
    cancelled = new_batch("cmp1", servers=servers_on("cmp1", 2))
    assert batches.cancel_pending_items(cancelled.pk) == 2
    assert batches.finish_batch(cancelled.pk) == EvacuationBatch.CANCELLED

    cut_short = new_batch("cmp2", servers=servers_on("cmp2", 2))
    assert batches.finish_batch(cut_short.pk, "boom") == EvacuationBatch.INTERRUPTED
    cut_short.refresh_from_db()
    assert cut_short.error_message == "boom" and cut_short.active_source_host is None


@pytest.mark.django_db
def test_claim_marks_the_batch_submitting_once():
    batch = new_batch()
    stale_copy = EvacuationBatch.objects.get(pk=batch.pk)
    claimed = batches.claim(batch, "node-a:1")
    assert claimed.state == EvacuationBatch.SUBMITTING and claimed.started_at is not None
    assert claimed.worker == "node-a:1"
    with pytest.raises(batches.BatchNotStartable):
        batches.claim(stale_copy, "node-b:2")  # another node read it before the first claim


@pytest.mark.django_db
def test_resuming_an_interrupted_batch_takes_the_host_again_unless_taken():
    interrupted = new_batch("cmp1")
    batches.claim(interrupted, "node-a:1")
    batches.finish_batch(interrupted.pk, "Nova unreachable")
    interrupted.refresh_from_db()
    other = new_batch("cmp1")
    with pytest.raises(batches.BatchAlreadyActive) as refused:
        batches.claim(interrupted, "node-a:1")
    assert refused.value.batch_id == other.pk

    for item in other.items.all():
        batches.mark_submitting(item.pk)
        batches.mark_submitted(item.pk, "req")
    batches.finish_batch(other.pk)
    resumed = batches.claim(interrupted, "node-a:1")
    assert resumed.active_source_host == "cmp1" and resumed.state == "submitting"
    with pytest.raises(batches.BatchNotStartable):
        batches.claim(EvacuationBatch.objects.get(pk=other.pk), "node-a:1")


@pytest.mark.parametrize("raw", ["2147483648", "100000000000000000000", 2 ** 31, 10 ** 20])
@pytest.mark.django_db
def test_a_tenant_priority_beyond_the_column_cannot_block_the_host(raw):
    """Any project member sets evac:restart_priority on their own server; a number MariaDB's
    INT (or sqlite's 64-bit integer) cannot hold must not make the batch fail."""
    servers = servers_on("cmp1", 2)
    servers[0]["metadata"] = {"evac:restart_priority": raw}
    batch = new_batch(servers=servers)
    stored = {item.instance_id: item.priority for item in batch.items.all()}
    assert stored == {servers[0]["id"]: 0, servers[1]["id"]: 0}
