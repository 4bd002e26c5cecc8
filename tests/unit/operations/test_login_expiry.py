"""The user's Keystone token in the background sender (issue 13, part 2): checked before a
run starts, and a 401 during the run stops it without failing anything."""
from collections import Counter
import datetime
from types import SimpleNamespace

from django.utils import timezone
import pytest

from evac_dashboard.models import EvacuationBatch, EvacuationItem
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import liveness
from evac_dashboard.operations import snapshots
from evac_dashboard.operations import submission
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import batches
from tests.unit.factories import ADMIN, servers_on
from tests.unit.fakes.nova import fake_request

pytestmark = pytest.mark.django_db


def expiring(endpoint, seconds, token="token-1"):
    """A Horizon-like request whose token expires ``seconds`` from now."""
    request = fake_request(endpoint, token=token)
    request.user.token = SimpleNamespace(
        id=token, expires=timezone.now() + datetime.timedelta(seconds=seconds))
    return request


def batch_of(nova, count):
    servers = servers_on("cmp1", count)
    nova.add_servers(servers)
    return batches.create_batch(kind=EvacuationBatch.KIND_HOST, source_host="cmp1",
                                servers=servers, options=evac_request.EvacuateOptions(),
                                microversion="2.94", initiator=ADMIN)


def states(batch):
    return [i.submit_state for i in EvacuationItem.objects.filter(batch=batch)
            .order_by("position")]


def test_a_401_mid_batch_stops_leaves_the_rest_pending_and_resume_sends_it(evac_nova):
    batch = batch_of(evac_nova, 5)
    evac_nova.unauthorized_after = 2  # the token expires after two evacuate calls

    run = submission.start(batch, submission.Credentials.from_request(
        expiring(evac_nova.endpoint, 3600)), executor=submission.InlineExecutor())

    assert run.done
    assert len(evac_nova.evacuations()) == 3  # the third got 401; nothing sent after it
    assert states(batch) == ["submitted", "submitted", "pending", "pending", "pending"]
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.INTERRUPTED and batch.active_source_host is None
    assert batch.error_message == "Your login expired: log in again and resume."
    data = snapshots.snapshot(fake_request(evac_nova.endpoint), batch)
    assert data["batch"]["error_message"] == "Your login expired: log in again and resume."
    assert data["resume"]["possible"] and data["resume"]["open_items"] == 3
    assert "log in again and resume" in data["resume"]["reason"]
    assert data["summary"]["counts"]["failed"] == 0
    assert [r["state"] for r in data["items"]][2:] == ["pending"] * 3

    # Logged in again: a new token, which Nova accepts.
    evac_nova.unauthorized_after = None
    evacuations.resume(expiring(evac_nova.endpoint, 3600, token="token-2"), batch,
                       executor=submission.InlineExecutor())

    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.FINISHED and batch.error_message == ""
    assert states(batch) == ["submitted"] * 5
    accepted = Counter(m["instance_uuid"] for m in evac_nova.migrations)
    assert len(accepted) == 5 and set(accepted.values()) == {1}  # each evacuated once


def test_a_401_on_the_resume_s_first_read_is_a_login_expiry_too(evac_nova):
    batch = batch_of(evac_nova, 2)
    batches.claim(batch, "gone:1")
    batches.finish_batch(batch.pk, "the worker stopped")
    batch.refresh_from_db()
    evac_nova.unauthorized_after = -1  # every request: 401

    evacuations.resume(expiring(evac_nova.endpoint, 3600), batch,
                       executor=submission.InlineExecutor())

    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.INTERRUPTED
    assert batch.error_message.startswith("Your login expired")
    assert not evac_nova.evacuations() and states(batch) == ["pending", "pending"]


@pytest.mark.parametrize("seconds, refused", [(-5, "has expired"), (30, "expires in"),
                                              (120, None)])
def test_a_token_about_to_expire_is_refused_before_anything_is_stored(evac_nova, seconds,
                                                                      refused):
    credentials = submission.Credentials.from_request(expiring(evac_nova.endpoint, seconds))
    if refused is None:
        submission.check_login(credentials)
        return
    with pytest.raises(submission.LoginExpiring, match=refused):
        submission.check_login(credentials)
    batch = batch_of(evac_nova, 1)
    with pytest.raises(submission.LoginExpiring):
        submission.start(batch, credentials, executor=submission.InlineExecutor())
    batch.refresh_from_db()
    assert batch.state == EvacuationBatch.PENDING and not evac_nova.evacuations()
    batches.claim(batch, "gone:1")
    batches.finish_batch(batch.pk, "stopped")
    batch.refresh_from_db()
    with pytest.raises(evacuations.ActionRefused, match=refused):
        evacuations.resume(expiring(evac_nova.endpoint, seconds), batch,
                           executor=submission.InlineExecutor())
    assert not evac_nova.evacuations()
    assert liveness.resume_status(batch).possible  # still there for a fresh login


def test_an_unknown_or_naive_expiry():
    creds = submission.Credentials("t", [], "RegionOne")
    assert creds.expires_in() is None
    submission.check_login(creds)  # nothing to check against
    naive = datetime.datetime.utcnow() + datetime.timedelta(seconds=30)  # Keystone's UTC
    creds = submission.Credentials("t", [], "RegionOne", expires=naive)
    assert 0 < creds.expires_in() <= 30
    assert submission.LOGIN_MARGIN_SECONDS == 60
    with pytest.raises(submission.LoginExpiring):
        submission.check_login(creds)
