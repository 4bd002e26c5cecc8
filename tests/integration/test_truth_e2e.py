"""In an outage the progress page tells the truth: the local cloud, Debian headless chromium.

``test_progress_pages_tell_the_truth`` (admin, real Keystone and Nova, fake-driver computes):

1. boots servers on host A, kills A and forces it down, evacuates it through the Compute
   Hosts panel's **Evacuate Host modal** (target host B), and watches the progress page to
   the end without reloading;
2. boots servers on host C, kills and forces it down, evacuates it through the **wizard**
   (five steps) and watches its progress page the same way;
3. moves the first batch's servers again (B dies; novaclient evacuates them), and opens the
   first batch's page: it still reads all done (counts and rows), nothing Rebuilding, its
   elapsed time does not grow; the later move may only show as a later fact.

At every observation (about once a second) of a progress page it fails on: a "gone"/Resume
banner, a raw stage or option name in the page text, a row whose state, state label and
stages (``data-state``, ``data-stages``, the ``<li class="evac-stage-CODE">`` items) disagree,
counts that disagree with the rows, a row whose past changes (a final state left, stages
that do not extend the ones seen before), or a page reload. At the end every row is checked
against Nova (host, evacuation migration done).

Screenshots: .artifacts/screenshots/truth-*.png.
"""
import os
import re
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser import chromium
from tests.integration.dashboard_server import REPO, login, running_dashboard

pytestmark = [pytest.mark.integration, pytest.mark.browser,
              pytest.mark.usefixtures("restore_cloud"),
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]

SERVERS = 3
MODAL_PREFIX = "truthm"
WIZARD_PREFIX = "truthw"
WATCH = 300       # seconds a batch may take to get final
DONE = ("done", "completed")

SETTINGS = """from evac_dashboard.devsite.settings import *  # noqa: F401,F403

EVAC_PROGRESS_POLL_SECONDS = 1
EVAC_PROGRESS_MAX_POLL_SECONDS = 3
"""

# What a person must never read on the page: Nova's stage names and the request's options.
RAW = [re.compile(p) for p in (
    r"rebuild_block_device_mapping", r"rebuild_spawning", r"\brebuilding\b",
    r"powering-off", r"\bfinishing\b", r"keep_running", r"on_shared_storage",
    r"force (True|False)", r"\b(True|False|None)\b", r"task_state", r"vm_state",
    r"submit_failed", r"unknown step", r"\{\{|\{%|%\(\w+\)s")]

STATE_LABELS = {"pending": "Pending", "submitted": "Submitted", "rebuilding": "Rebuilding",
                "done": "Done", "failed": "Failed", "cancelled": "Cancelled"}
IN_FLIGHT_STAGES = ("rebuilding", "rebuild_block_device_mapping", "rebuild_spawning",
                    "powering-off", "finishing")
KNOWN_STAGES = ("pending", "submitted") + IN_FLIGHT_STAGES + ("done", "stopped", "failed",
                                                               "cancelled")
FINAL = ("done", "failed", "cancelled")

# One observation of the progress page, read in one go (rows are swapped by the script).
OBSERVE = """
var root = document.getElementById('evac-progress');
if (!root) { return null; }
var resume = root.querySelector('.evac-action-resume');
var rows = Array.prototype.map.call(root.querySelectorAll('#evac-items tr.evac-row'),
  function (tr) {
    var cell = function (c) { var n = tr.querySelector(c); return n ? n.innerText.trim() : ''; };
    return {
      id: tr.id, cls: tr.className, state: tr.getAttribute('data-state'),
      attempt: tr.getAttribute('data-attempt'),
      codes: (tr.getAttribute('data-stages') || '').split(' ').filter(Boolean),
      items: Array.prototype.map.call(tr.querySelectorAll('li.evac-stage'), function (li) {
        return {cls: li.className, text: li.innerText.trim()}; }),
      label: cell('.evac-pstate-label'), pstate: (tr.querySelector('.evac-pstate') || {}).className,
      instance: cell('.evac-id'), from: cell('.evac-c-from'), to: cell('.evac-c-to'),
      nova: cell('.evac-c-nova'), migration: cell('.evac-c-migration'),
      since: (tr.querySelector('[data-since]') || {getAttribute: function () { return ''; }})
        .getAttribute('data-since'),
      later: cell('.evac-later'), text: tr.innerText, html: tr.outerHTML};
  });
var counts = {};
Array.prototype.forEach.call(root.querySelectorAll('[data-count]'), function (n) {
  counts[n.getAttribute('data-count')] = parseInt(n.textContent, 10); });
var elapsed = root.querySelector('[data-field="elapsed"]');
return {
  text: document.body.innerText, progressText: root.innerText,
  resumeVisible: !!(resume && !resume.hidden && resume.offsetParent !== null),
  pollState: root.getAttribute('data-poll-state'), final: root.getAttribute('data-final'),
  pollStatus: (root.querySelector('[data-field="poll-status"]') || {}).innerText || '',
  total: parseInt((root.querySelector('[data-field="total"]') || {}).textContent, 10),
  elapsedText: elapsed ? elapsed.innerText : '',
  elapsedSeconds: elapsed ? parseFloat(elapsed.getAttribute('data-seconds')) : null,
  batchState: (root.querySelector('[data-field="batch-state"]') || {}).innerText || '',
  counts: counts, rows: rows, samePage: window.__evacSamePage === 'yes'};
"""


# ----------------------------------------------------------------------------- the cloud

def fence(cloud, host):
    """The host dies (nova-compute SIGKILLed) and the operator forces it down."""
    cloud.tool("kill-host", host)
    nova = cloud.nova(version="2.53")
    service = nova.services.list(host=host, binary="nova-compute")[0]
    nova.services.force_down(service.id, True)


def bring_back(cloud, host):
    cloud.tool("revive-host", host, "--wait-up")
    cloud.tool("reset")


def servers_on(nova, host, prefix=None):
    return [s for s in nova.servers.list(search_opts={"all_tenants": 1, "host": host})
            if prefix is None or s.name.startswith(prefix + "-")]


def host_of(server):
    return getattr(server, "OS-EXT-SRV-ATTR:host")


def wait_nova_evacuated(nova, source, server_ids, timeout=WATCH):
    """Until every server's latest evacuation from ``source`` is done and it runs elsewhere."""
    deadline = time.monotonic() + timeout
    latest = {}
    while time.monotonic() < deadline:
        latest = {}
        for m in nova.migrations.list(source_compute=source, migration_type="evacuation"):
            if m.instance_uuid in server_ids:
                previous = latest.get(m.instance_uuid)
                if previous is None or m.id > previous.id:
                    latest[m.instance_uuid] = m
        if all(i in latest and latest[i].status in DONE for i in server_ids):
            hosts = {i: host_of(nova.servers.get(i)) for i in server_ids}
            if all(h and h != source for h in hosts.values()):
                return latest
        time.sleep(2)
    raise AssertionError("Nova did not finish evacuating %s: %s" % (
        source, {i: getattr(latest.get(i), "status", None) for i in server_ids}))


# ------------------------------------------------------------------------- the page

def observe(driver):
    return driver.execute_script(OBSERVE)


def row_problems(row):
    """What disagrees inside one row (state, its label and class, its stages)."""
    problems = []
    state, codes, items = row["state"], row["codes"], row["items"]
    if state not in STATE_LABELS:
        problems.append("unknown state %r" % state)
        return problems
    if row["label"] != STATE_LABELS[state]:
        problems.append("state %s but its label reads %r" % (state, row["label"]))
    if "evac-row-%s" % state not in row["cls"].split():
        problems.append("state %s but the row's class is %r" % (state, row["cls"]))
    if "evac-pstate-%s" % state not in (row["pstate"] or "").split():
        problems.append("state %s but its badge is %r" % (state, row["pstate"]))
    if [i["cls"] for i in items] != ["evac-stage evac-stage-%s" % c for c in codes]:
        problems.append("data-stages %s but the stages shown are %s" % (
            codes, [i["cls"] for i in items]))
    unknown = [c for c in codes if c not in KNOWN_STAGES]
    if unknown:
        problems.append("unknown stage codes %s" % unknown)
    core = codes[:-1] if codes and codes[-1] == "stopped" else codes
    if "stopped" in core:
        problems.append("'stopped' is not the last stage: %s" % codes)
    if codes and codes[-1] == "stopped" and (not core or core[-1] != "done"):
        problems.append("'stopped' after %s, not after done" % core)
    last = core[-1] if core else None
    if len(set(core)) != len(core):
        problems.append("a stage is repeated: %s" % codes)
    if state == "done":
        if last != "done" or "failed" in core or "cancelled" in core:
            problems.append("reads Done but its stages are %s" % codes)
        if not row["to"] or row["to"].startswith("("):
            problems.append("reads Done but no host it went to: %r" % row["to"])
        done_items = [i for i, c in zip(items, codes) if c == "done"]
        if done_items and done_items[0]["text"] != "on %s" % row["to"]:
            problems.append("Done on %r but its stage reads %r" % (row["to"],
                                                                     done_items[0]["text"]))
    elif state == "failed":
        if last != "failed" or "done" in core:
            problems.append("reads Failed but its stages are %s" % codes)
    elif state == "cancelled":
        if last != "cancelled" or "done" in core:
            problems.append("reads Cancelled but its stages are %s" % codes)
    elif state == "rebuilding":
        if last not in IN_FLIGHT_STAGES or set(core) & set(FINAL):
            problems.append("reads Rebuilding but its stages are %s" % codes)
    elif state == "submitted":
        if last not in ("submitted",) or set(core) & set(FINAL + IN_FLIGHT_STAGES):
            problems.append("reads Submitted but its stages are %s" % codes)
    elif state == "pending":
        if last not in (None, "pending") or len(core) > 1:
            problems.append("reads Pending but its stages are %s" % codes)
    if state != "done" and row["later"]:
        problems.append("a later move shown on a row that is not Done: %r" % row["later"])
    return problems


def page_problems(seen, before=None):
    """What is untrue in one observation (and, given the previous one, what changed that
    may not change)."""
    problems = []
    if seen["resumeVisible"] or "is gone" in seen["text"] or \
            "Resume submission" in seen["text"]:
        problems.append("a gone/Resume banner: %r" % seen["progressText"][:600])
    for pattern in RAW:
        for match in pattern.finditer(seen["text"]):
            around = seen["text"][max(0, match.start() - 80):match.end() + 80]
            problems.append("raw name %r visible: ...%s..." % (match.group(0), around))
    if not seen["samePage"]:
        problems.append("the page reloaded")
    by_state = {}
    for row in seen["rows"]:
        by_state[row["state"]] = by_state.get(row["state"], 0) + 1
        for problem in row_problems(row):
            problems.append("%s (%s): %s\n%s" % (row["instance"], row["id"], problem,
                                                 row["html"]))
    counts = {k: v for k, v in seen["counts"].items() if v}
    if counts != by_state:
        problems.append("counts %s but the rows say %s" % (seen["counts"], by_state))
    if seen["total"] != len(seen["rows"]):
        problems.append("total %s but %d rows" % (seen["total"], len(seen["rows"])))
    if before is not None:
        old = {r["id"]: r for r in before["rows"]}
        for row in seen["rows"]:
            prior = old.get(row["id"])
            if prior is None or prior["attempt"] != row["attempt"]:
                continue
            if prior["state"] in FINAL and row["state"] != prior["state"]:
                problems.append("%s went from %s back to %s\n%s" % (
                    row["instance"], prior["state"], row["state"], row["html"]))
            if row["codes"][:len(prior["codes"])] != prior["codes"]:
                problems.append("%s: stages were %s, now %s\n%s" % (
                    row["instance"], prior["codes"], row["codes"], row["html"]))
    return problems


def watch_to_the_end(driver, name):
    """Observe the progress page about once a second until it says the batch is final;
    fail at once on anything untrue. Screenshot mid-batch and at the end."""
    driver.execute_script("window.__evacSamePage = 'yes';")
    deadline = time.monotonic() + WATCH
    before, observations, mid_shot = None, 0, None
    while True:
        seen = observe(driver)
        assert seen is not None, "not on a progress page: %s" % driver.current_url
        observations += 1
        problems = page_problems(seen, before)
        if problems:
            shot = chromium.screenshot(driver, "truth-%s-problem" % name)
            raise AssertionError("after %d observations (screenshot %s):\n%s" % (
                observations, shot, "\n".join(problems)))
        in_flight = [r for r in seen["rows"] if r["state"] not in FINAL]
        if mid_shot is None and in_flight and (
                any(r["state"] == "rebuilding" for r in in_flight) or observations >= 2):
            mid_shot = chromium.screenshot(driver, "truth-%s-mid" % name)
            print("mid-batch:", {r["instance"]: (r["state"], r["codes"]) for r in seen["rows"]})
        if seen["pollState"] == "stopped" and seen["final"] == "true":
            assert "final state" in seen["pollStatus"], seen["pollStatus"]
            break
        assert time.monotonic() < deadline, "the batch never got final: %s" % {
            r["instance"]: r["state"] for r in seen["rows"]}
        before = seen
        time.sleep(1)
    # Still true a little later, and the elapsed time stopped.
    time.sleep(3)
    later = observe(driver)
    problems = page_problems(later, seen)
    assert not problems, "\n".join(problems)
    assert later["elapsedText"] == seen["elapsedText"], (seen["elapsedText"],
                                                         later["elapsedText"])
    chromium.screenshot(driver, "truth-%s-end" % name)
    print("%s: %d observations, mid-batch screenshot %s" % (name, observations, mid_shot))
    return later


def check_against_nova(nova, seen, source, server_ids):
    rows = {r["instance"]: r for r in seen["rows"]}
    assert set(server_ids) <= set(rows), (server_ids, list(rows))
    migrations = wait_nova_evacuated(nova, source, set(rows))
    for instance_id, row in rows.items():
        now_on = host_of(nova.servers.get(instance_id))
        assert row["state"] == "done", row["html"]
        assert row["from"] == source and row["to"] == now_on != source, row["html"]
        assert migrations[instance_id].dest_compute == now_on
        assert row["migration"] in DONE, row["html"]
    assert seen["counts"]["done"] == len(rows)


def wait_for_progress_page(driver):
    WebDriverWait(driver, 120).until(lambda d: "/admin/evac_batches/" in d.current_url)
    WebDriverWait(driver, 120).until(EC.presence_of_element_located((By.ID, "evac-items")))


def click_box(driver, box):
    # Horizon's theme hides the real checkbox behind a styled label.
    if not box.is_selected():
        driver.execute_script("arguments[0].click();", box)


def evacuate_through_the_modal(driver, url, host, target):
    """Compute Hosts -> the host's Evacuate Host action -> the modal, target ``target``."""
    driver.get(url + "/admin/evac_hosts/")
    row = WebDriverWait(driver, 120).until(
        EC.presence_of_element_located((By.ID, "compute_hosts__row__%s" % host)))
    found = row.find_elements(By.ID, "compute_hosts__row_%s__action_evacuate_host" % host)
    if not found:
        shot = chromium.screenshot(driver, "truth-no-evacuate-action")
        raise AssertionError("no Evacuate Host action for %s (%s): %s" % (host, shot, row.text))
    if not found[0].is_displayed():
        row.find_element(By.CSS_SELECTOR, ".btn-group .dropdown-toggle").click()
    found[0].click()
    modal = WebDriverWait(driver, 120).until(
        EC.visibility_of_element_located((By.ID, "evac_evacuate_host_modal")))
    Select(modal.find_element(By.NAME, "target_host")).select_by_value(target)
    for box in modal.find_elements(By.NAME, "acknowledge_local_disks"):
        click_box(driver, box)
    chromium.screenshot(driver, "truth-modal")
    modal.find_element(By.CSS_SELECTOR, ".modal-footer [type=submit]").click()


def evacuate_through_the_wizard(driver, url, host):
    driver.get("%s/admin/evac_hosts/%s/wizard/" % (url, host))

    def check(css):
        click_box(driver, WebDriverWait(driver, 120).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, css))))

    def next_step():
        driver.find_element(By.CSS_SELECTOR, ".button-next").click()

    check("input[name='fenced']")
    next_step()
    WebDriverWait(driver, 60).until(EC.visibility_of_element_located(
        (By.CSS_SELECTOR, "[data-evac-select='all']")))
    next_step()
    WebDriverWait(driver, 60).until(lambda d: "fit" in d.find_element(
        By.ID, "evac-capacity-preview").text)
    next_step()
    WebDriverWait(driver, 60).until(EC.visibility_of_element_located((By.NAME, "concurrency")))
    next_step()
    check("input[name='confirm']")
    for box in driver.find_elements(By.CSS_SELECTOR, "input[name='acknowledge_local_disks']"):
        click_box(driver, box)
    chromium.screenshot(driver, "truth-wizard-confirm")
    driver.find_element(By.CSS_SELECTOR, ".button-final").click()


# ------------------------------------------------------------------------------ test

@pytest.fixture
def hosts(local_cloud):
    """A (modal), B (target of A), C (wizard); servers booted on A and C, removed after."""
    a, b, c = local_cloud.compute_hosts[:3]
    local_cloud.tool("seed", "--on", a, "--servers", str(SERVERS), "--prefix", MODAL_PREFIX)
    local_cloud.tool("seed", "--on", c, "--servers", str(SERVERS), "--prefix", WIZARD_PREFIX)
    yield a, b, c
    for host in (a, b, c):
        local_cloud.tool("revive-host", host, "--wait-up", check=False)
    local_cloud.tool("reset", check=False)
    local_cloud.tool("delete-servers", "--prefix", MODAL_PREFIX, check=False)
    local_cloud.tool("delete-servers", "--prefix", WIZARD_PREFIX, check=False)


def test_progress_pages_tell_the_truth(local_cloud, hosts, tmp_path):
    a, b, c = hosts
    nova = local_cloud.nova(version="2.59")
    first = {s.id for s in servers_on(nova, a, MODAL_PREFIX)}
    second = {s.id for s in servers_on(nova, c, WIZARD_PREFIX)}
    assert len(first) == SERVERS and len(second) == SERVERS, (first, second)

    with open(os.path.join(str(tmp_path), "truth_test_settings.py"), "w") as handle:
        handle.write(SETTINGS)
    env = {"DJANGO_SETTINGS_MODULE": "truth_test_settings",
           "PYTHONPATH": os.pathsep.join(filter(None, (str(tmp_path), REPO,
                                                       os.environ.get("PYTHONPATH"))))}
    driver = chromium.make_driver(height=1200)
    try:
        with running_dashboard(tmp_path, local_cloud.auth_url, extra_env=env) as url:
            login(driver, url, local_cloud.admin)

            # 1. The Evacuate Host modal, host A to B.
            fence(local_cloud, a)
            evacuate_through_the_modal(driver, url, a, b)
            wait_for_progress_page(driver)
            first_url = driver.current_url
            end = watch_to_the_end(driver, "modal")
            check_against_nova(nova, end, a, first)
            assert all(r["to"] == b for r in end["rows"]), [r["to"] for r in end["rows"]]
            first_rows = {r["id"]: r for r in end["rows"]}
            first_elapsed = end["elapsedSeconds"]
            bring_back(local_cloud, a)

            # 2. The wizard, host C.
            fence(local_cloud, c)
            evacuate_through_the_wizard(driver, url, c)
            wait_for_progress_page(driver)
            end = watch_to_the_end(driver, "wizard")
            check_against_nova(nova, end, c, second)
            bring_back(local_cloud, c)

            # 3. The first batch's servers move again: B dies, novaclient evacuates them.
            assert {host_of(nova.servers.get(i)) for i in first} == {b}
            fence(local_cloud, b)
            for server_id in first:
                local_cloud.nova(version="2.74").servers.evacuate(server_id)
            wait_nova_evacuated(nova, b, first)
            moved_to = {i: host_of(nova.servers.get(i)) for i in first}
            assert b not in moved_to.values(), moved_to

            driver.get(first_url)
            WebDriverWait(driver, 120).until(
                EC.presence_of_element_located((By.ID, "evac-items")))
            driver.execute_script("window.__evacSamePage = 'yes';")
            time.sleep(2)
            again = observe(driver)
            shot = chromium.screenshot(driver, "truth-first-batch-after-later-move")
            problems = page_problems(again)
            by_instance = {r["instance"]: r for r in again["rows"]}
            if again["counts"].get("done") != len(first_rows) or any(
                    again["counts"].get(s) for s in STATE_LABELS if s != "done"):
                problems.append("counts are no longer all done: %s" % again["counts"])
            for row in again["rows"]:
                prior = first_rows.get(row["id"])
                if row["state"] != "done" or row["label"] != "Done":
                    problems.append("%s no longer reads Done\n%s" % (row["instance"],
                                                                     row["html"]))
                if prior is None:
                    problems.append("a row that was not there: %s" % row["html"])
                    continue
                for key in ("codes", "from", "to", "attempt", "since"):
                    if row[key] != prior[key]:
                        problems.append("%s: its %s was %r, now %r\n%s" % (
                            row["instance"], key, prior[key], row[key], row["html"]))
                if row["later"] and moved_to[row["instance"]] not in row["later"]:
                    problems.append("%s later moved to %s, the page says %r" % (
                        row["instance"], moved_to[row["instance"]], row["later"]))
                print("after the later move:", row["instance"], row["state"], row["codes"],
                      row["to"], repr(row["later"]))
            if "Rebuilding" in "".join(r["text"] for r in again["rows"]):
                problems.append("a row reads Rebuilding")
            if set(by_instance) != {r["instance"] for r in first_rows.values()}:
                problems.append("other instances: %s" % sorted(by_instance))
            if again["pollState"] != "stopped":
                problems.append("the page polls as if not final: %s" % again["pollState"])
            if first_elapsed is not None and abs(again["elapsedSeconds"] - first_elapsed) > 2:
                problems.append("elapsed was %ss at the end, now %ss" % (
                    first_elapsed, again["elapsedSeconds"]))
            time.sleep(4)
            still = observe(driver)
            if still["elapsedText"] != again["elapsedText"]:
                problems.append("elapsed grows: %r then %r" % (again["elapsedText"],
                                                               still["elapsedText"]))
            problems += page_problems(still, again)
            assert not problems, "first batch after the later move (%s):\n%s" % (
                shot, "\n".join(problems))
    finally:
        driver.quit()
