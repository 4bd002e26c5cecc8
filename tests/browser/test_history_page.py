"""The History page in a real browser: panel and external entries, filter, detail."""
from datetime import datetime, timedelta, timezone
from unittest import mock
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from django.test.utils import override_settings
from django.utils import timezone as dj_timezone


from evac_dashboard.operations import external_sync
from evac_dashboard.operations import recording
from evac_dashboard.store import audit
from evac_dashboard.api import history as history_api
from evac_dashboard.store import batches
from evac_dashboard.rules import request as evac_request
from evac_dashboard.models import AuditRecord, EvacuationItem
from tests.browser import chromium
from tests.unit.factories import servers_on

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]

ALICE = batches.Initiator("5f1c0a", "alice", "9b0e77", "admin")


def nova_time(minutes_ago):
    when = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return when.replace(tzinfo=None).isoformat()


def at(record, minutes_ago):
    AuditRecord.objects.filter(pk=record.pk).update(
        created_at=dj_timezone.now() - timedelta(minutes=minutes_ago))


def outage_story():
    """cmp2 dies: alice fences it and evacuates it from the panel; meanwhile someone uses
    the CLI on cmp3; later cmp2 comes back."""
    with recording.recorded(ALICE, AuditRecord.FORCE_DOWN, source_host="cmp2",
                        microversion="2.96") as record:
        pass
    at(record, 50)
    with recording.recorded(ALICE, AuditRecord.DISABLE, source_host="cmp2", microversion="2.96",
                        options={"reason": "fenced: PSU failure"}) as record:
        pass
    at(record, 50)
    servers = servers_on("cmp2", 4, volume_backed=True)
    batch = batches.create_batch(
        kind="host", source_host="cmp2", servers=servers, microversion="2.94",
        options=evac_request.EvacuateOptions(admin_password="not-stored"), initiator=ALICE)
    record = audit.begin_batch_action(ALICE, AuditRecord.HOST_EVACUATE, batch)
    for n, item in enumerate(EvacuationItem.objects.filter(batch=batch).order_by("position")):
        batches.mark_submitting(item.pk)
        if n == 3:
            from evac_dashboard.rules import errors
            batches.mark_submit_failed(item.pk, errors.Advice(
                "state_not_evacuable", "Not evacuable", "Cannot 'evacuate' instance while it "
                "is in vm_state paused", "", False), 409, "req-" + str(uuid.uuid4()))
        else:
            batches.mark_submitted(item.pk, "req-" + str(uuid.uuid4()))
    batches.finish_batch(batch.pk)
    audit.batch_submission_ended(batch.pk)
    at(record, 45)
    with pytest.raises(RuntimeError):
        with recording.recorded(ALICE, AuditRecord.UNSET_FORCE_DOWN, source_host="cmp2",
                            microversion="2.96") as record:
            error = RuntimeError("Unable to force up host cmp2 as `done` evacuation "
                                 "migration records remain")
            error.code = 400
            raise error
    at(record, 10)
    return batch


class HistoryPageBrowserTests(chromium.admin_test_case()):

    def setUp(self):
        super().setUp()
        external_sync.forget_sync_times()
        migrations = [
            {"id": 31, "uuid": str(uuid.uuid4()), "instance_uuid": str(uuid.uuid4()),
             "source_compute": "cmp3", "dest_compute": "cmp1", "status": "done",
             "migration_type": "evacuation", "created_at": nova_time(30),
             "updated_at": nova_time(29)},
            {"id": 32, "uuid": str(uuid.uuid4()), "instance_uuid": str(uuid.uuid4()),
             "source_compute": "cmp3", "dest_compute": None, "status": "error",
             "migration_type": "evacuation", "created_at": nova_time(20),
             "updated_at": nova_time(20)},
        ]
        actions = {m["instance_uuid"]: {
            "action": "evacuate", "request_id": "req-" + str(uuid.uuid4()),
            "user_id": "e2c4d9", "project_id": "9b0e77", "start_time": m["created_at"]}
            for m in migrations}
        for name, kwargs in (
                ("evacuation_migrations", {"return_value": (migrations, "2.96")}),
                ("evacuate_action", {"side_effect": lambda request, server_id, created:
                                     actions[server_id]}),
                ("user_name", {"side_effect": lambda request, user_id: {
                    "e2c4d9": "masakari"}.get(user_id, "")}),
                ("project_names", {"return_value": {"9b0e77": "admin"}})):
            patcher = mock.patch.object(history_api, name, **kwargs)
            patcher.start()
            self.addCleanup(patcher.stop)

    def _table(self):
        return WebDriverWait(self.selenium, 60).until(
            EC.presence_of_element_located((By.ID, "history")))

    @override_settings(EVAC_AUDIT_SYNC_SECONDS=0)
    def test_history_shows_panel_and_external_entries(self):
        batch = outage_story()
        self.selenium.get(self.live_server_url + "/admin/evac_history/")
        table = self._table()
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        texts = [row.text for row in rows]
        self.assertEqual(6, len(rows), texts)
        self.assertIn("Unset force down", texts[0])
        self.assertIn("Failed", texts[0])
        self.assertIn("External", texts[1])
        self.assertIn("masakari", texts[1])
        self.assertIn("Evacuate host", texts[3])
        self.assertIn("Partly refused", texts[3])
        self.assertIn("Dashboard", texts[3])
        chromium.screenshot(self.selenium, "history")

        # Filter box (server side): only external entries.
        self.selenium.find_element(By.CSS_SELECTOR, "#history .dropdown-toggle").click()
        self.selenium.find_element(By.CSS_SELECTOR,
                                   "#history a[data-select-value='origin']").click()
        box = self.selenium.find_element(By.NAME, "history__filter__q")
        box.send_keys("external")
        self.selenium.find_element(By.ID, "history__action_filter").click()
        WebDriverWait(self.selenium, 60).until(lambda d: len(d.find_elements(
            By.CSS_SELECTOR, "#history tbody tr")) == 2)
        self.assertIn("origin = external", self.selenium.find_element(
            By.ID, "evac-history-criteria").text)
        chromium.screenshot(self.selenium, "history-filtered")

        # The detail of the panel's evacuation links to its progress page.
        record = AuditRecord.objects.get(batch_id=batch.pk)
        self.selenium.get(self.live_server_url + "/admin/evac_history/%d/" % record.pk)
        facts = WebDriverWait(self.selenium, 60).until(
            EC.presence_of_element_located((By.ID, "evac-history-record")))
        self.assertIn("set by the operator (never stored)", facts.text)
        self.assertIn("Progress of this evacuation", facts.text)
        # Options as the operator chose them, not raw keys and Python values.
        self.assertIn("Force target host\nno", facts.text)
        self.assertIn("Servers after evacuation\ncome back running", facts.text)
        self.assertIn("Target host\nchosen by the scheduler", facts.text)
        for raw in ("keep_running", "on_shared_storage", "False", "True"):
            self.assertNotIn(raw, facts.text)
        self.assertNotIn("not-stored", self.selenium.page_source)
        chromium.screenshot(self.selenium, "history-detail")

        # A time that leaves years 1-9999 once in UTC: said by the form, the list still shown.
        self.selenium.get(self.live_server_url
                          + "/admin/evac_history/?since=9999-12-31T23:59:59-01:00")
        error = WebDriverWait(self.selenium, 60).until(
            EC.presence_of_element_located((By.ID, "evac-since-error")))
        self.assertIn("outside the years 1 to 9999", error.text)
        # Still the list (with the filter box's origin = external, which Horizon keeps).
        self.assertEqual(2, len(self._table().find_elements(By.CSS_SELECTOR, "tbody tr")))
        chromium.screenshot(self.selenium, "history-range-error")
