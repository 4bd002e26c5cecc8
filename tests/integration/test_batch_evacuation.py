"""A whole host evacuated through the batch code against the live local cloud."""
import time

import pytest

from evac_dashboard import models
from evac_dashboard.api import actions
from evac_dashboard.api import client
from evac_dashboard.api import nova
from evac_dashboard.store import batches
from evac_dashboard.rules import request as evac_request
from evac_dashboard.operations import submission
from tests.integration.helpers import seeded_host, wait_for
from tests.integration.keystone_request import keystone_request

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore_cloud"),
              pytest.mark.django_db(transaction=True)]

SERVERS = 20
PREFIX = "evac20"
DONE = ("done", "completed")


@pytest.fixture
def loaded_host(local_cloud):
    with seeded_host(local_cloud, SERVERS, PREFIX) as host:
        yield host


def test_killed_host_evacuated_through_batches(local_cloud, loaded_host):
    client.forget_versions()
    request = keystone_request(local_cloud.session("admin"), local_cloud.region)
    servers = nova.servers_on_host(request, loaded_host)
    assert len(servers) >= SERVERS

    local_cloud.tool("kill-host", loaded_host)
    actions.force_down(request, nova.service_get(request, loaded_host), True)
    assert nova.service_get(request, loaded_host)["state"] == "down"

    options = evac_request.EvacuateOptions(keep_running=True)
    evacuate_request = evac_request.build_request(options, nova.negotiated_version(request))
    batch = batches.create_batch(
        kind=models.EvacuationBatch.KIND_HOST, source_host=loaded_host, servers=servers,
        options=options, microversion=evacuate_request.microversion,
        initiator=batches.Initiator(request.user.id, request.user.username))
    started = time.monotonic()
    run = submission.start(batch, submission.Credentials.from_request(request))
    assert run.wait(timeout=300), "submission did not finish"
    submitted_after = time.monotonic() - started

    batch.refresh_from_db()
    items = list(batch.items.all())
    assert batch.state == models.EvacuationBatch.FINISHED
    assert {i.submit_state for i in items} == {models.EvacuationItem.SUBMITTED}
    assert all(i.request_id for i in items)

    admin = local_cloud.nova(version="2.59")
    ids = {s["id"] for s in servers}

    def all_done():
        migrations = [m for m in admin.migrations.list(
            source_compute=loaded_host, migration_type="evacuation")
            if m.instance_uuid in ids]
        by_instance = {m.instance_uuid: m for m in migrations}
        if len(by_instance) < len(ids) or any(m.status not in DONE
                                              for m in by_instance.values()):
            return None
        return by_instance

    migrations = wait_for(all_done, timeout=360)
    assert migrations, "not every evacuation reached done"
    for server in admin.servers.list(search_opts={"all_tenants": 1, "name": "^" + PREFIX}):
        assert getattr(server, "OS-EXT-SRV-ATTR:host") != loaded_host
        assert migrations[server.id].dest_compute == getattr(server, "OS-EXT-SRV-ATTR:host")
    # The batch record matches Nova: each item's request id is its evacuate action's.
    for item in items[:5]:
        action = admin.instance_action.get(item.instance_id, item.request_id)
        assert action.action == "evacuate"
    print("submitted %d evacuations in %.1f s" % (len(items), submitted_after))
