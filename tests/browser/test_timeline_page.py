"""The recovery timeline at the bottom of a finished batch's progress page, in Debian
chromium against the fake Nova over HTTP. Screenshot: .artifacts/screenshots/timeline-finished.png
"""
import datetime
import os
import time
from unittest import mock

from django.test import override_settings
from django.utils import timezone
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from evac_dashboard import models
from evac_dashboard.operations import submission
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import batches
from tests.browser import chromium
from tests.unit.factories import ADMIN, servers_on
from tests.unit.fakes import evacuating_nova
from tests.unit.fakes.nova import fake_request

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]

WAIT = 60
HOSTILE = '<img src=x onerror="document.title=\'owned\'">db-<b>01</b>'


@override_settings(EVAC_NOVA_MICROVERSION=None, EVAC_PROGRESS_CACHE_SECONDS=0,
                   EVAC_PROGRESS_POLL_SECONDS=1, EVAC_SERVICE_DOWN_TIME=20)
class TimelineBrowserTests(chromium.admin_test_case()):
    window_height = 1400

    def setUp(self):
        super().setUp()
        self.nova = chromium.use_evacuating_nova(self, {"p1": "demo"})
        patcher = mock.patch.object(submission, "_pool",
                                    side_effect=lambda batch: submission.InlineExecutor())
        patcher.start()
        self.addCleanup(patcher.stop)

    def _open(self, batch):
        self.selenium.get(self.live_server_url + "/admin/evac_batches/%s/" % batch.pk)
        return WebDriverWait(self.selenium, WAIT).until(
            lambda d: d.find_element(By.ID, "evac-timeline"))

    def _sent(self, servers):
        """A host batch of ``servers`` on cmp4, every evacuation sent (Nova rebuilding)."""
        self.nova.add_servers(servers)
        batch = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host="cmp4", servers=servers,
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        submission.start(batch, submission.Credentials.from_request(
            fake_request(self.nova.endpoint)), executor=submission.InlineExecutor())
        return batch

    def _recovery(self, count=6):
        """A host fenced and forced down, then its instances evacuated and done; the
        recorded times are then spread out as a real recovery's are (seconds, not ms)."""
        servers = servers_on("cmp4", count, project="p1")
        servers[2]["name"] = HOSTILE
        batch = self._sent(servers)
        self.nova.finish_all()
        self._open(batch)  # the page's looks record each outcome
        WebDriverWait(self.selenium, WAIT).until(
            lambda d: batch.items.filter(outcome_state="done").count() == count)
        start = timezone.now() - datetime.timedelta(minutes=5)

        def at(seconds):
            return start + datetime.timedelta(seconds=seconds)

        # Nova's record as the fence read it: silent since -40 s, down (20 s) since -20 s
        heard = at(-40).astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat()
        for action, begun, ended in ((models.AuditRecord.FENCE, 0, 9),
                                     (models.AuditRecord.FORCE_DOWN, 14, 15),
                                     (models.AuditRecord.DISABLE, 15, 16)):
            models.AuditRecord.objects.create(
                action=action, source_host="cmp4", created_at=at(begun),
                completed_at=at(ended), outcome=models.AuditRecord.SUCCEEDED,
                user_name="admin", options={"nova_state": "down", "nova_last_heartbeat": heard}
                if action == models.AuditRecord.FENCE else {})
        models.EvacuationBatch.objects.filter(pk=batch.pk).update(
            created_at=at(30), started_at=at(30), finished_at=at(34))
        for item in batch.items.order_by("position"):
            n = item.position
            models.EvacuationItem.objects.filter(pk=item.pk).update(
                submitting_at=at(30.2 + n * 0.6), submitted_at=at(31 + n * 0.6),
                outcome_at=at(48 + n * 4))
        models.AuditRecord.objects.filter(batch_id=batch.pk).update(created_at=at(30))
        return batch

    def test_timeline_of_a_finished_batch(self):
        batch = self._recovery()
        section = self._open(batch)
        self.assertIn("Total time to recovery", section.text)
        self.assertIn("Where it went: no heartbeat, Nova still showed it up 20 s, Nova showed "
                      "it down, nothing done yet 20 s, fencing 9 s", section.text)
        self.assertEqual(1, len(section.find_elements(
            By.CSS_SELECTOR, ".evac-timeline-mark-last_heartbeat")))
        self.assertEqual(6, len(section.find_elements(By.CSS_SELECTOR,
                                                      ".evac-timeline-end-done")))
        self.assertNotEqual("owned", self.selenium.title)
        self.assertFalse(section.find_elements(By.TAG_NAME, "img"))
        self.selenium.execute_script("arguments[0].scrollIntoView();", section)
        time.sleep(0.3)
        folder = os.path.join(chromium.ARTIFACTS, "screenshots")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "timeline-finished.png")
        section.screenshot(path)
        self.assertTrue(os.path.getsize(path) > 1000)

    def test_a_running_recovery_redraws_its_timeline_within_seconds_of_a_change(self):
        """One instance done while the others rebuild: the chart shows it done a few
        seconds later, not only at the end (it once redrew at most every 10 s, and only on
        a poll that saw a change: a change seen sooner was never drawn)."""
        servers = servers_on("cmp4", 3, project="p1")
        batch = self._sent(servers)
        self._open(batch)
        self.nova.step(servers[0]["id"], to=len(evacuating_nova.SEQUENCE) - 1)

        def one_done(driver):
            try:
                return len(driver.find_element(By.ID, "evac-timeline").find_elements(
                    By.CSS_SELECTOR, ".evac-timeline-end-done")) == 1
            except StaleElementReferenceException:
                return False
        WebDriverWait(self.selenium, 7).until(one_done)  # 2.1 s here; no reload
        self.assertEqual("false", self.selenium.find_element(
            By.ID, "evac-progress").get_attribute("data-final"))

    def test_a_running_recovery_redraws_its_timeline_when_it_ends(self):
        servers = servers_on("cmp4", 3, project="p1")
        batch = self._sent(servers)
        section = self._open(batch)
        self.assertIn("Time so far", section.text)
        self.assertFalse(section.find_elements(By.CSS_SELECTOR, ".evac-timeline-end-done"))
        self.nova.finish_all()

        def redrawn(driver):
            try:
                chart = driver.find_element(By.ID, "evac-timeline")
                return ("Total time to recovery" in chart.text and len(chart.find_elements(
                    By.CSS_SELECTOR, ".evac-timeline-end-done")) == 3)
            except StaleElementReferenceException:  # replaced while read
                return False
        WebDriverWait(self.selenium, WAIT).until(redrawn)  # no reload
        self.assertEqual("true", self.selenium.find_element(
            By.ID, "evac-progress").get_attribute("data-final"))
