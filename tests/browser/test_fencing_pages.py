"""Issue 15's pages in Debian chromium: the Compute Hosts table's power column, the Fence
modal and its steps, the wizard's BMC option and the progress page's pacing line.

Nova (and Placement) are mocked at the API layer or played by the fake Nova over HTTP; the
BMCs are sushy-tools' Redfish emulator over real HTTP, plus a Redfish address where nothing
listens (unreachable). Screenshots: .artifacts/screenshots/{compute-hosts-power, fence-modal,
fence-steps, wizard-1-fence, progress-pacing}.png
"""
import datetime
import os
from types import SimpleNamespace
from unittest import mock

from django.test import override_settings
from django.utils import timezone
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from evac_dashboard import models
from evac_dashboard.api import actions
from evac_dashboard.api import nova
from evac_dashboard.api import placement
from evac_dashboard.operations import submission
from evac_dashboard.operations import submission_pacing
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import batches
from tests.browser import chromium
from tests.unit import factories
from tests.unit.content.wizard.test_wizard import provider
from tests.unit.factories import ADMIN, servers_on
from tests.unit.fakes import bmc as fake_bmc
from tests.unit.fakes.nova import fake_request

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]

WAIT = 60


class FencingPagesBrowserTests(fake_bmc.RedfishEmulatorMixin, chromium.admin_test_case()):
    """Four hosts: cmp1 down with its BMC still On (a hung host), cmp2 forced down and Off,
    cmp3 up behind a BMC nothing answers for, cmp4 up without a BMC entry."""

    redfish_hosts = ("cmp1", "cmp2")

    def setUp(self):
        super().setUp()
        self.redfish.set_power("cmp1", "On")
        self.redfish.set_power("cmp2", "ForceOff")
        for host, wanted in (("cmp1", "On"), ("cmp2", "Off")):
            self.assertEqual(wanted, self.redfish.power_state(host))
        fake_bmc.use_bmc_file(
            self, os.path.join(self.workdir, "bmc-%s.yaml" % self._testMethodName), {
                "cmp1": fake_bmc.redfish_entry(self.redfish, "cmp1"),
                "cmp2": fake_bmc.redfish_entry(self.redfish, "cmp2"),
                "cmp3": fake_bmc.unreachable_redfish_entry("cmp3")},
            EVAC_BMC_STATUS_SECONDS=5)
        self.services = {
            "cmp1": factories.service("cmp1", state="down", seconds_ago=95),
            "cmp2": factories.service("cmp2", state="down", forced_down=True,
                                      status="disabled", reason="fenced: PSU failure",
                                      seconds_ago=900),
            "cmp3": factories.service("cmp3"),
            "cmp4": factories.service("cmp4"),
        }
        servers = {"cmp1": 4, "cmp2": 0, "cmp3": 7, "cmp4": 3}
        hypervisors = [factories.hypervisor(h, servers=n) for h, n in servers.items()]
        for name, value in (("service_list", lambda *a, **k: list(self.services.values())),
                            ("service_get", lambda request, host: self.services.get(host)),
                            ("hypervisor_list", lambda *a, **k: (hypervisors, True)),
                            ("negotiated_version", lambda *a, **k: (2, 96))):
            patcher = mock.patch.object(nova, name, side_effect=value)
            patcher.start()
            self.addCleanup(patcher.stop)

        # Nova's side of a fence: what the service looks like once it was told.
        def force_down(request, service, forced=True, request_ids=None):
            self.services[service["host"]] = dict(self.services[service["host"]],
                                                  forced_down=forced)
            return self.services[service["host"]]

        def set_status(request, service, enabled, reason=None, request_ids=None):
            self.services[service["host"]] = dict(
                self.services[service["host"]], status="enabled" if enabled else "disabled",
                disabled_reason=None if enabled else reason)
            return self.services[service["host"]]

        self.force_down = mock.patch.object(actions, "force_down", side_effect=force_down)
        self.set_status = mock.patch.object(actions, "set_service_status",
                                            side_effect=set_status)
        self.mock_force_down = self.force_down.start()
        self.mock_set_status = self.set_status.start()
        self.addCleanup(self.force_down.stop)
        self.addCleanup(self.set_status.stop)

    # --- helpers -------------------------------------------------------------------
    def _wait(self, condition, message=""):
        return WebDriverWait(self.selenium, WAIT, ignored_exceptions=(
            StaleElementReferenceException,)).until(lambda d: condition(), message)

    def _open_hosts(self):
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/")
        WebDriverWait(self.selenium, WAIT).until(
            EC.presence_of_element_located((By.ID, "compute_hosts")))

    def _power_cells(self):
        """``{host: (data-state, text)}`` of the power column, read in the page at once."""
        return self.selenium.execute_script(
            "var out = {};"
            "document.querySelectorAll('#compute_hosts tbody tr[data-object-id]')"
            ".forEach(function (row) {"
            "  var cell = row.querySelector('.evac-power');"
            "  out[row.getAttribute('data-object-id')] = cell ?"
            "    [cell.getAttribute('data-state') || '', cell.textContent.trim()] : null;"
            "});"
            "return out;")

    def _wait_for_power(self, wanted):
        """Until every host with a BMC entry shows the ``wanted`` text (the script's fill)."""
        def filled():
            cells = self._power_cells()
            return all(cells.get(h) and cells[h][1] == text for h, text in wanted.items())
        try:
            self._wait(filled)
        except Exception:
            self.fail("power column never showed %s: %s" % (wanted, self._power_cells()))
        return self._power_cells()

    # --- 1. the power column ---------------------------------------------------------
    def test_power_column_shows_on_off_unreachable_and_not_configured(self):
        self._open_hosts()
        cells = self._wait_for_power({"cmp1": "On", "cmp2": "Off",
                                      "cmp3": "BMC unreachable"})
        self.assertEqual({"cmp1": ["on", "On"], "cmp2": ["off", "Off"],
                          "cmp3": ["unreachable", "BMC unreachable"],
                          "cmp4": ["", "Not configured"]}, cells)
        # The unreachable one says why on hover, naming the BMC but never its password.
        title = self.selenium.find_element(
            By.CSS_SELECTOR, "#compute_hosts__row__cmp3 .evac-power").get_attribute("title")
        self.assertIn("cannot be reached", title)
        self.assertNotIn(fake_bmc.PASSWORD, self.selenium.page_source)
        # Each state is a visible cell of its own row.
        for host, text in (("cmp1", "On"), ("cmp2", "Off"), ("cmp3", "BMC unreachable"),
                           ("cmp4", "Not configured")):
            cell = self.selenium.find_element(
                By.CSS_SELECTOR, "#compute_hosts__row__%s .evac-power" % host)
            self.assertTrue(cell.is_displayed(), host)
            self.assertEqual(text, cell.text.strip(), host)
        # A down host with a BMC is fenced, not typed down; one without keeps Force Down.
        row1 = self.selenium.find_element(By.ID, "compute_hosts__row__cmp1")
        self.assertEqual("Fence and evacuate", row1.find_element(
            By.CSS_SELECTOR, ".btn-group > a.btn").text.strip())
        chromium.screenshot(self.selenium, "compute-hosts-power")

    # --- 2. fence from the row menu ------------------------------------------------
    def test_fence_modal_then_each_step_with_its_outcome(self):
        self._open_hosts()
        self._wait_for_power({"cmp1": "On"})
        row = self.selenium.find_element(By.ID, "compute_hosts__row__cmp1")
        row.find_element(By.CSS_SELECTOR, ".btn-group .dropdown-toggle").click()
        row.find_element(By.ID, "compute_hosts__row_cmp1__action_fence").click()
        modal = WebDriverWait(self.selenium, WAIT).until(
            EC.visibility_of_element_located((By.ID, "evac_fence_modal")))
        self.assertIn("waits until the BMC reports it Off", modal.text)
        self.assertIn("Redfish " + self.redfish.address, modal.text)
        self.assertIn("at most 5 s", modal.text)
        self.assertNotIn(fake_bmc.PASSWORD, modal.get_attribute("innerHTML"))
        reason = modal.find_element(By.NAME, "reason")
        reason.clear()
        reason.send_keys("fenced: kernel hang")
        chromium.screenshot(self.selenium, "fence-modal")

        servers = [factories.server("web-%d" % i, "cmp1") for i in range(4)]
        for name, value in (("servers_on_host", servers), ("project_names", {})):
            patcher = mock.patch.object(nova, name, return_value=value)
            patcher.start()
            self.addCleanup(patcher.stop)
        modal.find_element(By.CSS_SELECTOR, ".modal-footer [type='submit']").click()
        # Done: on the host's page (its instances to evacuate next), one message with
        # every step in order, and the same steps kept on the page from the audit log.
        self._wait(lambda: self.selenium.current_url.endswith("/admin/evac_hosts/cmp1/"),
                   "the host's page")
        section = WebDriverWait(self.selenium, WAIT).until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, ".evac-last-fence")))
        # Horizon fades success messages after 3 s: keep the message for the picture.
        self.selenium.execute_script(
            "jQuery.fn.fadeOut = function () { return this; };"
            "jQuery('#main_content .messages .alert').stop(true, true)"
            ".css('opacity', 1).show();")
        alerts = self.selenium.execute_script(
            "return Array.prototype.map.call(document.querySelectorAll("
            "'#main_content .messages .alert'), function (a) {"
            " return [a.className, a.textContent.replace(/\\s+/g, ' ').trim()]; });")
        self.assertEqual(1, len(alerts), alerts)
        self.assertIn("alert-success", alerts[0][0])
        titles = ("Power off through the BMC: done", "BMC reports the host Off: done",
                  "Force the compute service down: done", "fenced: kernel hang")
        positions = [alerts[0][1].find(title) for title in titles]
        self.assertTrue(min(positions) >= 0 and positions == sorted(positions), alerts)
        kept = [li.text for li in section.find_elements(By.CSS_SELECTOR, "li")]
        self.assertEqual(3, len(kept), kept)
        for text, action in zip(kept, ("Fence (BMC power off)", "Force down",
                                       "Disable service")):
            self.assertTrue(text.startswith(action + ": Succeeded"), kept)
        self.assertEqual("Off", self.redfish.power_state("cmp1"))
        self.mock_force_down.assert_called_once()
        self.mock_set_status.assert_called_once()
        facts = self.selenium.find_element(By.CSS_SELECTOR, ".evac-host-facts").text
        self.assertIn("Down (forced)", facts)
        self.assertIn("fenced: kernel hang", facts)
        self.assertEqual(["fence", "force_down", "disable"],
                         [r.action for r in models.AuditRecord.objects.order_by("id")])
        chromium.screenshot(self.selenium, "fence-steps")

    # --- 3. the wizard's host step -------------------------------------------------
    def test_wizard_host_step_offers_the_fence_through_the_bmc(self):
        # cmp1 died a moment ago: Nova still sees it up (the case the BMC option settles).
        self.services["cmp1"] = factories.service("cmp1", state="up", seconds_ago=25)
        servers = [factories.server("db-1", "cmp1", ram=8192, vcpus=4, volume_backed=True,
                                    metadata={"evac:restart_priority": "10"})]
        servers += [factories.server("web-%d" % i, "cmp1", ram=2048, vcpus=2)
                    for i in range(3)]
        patcher = mock.patch.object(nova, "servers_on_host", return_value=servers)
        patcher.start()
        self.addCleanup(patcher.stop)
        hypervisors = nova.hypervisor_list(None)[0]
        ids = {h["service"]["host"]: h["id"] for h in hypervisors}
        providers = {ids["cmp3"]: provider(32, 65536 + 512, used_vcpu=8, used_ram=4096),
                     ids["cmp4"]: provider(16, 32768 + 512, used_vcpu=4, used_ram=2048)}
        patcher = mock.patch.object(placement, "provider_capacity", side_effect=lambda r, u: {
            i: providers[i] for i in u if i in providers})
        patcher.start()
        self.addCleanup(patcher.stop)

        self.selenium.get(self.live_server_url + "/admin/evac_hosts/cmp1/wizard/")
        box = WebDriverWait(self.selenium, WAIT).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, "input[name='fence_with_bmc']")))
        self.assertTrue(box.is_selected())  # ticked by default
        label = self.selenium.find_element(By.CSS_SELECTOR, "label[for='%s']"
                                           % box.get_attribute("id"))
        self.assertIn("Fence the host through its BMC when the evacuation starts", label.text)
        help_text = self.selenium.find_element(By.CSS_SELECTOR, ".evac-wizard-bmc")
        self.assertTrue(help_text.is_displayed())
        self.assertIn("cmp1 has a BMC (Redfish " + self.redfish.address, help_text.text)
        fenced = self.selenium.find_element(By.CSS_SELECTOR, "label[for='%s']"
                                            % self.selenium.find_element(
                                                By.NAME, "fenced").get_attribute("id"))
        self.assertIn("Or, without the BMC", fenced.text)
        # Nova's refusal to evacuate an up host is said, and the BMC text answers it.
        self.assertIn("still sees nova-compute on cmp1 as up", self.selenium.find_element(
            By.CLASS_NAME, "evac-wizard-help").text)
        self.assertNotIn(fake_bmc.PASSWORD, self.selenium.page_source)
        chromium.screenshot(self.selenium, "wizard-1-fence")


@override_settings(EVAC_NOVA_MICROVERSION=None, EVAC_PROGRESS_CACHE_SECONDS=0,
                   EVAC_PROGRESS_POLL_SECONDS=1, EVAC_PACING=True, EVAC_PACING_MIN_WINDOW=2,
                   EVAC_PACING_START_WINDOW=3, EVAC_PACING_MAX_WINDOW=8,
                   EVAC_PACING_CHECK_SECONDS=0.05)
class PacingProgressBrowserTests(chromium.admin_test_case()):
    """A paced batch of 8, sent for real against the fake Nova: while the sender waits for
    its first window of 3 rebuilds, the page is opened and photographed."""

    window_height = 1300

    def setUp(self):
        super().setUp()
        self.nova = chromium.use_evacuating_nova(self, {"p1": "demo"})

    def test_progress_page_shows_the_senders_window(self):
        servers = servers_on("cmp7", 8, project="p1")
        self.nova.add_servers(servers)
        batch = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host="cmp7", servers=servers,
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        request = fake_request(self.nova.endpoint)
        request.user.token = SimpleNamespace(
            id="token-1", expires=timezone.now() + datetime.timedelta(hours=1))
        seen = {}

        def pause(seconds):
            """The sender's wait between checks: the first one is the browser's turn, then
            Nova finishes what was sent so the batch can end."""
            if not seen:
                self.nova.step_all(1)  # the targets claimed them: rebuilding, records shown
                seen["page"] = self._look_at_the_page(batch)
            self.nova.finish_all()

        with mock.patch.object(submission_pacing, "_pause", side_effect=pause):
            run = submission.start(batch, submission.Credentials.from_request(request),
                                   executor=submission.InlineExecutor(paced=True))
        self.assertTrue(run.wait(WAIT))
        line, counts = seen["page"]
        self.assertIn("Sending at most 3 at a time (3 rebuilds under way)", line)
        self.assertIn("between 2 and 8", line)
        self.assertEqual((3, 5), counts)
        batch.refresh_from_db()
        self.assertEqual(models.EvacuationBatch.FINISHED, batch.state)
        self.assertEqual(8, batch.items.filter(
            submit_state=models.EvacuationItem.SUBMITTED).count())

    def _look_at_the_page(self, batch):
        self.selenium.get(self.live_server_url + "/admin/evac_batches/%s/" % batch.pk)
        WebDriverWait(self.selenium, WAIT).until(lambda d: d.find_elements(By.ID, "evac-items"))
        line = WebDriverWait(self.selenium, WAIT).until(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, "[data-field='pacing']")))
        # Let a poll or two go by: the script keeps the line (it would hide it if inactive).
        polls = int(self.selenium.find_element(By.ID, "evac-progress").get_attribute(
            "data-polls") or 0)
        WebDriverWait(self.selenium, WAIT).until(lambda d: int(d.find_element(
            By.ID, "evac-progress").get_attribute("data-polls") or 0) >= polls + 2)
        self.assertTrue(line.is_displayed())
        text = " ".join(line.text.split())
        counts = tuple(int(self.selenium.find_element(
            By.CSS_SELECTOR, '[data-count="%s"]' % state).text)
            for state in ("rebuilding", "pending"))
        # Tall enough for the recovery timeline under the table too.
        self.selenium.set_window_size(self.selenium.get_window_size()["width"], 1900)
        chromium.screenshot(self.selenium, "progress-pacing")
        return text, counts
