"""The History panel: list, filters, paging, detail, CSV export. Nova mocked at the API layer."""
import csv
from datetime import datetime, timedelta, timezone
import io
import uuid

from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone as dj_timezone

from openstack_dashboard.test import helpers as test

from evac_dashboard.operations import external_sync
from evac_dashboard.store import audit
from evac_dashboard.api import history as history_api
from evac_dashboard.store import batches
from evac_dashboard.rules import request as evac_request
from evac_dashboard.models import AuditRecord, EvacuationItem
from tests.unit.factories import servers_on

INDEX_URL = reverse("horizon:admin:evac_history:index")
EXPORT_URL = reverse("horizon:admin:evac_history:export")
ADMIN = batches.Initiator("u-admin", "admin", "p-admin", "admin")
HISTORY_MOCKS = {history_api: ["evacuation_migrations", "evacuate_action", "user_name",
                               "project_names"]}


def nova_time(when):
    return when.astimezone(timezone.utc).replace(tzinfo=None).isoformat()


def cli_migration(instance_id, minutes_ago=5, status="done"):
    created = nova_time(datetime.now(timezone.utc) - timedelta(minutes=minutes_ago))
    return {"id": 7, "uuid": str(uuid.uuid4()), "instance_uuid": instance_id,
            "source_compute": "cmp3", "dest_compute": "cmp1", "status": status,
            "migration_type": "evacuation", "created_at": created, "updated_at": created}


def panel_record(action=AuditRecord.FORCE_DOWN, host="cmp1", minutes_ago=10, **fields):
    record = audit.begin(ADMIN, action, source_host=host, **fields)
    AuditRecord.objects.filter(pk=record.pk).update(
        created_at=dj_timezone.now() - timedelta(minutes=minutes_ago))
    audit.complete(record, AuditRecord.SUCCEEDED)
    return record


@override_settings(EVAC_AUDIT_SYNC_SECONDS=0)
class HistoryIndexTests(test.BaseAdminViewTests):
    def setUp(self):
        super().setUp()
        external_sync.forget_sync_times()

    def _nova(self, migrations=()):
        self.mock_evacuation_migrations.return_value = (list(migrations), "2.96")
        self.mock_evacuate_action.return_value = {
            "action": "evacuate", "request_id": "req-cli-1", "user_id": "u-bob",
            "project_id": "p-ops", "start_time": nova_time(datetime.now(timezone.utc))}
        self.mock_user_name.return_value = "bob"
        self.mock_project_names.return_value = {"p-ops": "ops"}

    @test.create_mocks(HISTORY_MOCKS)
    def test_panel_and_external_entries_newest_first(self):
        panel_record(AuditRecord.FORCE_DOWN, "cmp3", minutes_ago=30)
        self._nova([cli_migration("srv-cli", minutes_ago=5)])
        res = self.client.get(INDEX_URL)
        self.assertTemplateUsed(res, "evac_dashboard/history/index.html")
        rows = res.context["table"].data
        self.assertEqual(["external", "panel"], [r.origin for r in rows])
        external = rows[0]
        self.assertEqual(("u-bob", "bob", "p-ops", "ops", ["req-cli-1"]),
                         (external.user_id, external.user_name, external.project_id,
                          external.project_name, external.request_ids))
        html = res.content.decode()
        self.assertIn("External", html)
        self.assertIn("Dashboard", html)
        self.assertIn("req-cli-1", html)
        # The instance action is read for the record shown, once.
        self.mock_evacuate_action.assert_called_once()
        self.client.get(INDEX_URL)
        self.mock_evacuate_action.assert_called_once()
        self.assertEqual(1, AuditRecord.objects.filter(origin="external").count())

    @test.create_mocks(HISTORY_MOCKS)
    def test_nova_failure_still_shows_the_recorded_history(self):
        panel_record()
        self.mock_evacuation_migrations.side_effect = RuntimeError("nova is down")
        self.mock_project_names.return_value = {}
        res = self.client.get(INDEX_URL)
        self.assertEqual(200, res.status_code)
        self.assertEqual(1, len(res.context["table"].data))
        self.assertIn("could not be read from Nova", res.content.decode())

    @override_settings(API_RESULT_PAGE_SIZE=2)
    @test.create_mocks(HISTORY_MOCKS)
    def test_paged_with_markers_keeping_the_criteria(self):
        self._nova()
        made = [panel_record(host="cmp1", minutes_ago=m) for m in range(5)]
        panel_record(host="cmp2", minutes_ago=1)
        res = self.client.get(INDEX_URL + "?host=cmp1")
        table = res.context["table"]
        self.assertEqual([made[0].pk, made[1].pk], [r.pk for r in table.data])
        self.assertTrue(table.has_more_data())
        self.assertFalse(table.has_prev_data())
        next_query = table.get_pagination_string()
        self.assertIn("host=cmp1", next_query)
        self.assertIn("marker=%d" % made[1].pk, next_query)
        res = self.client.get(INDEX_URL + "?" + next_query)
        table = res.context["table"]
        self.assertEqual([made[2].pk, made[3].pk], [r.pk for r in table.data])
        self.assertTrue(table.has_prev_data())
        res = self.client.get(INDEX_URL + "?" + table.get_prev_pagination_string())
        self.assertEqual([made[0].pk, made[1].pk], [r.pk for r in res.context["table"].data])

    @test.create_mocks(HISTORY_MOCKS)
    def test_server_side_filter_box_combines_with_the_time_range(self):
        self._nova()
        panel_record(AuditRecord.FORCE_DOWN, "cmp1", minutes_ago=60 * 24 * 3)
        recent = panel_record(AuditRecord.FORCE_DOWN, "cmp1", minutes_ago=5)
        panel_record(AuditRecord.ENABLE, "cmp2", minutes_ago=4)
        res = self.client.post(INDEX_URL, {"history__filter__q_field": "host",
                                           "history__filter__q": "cmp1"})
        self.assertEqual(302, res.status_code)
        since = (dj_timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d")
        res = self.client.get(INDEX_URL + "?since=" + since)
        self.assertEqual([recent.pk], [r.pk for r in res.context["table"].data])
        export_url = res.context["export_url"]
        self.assertIn("host=cmp1", export_url)
        self.assertIn("since=", export_url)
        self.assertContains(res, "Showing only:")

    @test.create_mocks(HISTORY_MOCKS)
    def test_bad_time_is_reported_not_a_crash(self):
        self._nova()
        panel_record()
        res = self.client.get(INDEX_URL + "?since=yesterday")
        self.assertEqual(200, res.status_code)
        self.assertEqual(1, len(res.context["table"].data))
        self.assertIn("Not a date or time", res.content.decode())

    @test.create_mocks(HISTORY_MOCKS)
    def test_export_is_the_filtered_set_as_csv(self):
        self._nova()
        panel_record(AuditRecord.FORCE_DOWN, "cmp1")
        panel_record(AuditRecord.ENABLE, "cmp2")
        res = self.client.get(EXPORT_URL + "?host=cmp1")
        self.assertEqual("text/csv; charset=utf-8", res["Content-Type"])
        self.assertIn("attachment;", res["Content-Disposition"])
        rows = list(csv.DictReader(io.StringIO(b"".join(res.streaming_content).decode())))
        self.assertEqual([("cmp1", "force_down", "admin")],
                         [(r["source_host"], r["action"], r["user_name"]) for r in rows])

    def test_nothing_edits_or_deletes_a_record(self):
        record = panel_record()
        detail = reverse("horizon:admin:evac_history:detail", args=[record.pk])
        for url in (detail, EXPORT_URL):
            for method in (self.client.post, self.client.put, self.client.delete):
                self.assertEqual(405, method(url).status_code)
        self.assertTrue(AuditRecord.objects.filter(pk=record.pk).exists())


class HistoryDetailTests(test.BaseAdminViewTests):
    def test_evacuation_record_links_to_the_batch_progress_page(self):
        servers = servers_on("cmp1", 2)
        batch = batches.create_batch(
            kind="host", source_host="cmp1", servers=servers, microversion="2.94",
            options=evac_request.EvacuateOptions(admin_password="Very-Secret-1"),
            initiator=ADMIN)
        record = audit.begin_batch_action(ADMIN, AuditRecord.HOST_EVACUATE, batch)
        first = EvacuationItem.objects.filter(batch=batch).order_by("position")[0]
        batches.mark_submitting(first.pk)
        batches.mark_submitted(first.pk, "req-abc")
        audit.batch_submission_ended(batch.pk)
        res = self.client.get(reverse("horizon:admin:evac_history:detail", args=[record.pk]))
        self.assertTemplateUsed(res, "evac_dashboard/history/detail.html")
        self.assertContains(res, reverse("horizon:admin:evac_batches:detail", args=[batch.pk]))
        self.assertContains(res, "req-abc")
        self.assertContains(res, "set by the operator (never stored)")
        self.assertContains(res, "Interrupted")
        self.assertNotContains(res, "Very-Secret-1")

    def test_unknown_record_is_404(self):
        res = self.client.get(reverse("horizon:admin:evac_history:detail", args=[999999]))
        self.assertEqual(404, res.status_code)


class MemberTests(test.TestCase):
    def test_non_admin_is_refused(self):
        res = self.client.get(INDEX_URL)
        self.assertNotEqual(200, res.status_code)


@override_settings(EVAC_AUDIT_SYNC_SECONDS=0)
class OutOfRangeTimeTests(test.BaseAdminViewTests):
    """A time whose UTC value falls outside year 1..9999 is a form error, never a 500."""

    TIMES = ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00")

    @test.create_mocks(HISTORY_MOCKS)
    def test_history_page_reports_the_time_by_the_form(self):
        self.mock_evacuation_migrations.return_value = ([], "2.96")
        self.mock_project_names.return_value = {}
        panel_record()
        for when in self.TIMES:
            for name in ("since", "until"):
                res = self.client.get(INDEX_URL, {name: when})
                self.assertEqual(200, res.status_code, (name, when))
                self.assertEqual(1, len(res.context["table"].data))
                self.assertEqual([name], [n for n, _m in res.context["range_errors"]])
                self.assertContains(res, "outside the years 1 to 9999")
                self.assertContains(res, 'id="evac-%s-error"' % name)

    def test_csv_export_answers_400_with_the_message(self):
        panel_record()
        for when in self.TIMES + ("yesterday",):
            res = self.client.get(EXPORT_URL, {"since": when})
            self.assertEqual(400, res.status_code, when)
            self.assertNotIn("attachment", res.get("Content-Disposition", ""))
            self.assertIn("since", res.content.decode())


class HistoryOptionsTests(test.BaseAdminViewTests):
    """Options read as an operator reads them, never as raw keys and Python values."""

    def _detail(self, **option_fields):
        batch = batches.create_batch(
            kind="host", source_host="cmp1", servers=servers_on("cmp1", 1),
            microversion="2.94", options=evac_request.EvacuateOptions(**option_fields),
            initiator=ADMIN)
        record = audit.begin_batch_action(ADMIN, AuditRecord.HOST_EVACUATE, batch)
        return self.client.get(reverse("horizon:admin:evac_history:detail",
                                       args=[record.pk])).content.decode()

    def test_evacuate_options_are_labelled(self):
        html = self._detail(admin_password="Pw-Not-Shown-77")
        for raw in ("force", "keep_running", "on_shared_storage", "target_host",
                    "password_set", "False", "True"):
            self.assertNotIn("<dt>%s</dt>" % raw, html)
            self.assertNotIn("<dd>%s</dd>" % raw, html)
        self.assertIn("<dt>Force target host</dt><dd>no</dd>", html)
        self.assertIn("<dt>Servers after evacuation</dt><dd>come back running</dd>", html)
        self.assertIn("<dt>Target host</dt><dd>chosen by the scheduler</dd>", html)
        self.assertNotIn("Shared storage", html)  # not part of the request
        self.assertNotIn("Pw-Not-Shown-77", html)

    def test_shared_storage_and_stopped_servers_when_chosen(self):
        html = self._detail(target_host="cmp2", force=True, keep_running=False,
                            on_shared_storage=True)
        self.assertIn("<dt>Force target host</dt><dd>yes</dd>", html)
        self.assertIn("<dt>Servers after evacuation</dt><dd>stay stopped</dd>", html)
        self.assertIn("<dt>Target host</dt><dd>cmp2</dd>", html)
        self.assertIn("<dt>Instance disks on shared storage</dt><dd>yes</dd>", html)

    def test_disable_reason_is_labelled(self):
        record = panel_record(AuditRecord.DISABLE, options={"reason": "PSU dead"})
        html = self.client.get(reverse("horizon:admin:evac_history:detail",
                                       args=[record.pk])).content.decode()
        self.assertIn("<dt>Reason</dt><dd>PSU dead</dd>", html)
        self.assertNotIn("<dt>reason</dt>", html)
