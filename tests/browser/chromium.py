"""Headless Debian chromium through selenium, with no driver download."""
import os
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = os.environ.get("EVAC_ARTIFACTS", os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".artifacts"))


def available():
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


def make_driver(width=1440, height=1000):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=%d,%d" % (width, height),
                 "--user-data-dir=" + tempfile.mkdtemp(prefix="evac-chromium-")):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    return driver


def screenshot(driver, name):
    """Save a full-page PNG under .artifacts/screenshots/ and return its path."""
    folder = os.path.join(ARTIFACTS, "screenshots")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + ".png")
    # Horizon's layout scrolls inside #main_content, so the body alone is only as tall as the
    # window: measure the content too, and never shrink below the starting size.
    height = driver.execute_script(
        "var c = document.getElementById('content_body');"
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight,"
        " c ? c.getBoundingClientRect().top + c.scrollHeight : 0);")
    size = driver.get_window_size()
    driver.set_window_size(size["width"], max(size["height"], min(int(height) + 120, 4000)))
    time.sleep(0.5)  # let the page re-lay out at the new size
    driver.save_screenshot(path)
    return path


def admin_test_case():
    """Horizon's SeleniumAdminTestCase (admin user, mocked Keystone) driving Debian chromium.

    Built lazily so importing this module needs no Django settings.
    """
    from openstack_dashboard.test import helpers

    class ChromiumAdminTestCase(helpers.SeleniumAdminTestCase):
        window_height = 1000

        @classmethod
        def setUpClass(cls):
            super().setUpClass()
            cls.selenium = make_driver(height=cls.window_height)

        @classmethod
        def tearDownClass(cls):
            cls.selenium.quit()
            super().tearDownClass()

    return ChromiumAdminTestCase


def use_evacuating_nova(case, project_names):
    """The fake Nova that plays evacuations forward (over real HTTP) as the pages' Nova, with
    ``project_names`` from Keystone; stopped and unpatched after the test."""
    from unittest import mock

    from evac_dashboard.api import client, nova
    from evac_dashboard.operations import progress_reads
    from tests.unit.fakes.evacuating_nova import EvacuatingFakeNova

    case.selenium.implicitly_wait(0)
    client.forget_versions()
    progress_reads.forget_cache()
    fake = EvacuatingFakeNova().start()
    case.addCleanup(fake.stop)
    for target, name, value in ((client, "compute_endpoint", fake.endpoint),
                                (nova, "project_names", project_names)):
        patcher = mock.patch.object(target, name, return_value=value)
        patcher.start()
        case.addCleanup(patcher.stop)
    return fake
