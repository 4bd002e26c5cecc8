"""The evacuate wizard end to end on the local cloud, in Debian chromium."""
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium
from tests.integration.dashboard_server import login, running_dashboard

pytestmark = [pytest.mark.integration, pytest.mark.browser,
              pytest.mark.usefixtures("restore_cloud"),
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]

DONE = ("done", "completed")
SERVERS = 4
PREFIX = "wiz"


@pytest.fixture
def dead_host(local_cloud):
    # Earlier tests may already have evacuated this host's seed servers elsewhere, so the
    # test boots its own instead of relying on the order the tests ran in.
    host = local_cloud.compute_hosts[-1]
    local_cloud.tool("seed", "--on", host, "--servers", str(SERVERS), "--prefix", PREFIX)
    admin = local_cloud.nova(version="2.53")
    on_host = [s.id for s in admin.servers.list(search_opts={"all_tenants": 1, "host": host})]
    assert len(on_host) >= SERVERS, on_host
    local_cloud.tool("kill-host", host)
    service = admin.services.list(host=host, binary="nova-compute")[0]
    admin.services.force_down(service.id, True)
    yield host, on_host
    local_cloud.tool("revive-host", host, "--wait-up", check=False)
    local_cloud.tool("reset", check=False)
    local_cloud.tool("delete-servers", "--prefix", PREFIX, check=False)


def test_walk_the_wizard_and_every_instance_ends_done(local_cloud, dead_host, tmp_path):
    host, server_ids = dead_host
    driver = chromium.make_driver()
    try:
        with running_dashboard(tmp_path, local_cloud.auth_url) as url:
            login(driver, url, local_cloud.admin)
            driver.get("%s/admin/evac_hosts/%s/wizard/" % (url, host))

            def check(css):
                box = WebDriverWait(driver, 120).until(
                    EC.presence_of_element_located((By.CSS_SELECTOR, css)))
                driver.execute_script("arguments[0].click();", box)

            def next_step():
                driver.find_element(By.CSS_SELECTOR, ".button-next").click()

            check("input[name='fenced']")
            chromium.screenshot(driver, "cloud-wizard-1-host")
            next_step()
            WebDriverWait(driver, 60).until(EC.visibility_of_element_located(
                (By.CSS_SELECTOR, "[data-evac-select='all']")))
            chromium.screenshot(driver, "cloud-wizard-2-instances")
            next_step()
            WebDriverWait(driver, 60).until(lambda d: "fit" in d.find_element(
                By.ID, "evac-capacity-preview").text)
            chromium.screenshot(driver, "cloud-wizard-3-targets")
            next_step()
            WebDriverWait(driver, 60).until(EC.visibility_of_element_located(
                (By.NAME, "concurrency")))
            chromium.screenshot(driver, "cloud-wizard-4-options")
            next_step()
            check("input[name='confirm']")
            # Asked only when a selected instance has a local root disk.
            for box in driver.find_elements(By.CSS_SELECTOR,
                                            "input[name='acknowledge_local_disks']"):
                if not box.is_selected():
                    driver.execute_script("arguments[0].click();", box)
            chromium.screenshot(driver, "cloud-wizard-5-confirm")
            driver.find_element(By.CSS_SELECTOR, ".button-final").click()
            WebDriverWait(driver, 60).until(lambda d: "/admin/evac_batches/" in d.current_url)

            admin = local_cloud.nova(version="2.59")
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                latest = {}
                for m in admin.migrations.list(source_compute=host,
                                               migration_type="evacuation"):
                    latest.setdefault(m.instance_uuid, m.status)
                if all(latest.get(i) in DONE for i in server_ids):
                    break
                time.sleep(3)
            assert all(latest.get(i) in DONE for i in server_ids), latest
            for server_id in server_ids:
                assert getattr(admin.servers.get(server_id), "OS-EXT-SRV-ATTR:host") != host
            driver.refresh()
            time.sleep(2)
            chromium.screenshot(driver, "cloud-wizard-6-progress")
    finally:
        driver.quit()
