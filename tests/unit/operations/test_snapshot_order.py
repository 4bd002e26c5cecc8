"""A snapshot reads Nova first and the dashboard's records after: an instance Nova already
rebuilds is never shown as "waiting to be sent" because the records were read before a slow
Nova read (seen on the local cloud during the submission burst)."""
from unittest import mock

from django.utils import timezone
import pytest

from evac_dashboard.models import EvacuationItem
from evac_dashboard.operations import snapshots
from evac_dashboard.operations.progress_reads import NovaView
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import batches
from tests.unit import factories
from tests.unit.fakes.nova import fake_request

pytestmark = pytest.mark.django_db


def test_an_instance_nova_rebuilds_is_not_waiting_to_be_sent():
    servers = factories.servers_on("cmp1", 2)
    batch = batches.create_batch(kind="host", source_host="cmp1", servers=servers,
                                 options=evac_request.EvacuateOptions(), microversion="2.94",
                                 initiator=factories.ADMIN)
    batches.claim(batch, "vm:1")
    first = EvacuationItem.objects.filter(batch=batch).order_by("position")[0]
    rebuilding = dict(servers[0] if servers[0]["id"] == first.instance_id else servers[1],
                      status="REBUILD", **{"OS-EXT-STS:task_state": "rebuilding"})

    def slow_nova_read(request, batch, fresh=False):
        # While Nova is being read, the sender marks the item and Nova accepts it.
        batches.mark_submitting(first.pk)
        batches.mark_submitted(first.pk, "req-1")
        return NovaView(servers={first.instance_id: rebuilding},
                        migrations={first.instance_id: factories.migration(
                            first.instance_id, status="accepted")},
                        read_at=timezone.now(), calls=2)

    with mock.patch.object(snapshots, "cached_read", slow_nova_read):
        data = snapshots.snapshot(fake_request("http://127.0.0.1:1/v2.1"), batch)
    row = {r["instance_id"]: r for r in data["items"]}[first.instance_id]
    assert row["state"] != "pending", row
    assert row["submit_state"] == "submitted"
