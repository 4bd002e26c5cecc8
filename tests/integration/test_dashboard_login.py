"""The dashboard against the local cloud: a real Keystone login in Debian chromium."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium
from tests.integration.dashboard_server import login, running_dashboard

pytestmark = [pytest.mark.integration, pytest.mark.browser,
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]


@pytest.fixture(scope="module")
def cloud_config(local_cloud):
    return local_cloud.config


@pytest.fixture(scope="module")
def dashboard(cloud_config, tmp_path_factory):
    with running_dashboard(tmp_path_factory.mktemp("dashboard"), cloud_config["auth_url"]) as url:
        yield url


@pytest.fixture
def browser():
    driver = chromium.make_driver()
    yield driver
    driver.quit()


def test_admin_logs_in_through_keystone_and_sees_the_hosts(browser, dashboard, cloud_config):
    login(browser, dashboard, cloud_config["admin"])
    browser.get(dashboard + "/admin/evac_hosts/")
    table = WebDriverWait(browser, 120).until(
        EC.presence_of_element_located((By.ID, "compute_hosts")))
    hosts = {row.get_attribute("data-object-id")
             for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
    assert set(cloud_config["compute_hosts"]) <= hosts
    assert "Up" in table.text
    chromium.screenshot(browser, "local-cloud-compute-hosts")


def test_member_is_refused_the_admin_panel(browser, dashboard, cloud_config):
    login(browser, dashboard, cloud_config["member"])
    browser.get(dashboard + "/admin/evac_hosts/")
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "return document.readyState") == "complete")
    assert browser.find_elements(By.ID, "compute_hosts") == []
    assert "not authorized to access this page" in browser.page_source
    chromium.screenshot(browser, "local-cloud-member-refused")
