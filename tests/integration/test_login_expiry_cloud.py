"""A Keystone login that expires in the middle of a host evacuation (real
Keystone, real Nova: the local cloud's ``short-token-keystone`` issues tokens that live
``TOKEN_SECONDS``, and every service accepts them until then).

The evacuate calls are slowed by the fault proxy (held ``HOLD`` s before Nova sees them,
one at a time) so that sending outlasts the login. Asserted: the run stops at the first
401 without failing anything; the items not sent stay waiting (``pending``); the batch
says "log in again and resume" and offers Resume; a resume with a fresh login sends only
the rest; in the end every server has exactly one evacuation from the failed host, done.
"""
import datetime
import json
import subprocess
import sys

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from evac_dashboard import models
from evac_dashboard.api import actions
from evac_dashboard.api import client
from evac_dashboard.api import nova
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import liveness
from evac_dashboard.operations import snapshots
from evac_dashboard.operations.progress_reads import forget_cache
from tests.integration import faultproxy
from tests.integration.conftest import REPO_ROOT
from tests.integration.faultproxy import LATE, Rule
from tests.integration.helpers import seeded_host, wait_for
from tests.integration.keystone_request import keystone_request
from tests.integration.test_nova_faults import (
    EVACUATE, evacuation_records, start_host_evacuation, wait_submitted)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore_cloud"),
              pytest.mark.django_db(transaction=True)]

SERVERS = 12
PREFIX = "login40"
TOKEN_SECONDS = 75       # more than the start's 60 s margin, less than the sending takes
HOLD = 8                 # seconds each evacuate call is held, one at a time: 96 s of sending
DONE = ("done", "completed")


@pytest.fixture
def short_keystone(local_cloud):
    """The auth URL of a Keystone whose tokens expire after TOKEN_SECONDS."""
    process = subprocess.Popen(
        [sys.executable, "-m", "evac_dashboard.localcloud", "short-token-keystone",
         "--seconds", str(TOKEN_SECONDS)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        auth_url = process.stdout.readline().strip()
        assert auth_url.startswith("http"), auth_url

        def answers():
            try:
                return requests.get(auth_url, timeout=2).status_code == 200
            except requests.RequestException:
                return False
        assert wait_for(answers, 60, 0.5), "the short-token Keystone did not start"
        yield auth_url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def loaded_host(local_cloud):
    with seeded_host(local_cloud, SERVERS, PREFIX) as host:
        yield host


def short_login(local_cloud, auth_url):
    creds = local_cloud.admin
    auth = v3.Password(auth_url=auth_url, username=creds["username"],
                       password=creds["password"], project_name=creds["project_name"],
                       user_domain_name=creds["user_domain_name"],
                       project_domain_name=creds["project_domain_name"])
    return ks_session.Session(auth=auth)


def test_a_login_expiring_mid_batch_stops_and_resume_sends_only_the_rest(
        local_cloud, loaded_host, short_keystone, settings):
    settings.EVAC_SUBMIT_CONCURRENCY = 1
    client.forget_versions()
    direct = keystone_request(local_cloud.session("admin"), local_cloud.region)
    local_cloud.tool("kill-host", loaded_host)
    actions.force_down(direct, nova.service_get(direct, loaded_host), True)

    fault_proxy = faultproxy.FaultProxy(client.compute_endpoint(direct))
    try:
        short = keystone_request(short_login(local_cloud, short_keystone), local_cloud.region)
        left = (short.user.token.expires
                - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        assert 60 < left <= TOKEN_SECONDS + 5, left  # a short login, yet one start accepts
        short.user.service_catalog = faultproxy.via_proxy(short.user.service_catalog,
                                                           fault_proxy.url)
        fault_proxy.script([Rule(LATE, method="POST", path=EVACUATE, body='"evacuate"',
                                 delay=HOLD)])
        batch, servers = start_host_evacuation(short, loaded_host)
        ids = {s["id"] for s in servers}
        wait_submitted_or_interrupted(batch)
    finally:
        fault_proxy.close()

    batch.refresh_from_db()
    items = list(batch.items.all())
    by_state = {}
    for item in items:
        by_state.setdefault(item.submit_state, []).append(item)
    assert batch.state == models.EvacuationBatch.INTERRUPTED, batch.state
    assert "log in again and resume" in batch.error_message
    assert not by_state.get(models.EvacuationItem.SUBMIT_FAILED), "a 401 failed an item"
    assert not by_state.get(models.EvacuationItem.SUBMITTING)
    waiting = by_state.get(models.EvacuationItem.PENDING, [])
    assert waiting, "the login did not expire mid-batch (sending was too fast)"
    assert by_state.get(models.EvacuationItem.SUBMITTED), "nothing was sent before expiry"
    assert liveness.resume_status(batch).possible
    artifacts = REPO_ROOT / ".artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "login-expiry.json").write_text(json.dumps({
        "servers": len(items), "token_seconds": TOKEN_SECONDS,
        "sent_before_expiry": len(by_state.get(models.EvacuationItem.SUBMITTED, [])),
        "left_pending": len(waiting), "error_message": batch.error_message}, indent=2))

    fresh = keystone_request(local_cloud.session("admin"), local_cloud.region)
    forget_cache()
    page = snapshots.snapshot(fresh, batch)
    assert page["resume"]["possible"] and "log in again" in page["resume"]["reason"]
    evacuations.resume(fresh, batch)
    wait_submitted(batch)

    admin = local_cloud.nova(version="2.59")
    since = batch.created_at.strftime("%Y-%m-%dT%H:%M:%S")

    def every_one_done():
        records = evacuation_records(admin, loaded_host, ids, since)
        if set(records) != ids or any(r.status not in DONE
                                      for rs in records.values() for r in rs):
            return None
        return records

    records = wait_for(every_one_done, 420, 3)
    assert records, "not every server has a done evacuation after the resume"
    assert not {i: len(rs) for i, rs in records.items() if len(rs) > 1}, "evacuated twice"


def wait_submitted_or_interrupted(batch):
    def over():
        batch.refresh_from_db()
        return batch.state in (models.EvacuationBatch.FINISHED,
                               models.EvacuationBatch.INTERRUPTED)
    assert wait_for(over, TOKEN_SECONDS + SERVERS * HOLD, 1), "the submission did not stop"
