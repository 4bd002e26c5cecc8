"""Submitting batches against a fake Nova over real HTTP."""
from datetime import timedelta, timezone
import threading

from django.db import connection
from django.db.backends.signals import connection_created
import pytest

from evac_dashboard.store import batches
from evac_dashboard.rules import priority
from evac_dashboard.rules import request as evac_request
from evac_dashboard.operations import submission
from evac_dashboard.models import EvacuationBatch, EvacuationItem
from tests.unit import factories
from tests.unit.fakes import nova
from tests.unit.fakes.nova import fake_request, still_in_use
from tests.unit.factories import ADMIN, migration, servers_on

WAIT = 60  # generous upper bound for background work; never a timing assertion
PASSWORD = "Sup3r-Secret-Evac-Pw"


@pytest.fixture
def fake_nova(settings):
    """This module's fake Nova: ``WritableFakeNova`` (the history tests' is ``AuditFakeNova``).
    It keeps no evacuation records, so a paced run would hold every accepted call in its
    window: the runs here are unpaced (pacing: test_submission_pacing.py, whose fake plays
    the records forward)."""
    settings.EVAC_PACING = False
    yield from nova.running(settings, nova.WritableFakeNova())


def create(host, servers, options=None, microversion="2.94"):
    return batches.create_batch(kind=EvacuationBatch.KIND_HOST, source_host=host,
                                servers=servers, options=options or evac_request.EvacuateOptions(),
                                microversion=microversion, initiator=ADMIN)


def credentials(fake_nova):
    return submission.Credentials.from_request(fake_request(fake_nova.endpoint))


def items(batch):
    return list(EvacuationItem.objects.filter(batch=batch).order_by("position"))


def wait_until(condition):
    done = threading.Event()
    for _ in range(WAIT * 100):
        if condition():
            return True
        done.wait(0.01)
    return False


# ------------------------------------------------------------------------ outcomes

@pytest.mark.django_db
def test_items_end_submitted_with_request_ids_or_failed_with_advice(fake_nova):
    servers = servers_on("cmp1", 5)
    fake_nova.refusals[servers[1]["id"]] = still_in_use("cmp1")
    fake_nova.refusals[servers[3]["id"]] = (409, "Cannot 'evacuate' instance %s while it is "
                                                 "in vm_state paused" % servers[3]["id"])
    batch = create("cmp1", servers)

    run = submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())

    assert run.done
    by_id = {i.instance_id: i for i in items(batch)}
    request_ids = {r.path.split("/")[-2]: r for r in fake_nova.evacuations()}
    assert len(request_ids) == 5
    for server in (servers[0], servers[2], servers[4]):
        item = by_id[server["id"]]
        assert item.submit_state == "submitted"
        assert item.request_id.startswith("req-") and item.submitted_at
    refused = by_id[servers[1]["id"]]
    assert refused.submit_state == "submit_failed" and refused.advice_code == "source_still_up"
    assert refused.error_status == 400 and refused.retryable is True
    assert refused.error_message == "Compute service of cmp1 is still in use."
    assert refused.request_id.startswith("req-")
    assert by_id[servers[3]["id"]].advice_code == "state_not_evacuable"
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED and batch.active_source_host is None
    assert batch.finished_at and batch.started_at and batch.worker


@pytest.mark.django_db
def test_body_sent_is_request_py_body_at_the_header_sent(fake_nova):
    options = evac_request.EvacuateOptions(target_host="cmp2", force=True)
    built = evac_request.build_request(options, "2.60")
    servers = servers_on("cmp1", 2)
    batch = create("cmp1", servers, options, microversion=built.microversion)
    submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())
    for sent in fake_nova.evacuations():
        assert sent.version == "2.60"
        assert sent.body == built.action()


@pytest.mark.django_db
def test_per_item_target_from_a_placement_plan(fake_nova):
    servers = servers_on("cmp1", 2)
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=ADMIN, targets={servers[1]["id"]: "cmp5"})
    submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())
    bodies = {r.path.split("/")[-2]: r.body for r in fake_nova.evacuations()}
    assert bodies[servers[0]["id"]] == {"evacuate": {}}
    assert bodies[servers[1]["id"]] == {"evacuate": {"host": "cmp5"}}


@pytest.mark.django_db
def test_submission_follows_restart_priority(fake_nova):
    servers = [factories.server("vm-%02d" % i, "cmp1",
                                metadata={"evac:restart_priority": str(i % 4)})
               for i in range(12)]
    batch = create("cmp1", servers)
    submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())
    expected = [s["id"] for s in priority.submission_order(servers)]
    assert fake_nova.evacuated_ids() == expected
    assert expected != [s["id"] for s in servers]  # the order really changed


@pytest.mark.django_db(transaction=True)
def test_one_worker_pool_keeps_priority_order(fake_nova, settings):
    settings.EVAC_SUBMIT_CONCURRENCY = 1
    servers = [factories.server("vm-%02d" % i, "cmp1",
                                metadata={"evac:restart_priority": str(-i)})
               for i in range(8)]
    batch = create("cmp1", list(reversed(servers)))
    run = submission.start(batch, credentials(fake_nova))
    assert run.wait(WAIT)
    assert fake_nova.evacuated_ids() == [s["id"] for s in servers]


# ---------------------------------------------------------------- off the request path

@pytest.mark.django_db(transaction=True)
def test_start_returns_before_the_work_is_done(fake_nova, settings):
    fake_nova.gate = threading.Event()  # every evacuate waits here until the test opens it
    batch = create("cmp1", servers_on("cmp1", 200))

    run = submission.start(batch, credentials(fake_nova))

    assert not run.done
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.SUBMITTING
    assert batches.active_batch("cmp1") == batch
    assert EvacuationItem.objects.filter(batch=batch, submit_state="submitted").count() == 0
    fake_nova.gate.set()
    assert run.wait(WAIT)
    assert len(fake_nova.evacuations()) == 200
    assert EvacuationItem.objects.filter(batch=batch, submit_state="submitted").count() == 200
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED


@pytest.mark.django_db(transaction=True)
def test_items_are_persisted_as_each_call_returns(fake_nova, settings):
    settings.EVAC_SUBMIT_CONCURRENCY = 2
    fake_nova.gate = threading.Event()
    batch = create("cmp1", servers_on("cmp1", 6))
    run = submission.start(batch, credentials(fake_nova))
    # While the first two calls are held, exactly those two are recorded as in flight.
    assert wait_until(lambda: fake_nova.in_flight >= 2)
    states = [i.submit_state for i in items(batch)]
    assert states == ["submitting"] * 2 + ["pending"] * 4
    fake_nova.gate.set()
    assert run.wait(WAIT)


@pytest.mark.django_db(transaction=True)
def test_concurrency_bound_is_honoured(fake_nova, settings):
    settings.EVAC_SUBMIT_CONCURRENCY = 3
    fake_nova.gate = threading.Event()
    batch = create("cmp1", servers_on("cmp1", 30))
    run = submission.start(batch, credentials(fake_nova))
    assert wait_until(lambda: fake_nova.in_flight >= 3)
    assert fake_nova.max_in_flight == 3
    fake_nova.gate.set()
    assert run.wait(WAIT)
    assert len(fake_nova.evacuations()) == 30
    assert fake_nova.max_in_flight == 3


@pytest.mark.django_db(transaction=True)
def test_cancelled_items_are_not_sent(fake_nova, settings):
    settings.EVAC_SUBMIT_CONCURRENCY = 1
    fake_nova.gate = threading.Event()
    servers = servers_on("cmp1", 5)
    batch = create("cmp1", servers)
    run = submission.start(batch, credentials(fake_nova))
    assert wait_until(lambda: fake_nova.in_flight >= 1)
    assert batches.cancel_pending_items(batch.pk) == 4
    fake_nova.gate.set()
    assert run.wait(WAIT)
    assert fake_nova.evacuated_ids() == [items(batch)[0].instance_id]
    assert [i.submit_state for i in items(batch)] == ["submitted"] + ["cancelled"] * 4
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED


@pytest.mark.django_db(transaction=True)
def test_worker_threads_close_their_database_connections(fake_nova):
    if connection.vendor == "sqlite":
        pytest.skip("Django never closes an in-memory sqlite connection; run with MySQL")
    opened = []

    def remember(sender, connection, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            opened.append(connection)

    connection_created.connect(remember)
    try:
        run = submission.start(create("cmp1", servers_on("cmp1", 20)), credentials(fake_nova))
        assert run.wait(WAIT)
    finally:
        connection_created.disconnect(remember)
    assert opened and all(c.connection is None for c in opened)


# ------------------------------------------------------------------------- passwords

def _every_stored_value():
    """Every column of every row of every table in the database, as text."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute("SELECT * FROM %s" % connection.ops.quote_name(table))
            values.extend(str(value) for row in cursor.fetchall() for value in row)
    return values


@pytest.mark.django_db
def test_no_password_anywhere_in_the_database(fake_nova, caplog):
    caplog.set_level("DEBUG")
    servers = servers_on("cmp1", 3)
    fake_nova.refusals[servers[2]["id"]] = still_in_use("cmp1")
    options = evac_request.EvacuateOptions(admin_password=PASSWORD)
    batch = create("cmp1", servers, options)

    run = submission.start(batch, credentials(fake_nova), password=PASSWORD,
                           executor=submission.InlineExecutor())

    assert run.done
    sent = fake_nova.evacuations()
    assert len(sent) == 3 and all(r.body["evacuate"]["adminPass"] == PASSWORD for r in sent)
    stored = _every_stored_value()
    assert any(str(batch.pk.hex) in v or str(batch.pk) in v for v in stored)  # search works
    assert not [v for v in stored if PASSWORD in v]
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(run) and run._password is None
    batch.refresh_from_db()
    assert batch.options["password_set"] is True


@pytest.mark.django_db
def test_a_batch_started_with_a_password_needs_it_to_start(fake_nova):
    batch = create("cmp1", servers_on("cmp1", 1),
                   evac_request.EvacuateOptions(admin_password=PASSWORD))
    with pytest.raises(submission.PasswordRequired):
        submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())
    assert not fake_nova.evacuations()


@pytest.mark.django_db
def test_password_returned_below_2_14_is_kept_in_memory_only(fake_nova):
    servers = servers_on("cmp1", 1)
    options = evac_request.EvacuateOptions(on_shared_storage=False)
    batch = create("cmp1", servers, options, microversion="2.13")
    submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())
    assert not [v for v in _every_stored_value() if "generated-pw" in v]
    # Another admin's page load neither sees nor consumes it; its owner sees it once.
    assert submission.returned_passwords.take(batch.pk, servers[0]["id"], "other-admin") is None
    assert submission.returned_passwords.take(batch.pk, servers[0]["id"], None) is None
    assert submission.returned_passwords.take(batch.pk, servers[0]["id"],
                                              "admin-id") == "generated-pw"
    assert submission.returned_passwords.take(batch.pk, servers[0]["id"], "admin-id") is None


def test_returned_passwords_are_forgotten_after_ten_minutes():
    now = [1000.0]
    kept = submission.ReturnedPasswords(clock=lambda: now[0])
    kept.put("b1", "vm-1", "pw-1", owner="u-1")
    kept.put("b1", "vm-2", "pw-2", owner="u-1")
    assert kept.take("b1", "vm-1", "u-1") == "pw-1"
    now[0] += submission.ReturnedPasswords.KEEP_SECONDS - 1
    assert kept.take("b1", "vm-2", "u-2") is None  # not its owner: not consumed either
    now[0] += 1
    assert kept.take("b1", "vm-2", "u-1") is None  # forgotten
    assert not kept._passwords
    assert submission.ReturnedPasswords.KEEP_SECONDS == 600


# ---------------------------------------------------------------------------- resume

def _crashed_batch(servers):
    """A batch whose dashboard died mid-run: item 0 answered, item 1 in flight, rest pending."""
    batch = create("cmp1", servers)
    batch = batches.claim(batch, "old-node:1")
    first, second = items(batch)[:2]
    batches.mark_submitting(first.pk)
    batches.mark_submitted(first.pk, "req-before-crash")
    batches.mark_submitting(second.pk)
    return batch


def _nova_time(when):
    """Nova's timestamp format: naive UTC."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


@pytest.mark.django_db
def test_resume_skips_instances_evacuated_since_the_batch_began(fake_nova):
    servers = servers_on("cmp1", 6)
    batch = _crashed_batch(servers)
    ordered = [i.instance_id for i in items(batch)]
    began = batch.created_at
    after, before = began + timedelta(seconds=5), began - timedelta(hours=3)
    fake_nova.migrations = [
        migration(ordered[0], "cmp1", _nova_time(after)),   # answered before the crash
        migration(ordered[1], "cmp1", _nova_time(after), status="accepted"),  # was in flight
        migration(ordered[3], "cmp1", _nova_time(after), status="failed"),  # someone else's
        migration(ordered[4], "cmp1", _nova_time(before)),  # an older evacuation: not ours
        migration(ordered[5], "cmp2", _nova_time(after)),   # from another host
    ]

    run = submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())

    assert run.resumed and run.done
    # One read per resume, not per item: the records updated since, and the just accepted.
    assert len(fake_nova.calls("/os-migrations")) == 2
    assert fake_nova.evacuated_ids() == [ordered[2], ordered[4], ordered[5]]
    states = {i.instance_id: i for i in items(batch)}
    assert states[ordered[0]].request_id == "req-before-crash"
    for skipped in (ordered[1], ordered[3]):
        assert states[skipped].submit_state == "submitted"
        assert states[skipped].found_migration_id
        assert states[skipped].request_id is None
    assert all(i.submit_state == "submitted" for i in states.values())
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED


@pytest.mark.django_db
def test_first_start_does_not_read_migrations(fake_nova):
    batch = create("cmp1", servers_on("cmp1", 2))
    run = submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())
    assert not run.resumed
    assert not fake_nova.calls("/os-migrations")


@pytest.mark.django_db
def test_resume_sends_nothing_when_nova_cannot_say_what_it_has(fake_nova):
    fake_nova.migrations_status = 500
    batch = _crashed_batch(servers_on("cmp1", 4))

    run = submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())

    assert run.done and not fake_nova.evacuations()
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.INTERRUPTED
    assert "migrations broke" in batch.error_message
    assert batch.active_source_host is None
    assert [i.submit_state for i in items(batch)] == ["submitted", "submitting", "pending",
                                                      "pending"]


@pytest.mark.django_db
def test_a_finished_batch_cannot_be_started_again(fake_nova):
    batch = create("cmp1", servers_on("cmp1", 1))
    submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())
    batch.refresh_from_db()
    with pytest.raises(batches.BatchNotStartable):
        submission.start(batch, credentials(fake_nova), executor=submission.InlineExecutor())
    assert len(fake_nova.evacuations()) == 1


def test_credentials_do_not_show_the_token():
    request = fake_request("http://nova.example/v2.1", token="tok-secret")
    creds = submission.Credentials.from_request(request)
    assert creds.user.token.id == "tok-secret"
    assert creds.user.service_catalog == request.user.service_catalog
    assert creds.user.service_catalog is not request.user.service_catalog
    assert "tok-secret" not in repr(creds) and "tok-secret" not in repr(creds.user.token)
