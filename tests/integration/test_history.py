"""The history against the live local cloud: an evacuation made with plain novaclient shows
up as External with the right user and request id; one made through the panel shows up
once, not twice; and the admin password of a panel run is nowhere in our database, logs or
CSV.

One outage serves both tests (one host killed and forced down, two servers on it), so the
module costs one boot, one kill and one reset.

The last test drives the real dashboard (runserver, Keystone login, Debian chromium): it
evacuates the third server and disables the host from the panel's pages, then looks at the
history page, which must show that evacuation once, as the dashboard's, next to the
external ones Nova reports, and takes the screenshot ``history-live-cloud``.
"""
import csv
from datetime import timedelta
import glob
import io
import logging
import os
import sqlite3
import time
import urllib.request
import uuid

from django.db import connection
from novaclient import exceptions as nova_exc
import pytest

from evac_dashboard.operations import external_sync
from evac_dashboard.store import history
from evac_dashboard.api import client
from evac_dashboard.api import nova as nova_api
from evac_dashboard.content.evacuate import forms as evacuate_forms
from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.content.history import export
from evac_dashboard.rules import external
from evac_dashboard.rules.history_filter import HistoryFilter
from evac_dashboard.operations import submission
from evac_dashboard.models import AuditRecord, NovaEvacuation
from tests.browser import chromium
from tests.integration.dashboard_server import running_dashboard
from tests.integration.keystone_request import keystone_request

pytestmark = [pytest.mark.integration]

EVAC_MV = "2.94"  # keeps evacuated servers running
PASSWORD = "Hist-Pw-" + uuid.uuid4().hex[:12]


def wait_until(what, fn, timeout, interval=0.5):
    start = time.monotonic()
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() - start > timeout:
            raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(interval)


def dashboard_request(local_cloud):
    """What the dashboard's API layer and audit read of a Horizon request."""
    client.forget_versions()
    request = keystone_request(local_cloud.session("admin"), local_cloud.region)
    request.user.project_id = request.user.tenant_id
    request.user.project_name = local_cloud.admin["project_name"]
    request.session, request.META = {}, {}
    return request


def evacuation_done(nova, server_id, source):
    def check():
        migrations = nova.migrations.list(instance_uuid=server_id,
                                          migration_type="evacuation")
        if migrations and migrations[0].status in ("error", "failed"):
            raise AssertionError("evacuation %s" % migrations[0].status)
        server = nova.servers.get(server_id)
        return (migrations and migrations[0].status in ("done", "completed")
                and getattr(server, "OS-EXT-SRV-ATTR:host") != source)
    return check


@pytest.fixture(scope="module")
def outage(local_cloud):
    """Two fresh servers on a host that then dies and is fenced (forced down)."""
    source = local_cloud.compute_hosts[-1]
    booter = local_cloud.nova("2.74")
    flavor = booter.flavors.find(name="m1.tiny")
    image = booter.glance.find_image("evac-tiny")
    tag = uuid.uuid4().hex[:6]
    servers = [booter.servers.create("hist-%s-%s" % (tag, role), image.id, flavor.id,
                                     nics="none", host=source)
               for role in ("cli", "panel", "ui")]
    try:
        for server in servers:
            wait_until("%s ACTIVE" % server.name,
                       lambda s=server: booter.servers.get(s.id).status == "ACTIVE", 120)
        local_cloud.tool("kill-host", source)
        nova = local_cloud.nova(EVAC_MV)
        service = nova.services.list(host=source, binary="nova-compute")[0]
        nova.services.force_down(service.id, True)
        yield {"source": source, "cli": servers[0], "panel": servers[1], "ui": servers[2]}
    finally:
        for server in servers:
            try:
                booter.servers.delete(server.id)
            except nova_exc.NotFound:
                pass
        local_cloud.tool("reset")


@pytest.mark.django_db
def test_cli_evacuation_appears_as_external_with_its_user(local_cloud, outage):
    session = local_cloud.session("admin")
    nova = local_cloud.nova(EVAC_MV, session=session)
    server, source = outage["cli"], outage["source"]
    answer = nova.servers.evacuate(server.id)  # plain novaclient, outside the panel
    request_id = answer.request_ids[0]
    wait_until("CLI evacuation done", evacuation_done(nova, server.id, source), 120)

    request = dashboard_request(local_cloud)
    result = external_sync.sync_external(request, force=True)
    assert result.listed >= 1
    record = AuditRecord.objects.get(origin="external",
                                     instances__0__id=server.id) \
        if connection.vendor != "sqlite" else next(
            r for r in AuditRecord.objects.filter(origin="external")
            if r.instances and r.instances[0]["id"] == server.id)
    [record] = external_sync.complete_for_display(request, [record])
    assert record.action == AuditRecord.EVACUATE and record.is_external
    assert record.source_host == source and record.target_host not in ("", source)
    assert record.outcome == AuditRecord.SUCCEEDED
    assert record.user_id == session.get_user_id()          # the admin who ran the CLI
    assert record.user_name == local_cloud.admin["username"]
    assert record.request_ids == [request_id]                # the instance action's
    row = NovaEvacuation.objects.get(migration_key=record.migration_key)
    assert row.match_rule == external.EXTERNAL and row.request_id == request_id

    # Shown again: no second instance-action read, no second record.
    external_sync.complete_for_display(request, [record])
    assert NovaEvacuation.objects.get(pk=row.pk).action_attempts == 1
    external_sync.sync_external(request, force=True)
    assert sum(1 for r in AuditRecord.objects.filter(origin="external")
               if r.instances and r.instances[0]["id"] == server.id) == 1


@pytest.mark.django_db(transaction=True)
def test_panel_evacuation_appears_once_and_its_password_nowhere(local_cloud, outage, caplog,
                                                                monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(submission, "_pool", lambda batch: submission.InlineExecutor())
    server, source = outage["panel"], outage["source"]
    request = dashboard_request(local_cloud)
    services = nova_api.service_list(request)
    service = next(s for s in services if s["host"] == source)
    on_host = [s for s in nova_api.servers_on_host(request, source) if s["id"] == server.id]
    assert on_host, "the panel's server is not on %s" % source
    form = evacuate_forms.EvacuateInstanceForm(
        request, data={"host": source, "target_host": "", "power_state": "running",
                       "password": PASSWORD, "confirm_password": PASSWORD,
                       "acknowledge_local_disks": "on",
                       "reviewed": reviewed.sign(source, on_host)},
        service=service, services=services, negotiated=nova_api.negotiated_version(request),
        local_disk_count=1)
    assert form.is_valid(), form.errors
    batch = form.handle(request, form.cleaned_data)   # the panel's own code path
    assert batch

    panel = AuditRecord.objects.get(batch_id=batch.pk)
    assert panel.action == AuditRecord.EVACUATE and panel.outcome == AuditRecord.ACCEPTED
    assert panel.password_set and len(panel.request_ids) == 1
    nova = local_cloud.nova(EVAC_MV)
    wait_until("panel evacuation done", evacuation_done(nova, server.id, source), 120)

    external_sync.sync_external(request, force=True)
    rows = list(NovaEvacuation.objects.filter(instance_id=server.id))
    assert len(rows) == 1 and rows[0].batch_id == batch.pk
    assert rows[0].match_rule in (external.RULE_WINDOW, external.RULE_REQUEST_ID)
    # Nova's instance action carries the request id the panel recorded.
    actions = [a for a in nova.instance_action.list(server.id) if a.action == "evacuate"]
    assert actions[0].request_id == panel.request_ids[0]
    # Once, not twice: no external record of this instance.
    mentions = [r for r in AuditRecord.objects.all()
                if any(e.get("id") == server.id for e in r.instances or ())]
    assert [r.pk for r in mentions] == [panel.pk]
    panel.refresh_from_db()
    assert panel.nova_summary.get("done") == 1

    # No password in our database, logs or CSV.
    csv_text = "".join(export.rows(history.query(HistoryFilter(
        since=panel.created_at - timedelta(minutes=1)))))
    assert server.id in csv_text
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute("SELECT * FROM %s" % connection.ops.quote_name(table))
            dump.extend(repr(row) for row in cursor.fetchall())
    assert dump and PASSWORD not in "\n".join(dump)
    assert caplog.records and PASSWORD not in caplog.text
    assert PASSWORD not in csv_text


def submit(browser, action_part):
    """Click the submit button of the page's form whose action contains ``action_part``."""
    from selenium.webdriver.common.by import By

    button = browser.find_element(
        By.CSS_SELECTOR, "form[action*='%s'] input[type=submit]" % action_part)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()


@pytest.mark.browser
@pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")
def test_history_page_on_the_live_cloud(local_cloud, outage, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    server, source = outage["ui"], outage["source"]
    nova = local_cloud.nova(EVAC_MV)
    # An external evacuation to show beside the panel's (the first test's, if it ran).
    cli = outage["cli"]
    if not nova.migrations.list(instance_uuid=cli.id, migration_type="evacuation"):
        nova.servers.evacuate(cli.id)
    with running_dashboard(tmp_path, local_cloud.auth_url) as url:
        browser = chromium.make_driver()
        try:
            wait = WebDriverWait(browser, 120)
            browser.get(url + "/auth/login/")
            wait.until(EC.presence_of_element_located((By.ID, "id_username")))
            browser.find_element(By.ID, "id_username").send_keys(local_cloud.admin["username"])
            browser.find_element(By.ID, "id_password").send_keys(local_cloud.admin["password"])
            browser.find_element(By.ID, "loginBtn").click()
            wait.until(lambda d: "/auth/login" not in d.current_url)

            # Evacuate the instance from the panel, with an admin password.
            browser.get("%s/admin/evac_hosts/%s/instances/%s/evacuate/" % (url, source,
                                                                           server.id))
            wait.until(EC.presence_of_element_located((By.ID, "id_password")))
            browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
            browser.find_element(By.ID, "id_confirm_password").send_keys(PASSWORD)
            for box in browser.find_elements(By.ID, "id_acknowledge_local_disks"):
                browser.execute_script("arguments[0].click();", box)  # themed checkbox
            submit(browser, "evacuate")
            wait.until(lambda d: "/admin/evac_batches/" in d.current_url)
            wait_until("UI evacuation done", evacuation_done(nova, server.id, source), 120)

            # Disable the (dead) host's service from the panel too.
            browser.get("%s/admin/evac_hosts/%s/disable/" % (url, source))
            wait.until(EC.presence_of_element_located((By.ID, "id_reason")))
            browser.find_element(By.ID, "id_reason").send_keys("=cmd|' /C calc'!A0 PSU")
            submit(browser, "disable")
            wait.until(lambda d: d.current_url.rstrip("/").endswith("/admin/evac_hosts"))

            browser.get(url + "/admin/evac_history/")
            table = wait.until(EC.presence_of_element_located((By.ID, "history")))
            rows = [row.text for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
            short = server.id[:8]
            ours = [r for r in rows if "hist-" in r and "-ui" in r]
            assert len(ours) == 1, rows          # once, not twice
            assert "Dashboard" in ours[0] and "Evacuate instance" in ours[0]
            assert not [r for r in rows if short in r]  # never as an external copy
            assert any("Disable service" in r and "Dashboard" in r for r in rows), rows
            externals = [r for r in rows if "External" in r]
            assert any(local_cloud.admin["username"] in r for r in externals), rows
            chromium.screenshot(browser, "history-live-cloud")

            cookies = "; ".join("%s=%s" % (c["name"], c["value"]) for c in browser.get_cookies())
            fetch = urllib.request.Request(url + "/admin/evac_history/export.csv",
                                           headers={"Cookie": cookies})
            with urllib.request.urlopen(fetch, timeout=60) as answer:
                csv_text = answer.read().decode()
        finally:
            browser.quit()

    cells = [cell for row in csv.reader(io.StringIO(csv_text)) for cell in row]
    assert "hist-" in csv_text and "=cmd|" in csv_text
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]  # no formula
    assert PASSWORD not in csv_text
    db_files = glob.glob(os.path.join(str(tmp_path), "*.sqlite3"))
    assert db_files
    for db_file in db_files:
        with sqlite3.connect(db_file) as db:
            tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master "
                                               "WHERE type='table'")]
            dump = "\n".join(repr(row) for table in tables
                             for row in db.execute('SELECT * FROM "%s"' % table))
        assert "hist-" in dump and PASSWORD not in dump
    with open(os.path.join(str(tmp_path), "runserver.log"), encoding="utf-8",
              errors="replace") as log:
        assert PASSWORD not in log.read()
