"""The progress page on the local cloud, in Debian chromium, with the real dashboard.

1. ``test_watch_a_host_evacuation_to_the_end``: kill a compute host, start Evacuate Host
   from the Compute Hosts panel, watch the progress table reach "all done" without a
   reload, check every row against Nova, then revive the host and see Nova's cleanup
   (``completed``) with "Check again". Screenshots: .artifacts/screenshots/
   local-cloud-progress-*.png.
2. ``test_restart_the_dashboard_mid_batch_then_resume``: the dashboard process is killed
   (SIGKILL) while it is sending a host's evacuations; a new dashboard process on the same
   database shows the truth and offers to resume; resuming sends only what Nova never got,
   and Nova ends with exactly one evacuation per instance.

The dashboard runs as ``manage.py runserver`` with the development settings plus, from a
settings file this test writes into its temporary folder, one request at a time
(``EVAC_SUBMIT_CONCURRENCY = 1``, so the kill lands mid-batch) and 1-4 s polls.
"""
import contextlib
import datetime
import os
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium
from tests.integration.dashboard_server import login, REPO, free_port, wait_for_http

pytestmark = [pytest.mark.integration, pytest.mark.browser,
              pytest.mark.usefixtures("restore_cloud"),
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]

WAIT = 180
EXTRA_SERVERS = 16   # booted on the host of the restart test, deleted afterwards
PREFIX = "evprog"

SETTINGS = """from evac_dashboard.devsite.settings import *  # noqa: F401,F403

EVAC_SUBMIT_CONCURRENCY = 1
EVAC_PROGRESS_POLL_SECONDS = 1
EVAC_PROGRESS_MAX_POLL_SECONDS = 4
"""


# ----------------------------------------------------------------------- the dashboard

class Dashboard:
    """``manage.py runserver`` on a free port; ``kill()`` is a SIGKILL (a crash)."""

    def __init__(self, run_dir, keystone_url):
        self.run_dir = str(run_dir)
        with open(os.path.join(self.run_dir, "progress_test_settings.py"), "w") as handle:
            handle.write(SETTINGS)
        self.env = dict(os.environ, EVAC_RUN_DIR=self.run_dir, EVAC_KEYSTONE_URL=keystone_url,
                        EVAC_DEBUG="1", DJANGO_SETTINGS_MODULE="progress_test_settings",
                        PYTHONPATH=os.pathsep.join(filter(None, (
                            self.run_dir, REPO, os.environ.get("PYTHONPATH")))))
        self.process = None
        self.url = None
        self.starts = 0

    @property
    def database(self):
        return os.path.join(self.run_dir, "evac_dashboard.sqlite3")

    def start(self):
        manage = [sys.executable, os.path.join(REPO, "manage.py")]
        subprocess.run(manage + ["migrate", "--noinput", "-v", "0"], env=self.env, cwd=REPO,
                       check=True, timeout=300)
        self.starts += 1
        port = free_port()
        log = open(os.path.join(self.run_dir, "runserver-%d.log" % self.starts), "w")
        self.process = subprocess.Popen(
            manage + ["runserver", "--noreload", "127.0.0.1:%d" % port], env=self.env,
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.url = "http://127.0.0.1:%d" % port
        wait_for_http(self.url + "/auth/login/")
        return self

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def rows(self, sql, *args):
        with contextlib.closing(sqlite3.connect(self.database, timeout=10)) as db:
            return db.execute(sql, args).fetchall()


@pytest.fixture
def dashboard(local_cloud, tmp_path):
    server = Dashboard(tmp_path, local_cloud["auth_url"])
    yield server
    server.stop()


@pytest.fixture
def browser():
    driver = chromium.make_driver(height=1400)
    yield driver
    driver.quit()


# ----------------------------------------------------------------------------- helpers

def servers_by_host(nova):
    found = {}
    for server in nova.servers.list(search_opts={"all_tenants": 1}):
        found.setdefault(getattr(server, "OS-EXT-SRV-ATTR:host"), []).append(server)
    return found


def fence(local_cloud, nova, host):
    """The host dies (its nova-compute is killed) and the operator fences it: Force Down."""
    local_cloud.tool("kill-host", host)
    service = [s for s in local_cloud.nova(version="2.53").services.list(
        binary="nova-compute") if s.host == host][0]
    local_cloud.nova(version="2.53").services.force_down(service.id, True)


def evacuable(servers):
    return [s for s in servers if s.status in ("ACTIVE", "SHUTOFF", "ERROR")]


def start_evacuate_host(browser, url, host):
    """Compute Hosts panel -> the host's row action "Evacuate Host" -> submit the modal."""
    browser.get(url + "/admin/evac_hosts/")
    row = WebDriverWait(browser, 120).until(
        EC.presence_of_element_located((By.ID, "compute_hosts__row__%s" % host)))
    found = row.find_elements(By.ID, "compute_hosts__row_%s__action_evacuate_host" % host)
    if not found:
        chromium.screenshot(browser, "local-cloud-progress-no-evacuate-action")
        raise AssertionError("no Evacuate Host action for %s: %s" % (host, row.text))
    action = found[0]
    if not action.is_displayed():
        row.find_element(By.CSS_SELECTOR, ".btn-group .dropdown-toggle").click()
    action.click()
    modal = WebDriverWait(browser, 120).until(
        EC.visibility_of_element_located((By.ID, "evac_evacuate_host_modal")))
    for box in modal.find_elements(By.NAME, "acknowledge_local_disks"):
        if not box.is_selected():
            # Horizon's theme hides the real checkbox behind a styled label.
            browser.execute_script("arguments[0].click();", box)
    modal.find_element(By.CSS_SELECTOR, ".modal-footer [type=submit]").click()


def wait_for_progress_page(browser):
    WebDriverWait(browser, 120).until(lambda d: "/admin/evac_batches/" in d.current_url)
    WebDriverWait(browser, 120).until(EC.presence_of_element_located((By.ID, "evac-items")))
    browser.execute_script("window.__evacSamePage = 'yes';")


def root_attr(browser, name):
    return browser.find_element(By.ID, "evac-progress").get_attribute(name)


def count(browser, state):
    return int(browser.find_element(By.CSS_SELECTOR, '[data-count="%s"]' % state).text)


def wait_until_final(browser, total):
    WebDriverWait(browser, WAIT).until(
        lambda d: root_attr(d, "data-poll-state") == "stopped", "the batch never got final")
    assert count(browser, "done") == total, browser.find_element(By.ID, "evac-items").text
    assert browser.execute_script("return window.__evacSamePage") == "yes", "page reloaded"


def page_rows(browser):
    rows = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "#evac-items tr.evac-row"):
        cells = row.find_elements(By.TAG_NAME, "td")
        rows[cells[1].find_element(By.CLASS_NAME, "evac-id").text] = {
            "state": row.get_attribute("data-state"), "from": cells[3].text,
            "to": cells[4].text, "status": cells[6].text.split("\n")[0],
            "migration": cells[7].text, "stages": cells[9].text,
            "stage_codes": (row.get_attribute("data-stages") or "").split(),
            "text": row.text}
    return rows


def evacuations_of(nova, instance_id, source, since):
    """Nova's evacuation records of one instance from ``source`` created since ``since``."""
    found = []
    for migration in nova.migrations.list(instance_uuid=instance_id,
                                          migration_type="evacuation"):
        created = datetime.datetime.fromisoformat(migration.created_at.replace("Z", ""))
        if migration.source_compute == source and created >= since:
            found.append(migration)
    return found


def full_screenshot(browser, name):
    bottom = browser.execute_script(
        "var r = document.getElementById('evac-progress').getBoundingClientRect();"
        "return Math.ceil(r.bottom + window.scrollY);")
    browser.set_window_size(browser.get_window_size()["width"],
                            max(800, min(int(bottom) + 160, 6000)))
    time.sleep(0.5)
    folder = os.path.join(chromium.ARTIFACTS, "screenshots")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + ".png")
    browser.save_screenshot(path)
    return path


def nova_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - \
        datetime.timedelta(seconds=5)


# ------------------------------------------------------------------------------- tests

def test_watch_a_host_evacuation_to_the_end(local_cloud, dashboard, browser):
    nova = local_cloud.nova(version="2.59")
    by_host = servers_by_host(nova)
    host = max(local_cloud.compute_hosts, key=lambda h: len(evacuable(by_host.get(h, []))))
    expected = {s.id for s in evacuable(by_host.get(host, []))}
    assert expected, "no server to evacuate on the local cloud"
    began = nova_now()
    fence(local_cloud, nova, host)

    dashboard.start()
    login(browser, dashboard.url, local_cloud.admin)
    start_evacuate_host(browser, dashboard.url, host)
    wait_for_progress_page(browser)
    wait_until_final(browser, len(expected))

    rows = page_rows(browser)
    assert set(rows) == expected
    servers = {s.id: s for s in nova.servers.list(search_opts={"all_tenants": 1})}
    for instance_id, row in rows.items():
        server = servers[instance_id]
        now_on = getattr(server, "OS-EXT-SRV-ATTR:host")
        records = evacuations_of(nova, instance_id, host, began)
        assert len(records) == 1 and records[0].status in ("done", "completed")
        assert row["state"] == "done" and now_on != host
        assert row["from"] == host and row["to"] == now_on == records[0].dest_compute
        assert row["status"] == server.status and row["migration"] == records[0].status
        assert "on %s" % now_on in row["stages"] and "rebuilding" in row["stage_codes"]
        assert row["stage_codes"][-1] == "done" and "rebuild_spawning" not in row["stages"]
    full_screenshot(browser, "local-cloud-progress-done")

    # The failed host comes back: Nova cleans it up and marks the records completed.
    local_cloud.tool("revive-host", host, "--wait-up")
    browser.find_element(By.CSS_SELECTOR, 'button[data-action="refresh"]').click()
    WebDriverWait(browser, 60).until(lambda d: d.find_element(
        By.CSS_SELECTOR, '[data-field="cleaned-up"]').text == str(len(expected)))
    rows = page_rows(browser)
    assert all(r["migration"] == "completed" and "source cleaned up" in r["text"]
               for r in rows.values())
    assert browser.execute_script("return window.__evacSamePage") == "yes"
    full_screenshot(browser, "local-cloud-progress-cleaned-up")


def test_restart_the_dashboard_mid_batch_then_resume(local_cloud, dashboard, browser):
    nova = local_cloud.nova(version="2.59")
    by_host = servers_by_host(nova)
    host = min(local_cloud.compute_hosts, key=lambda h: len(by_host.get(h, [])))
    local_cloud.tool("seed", "--on", host, "--servers", str(EXTRA_SERVERS), "--prefix", PREFIX)
    try:
        expected = {s.id for s in evacuable(servers_by_host(nova).get(host, []))}
        assert len(expected) >= EXTRA_SERVERS
        began = nova_now()
        fence(local_cloud, nova, host)

        dashboard.start()
        first_pid = dashboard.process.pid
        login(browser, dashboard.url, local_cloud.admin)
        start_evacuate_host(browser, dashboard.url, host)
        # Kill the dashboard as soon as Nova has answered a few evacuate calls.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                sent = dashboard.rows("SELECT count(*) FROM evac_dashboard_evacuationitem "
                                      "WHERE submit_state = 'submitted'")[0][0]
            except sqlite3.OperationalError:
                sent = 0  # locked for a moment, or not created yet
            if sent >= 3:
                break
            time.sleep(0.02)
        dashboard.kill()
        states = dict(dashboard.rows("SELECT submit_state, count(*) FROM "
                                     "evac_dashboard_evacuationitem GROUP BY submit_state"))
        ((batch_id, batch_state, worker),) = dashboard.rows(
            "SELECT id, state, worker FROM evac_dashboard_evacuationbatch")
        print("after the kill:", states, batch_state, worker)
        assert batch_state == "submitting" and worker == "%s:%d" % (socket.gethostname(),
                                                                    first_pid)
        assert states.get("pending", 0) > 0, "the kill came too late to leave work to resume"
        sent_before = {row[0] for row in dashboard.rows(
            "SELECT instance_id FROM evac_dashboard_evacuationitem "
            "WHERE submit_state IN ('submitted', 'submitting')")}
        in_nova_before = {i for i in expected if evacuations_of(nova, i, host, began)}
        assert in_nova_before >= {row[0] for row in dashboard.rows(
            "SELECT instance_id FROM evac_dashboard_evacuationitem "
            "WHERE submit_state = 'submitted'")}

        # A new dashboard process on the same database.
        dashboard.start()
        batch_id = batch_id if "-" in batch_id else "%s-%s-%s-%s-%s" % (
            batch_id[:8], batch_id[8:12], batch_id[12:16], batch_id[16:20], batch_id[20:])
        browser.get(dashboard.url + "/admin/evac_batches/%s/" % batch_id)
        if "/auth/login" in browser.current_url:
            login(browser, dashboard.url, local_cloud.admin)
            browser.get(dashboard.url + "/admin/evac_batches/%s/" % batch_id)
        WebDriverWait(browser, 120).until(EC.presence_of_element_located((By.ID, "evac-items")))
        browser.execute_script("window.__evacSamePage = 'yes';")
        offer = browser.find_element(By.CSS_SELECTOR, ".evac-action-resume")
        assert offer.is_displayed() and "is gone" in offer.text
        full_screenshot(browser, "local-cloud-progress-resume-offer")
        offer.find_element(By.TAG_NAME, "button").click()
        wait_until_final(browser, len(expected))

        # Every instance was evacuated exactly once; those sent before the kill were not
        # sent again.
        for instance_id in expected:
            records = evacuations_of(nova, instance_id, host, began)
            assert len(records) == 1, (instance_id, [(m.id, m.status) for m in records])
            assert records[0].status in ("done", "completed")
        found = {row[0] for row in dashboard.rows(
            "SELECT instance_id FROM evac_dashboard_evacuationitem "
            "WHERE found_migration_id IS NOT NULL")}
        assert found <= sent_before | in_nova_before
        assert {r["state"] for r in page_rows(browser).values()} == {"done"}
        full_screenshot(browser, "local-cloud-progress-resumed")
    finally:
        dashboard.stop()
        local_cloud.tool("revive-host", host, "--wait-up", check=False)
        local_cloud.tool("delete-servers", "--prefix", PREFIX, check=False)
