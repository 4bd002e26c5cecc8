"""The evacuate wizard in a real browser, Nova and Placement mocked: every step, then submit."""
from unittest import mock

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


from evac_dashboard import models
from evac_dashboard.api import nova
from evac_dashboard.api import placement
from evac_dashboard.operations import submission
from tests.browser import chromium
from tests.unit import factories
from tests.unit.content.wizard.test_wizard import provider

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]


class WizardBrowserTests(chromium.admin_test_case()):

    def setUp(self):
        super().setUp()
        source = factories.service("cmp1", state="down", forced_down=True,
                                   status="disabled", reason="fenced: evacuating")
        servers = [factories.server("db-%d" % i, "cmp1", ram=8192, vcpus=4, volume_backed=True,
                                    metadata={"evac:restart_priority": "10"}) for i in range(2)]
        servers += [factories.server("web-%d" % i, "cmp1", ram=2048, vcpus=2)
                    for i in range(4)]
        hypervisors = [factories.hypervisor(h) for h in ("cmp1", "cmp2", "cmp3")]
        ids = {h["service"]["host"]: h["id"] for h in hypervisors}
        providers = {ids["cmp2"]: provider(16, 16384 + 512, used_vcpu=20, used_ram=6144),
                     ids["cmp3"]: provider(32, 65536 + 512, used_vcpu=8, used_ram=4096)}
        for name, value in (("service_get", source),
                            ("service_list", [source, factories.service("cmp2"),
                                              factories.service("cmp3")]),
                            ("negotiated_version", (2, 96)), ("servers_on_host", servers),
                            ("hypervisor_list", (hypervisors, True))):
            mock.patch.object(nova, name, return_value=value).start()
        mock.patch.object(placement, "provider_capacity", side_effect=lambda r, uuids: {
            u: providers[u] for u in uuids if u in providers}).start()
        self.start = mock.patch.object(submission, "start").start()

    def _check(self, css):
        """Horizon's theme hides the real checkbox behind a styled label: click through JS."""
        box = WebDriverWait(self.selenium, 30).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, css)))
        self.selenium.execute_script("arguments[0].click();", box)

    def _next(self):
        self.selenium.find_element(By.CSS_SELECTOR, ".button-next").click()

    def _wait_visible(self, css):
        return WebDriverWait(self.selenium, 30).until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def test_walk_all_five_steps(self):
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/cmp1/wizard/")
        self._check("input[name='fenced']")
        chromium.screenshot(self.selenium, "wizard-1-host")
        self._next()
        self._wait_visible("[data-evac-select='priority']")
        self.selenium.find_element(By.CSS_SELECTOR, "[data-evac-select='priority']").click()
        checked = self.selenium.find_elements(By.CSS_SELECTOR, "input[name='instances']:checked")
        self.assertEqual(2, len(checked))  # only the two with a restart priority
        self.selenium.find_element(By.CSS_SELECTOR, "[data-evac-select='all']").click()
        chromium.screenshot(self.selenium, "wizard-2-instances")
        self._next()
        WebDriverWait(self.selenium, 30).until(lambda d: "All 6 selected instances fit" in
                                               d.find_element(By.ID, "evac-capacity-preview").text)
        chromium.screenshot(self.selenium, "wizard-3-targets")
        self._next()
        self._wait_visible("input[name='password']")
        chromium.screenshot(self.selenium, "wizard-4-options")
        self._next()
        summary = self._wait_visible("#evac-wizard-summary")
        self.assertIn("6 instances", summary.text)
        self._check("input[name='confirm']")
        # Four of the six have a local root disk: the Confirm step asks to acknowledge it.
        self._check("input[name='acknowledge_local_disks']")
        chromium.screenshot(self.selenium, "wizard-5-confirm")
        self.selenium.find_element(By.CSS_SELECTOR, ".button-final").click()
        WebDriverWait(self.selenium, 30).until(lambda d: "/admin/evac_batches/" in d.current_url)
        batch = models.EvacuationBatch.objects.get()
        self.assertEqual(6, batch.items.count())
        self.start.assert_called_once()
