"""Recording around Nova calls (``operations.recording``): the panel's forms record what they
do, written before each call and completed after; and no password ends up in the DB, logs or
CSV."""
import logging
from unittest import mock

from django.db import connection
from django.urls import reverse
from novaclient import exceptions as nova_exceptions
import pytest

from openstack_dashboard.test import helpers as test

from evac_dashboard.operations import external_sync
from evac_dashboard.operations import recording
from evac_dashboard.store import batches
from evac_dashboard.store import history
from evac_dashboard.api import actions
from evac_dashboard.api import nova
from evac_dashboard.content.evacuate import forms as evacuate_forms
from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.content.history import export
from evac_dashboard.operations import submission
from evac_dashboard.models import AuditRecord, EvacuationBatch
from tests.unit import factories
from tests.unit.fakes.nova import fake_request
from tests.unit.factories import servers_on
from tests.unit.fakes import history_nova

PASSWORD = "Zq7-Unique-Evac-Password-4411"
ADMIN = batches.Initiator("u-admin", "admin", "p-admin", "admin")


@pytest.fixture
def fake_nova(settings):
    yield from history_nova.running(settings)


def url(name, host="cmp1"):
    return reverse("horizon:admin:evac_hosts:" + name, args=[host])


class HostFormAuditTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_get"], actions: ["force_down", "set_service_status"]})
    def test_force_down_and_disable_are_two_records_written_before_each_call(self):
        service = factories.service("cmp1", state="down")
        self.mock_service_get.return_value = service
        seen = []

        def force_down(request, service, forced, request_ids):
            seen.append(list(AuditRecord.objects.values_list("action", "outcome")))
            request_ids.append("req-force-down")  # as actions.force_down does with Nova's

        self.mock_force_down.side_effect = force_down
        self.mock_set_service_status.side_effect = (
            lambda request, service, enabled, reason, request_ids: request_ids.append(
                "req-disable"))
        self.client.post(url("force_down"), {"host": "cmp1", "confirm_host": "cmp1",
                                             "disable": "on", "reason": "PSU dead"})
        self.assertEqual([[("force_down", "pending")]], seen)  # written before Nova
        records = list(AuditRecord.objects.order_by("id"))
        self.assertEqual([("force_down", "succeeded", ["req-force-down"]),
                          ("disable", "succeeded", ["req-disable"])],
                         [(r.action, r.outcome, r.request_ids) for r in records])
        self.assertEqual({"reason": "PSU dead", "password_set": False}, records[1].options)
        self.assertTrue(all(r.source_host == "cmp1" and r.user_name == "test_user"
                            for r in records))
        self.assertTrue(all(r.project_id for r in records))

    @test.create_mocks({nova: ["service_get"], actions: ["force_down"]})
    def test_nova_refusal_is_recorded_as_failed_with_its_message(self):
        self.mock_service_get.return_value = factories.service("cmp1", forced_down=True)
        error = nova_exceptions.BadRequest(400, "Unable to force up host cmp1 as `done` "
                                                "evacuation migration records remain")
        error.request_id = "req-refused"
        self.mock_force_down.side_effect = error
        self.client.post(url("unset_force_down"), {"host": "cmp1"})
        record = AuditRecord.objects.get()
        self.assertEqual(("unset_force_down", "failed"), (record.action, record.outcome))
        self.assertIn("Unable to force up host cmp1", record.detail)
        self.assertEqual(["req-refused"], record.request_ids)

    @test.create_mocks({nova: ["service_get"], actions: ["set_service_status"]})
    def test_enable_and_disable(self):
        self.mock_service_get.return_value = factories.service("cmp1", status="disabled")
        self.client.post(url("enable"), {"host": "cmp1"})
        self.client.post(url("disable"), {"host": "cmp1", "reason": "maintenance"})
        self.assertEqual([("enable", "succeeded", {"password_set": False}),
                          ("disable", "succeeded", {"reason": "maintenance",
                                                    "password_set": False})],
                         [(r.action, r.outcome, r.options)
                          for r in AuditRecord.objects.order_by("id")])


class EvacuateFormAuditTests(test.BaseAdminViewTests):
    def setUp(self):
        super().setUp()
        source = factories.service("cmp1", state="down", forced_down=True)
        for name, value in (("service_get", source),
                            ("service_list", [source, factories.service("cmp2")]),
                            ("negotiated_version", (2, 96)),
                            ("servers_on_host", servers_on("cmp1", 2, volume_backed=True))):
            patcher = mock.patch.object(nova, name, return_value=value)
            patcher.start()
            self.addCleanup(patcher.stop)

    @mock.patch.object(submission, "start")
    def test_host_evacuate_record_is_written_before_the_submission_starts(self, start):
        seen = []
        start.side_effect = lambda batch, *a, **k: seen.append(
            list(AuditRecord.objects.values_list("action", "outcome", "batch_id")))
        data = {"host": "cmp1", "target_host": "", "power_state": "running",
                "password": PASSWORD, "confirm_password": PASSWORD,
                "reviewed": reviewed.sign("cmp1", servers_on("cmp1", 2, volume_backed=True))}
        self.client.post(reverse("horizon:admin:evac_hosts:evacuate_host", args=["cmp1"]),
                         data)
        batch = EvacuationBatch.objects.get()
        self.assertEqual([[("host_evacuate", "pending", batch.pk)]], seen)
        record = AuditRecord.objects.get()
        self.assertEqual(2, record.instance_count)
        self.assertEqual("2.94", record.microversion)
        self.assertTrue(record.options["password_set"])
        self.assertNotIn(PASSWORD, str(record.options))

    @mock.patch.object(submission, "start", side_effect=RuntimeError("pool refused"))
    def test_a_submission_that_cannot_start_is_recorded_failed(self, start):
        data = {"host": "cmp1", "target_host": "", "power_state": "running",
                "password": "", "confirm_password": "",
                "reviewed": reviewed.sign("cmp1", servers_on("cmp1", 2, volume_backed=True))}
        # Refused with its reason in the form, never a 500, and the host is released.
        res = self.client.post(reverse("horizon:admin:evac_hosts:evacuate_host",
                                       args=["cmp1"]), data)
        self.assertContains(res, "could not start")
        self.assertContains(res, "pool refused")
        self.assertFalse(EvacuationBatch.objects.filter(active_source_host="cmp1").exists())
        record = AuditRecord.objects.get()
        self.assertEqual("failed", record.outcome)
        self.assertIn("pool refused", record.detail)


# ------------------------------------------------------------------- no password anywhere

def everything_in_the_database():
    """Every row of every table, as text."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute("SELECT * FROM %s" % connection.ops.quote_name(table))
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


@pytest.mark.django_db
def test_no_password_in_database_logs_or_csv_after_a_run_that_set_one(fake_nova, caplog,
                                                                      monkeypatch):
    caplog.set_level(logging.DEBUG)  # keystoneauth and novaclient log requests at DEBUG
    monkeypatch.setattr(submission, "_pool", lambda batch: submission.InlineExecutor())
    request = fake_request(fake_nova.endpoint)
    request.user.project_id, request.user.project_name = "p-admin", "admin"
    servers = servers_on("cmp1", 3, volume_backed=True)
    source = factories.service("cmp1", state="down", forced_down=True)
    form = evacuate_forms.EvacuateHostForm(
        request, data={"host": "cmp1", "target_host": "", "power_state": "running",
                       "password": PASSWORD, "confirm_password": PASSWORD,
                       "reviewed": reviewed.sign("cmp1", servers)},
        service=source, services=[source, factories.service("cmp2")], negotiated=(2, 96),
        local_disk_count=0)
    assert form.is_valid(), form.errors
    batch = form.handle(request, form.cleaned_data)
    assert batch

    sent = fake_nova.evacuations()
    assert len(sent) == 3 and all(r.body["evacuate"]["adminPass"] == PASSWORD for r in sent)
    record = AuditRecord.objects.get(batch_id=batch.pk)
    assert record.outcome == AuditRecord.ACCEPTED and len(record.request_ids) == 3
    assert record.password_set
    # Nova's evacuations are copied in too, then the history is exported.
    fake_nova.add_external("srv-cli")
    external_sync.sync_external(request, force=True)
    csv_text = "".join(export.rows(history.query()))
    assert "password_set" in csv_text and "yes" in csv_text

    assert PASSWORD not in everything_in_the_database()
    assert PASSWORD not in caplog.text
    assert PASSWORD not in csv_text
    assert caplog.records  # the search looked at real log output


# --------------------------------------------------------------------------- recorded()

class NovaRefusal(Exception):
    def __init__(self, code, message, request_id):
        super().__init__(message)
        self.code, self.message, self.request_id = code, message, request_id


@pytest.mark.django_db
def test_recorded_completes_succeeded_after_the_call():
    seen = []
    with recording.recorded(ADMIN, AuditRecord.DISABLE, source_host="cmp1") as record:
        seen.append(AuditRecord.objects.get(pk=record.pk).outcome)  # written before
        record.request_ids_seen.append("req-1")
    assert seen == [AuditRecord.PENDING]
    record.refresh_from_db()
    assert record.outcome == AuditRecord.SUCCEEDED and record.completed_at
    assert record.request_ids == ["req-1"]


@pytest.mark.django_db
def test_recorded_completes_failed_with_novas_message_and_request_id():
    with pytest.raises(NovaRefusal):
        with recording.recorded(ADMIN, AuditRecord.UNSET_FORCE_DOWN, source_host="cmp1") as record:
            raise NovaRefusal(400, "Unable to force up host cmp1", "req-bad")
    record.refresh_from_db()
    assert record.outcome == AuditRecord.FAILED
    assert record.detail == "HTTP 400: Unable to force up host cmp1"
    assert record.request_ids == ["req-bad"]
