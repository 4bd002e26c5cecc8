"""The batch progress page in Debian chromium, against the fake Nova over HTTP.

The test moves the fake Nova's evacuations forward while the page polls, and checks that
the rows follow in place (no reload), that the script backs off, pauses while the tab is
hidden, survives failed polls with a notice, stops when the batch is final, and that a
failed row can be retried from its button. Screenshots: .artifacts/screenshots/progress-*.png
"""
import os
import time
from unittest import mock

from django.test import override_settings
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


from evac_dashboard import models
from evac_dashboard.store import batches
from evac_dashboard.rules import request as evac_request
from evac_dashboard.operations import submission
from tests.browser import chromium
from tests.unit.fakes.nova import fake_request, still_in_use
from tests.unit.factories import ADMIN, servers_on

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]

WAIT = 60


def full_screenshot(driver, name):
    """Like ``chromium.screenshot`` but tall enough for the whole progress table: Horizon's
    layout keeps ``document.body.scrollHeight`` near the window height."""
    bottom = driver.execute_script(
        "var r = document.getElementById('evac-progress').getBoundingClientRect();"
        "return Math.ceil(r.bottom + window.scrollY);")
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, max(800, min(int(bottom) + 160, 6000)))
    time.sleep(0.5)  # let the page re-lay out at the new size
    folder = os.path.join(chromium.ARTIFACTS, "screenshots")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + ".png")
    driver.save_screenshot(path)
    return path


@override_settings(EVAC_NOVA_MICROVERSION=None, EVAC_PROGRESS_CACHE_SECONDS=0,
                   EVAC_PROGRESS_POLL_SECONDS=1)
class ProgressPageBrowserTests(chromium.admin_test_case()):
    window_height = 1700

    def setUp(self):
        super().setUp()
        self.nova = chromium.use_evacuating_nova(self, {"p1": "demo", "p2": "ops"})
        # Submissions (the retry) run in the request's thread: one sqlite connection.
        mock.patch.object(submission, "_pool",
                          side_effect=lambda batch: submission.InlineExecutor()).start()

    # --- helpers -------------------------------------------------------------------
    def _batch(self, count, refuse=()):
        servers = servers_on("cmp7", count, project="p1")
        servers[-1]["tenant_id"] = "p2"
        self.nova.add_servers(servers)
        for index in refuse:
            self.nova.refusals[servers[index]["id"]] = still_in_use("cmp7")
        batch = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host="cmp7", servers=servers,
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        submission.start(batch, submission.Credentials.from_request(
            fake_request(self.nova.endpoint)), executor=submission.InlineExecutor())
        return batch

    def _open(self, batch):
        self.selenium.get(self.live_server_url + "/admin/evac_batches/%s/" % batch.pk)
        WebDriverWait(self.selenium, WAIT).until(
            lambda d: d.find_elements(By.ID, "evac-items"))
        # Set on the window: a reload would lose it.
        self.selenium.execute_script("window.__evacSamePage = 'yes';")

    def _root(self, name):
        return self.selenium.find_element(By.ID, "evac-progress").get_attribute(name)

    def _row(self, item):
        return self.selenium.find_element(By.ID, "evac-item-%d" % item.pk)

    def _row_attr(self, item, name):
        """One attribute of the row, read in the page at once: the script replaces rows
        between a lookup and a read (a stale element)."""
        return self.selenium.execute_script(
            "var row = document.getElementById('evac-item-' + arguments[0]);"
            "return row ? row.getAttribute(arguments[1]) : null;", item.pk, name)

    def _row_html(self, item):
        """The row as the server rendered it (the durations the script words left out)."""
        return self.selenium.execute_script(
            "var row = document.getElementById('evac-item-' + arguments[0]).cloneNode(true);"
            "row.querySelectorAll('[data-since]').forEach(function (n) { n.textContent = ''; });"
            "return row.outerHTML;", item.pk)

    def _count(self, state):
        return int(self.selenium.find_element(
            By.CSS_SELECTOR, '[data-count="%s"]' % state).text)

    def _wait(self, condition, message=""):
        WebDriverWait(self.selenium, WAIT, ignored_exceptions=(
            StaleElementReferenceException,)).until(lambda d: condition(), message)

    def _polls(self):
        return int(self._root("data-polls") or 0)

    def _same_page(self):
        return self.selenium.execute_script("return window.__evacSamePage") == "yes"

    # --- the test ---------------------------------------------------------------------
    def test_rows_follow_nova_in_place_until_final(self):
        batch = self._batch(6, refuse=(4,))
        items = list(batch.items.order_by("position"))
        ids = [i.instance_id for i in items]
        self._open(batch)
        self.assertEqual("rebuilding", self._row_attr(items[0], "data-state"))
        self.assertIn("Failed", self._row(items[4]).text)
        self.assertIn("Force Down", self._row(items[4]).text)  # advice of the refusal
        self.assertIn("ops", self._row(items[5]).text)          # project name

        # Stages as Nova goes through them, each seen by a poll.
        for step in (1, 2, 3):
            self.nova.step(ids[0], to=step)
            label = ("rebuilding", "rebuild_block_device_mapping", "rebuild_spawning")[step - 1]
            self._wait(lambda: self._row_attr(items[0], "data-label") == label, label)
        self.nova.step(ids[0], to=4)  # task None, host not yet switched: not done
        self._wait(lambda: self._row_attr(items[0], "data-label") == "finishing")
        self.assertEqual("rebuilding", self._row_attr(items[0], "data-state"))
        for index in (1, 2, 3, 5):
            self.nova.step(ids[index], to=2)
        self._wait(lambda: self._row_attr(items[5], "data-label")
                   == "rebuild_block_device_mapping", "others at the volumes step")
        self.assertEqual(5, self._count("rebuilding"))
        full_screenshot(self.selenium, "progress-rebuilding")

        # Nothing changes: the script waits longer between polls.
        self._wait(lambda: int(self._root("data-interval") or 0) >= 4, "backoff")

        # Hidden tab: no polls; shown again: a poll at once.
        self.selenium.execute_script(
            "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'));")
        self._wait(lambda: self._root("data-poll-state") == "paused", "paused")
        paused_at = self._polls()
        self.selenium.execute_script("window.__evacWait = 1;")
        WebDriverWait(self.selenium, 10).until(
            lambda d: d.execute_script("return (window.__evacWait += 1) > 8;"))  # ~4 s
        self.assertEqual(paused_at, self._polls())
        self.assertIn("hidden", self.selenium.find_element(
            By.CSS_SELECTOR, '[data-field="poll-status"]').text)
        self.selenium.execute_script(
            "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'));")
        self._wait(lambda: self._polls() > paused_at, "polls again")

        # A failed poll: a visible notice, the rows stay as they were.
        self.nova.servers_status = 503
        notice = self.selenium.find_element(By.CSS_SELECTOR, '[data-field="notice"]')
        self._wait(lambda: notice.is_displayed() and "Nova could not be read" in notice.text,
                   "notice")
        self.assertEqual(5, self._count("rebuilding"))
        full_screenshot(self.selenium, "progress-poll-failed")
        self.nova.servers_status = 200
        self._wait(lambda: not notice.is_displayed(), "notice gone")

        # The end: all done but one that fails in Nova.
        self.nova.fail(ids[3])
        self.nova.finish_all()
        self._wait(lambda: self._count("done") == 4 and self._count("failed") == 2, "final")
        self._wait(lambda: self._root("data-poll-state") == "stopped", "stopped")
        stopped_at = self._polls()
        self.assertTrue(self._same_page(), "the page was reloaded")
        first = self._row(items[0])
        stages = [li.get_attribute("class").split("evac-stage-")[-1]
                  for li in first.find_elements(By.CSS_SELECTOR, ".evac-stages li")]
        self.assertEqual(["submitted", "rebuilding", "rebuild_block_device_mapping",
                          "rebuild_spawning", "finishing", "done"], stages)
        self.assertEqual(["sent", "preparing the target", "attaching volumes",
                          "starting the guest", "switching host", "on cmp2"],
                         [li.text for li in first.find_elements(By.CSS_SELECTOR,
                                                                ".evac-stages li")])
        self.assertRegex(first.find_element(By.CSS_SELECTOR, ".evac-duration").text, r"\d")
        self.assertIn("Done", first.text)
        self.assertIn("running on cmp2", first.text)
        failed = self._row(items[3])
        self.assertIn("Failed", failed.text)
        self.assertIn("No valid host was found", failed.text)
        self.assertIn("The scheduler found no host", failed.text)
        self.assertIn("(tried cmp2)", failed.text)
        self.assertIn("6 instances finished", self.selenium.find_element(
            By.CLASS_NAME, "evac-progress-text").text.replace("6 of 6", "6"))
        full_screenshot(self.selenium, "progress-final")
        WebDriverWait(self.selenium, 10).until(
            lambda d: d.execute_script("return (window.__evacWait += 1) > 14;"))
        self.assertEqual(stopped_at, self._polls())  # stopped means stopped

        # Retry the failed row from its button: a new attempt of the same item.
        failed.find_element(By.CSS_SELECTOR, 'button[data-action="retry"]').click()
        self._wait(lambda: "attempt 2" in self._row(items[3]).text, "attempt 2")
        self._wait(lambda: self._row_attr(items[3], "data-state") == "rebuilding")
        self.assertEqual(1, self.nova.evacuated_ids().count(ids[3]) - 1)
        self.nova.finish_all()
        self._wait(lambda: self._count("done") == 5, "retried one done")
        self.assertTrue(self._same_page(), "the page was reloaded")
        # Its state and its stages agree: this attempt's stages, not the failed one's.
        retried = self._row(items[3])
        self.assertEqual("done", retried.get_attribute("data-state"))
        self.assertEqual("done", retried.get_attribute("data-stages").split()[-1])
        self.assertNotIn("failed", retried.get_attribute("data-stages"))
        self.assertIn("on cmp2", retried.find_element(By.CSS_SELECTOR, ".evac-stages").text)
        # What a reload shows is what the page shows.
        before = {i.pk: self._row_html(i) for i in items}
        self.selenium.refresh()
        self._wait(lambda: self._root("data-poll-state") == "stopped", "stopped after reload")
        self.assertEqual(before, {i.pk: self._row_html(i) for i in items})
        full_screenshot(self.selenium, "progress-retried")

    def test_resume_offer_after_the_worker_died(self):
        servers = servers_on("cmp8", 4)
        self.nova.add_servers(servers)
        batch = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host="cmp8", servers=servers,
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        batches.claim(batch, "gone-node:1")
        batches.finish_batch(batch.pk, "the dashboard stopped before every call was sent")
        self._open(batch)
        form = self.selenium.find_element(By.CSS_SELECTOR, ".evac-action-resume")
        self.assertTrue(form.is_displayed())
        self.assertIn("4 instances were not confirmed as sent", form.text)
        full_screenshot(self.selenium, "progress-resume-offer")
        form.find_element(By.CSS_SELECTOR, "button").click()
        self._wait(lambda: self._count("rebuilding") == 4, "resumed")
        self._wait(lambda: not form.is_displayed(), "offer gone")
        self.assertEqual(4, len(self.nova.evacuations()))
        self.assertTrue(self._same_page())

    def test_the_password_reveal_icon_sits_in_its_field(self):
        servers = servers_on("cmp9", 1)
        self.nova.add_servers(servers)
        batch = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host="cmp9", servers=servers,
            options=evac_request.EvacuateOptions(admin_password="Pw-123456"),
            microversion="2.94", initiator=ADMIN)
        self._open(batch)
        field = self.selenium.find_element(By.ID, "evac-password")
        eye = WebDriverWait(self.selenium, WAIT).until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".password-icon"))
        box, icon = field.rect, eye.rect
        middle = icon["y"] + icon["height"] / 2
        self.assertTrue(box["y"] <= middle <= box["y"] + box["height"], (box, icon))
        self.assertTrue(box["x"] + box["width"] / 2 <= icon["x"] <= box["x"] + box["width"],
                        (box, icon))
        chromium.screenshot(self.selenium, "progress-password")

    def test_durations_are_worded_by_the_browser(self):
        """The script words durations with Intl (no English of its own)."""
        servers = servers_on("cmp9", 1)
        self.nova.add_servers(servers)
        batch = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host="cmp9", servers=servers,
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        self._open(batch)
        words = self.selenium.execute_script(
            "var d = horizon.evacProgress.duration;"
            "return [d(42), d(300), d(3 * 3600 + 600), d(50 * 3600)];")
        expected = self.selenium.execute_script(
            "function u(v, n) { return new Intl.NumberFormat('en', {style: 'unit', unit: n})"
            ".format(v); }"
            "var l = new Intl.ListFormat('en', {style: 'narrow', type: 'unit'});"
            "return [u(42, 'second'), u(5, 'minute'), l.format([u(3, 'hour'), u(10, 'minute')]),"
            " l.format([u(2, 'day'), u(2, 'hour')])];")
        self.assertEqual(expected, words)

    def test_batch_list_links_to_the_progress_page(self):
        finished = self._batch(3)
        servers = servers_on("cmp8", 2)
        self.nova.add_servers(servers)
        interrupted = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host="cmp8", servers=servers,
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        batches.claim(interrupted, "gone-node:1")
        batches.finish_batch(interrupted.pk, "stopped")
        self.selenium.get(self.live_server_url + "/admin/evac_batches/")
        table = WebDriverWait(self.selenium, WAIT).until(
            lambda d: d.find_element(By.ID, "batches"))
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        self.assertEqual([str(interrupted.pk), str(finished.pk)],
                         [r.get_attribute("data-object-id") for r in rows])
        self.assertIn("Interrupted", rows[0].text)
        self.assertIn("3 sent, 0 refused, 0 waiting, 0 cancelled", rows[1].text)
        chromium.screenshot(self.selenium, "progress-batch-list")
        rows[1].find_element(By.LINK_TEXT, "Watch progress").click()
        WebDriverWait(self.selenium, WAIT).until(
            lambda d: d.find_elements(By.ID, "evac-items"))
        self.assertIn(str(finished.pk), self.selenium.current_url)
