"""The Compute Hosts pages in a real browser, with Nova mocked at the API layer."""
from unittest import mock

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


from evac_dashboard.api import nova
from tests.browser import chromium
from tests.unit import factories

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]


def demo_cloud():
    hosts = [
        (factories.service("cmp1"), factories.hypervisor("cmp1", servers=5, vcpus_used=7)),
        (factories.service("cmp2", state="down", seconds_ago=48),
         factories.hypervisor("cmp2", servers=9, vcpus_used=12)),
        (factories.service("cmp3", state="down", forced_down=True, status="disabled",
                           reason="fenced: PSU failure", seconds_ago=600),
         factories.hypervisor("cmp3", servers=6, vcpus_used=6)),
        (factories.service("cmp10", status="disabled", reason="maintenance"),
         factories.hypervisor("cmp10", servers=0)),
    ]
    return [h[0] for h in hosts], [h[1] for h in hosts]


class HostsPageBrowserTests(chromium.admin_test_case()):

    def setUp(self):
        super().setUp()
        services, hypervisors = demo_cloud()
        for name, value in (("service_list", services),
                            ("hypervisor_list", (hypervisors, True)),
                            ("negotiated_version", (2, 96))):
            mock.patch.object(nova, name, return_value=value).start()

    def _wait_for_table(self, table_id):
        return WebDriverWait(self.selenium, 60).until(
            EC.presence_of_element_located((By.ID, table_id)))

    def test_hosts_table_shows_down_hosts_first_and_filters(self):
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/")
        table = self._wait_for_table("compute_hosts")
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        self.assertEqual(["cmp3", "cmp2", "cmp10", "cmp1"],
                         [row.get_attribute("data-object-id") for row in rows])
        self.assertIn("Down (forced)", rows[0].text)
        self.assertIn("fenced: PSU failure", rows[0].text)
        self.assertIn("Down", rows[1].text)
        self.assertIn("may be an admin change", rows[0].text)   # forced down: not a heartbeat
        self.assertNotIn("Last heartbeat", table.text)
        # An up host's button is to look at it, never an evacuation.
        self.assertEqual("View Instances", rows[3].find_element(
            By.CSS_SELECTOR, ".btn-group > a.btn").text.strip())
        chromium.screenshot(self.selenium, "compute-hosts")

        search = self.selenium.find_element(By.NAME, "compute_hosts__filter__q")
        search.send_keys("forced")
        WebDriverWait(self.selenium, 10).until(lambda d: len(
            [r for r in d.find_elements(By.CSS_SELECTOR, "#compute_hosts tbody tr")
             if r.is_displayed() and r.get_attribute("data-object-id")]) == 1)

    def test_host_detail_page(self):
        servers = [factories.server("web-%d" % i, "cmp2", project="p1") for i in range(3)]
        servers.append(factories.server("db-1", "cmp2", project="p2", volume_backed=True,
                                        metadata={"evac:restart_priority": "10"}))
        servers.append(factories.server("batch-7", "cmp2", status="SHUTOFF"))
        mock.patch.object(nova, "service_get",
                          return_value=factories.service("cmp2", state="down")).start()
        mock.patch.object(nova, "servers_on_host", return_value=servers).start()
        mock.patch.object(nova, "project_names",
                          return_value={"p1": "demo", "p2": "ops"}).start()
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/cmp2/")
        table = self._wait_for_table("host_instances")
        self.assertEqual(5, len(table.find_elements(By.CSS_SELECTOR, "tbody tr")))
        self.assertIn("4 instances have a local root disk",
                      self.selenium.find_element(By.CLASS_NAME, "evac-host-facts").text)
        chromium.screenshot(self.selenium, "host-detail")

    def test_force_down_modal_from_the_row_menu(self):
        mock.patch.object(nova, "service_get", return_value=demo_cloud()[0][1]).start()
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/")
        self._wait_for_table("compute_hosts")
        row = self.selenium.find_element(By.ID, "compute_hosts__row__cmp2")
        row.find_element(By.CSS_SELECTOR, ".btn-group .dropdown-toggle").click()
        row.find_element(By.ID, "compute_hosts__row_cmp2__action_force_down").click()
        modal = WebDriverWait(self.selenium, 60).until(
            EC.visibility_of_element_located((By.ID, "evac_force_down_modal")))
        self.assertIn("really powered off or isolated", modal.text)
        chromium.screenshot(self.selenium, "force-down-modal")

    def test_up_host_page_has_no_empty_actions_column(self):
        mock.patch.object(nova, "service_get", return_value=demo_cloud()[0][0]).start()
        mock.patch.object(nova, "servers_on_host", return_value=[
            factories.server("web-%d" % i, "cmp1") for i in range(3)]).start()
        mock.patch.object(nova, "project_names", return_value={"p1": "demo"}).start()
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/cmp1/")
        table = self._wait_for_table("host_instances")
        headers = [h.text for h in table.find_elements(By.CSS_SELECTOR, "thead th")]
        self.assertNotIn("Actions", headers)
        chromium.screenshot(self.selenium, "host-detail-up")

    def test_evacuate_modal_lists_in_sending_order_and_warns_without_target(self):
        services, _hypervisors = demo_cloud()
        services[0] = factories.service("cmp1", status="disabled", reason="maintenance")
        mock.patch.object(nova, "service_list", return_value=services).start()
        mock.patch.object(nova, "service_get", return_value=services[2]).start()
        mock.patch.object(nova, "servers_on_host", return_value=[
            factories.server("web-1", "cmp3"), factories.server("app-1", "cmp3"),
            factories.server("db-1", "cmp3", volume_backed=True,
                             metadata={"evac:restart_priority": "100"})]).start()
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/")
        self._wait_for_table("compute_hosts")
        row = self.selenium.find_element(By.ID, "compute_hosts__row__cmp3")
        row.find_element(By.ID, "compute_hosts__row_cmp3__action_evacuate_host").click()
        modal = WebDriverWait(self.selenium, 60).until(
            EC.visibility_of_element_located((By.ID, "evac_evacuate_host_modal")))
        self.assertIn("No target host:", modal.text)
        items = [li.text for li in modal.find_elements(By.CSS_SELECTOR,
                                                       ".evac-instance-list li")]
        self.assertEqual(["db-1", "app-1", "web-1"], [i.split(" ")[0] for i in items])
        chromium.screenshot(self.selenium, "evacuate-host-modal")
