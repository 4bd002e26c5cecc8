#!/usr/bin/env python3
"""Evacuation benchmark on the local cloud (``make bench``): a script, not a test.

Kills a compute host carrying N servers (default 100) and evacuates it three ways:

(a) ``horizon``: as stock Horizon does today. Its ``api.nova.evacuate_host`` (called
    in-process, the real function from the installed ``openstack_dashboard``) lists the
    host's servers through ``hypervisors.search`` and then sends one evacuate after another
    at API 2.1 with ``onSharedStorage``, all inside the web request. Measured: time until
    the call returns (= the request) and time until every migration is ``done``.
(b) ``bare``: no dashboard at all: a thread pool sending the same evacuate request the panel
    sends (``evacuation.request.build_request``, same microversion, same priority order,
    same bounded concurrency), then time until every migration is ``done``. The floor Nova
    sets. One extra run at concurrency 1 shows what concurrency gives on this machine.
(c) ``panel``: through the real web path: a ``manage.py runserver`` dashboard pointed at the
    cloud's Keystone (DEBUG off, assets compressed offline, as in production), logged in through Horizon's login form, GET of the Evacuate Host form
    (the review step, timed on its own), POST of the form (timed until its 302 comes back)
    and time until every migration is ``done``, measured from the start of the POST.

"Done" for every method: every evacuation migration of those servers from the source is
``done`` (or ``completed``) and none of those servers is on the source host any more; the
bench polls Nova once per ``--poll-interval`` (same poller for every method).

Between runs the cloud is put back: ``reset`` (revives the source, turns its ``done``
records ``completed``, unsets forced_down), bench servers deleted and N booted again on the
source, then the source's nova-compute is SIGKILLed and forced down through the API.

Runs with the dashboard's virtualenv (``.venv/bin/python tools/bench_evacuate.py``); the
local cloud is the one in ``$EVAC_LOCALCLOUD_DIR`` (default ``<repo>/.localcloud``). With observers
(``--plan full`` or ``observers``, see ``tools/bench_observers.py``), (c) also runs while
someone watches: the progress page polling ``progress.json`` at its default rate, or
Horizon-style per-row polling; each compared with (c) unwatched, alternating.

The output ends with machine-readable lines::

    request_seconds=<worst panel POST time>
    done_ratio=<median panel time-to-done / median bare time-to-done>
    observer_rows_calls=<median Nova calls caused by per-row polling>
    observer_calls=<median Nova calls caused by the progress page>
    observer_rows_ratio=<median time-to-done with per-row polling / unwatched>
    observer_rows_submit_ratio=<the same for the time to submit>
    observer_cpu_ratio=<median machine CPU-seconds of a run watched by the progress page /
                        unwatched: what watching costs, without the wall clock's noise>
    observer_ratio=<median time-to-done with the progress page / unwatched>
    observer_submit_ratio=<median time to submit with the progress page / unwatched>
"""
import argparse
import concurrent.futures
import contextlib
import datetime
import html.parser
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib import parse

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import bench_observers  # noqa: E402  (tools/, next to this script)

TERMINAL_OK = ("done", "completed")
TERMINAL_FAILED = ("error", "failed")
READ_VERSION = "2.80"  # migrations paged + filterable (2.59), initiator fields (2.80)
TARGET_REQUEST_SECONDS = 2.0
TARGET_DONE_RATIO = 1.15
TARGET_DONE_VS_BEST = 1.05   # the panel against the fastest fixed way (issue 15, item 5)
TARGET_OBSERVER_RATIO = 1.10


class BenchError(Exception):
    pass


# ------------------------------------------------------------------------------ output

class Output:
    """Everything goes to the log file; the summary also goes to stdout."""

    def __init__(self, log_path):
        self.log = open(log_path, "a", buffering=1, encoding="utf-8")
        self.t0 = time.monotonic()

    def say(self, text="", quiet=False):
        stamp = "[%6.0f s] " % (time.monotonic() - self.t0)
        for line in str(text).splitlines() or [""]:
            self.log.write(stamp + line + "\n")
            if not quiet:
                print(line, flush=True)

    def detail(self, text):
        self.say(text, quiet=True)


OUT = None


def say(text=""):
    OUT.say(text)


def detail(text):
    OUT.detail(text)


# --------------------------------------------------------------------- the local cloud

class Cloud:
    """The local cloud tool (subprocess) plus admin API clients built from cloud.json."""

    def __init__(self, datadir, log_path):
        self.datadir = datadir
        self.log_path = log_path
        self.config = None

    def tool(self, *args, timeout=1800):
        started = time.monotonic()
        cmd = [sys.executable, "-m", "evac_dashboard.localcloud", "--dir", str(self.datadir)]
        cmd += [str(a) for a in args]
        detail("$ localcloud %s" % " ".join(str(a) for a in args))
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        output = (proc.stdout or "") + (proc.stderr or "")
        for line in output.splitlines():
            detail("  | " + line)
        if proc.returncode != 0:
            raise BenchError("localcloud %s failed (exit %d):\n%s" % (
                " ".join(str(a) for a in args), proc.returncode, "\n".join(
                    output.splitlines()[-25:])))
        return time.monotonic() - started

    def load(self):
        with open(self.datadir / "cloud.json", encoding="utf-8") as handle:
            self.config = json.load(handle)
        return self.config

    @property
    def auth_url(self):
        return self.config["auth_url"]

    @property
    def region(self):
        return self.config["region"]

    def session(self):
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3

        admin = self.config["admin"]
        auth = v3.Password(auth_url=self.auth_url, username=admin["username"],
                           password=admin["password"], project_name=admin["project_name"],
                           user_domain_name=admin["user_domain_name"],
                           project_domain_name=admin["project_domain_name"])
        return ks_session.Session(auth=auth)

    def compute(self, session=None):
        from keystoneauth1 import adapter

        return adapter.Adapter(session or self.session(), service_type="compute",
                               interface=self.config.get("interface", "public"),
                               region_name=self.region)


class _User:
    pass


class HorizonRequest:
    """What Horizon's and the panel's API layers read from a request: the user's token,
    catalog and region (real Keystone values from a keystoneauth session)."""

    def __init__(self, session, region):
        access = session.auth.get_access(session)
        self.user = _User()
        self.user.token = _User()
        self.user.token.id = access.auth_token
        self.user.token.project = {"id": access.project_id,
                                   "domain_id": access.project_domain_id}
        self.user.service_catalog = access.service_catalog.catalog
        self.user.services_region = region
        self.user.id = access.user_id
        self.user.username = access.username
        self.user.tenant_id = self.user.project_id = access.project_id
        self.user.project_name = access.project_name


def get_json(compute, path, version=READ_VERSION):
    response = compute.get(path, microversion=version, raise_exc=False)
    if response.status_code >= 400:
        raise BenchError("GET %s: %d %s" % (path, response.status_code, response.text[:300]))
    return response.json()


def get_paged(compute, path, key, params, version=READ_VERSION):
    found, query = [], dict(params)
    while True:
        body = get_json(compute, path + "?" + parse.urlencode(query), version)
        page = body.get(key, [])
        found.extend(page)
        marker = None
        for link in body.get(key + "_links", []):
            if link.get("rel") == "next":
                marker = (parse.parse_qs(parse.urlparse(link["href"]).query).get("marker")
                          or [None])[0]
        if not marker or not page:
            return found
        query["marker"] = marker


def servers_on(compute, host, detailed=True):
    path = "/servers/detail" if detailed else "/servers"
    servers = get_paged(compute, path, "servers",
                        {"all_tenants": "1", "host": host, "limit": 1000})
    if detailed:
        servers = [s for s in servers if s.get("OS-EXT-SRV-ATTR:host") == host]
    return servers


def compute_service(compute, host):
    body = get_json(compute, "/os-services?binary=nova-compute&host=%s" % parse.quote(host),
                    "2.53")
    for service in body.get("services", []):
        if service.get("host") == host:
            return service
    raise BenchError("no nova-compute service on %s" % host)


def force_down(compute, host):
    service = compute_service(compute, host)
    response = compute.put("/os-services/%s" % service["id"], json={"forced_down": True},
                           microversion="2.53", raise_exc=False)
    if response.status_code >= 400:
        raise BenchError("force down %s: %d %s" % (host, response.status_code,
                                                   response.text[:300]))
    service = compute_service(compute, host)
    if not service.get("forced_down") or service.get("state") != "down":
        raise BenchError("%s is not down after force down: %s" % (host, service))


def utc_stamp(wall):
    return datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def process_cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU-seconds the whole machine has spent busy so far (every core, Linux /proc/stat):
    the cloud, the dashboard and the observer together. Per run, the difference is what the
    recovery cost the machine, far less noisy than its wall time."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


SERVICE_PATTERNS = (("keystone", r"lc-keystone"), ("placement", r"lc-placement"),
                    ("nova-api", r"lc-nova-api|nova-api"), ("conductor", r"nova-conductor"),
                    ("scheduler", r"nova-scheduler"), ("compute", r"nova-compute"),
                    ("glance", r"glance"), ("neutron", r"neutron|lc_neutron"),
                    ("dashboard", r"manage\.py runserver|apache2|mod_wsgi"),
                    ("mariadb", r"mariadbd|mysqld"), ("rabbitmq", r"beam\.smp|rabbit"),
                    ("bench", r"bench_evacuate|bench_mttr"))


def cpu_by_service():
    """CPU-seconds so far of every running process, summed by what it is (the cloud's
    services, the dashboard, the bench): a run's difference says where its CPU went."""
    totals = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = next((label for label, pattern in SERVICE_PATTERNS
                     if re.search(pattern, command)), "other")
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def cpu_difference(before, after):
    """{service: CPU-seconds spent between two cpu_by_service() readings}, largest first."""
    spent = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    return dict(sorted(((k, round(v, 2)) for k, v in spent.items() if v >= 0.05),
                       key=lambda kv: -kv[1]))


def find_runserver_pid(base_url):
    """The PID of the runserver serving ``base_url`` (read-only scan of /proc)."""
    wanted = ("127.0.0.1:%d" % parse.urlparse(base_url).port).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                args = handle.read().split(b"\0")
        except OSError:
            continue
        if b"runserver" in args and wanted in args:
            return int(entry)
    return None


# ---------------------------------------------------------------------- waiting for done

def wait_done(compute, source, ids, t0_mono, t0_wall, timeout, interval):
    """Poll until every server in ``ids`` has an evacuation from ``source`` that is done
    (or completed) and is no longer on ``source``. Returns a dict of timings measured from
    ``t0_mono``. Only this run's migrations count (``changes-since`` the run start, and
    instance UUIDs of this run's servers, which are new each run). Nova filters
    ``changes-since`` on ``updated_at``, which a just-accepted record does not have yet:
    such records are counted as "not started"."""
    ids = set(ids)
    since = utc_stamp(t0_wall - 5)
    deadline = t0_mono + timeout
    migs_done_at = None
    last_report = 0.0
    polls = 0
    loads = []
    while True:
        polls += 1
        loads.append(os.getloadavg()[0])
        migrations = get_paged(compute, "/os-migrations", "migrations", {
            "source_compute": source, "migration_type": "evacuation",
            "changes-since": since, "limit": 1000})
        latest = {}
        for migration in sorted(migrations, key=lambda m: (m.get("created_at") or "",
                                                           m.get("id") or 0)):
            if migration.get("instance_uuid") in ids:
                latest[migration["instance_uuid"]] = migration
        now = time.monotonic()
        statuses = [m.get("status") for m in latest.values()]
        ok = sum(1 for s in statuses if s in TERMINAL_OK)
        failed = sorted(uid for uid, m in latest.items() if m.get("status") in TERMINAL_FAILED)
        if now - last_report >= 15:
            counts = {}
            for status in statuses:
                counts[status] = counts.get(status, 0) + 1
            if len(ids) > len(latest):
                counts["not started"] = len(ids) - len(latest)
            say("      %5.1f s: %d/%d done; %s" % (
                now - t0_mono, ok, len(ids),
                ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
            last_report = now
        if len(latest) == len(ids) and ok + len(failed) == len(ids):
            if migs_done_at is None:
                migs_done_at = now - t0_mono
            remaining = ids.intersection(s["id"] for s in servers_on(compute, source, False))
            remaining -= set(failed)
            if not remaining:
                done_at = time.monotonic() - t0_mono
                return {"done": done_at, "migrations_done": migs_done_at, "failed": failed,
                        "polls": polls, "load": statistics.mean(loads)}
        if now > deadline:
            raise BenchError("not done after %d s: %d/%d migrations done" % (
                timeout, ok, len(ids)))
        time.sleep(max(0.0, interval - (time.monotonic() - now)))


# --------------------------------------------------------------------------- methods

def run_horizon(ctx, servers):
    """(a) Stock Horizon's evacuate_host, the real function, in this process."""
    from openstack_dashboard.api import nova as horizon_nova

    request = HorizonRequest(ctx.session, ctx.cloud.region)
    cpu0 = time.process_time()
    t0_wall, t0 = time.time(), time.monotonic()
    error = None
    try:
        horizon_nova.evacuate_host(request, ctx.args.source, None, False)
    except Exception as exc:  # Horizon raises one ClientException naming every failure
        error = "%s: %s" % (type(exc).__name__, str(exc)[:300])
    request_s = time.monotonic() - t0
    caller_cpu = time.process_time() - cpu0
    say("    request returned after %.2f s%s" % (request_s, (" with " + error) if error else ""))
    result = wait_done(ctx.compute, ctx.args.source, [s["id"] for s in servers], t0, t0_wall,
                       ctx.args.timeout, ctx.args.poll_interval)
    result.update(request=request_s, submitted=request_s, microversion="2.1 (onSharedStorage)",
                  concurrency=1, error=error, caller_cpu=caller_cpu)
    return result


def run_bare(ctx, servers, concurrency):
    """(b) The panel's evacuate requests from a thread pool; no dashboard."""
    from evac_dashboard.rules import priority
    from evac_dashboard.rules import request as evac_request

    evacuate = evac_request.build_request(evac_request.EvacuateOptions(), ctx.negotiated)
    ordered = priority.submission_order(servers)
    compute = ctx.cloud.compute(ctx.session)
    ctx.session.get_token()  # authenticate before the clock starts (the panel has a token)
    answers = {}

    def send(server):
        response = compute.post("/servers/%s/action" % server["id"], json=evacuate.action(),
                                microversion=evacuate.microversion, raise_exc=False)
        return server["id"], response.status_code, response.text[:200]

    cpu0 = time.process_time()
    t0_wall, t0 = time.time(), time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for server_id, status, text in pool.map(send, ordered):
            answers[server_id] = (status, text)
    submitted = time.monotonic() - t0
    caller_cpu = time.process_time() - cpu0
    refused = {k: v for k, v in answers.items() if v[0] >= 400}
    error = None
    if refused:
        error = "%d evacuate(s) refused, e.g. %s" % (len(refused), next(iter(refused.values())))
    say("    %d evacuate calls answered after %.2f s (%d refused)"
        % (len(answers), submitted, len(refused)))
    accepted = [k for k in answers if k not in refused]
    result = wait_done(ctx.compute, ctx.args.source, accepted, t0, t0_wall, ctx.args.timeout,
                       ctx.args.poll_interval)
    result.update(request=None, submitted=submitted, microversion=evacuate.microversion,
                  concurrency=concurrency, error=error, caller_cpu=caller_cpu)
    return result


class _FormParser(html.parser.HTMLParser):
    """The fields of every <form> on a page: inputs, selects (selected or first option),
    textareas; checkboxes and radios only when checked."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"action": attrs.get("action", ""), "fields": {}, "names": set()}
            self.forms.append(self._form)
        if self._form is None:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            self._form["names"].add(name)
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self._form["fields"][name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "image", "reset"):
                self._form["fields"][name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self._form["names"].add(name)
            self._select = {"name": name, "first": None, "selected": None}
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attrs:
                self._select["selected"] = value
        elif tag == "textarea" and name:
            self._form["names"].add(name)
            self._textarea = name
            self._form["fields"][name] = ""

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self._form is not None:
            chosen = self._select["selected"]
            if chosen is None:
                chosen = self._select["first"] or ""
            self._form["fields"][self._select["name"]] = chosen
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None


def parse_forms(text):
    parser = _FormParser()
    parser.feed(text)
    return parser.forms


def page_errors(text):
    """Error texts of a Horizon page (form errors and messages), for diagnostics."""
    found = re.findall(r'class="[^"]*(?:alert-danger|errorlist|help-block error)[^"]*"[^>]*>'
                       r'(.*?)</', text, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", f)).strip() for f in found][:10]


class Dashboard:
    """A running dashboard (tests/integration/dashboard_server.py) and a logged-in
    requests.Session for the admin."""

    def __init__(self, base_url, admin):
        self.base = base_url
        self.admin = admin
        self.pid = find_runserver_pid(base_url)
        self.last_answer = None

    def login(self, creds=None):
        import requests

        creds = creds or self.admin

        web = requests.Session()
        url = self.base + "/auth/login/"
        page = web.get(url, timeout=300)
        page.raise_for_status()
        forms = [f for f in parse_forms(page.text) if "username" in f["names"]]
        if not forms:
            raise BenchError("no login form at %s" % url)
        data = dict(forms[0]["fields"])
        data.update(username=creds["username"], password=creds["password"])
        if "domain" in forms[0]["names"]:
            data["domain"] = creds["user_domain_name"]
        answer = web.post(parse.urljoin(url, forms[0]["action"] or url), data=data,
                          headers={"Referer": url}, allow_redirects=False, timeout=300)
        location = answer.headers.get("Location", "")
        if answer.status_code != 302 or "/auth/login" in location:
            raise BenchError("login failed: %d %s %s" % (answer.status_code, location,
                                                        page_errors(answer.text)))
        web.get(parse.urljoin(url, location), timeout=300)  # land like a browser would
        return web

    def review(self, web, host):
        """GET the Evacuate Host form. Returns (seconds, form, url)."""
        url = self.base + "/admin/evac_hosts/%s/evacuate/" % parse.quote(host)
        t_get = time.monotonic()
        page = web.get(url, timeout=600)
        review_s = time.monotonic() - t_get
        if page.status_code != 200:
            raise BenchError("GET %s: %d" % (url, page.status_code))
        forms = [f for f in parse_forms(page.text) if "reviewed" in f["names"]]
        if not forms:
            raise BenchError("no evacuate form at %s; page says %s" % (url, page_errors(
                page.text)))
        return review_s, forms[0], url

    def submit(self, web, host, form, url):
        """POST the form as an operator would (scheduler picks, servers come back running,
        local disks acknowledged). Returns (seconds until the 302, batch id, t0, t0_wall)."""
        data = {"csrfmiddlewaretoken": form["fields"].get("csrfmiddlewaretoken", ""),
                "host": host, "target_host": "",
                "reviewed": form["fields"]["reviewed"]}
        if "power_state" in form["names"]:
            data["power_state"] = "running"
        if "acknowledge_local_disks" in form["names"]:
            data["acknowledge_local_disks"] = "on"
        action = parse.urljoin(url, form["action"] or url)
        t0_wall, t0 = time.time(), time.monotonic()
        answer = web.post(action, data=data, headers={"Referer": url}, allow_redirects=False,
                          timeout=600)
        self.last_answer = answer  # its headers say which node answered (deploy test)
        request_s = time.monotonic() - t0
        location = answer.headers.get("Location", "")
        match = re.search(r"/admin/evac_batches/([0-9a-f-]{36})/", location)
        if answer.status_code != 302 or not match:
            raise BenchError("POST %s: %d %s; page says %s" % (
                action, answer.status_code, location, page_errors(answer.text)))
        return request_s, match.group(1), t0, t0_wall


def batch_facts(batch_id, t0_wall):
    """From the dashboard's database: the batch's microversion, concurrency, state and when
    its last evacuate call was answered (seconds after the POST started)."""
    try:
        from django.db import connection
        from django.db.models import Max

        from evac_dashboard.models import EvacuationBatch, EvacuationItem

        batch = EvacuationBatch.objects.get(pk=batch_id)
        items = EvacuationItem.objects.filter(batch_id=batch_id)
        last = items.aggregate(last=Max("submitted_at"))["last"]
        counts = {}
        for state in items.values_list("submit_state", flat=True):
            counts[state] = counts.get(state, 0) + 1
        connection.close()
        return {"microversion": batch.microversion, "concurrency": batch.concurrency,
                "state": batch.state, "items": counts,
                "submitted": (last.timestamp() - t0_wall) if last else None}
    except Exception as exc:  # diagnostics only: the timings come from Nova
        detail("    could not read batch %s from the dashboard DB: %s" % (batch_id, exc))
        return {}


def start_observer(ctx, kind, instance_id):
    """A logged-in, warmed-up observer of ``kind`` (bench_observers.OBSERVERS), not started
    yet, and the counter of the Nova calls it causes."""
    import requests

    logged_in = ctx.dashboard.login(ctx.observer_creds)

    def web_factory():  # one session cookie, several connections: like a browser's tabs
        web = requests.Session()
        web.cookies.update(logged_in.cookies)
        return web

    observer = bench_observers.OBSERVERS[kind](web_factory, ctx.dashboard.base)
    observer.warm_up(instance_id)
    counter = bench_observers.NovaLogCounter(ctx.cloud.datadir / "logs" / "nova-api.log",
                                             ctx.observer_user_id)
    return observer, counter


def run_panel(ctx, servers, observer_kind=None):
    """(c) Log in, GET the Evacuate Host form, POST it, wait for done; with an observer
    watching from the moment the POST is answered (as the redirect to the progress page
    would) until done."""
    web = ctx.dashboard.login()
    review_s, form, url = ctx.dashboard.review(web, ctx.args.source)
    observer = counter = None
    if observer_kind:
        observer, counter = start_observer(ctx, observer_kind, servers[0]["id"])
    pid = ctx.dashboard.pid
    cpu0 = process_cpu_seconds(pid) if pid else None
    busy0 = machine_busy_seconds()
    services0 = cpu_by_service()
    if counter:
        counter.start()
    request_s, batch_id, t0, t0_wall = ctx.dashboard.submit(web, ctx.args.source, form, url)
    if observer:
        observer.start(batch_id, [s["id"] for s in servers])
    say("    review GET %.2f s; POST answered 302 after %.3f s (batch %s)"
        % (review_s, request_s, batch_id))
    try:
        result = wait_done(ctx.compute, ctx.args.source, [s["id"] for s in servers], t0,
                           t0_wall, ctx.args.timeout, ctx.args.poll_interval)
    finally:
        if observer:
            observer.stop()
    caller_cpu = (process_cpu_seconds(pid) - cpu0) if pid else None
    result["machine_cpu"] = machine_busy_seconds() - busy0
    result["cpu_by_service"] = cpu_difference(services0, cpu_by_service())
    say("    CPU-seconds by process: %s" % ", ".join(
        "%s %.2f" % kv for kv in result["cpu_by_service"].items()))
    if observer:
        calls, kinds = counter.count()
        result.update(observer_gets=observer.requests, observer_failed=observer.failures,
                      observer_calls=calls)
        say("    observer %s: %d GETs to the dashboard (%d failed) caused %d Nova calls: %s"
            % (observer_kind, observer.requests, observer.failures, calls, ", ".join(
                "%s %d" % kv for kv in sorted(kinds.items(), key=lambda kv: -kv[1]))))
    facts = batch_facts(batch_id, t0_wall)
    failed_items = sum(v for k, v in facts.get("items", {}).items() if k != "submitted")
    result.update(request=request_s, review=review_s, batch=batch_id,
                  submitted=facts.get("submitted"), microversion=facts.get("microversion"),
                  concurrency=facts.get("concurrency"), caller_cpu=caller_cpu,
                  error=("batch items %s" % facts["items"]) if failed_items else None)
    return result


# ------------------------------------------------------------------------ preparation

def settle_cloud(ctx):
    """All computes up and not forced down (revives the source: its `done` records turn
    `completed`)."""
    return ctx.cloud.tool("reset")


def clear_foreign_servers(ctx):
    """Servers on the source that are not the bench's (the default seed puts some on every
    host) are evacuated off it once, untimed, so every run moves the same N servers."""
    prefix = ctx.args.prefix + "-"
    foreign = [s for s in servers_on(ctx.compute, ctx.args.source)
               if not s.get("name", "").startswith(prefix)]
    if not foreign:
        return
    say("moving %d non-bench server(s) off %s first (once, not timed): %s" % (
        len(foreign), ctx.args.source, ", ".join(sorted(s["name"] for s in foreign))))
    ctx.cloud.tool("kill-host", ctx.args.source)
    force_down(ctx.compute, ctx.args.source)
    result = run_bare(ctx, foreign, ctx.args.concurrency)
    if result["failed"] or result.get("error"):
        raise BenchError("could not move the non-bench servers off %s: %s" % (
            ctx.args.source, result))
    settle_cloud(ctx)


def prepare(ctx):
    """N bench servers ACTIVE on the source; the source killed and forced down."""
    args = ctx.args
    timings = {"reset": settle_cloud(ctx)}
    clear_foreign_servers(ctx)
    timings["delete"] = ctx.cloud.tool("delete-servers", "--prefix", args.prefix)
    timings["seed"] = ctx.cloud.tool("seed", "--on", args.source, "--servers", args.servers,
                                     "--prefix", args.prefix)
    servers = servers_on(ctx.compute, args.source)
    wrong = [s for s in servers if s.get("status") != "ACTIVE"
             or not s.get("name", "").startswith(args.prefix + "-")]
    if len(servers) != args.servers or wrong:
        raise BenchError("expected %d ACTIVE bench servers on %s, found %d (%d unexpected)"
                         % (args.servers, args.source, len(servers), len(wrong)))
    t0 = time.monotonic()
    ctx.cloud.tool("kill-host", args.source)
    force_down(ctx.compute, args.source)
    timings["kill+force_down"] = time.monotonic() - t0
    time.sleep(args.settle)
    timings["quiet"], idle = wait_quiet(args.quiet_idle, args.quiet_timeout)
    detail("    prepared: %s; CPU idle %.0f %%" % (
        ", ".join("%s %.1f s" % kv for kv in timings.items()), idle * 100))
    return servers, timings


def cpu_idle_share(seconds=1.0):
    """Share of the machine's CPU time that was idle over the next ``seconds``."""
    def read():
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait, total
    idle0, total0 = read()
    time.sleep(seconds)
    idle1, total1 = read()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_quiet(idle_wanted, timeout):
    """Wait until the cloud has finished what seeding and the kill left behind (CPU idle
    at least ``idle_wanted`` for three seconds in a row, at most ``timeout`` s), so that
    each timed run starts from the same quiet machine. Returns (seconds waited, last idle
    share)."""
    started, streak, idle = time.monotonic(), 0, 0.0
    while time.monotonic() - started < timeout and streak < 3:
        idle = cpu_idle_share()
        streak = streak + 1 if idle >= idle_wanted else 0
    return time.monotonic() - started, idle


# ---------------------------------------------------------------------------- report

def fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, float):
        return "%.*f" % (digits, value)
    return str(value)


COLUMNS = (("run", "run", 3), ("method", "method", 22), ("conc", "concurrency", 4),
           ("mv", "microversion", 6), ("n", "servers", 4), ("review_s", "review", 8),
           ("request_s", "request", 9), ("submitted_s", "submitted", 11),
           ("done_s", "done", 7), ("failed", "failed_count", 6), ("load", "load", 5),
           ("cpu_s", "caller_cpu", 5), ("mach_cpu", "machine_cpu", 8),
           ("obs_gets", "observer_gets", 8),
           ("obs_nova", "observer_calls", 8))


def row_text(row):
    cells = []
    for _head, key, width in COLUMNS:
        value = row.get(key)
        if key == "microversion" and value and "(" in str(value):
            value = str(value).split()[0]
        cells.append(fmt(value if not isinstance(value, float) else round(value, 2)).ljust(width))
    return "  ".join(cells).rstrip()


def header_text():
    return "  ".join(head.ljust(width) for head, _key, width in COLUMNS).rstrip()


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ------------------------------------------------------------------------------ main

class Context:
    pass


def setup_django(run_dir, cloud):
    """Django settings for this process: the dev settings on the dashboard's database (so
    the batch the panel wrote can be read back) and the cloud's Keystone. Stock Horizon's
    evacuate_host (method a) and the panel's models need them."""
    os.environ["EVAC_RUN_DIR"] = str(run_dir)
    os.environ["EVAC_KEYSTONE_URL"] = cloud.auth_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "evac_dashboard.devsite.settings"
    import warnings

    warnings.filterwarnings("ignore")
    import django

    with quiet_output():  # Horizon prints "No local_settings file found." and warnings
        django.setup()


@contextlib.contextmanager
def quiet_output():
    """Send this process's (and its children's) stdout/stderr to the log meanwhile."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(OUT.log.fileno(), 1)
        os.dup2(OUT.log.fileno(), 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


# The dashboard runs as in production: DEBUG off, CSS/JS compressed offline beforehand. With
# DEBUG on, django-compressor compiles Horizon's SCSS on every page (about 1.5 s of CPU per
# page on this machine instead of 0.1 s), which would charge the dev setup to the panel.
PRODUCTION_ENV = {"EVAC_DEBUG": "0"}


def production_assets(run_dir, auth_url):
    """``collectstatic`` and ``compress`` into the bench dashboard's run directory."""
    from tests.integration.dashboard_server import dashboard_env

    env = dashboard_env(run_dir, auth_url, PRODUCTION_ENV)
    for command in (["collectstatic", "--noinput", "-v", "0"], ["compress", "--force"]):
        proc = subprocess.run([sys.executable, str(REPO / "manage.py")] + command, env=env,
                              cwd=REPO, capture_output=True, text=True, timeout=900)
        detail("$ manage.py %s\n%s" % (" ".join(command), proc.stdout + proc.stderr))
        if proc.returncode != 0:
            raise BenchError("manage.py %s failed: %s" % (" ".join(command),
                                                          proc.stderr[-2000:]))


class DashboardSwitch:
    """The bench's one dashboard, restarted with other settings in its environment (a dict
    of EVAC_* names, read by devsite/settings.py; empty: the defaults) when the next run
    needs others, so that every run writes one database."""

    def __init__(self, run_dir, cloud):
        self.run_dir, self.cloud = run_dir, cloud
        self.stack = self.dashboard = self.settings = None

    def use(self, settings):
        settings = dict(settings or {})
        if self.dashboard is not None and settings == self.settings:
            return self.dashboard
        from tests.integration.dashboard_server import running_dashboard

        self.close()
        env = dict(PRODUCTION_ENV, **settings)
        self.stack = contextlib.ExitStack()
        with quiet_output():
            base_url = self.stack.enter_context(running_dashboard(
                self.run_dir, self.cloud.auth_url, extra_env=env))
        self.dashboard = Dashboard(base_url, self.cloud.config["admin"])
        self.dashboard.login()  # a fresh runserver's first request loads Horizon: not timed
        self.settings = settings
        return self.dashboard

    def close(self):
        if self.stack is not None:
            self.stack.close()
        self.stack = self.dashboard = None


def panel_settings(args, method):
    """The dashboard's settings (environment) for a run of ``method``."""
    if args.pacing_ab and method in ("panel", "panel-paced"):
        return {"EVAC_PACING": "1" if method == "panel-paced" else "0"}
    if method == "panel-variant":
        return dict(pair.split("=", 1) for pair in args.ab_env)
    return {}


def negotiated_version(compute):
    from evac_dashboard.rules import microversions
    import novaclient

    current = get_json(compute, "/", None).get("version") or {}  # GET /v2.1/
    return microversions.negotiate(current.get("min_version") or "2.1",
                                   current.get("version") or "2.1",
                                   novaclient.API_MAX_VERSION)


def build_plan(args):
    """Every compared way alternated, ``--repeats`` rounds: (a) Horizon's loop, (b) the bare
    script with ``--concurrency`` callers and with one, (c) the panel and (c) watched by each
    observer. ``--plan methods`` leaves the observers out, ``--plan observers`` runs only (c)
    with and without them; ``--no-horizon`` and ``--no-serial-check`` drop (a) and (b) at 1."""
    methods = args.plan in ("full", "methods")
    observers = args.plan in ("full", "observers")
    plan = []
    for _repeat in range(args.repeats):
        if methods and not args.no_horizon:
            plan.append(("horizon", 1))
        if methods and not getattr(args, "no_bare", False):
            plan.append(("bare", args.concurrency))
            if args.serial_check and args.concurrency != 1:
                plan.append(("bare", 1))
        plan.append(("panel", None))
        if getattr(args, "pacing_ab", False):
            plan.append(("panel-paced", None))
        if getattr(args, "ab_env", None):
            plan.append(("panel-variant", None))
        if observers:
            plan.extend(("panel+%s" % kind, None) for kind in args.observers)
    return plan


def best_fixed(rows, concurrency):
    """``(label, median done)`` of the fastest fixed way: Horizon's loop, the bare script
    with ``concurrency`` callers or with one; ``(None, None)`` when none ran."""
    ways = (("Horizon's loop", "horizon", None), ("bare, %d callers" % concurrency, "bare",
                                                  concurrency), ("bare, 1 caller", "bare", 1))
    medians = []
    for label, method, callers in ways:
        done = median([r["done"] for r in rows if r["method"] == method
                       and (callers is None or r["concurrency"] == callers)])
        if done:
            medians.append((done, label))
    if not medians:
        return None, None
    done, label = min(medians)
    return label, done


LABELS = {"bare": "(b) bare script", "panel": "(c) panel", "horizon": "(a) Horizon today",
          "panel-paced": "(c) panel, pacing on", "panel-variant": "(c) panel, --ab-env",
          "panel+progress": "(c) + progress page", "panel+rows": "(c) + per-row polling"}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", type=int, default=100, help="servers on the failed host (100)")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs of each compared method, alternating (3)")
    p.add_argument("--plan", choices=("full", "methods", "observers", "mttr"), default="full",
                   help="full: everything (about 75 min); methods: Horizon vs bare vs panel; "
                        "observers: the panel unwatched vs watched (progress page, per-row); "
                        "mttr: time to recovery of a failed host, panel vs Masakari vs "
                        "Horizon vs the unsafe floor (tools/bench_mttr.py)")
    p.add_argument("--observers", nargs="+", choices=sorted(bench_observers.OBSERVERS),
                   default=sorted(bench_observers.OBSERVERS),
                   help="which observers watch (c) (default: progress rows)")
    p.add_argument("--source", default="cmp1", help="the host that fails (cmp1)")
    p.add_argument("--prefix", default="bench", help="bench server name prefix (bench)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="evacuate calls in flight for (b) (default: the panel's, 8)")
    p.add_argument("--no-serial-check", dest="serial_check", action="store_false",
                   help="skip the extra (b) run at concurrency 1")
    p.add_argument("--no-horizon", action="store_true", help="skip (a)")
    p.add_argument("--no-bare", action="store_true", help="skip (b)")
    p.add_argument("--ab-env", nargs="+", metavar="NAME=VALUE", default=[],
                   help="run the panel twice each round, the second time ('(c) panel, "
                        "--ab-env') with these settings in its environment (e.g. "
                        "EVAC_PACING_CHECK_SECONDS=0.5; devsite/settings.py reads them)")
    p.add_argument("--pacing-ab", action="store_true",
                   help="--plan methods/full: run the panel twice each round, with EVAC_PACING "
                        "off ('(c) panel') and on ('(c) panel, pacing on'), and compare them")
    p.add_argument("--poll-interval", type=float, default=1.0,
                   help="seconds between polls of Nova while waiting for done (1.0)")
    p.add_argument("--timeout", type=float, default=900, help="per-run done timeout (900 s)")
    p.add_argument("--quiet-idle", type=float, default=0.6,
                   help="before each timed run, wait until this share of the CPU is idle "
                        "for 3 s (default 0.6)")
    p.add_argument("--quiet-timeout", type=float, default=60.0,
                   help="... but at most this many seconds (default 60)")
    p.add_argument("--settle", type=float, default=5.0,
                   help="seconds to wait after preparing a run before it starts (5)")
    p.add_argument("--keep-servers", action="store_true",
                   help="leave the bench servers (and the source dead) at the end")
    p.add_argument("--out", help="directory for logs (default .artifacts/bench/<time>)")
    import bench_mttr  # tools/: its own options (--plan mttr)
    bench_mttr.add_arguments(p)
    return p.parse_args(argv)


def main(argv=None):
    global OUT
    args = parse_args(argv)
    if args.plan == "mttr":
        import bench_mttr
        return bench_mttr.main(args)
    datadir = Path(os.environ.get("EVAC_LOCALCLOUD_DIR", "").strip() or REPO / ".localcloud")
    datadir = datadir.expanduser().resolve()
    os.environ["EVAC_LOCALCLOUD_DIR"] = str(datadir)
    out_dir = Path(args.out or REPO / ".artifacts" / "bench" /
                   time.strftime("%Y%m%d-%H%M%S")).resolve()
    (out_dir / "dashboard").mkdir(parents=True, exist_ok=True)
    OUT = Output(out_dir / "bench.log")

    try:
        import requests  # noqa: F401
        import keystoneauth1  # noqa: F401
        import openstack_dashboard  # noqa: F401
    except ImportError as exc:
        raise SystemExit("run this with the dashboard's virtualenv (.venv/bin/python): %s" % exc)

    cloud = Cloud(datadir, out_dir / "bench.log")
    cloud.tool("up")
    cloud.load()
    setup_django(out_dir / "dashboard", cloud)
    from evac_dashboard import conf

    ctx = Context()
    ctx.args = args
    ctx.cloud = cloud
    ctx.session = cloud.session()
    ctx.compute = cloud.compute(ctx.session)
    ctx.negotiated = negotiated_version(ctx.compute)
    args.concurrency = args.concurrency or conf.DEFAULT_SUBMIT_CONCURRENCY
    plan = build_plan(args)
    if any("+" in method for method, _c in plan):
        ctx.observer_creds, ctx.observer_user_id = bench_observers.ensure_observer_user(
            ctx.session, cloud.auth_url, cloud.config["admin"]["project_name"])

    from evac_dashboard.rules import request as evac_request
    sent = evac_request.build_request(evac_request.EvacuateOptions(), ctx.negotiated)
    say("evacuation benchmark: %d servers on %s, cloud %s (Keystone %s)"
        % (args.servers, args.source, datadir, cloud.auth_url))
    say("negotiated compute microversion %s; the panel and (b) send evacuate at %s, body %s"
        % (".".join(map(str, ctx.negotiated)), sent.microversion, json.dumps(sent.action())))
    say("runs: %s; logs in %s" % (", ".join(
        "%s%s" % (LABELS[m], " (%d callers)" % c if m == "bare" else "") for m, c in plan), out_dir))
    say("cores: %d; load average at start: %s" % (os.cpu_count() or 0,
                                                   " ".join("%.2f" % x for x in os.getloadavg())))

    rows = []
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        with quiet_output():  # manage.py migrate's warnings go to the log
            production_assets(out_dir / "dashboard", cloud.auth_url)
        dashboards = DashboardSwitch(out_dir / "dashboard", cloud)
        stack.callback(dashboards.close)
        ctx.dashboard = dashboards.use(panel_settings(args, "panel"))
        say("dashboard %s (runserver, log %s)%s" % (
            ctx.dashboard.base, out_dir / "dashboard" / "runserver.log",
            "; A/B of pacing: '(c) panel' runs with EVAC_PACING off, '(c) panel, pacing on' "
            "with it on (the dashboard restarted between them, untimed)"
            if args.pacing_ab else ""))
        say("")
        for number, (method, concurrency) in enumerate(plan, 1):
            if method.startswith("panel"):
                ctx.dashboard = dashboards.use(panel_settings(args, method))
            say("run %d/%d: %s%s — preparing (reset, %d servers on %s, kill, force down)"
                % (number, len(plan), LABELS[method],
                   " at concurrency %d" % concurrency if method == "bare" else "",
                   args.servers, args.source))
            servers, prep = prepare(ctx)
            load = os.getloadavg()[0]
            say("    prepared in %.0f s; evacuating (load %.2f)" % (sum(prep.values()), load))
            if method == "bare":
                result = run_bare(ctx, servers, concurrency)
            elif method.startswith("panel"):
                result = run_panel(ctx, servers, method.partition("+")[2] or None)
            else:
                result = run_horizon(ctx, servers)
            row = {"run": number, "method": method, "servers": len(servers),
                   "failed_count": len(result["failed"]), "load_at_start": load,
                   "prepare": prep}
            row.update(result)
            rows.append(row)
            say("    done after %.2f s (%d polls)" % (result["done"], result["polls"]))
            say("    " + header_text())
            say("    " + row_text(dict(row, method=LABELS[method])))
            say("")
            with open(out_dir / "results.json", "w", encoding="utf-8") as handle:
                json.dump({"args": vars(args), "rows": rows}, handle, indent=1, default=str)

    if not args.keep_servers:
        say("putting the cloud back (reset, delete the bench servers)")
        settle_cloud(ctx)
        cloud.tool("delete-servers", "--prefix", args.prefix)

    return report(args, rows, time.monotonic() - started)


def report(args, rows, elapsed):
    say("=" * 100)
    say("results (%d servers on %s; times in seconds; 'done' = every migration done and every"
        % (args.servers, args.source))
    say("server off the source, measured from the first evacuate call / the POST start; load ="
        " mean 1-min")
    say("load average of the machine while waiting for done, %d cores)" % (os.cpu_count() or 0))
    say("")
    say(header_text())
    for row in rows:
        say(row_text(dict(row, method=LABELS[row["method"]])))
    say("")
    bare = [r for r in rows if r["method"] == "bare" and r["concurrency"] == args.concurrency]
    serial = [r for r in rows if r["method"] == "bare" and r["concurrency"] == 1
              and args.concurrency != 1]
    panel = [r for r in rows if r["method"] == "panel"]
    horizon = [r for r in rows if r["method"] == "horizon"]
    bare_done = median([r["done"] for r in bare])
    panel_done = median([r["done"] for r in panel])
    request_worst = max((r["request"] for r in panel), default=None)
    ratio = panel_done / bare_done if panel_done and bare_done else None
    say("medians over %d (b) and %d (c) runs:" % (len(bare), len(panel)))
    say("  (b) bare   time-to-done median %s s  (runs: %s); all calls answered median %s s"
        % (fmt(bare_done), ", ".join(fmt(r["done"]) for r in bare),
           fmt(median([r["submitted"] for r in bare]))))
    say("  (c) panel  time-to-done median %s s  (runs: %s); all calls answered median %s s"
        % (fmt(panel_done), ", ".join(fmt(r["done"]) for r in panel),
           fmt(median([r["submitted"] for r in panel]))))
    pairs = [(b, c) for b, c in zip(bare, panel)]
    if pairs:
        say("  pairs (c) / the (b) run before it: %s" % ", ".join(
            "%.2f" % (c["done"] / b["done"]) for b, c in pairs))
    say("  (c) panel  review GET median %s s; POST (request) median %s s, worst %s s"
        % (fmt(median([r.get("review") for r in panel])),
           fmt(median([r["request"] for r in panel]), 3), fmt(request_worst, 3)))
    for r in horizon:
        say("  (a) Horizon today: request %s s (the whole loop, %d calls at 2.1, one after "
            "another in the request); done %s s" % (fmt(r["request"]), r["servers"],
                                                    fmt(r["done"])))
    best_label, best_done = best_fixed(rows, args.concurrency)
    vs_best = panel_done / best_done if panel_done and best_done else None
    if best_done:
        say("  fastest fixed way: %s, median time-to-done %s s; the panel's median is %s x it"
            % (best_label, fmt(best_done), fmt(vs_best, 3)))
    paced = [r for r in rows if r["method"] == "panel-paced"]
    paced_done = median([r["done"] for r in paced])
    paced_vs_best = paced_done / best_done if paced_done and best_done else None
    pacing_ratio = paced_done / panel_done if paced_done and panel_done else None
    if paced:
        say("  (c) panel, pacing on: time-to-done median %s s (runs: %s); %s x the fastest "
            "fixed way, %s x the panel with pacing off" % (
                fmt(paced_done), ", ".join(fmt(r["done"]) for r in paced),
                fmt(paced_vs_best, 3), fmt(pacing_ratio, 3)))
    variant = [r for r in rows if r["method"] == "panel-variant"]
    variant_done = median([r["done"] for r in variant])
    variant_ratio = variant_done / panel_done if variant_done and panel_done else None
    if variant:
        say("  (c) panel with %s: time-to-done median %s s (runs: %s); %s x the panel" % (
            " ".join(args.ab_env), fmt(variant_done), ", ".join(fmt(r["done"]) for r in variant),
            fmt(variant_ratio, 3)))
    for r in serial:
        many_submit = median([b["submitted"] for b in bare])
        say("  concurrency (b): 1 caller: all calls answered in %s s, done %s s; %d callers "
            "(median): answered in %s s, done %s s" % (
                fmt(r["submitted"]), fmt(r["done"]), args.concurrency, fmt(many_submit),
                fmt(bare_done)))
        say("    -> %d callers submit %.2fx faster; their time-to-done is %.2fx the 1-caller one"
            % (args.concurrency, r["submitted"] / many_submit, bare_done / r["done"]))
    failures = [r for r in rows if r["failed_count"] or r.get("error")]
    for r in failures:
        say("  run %d had problems: %d failed migration(s); %s"
            % (r["run"], r["failed_count"], r.get("error") or ""))
    observer_ratios = report_observers(rows)
    say("")
    if request_worst is not None:
        say("target: panel request <= %.1f s: %s (worst %.3f s)" % (
            TARGET_REQUEST_SECONDS, "met" if request_worst <= TARGET_REQUEST_SECONDS
            else "NOT met", request_worst))
    if ratio is not None:
        say("target: panel median time-to-done <= %.2fx bare median: %s (%.3fx)" % (
            TARGET_DONE_RATIO, "met" if ratio <= TARGET_DONE_RATIO else "NOT met", ratio))
    if vs_best is not None:
        say("target: panel median time-to-done <= %.2fx the fastest fixed way: %s (%.3fx)" % (
            TARGET_DONE_VS_BEST, "met" if vs_best <= TARGET_DONE_VS_BEST else "NOT met",
            vs_best))
    for kind, name in (("progress", "observer_ratio"), ("progress", "observer_submit_ratio")):
        value = observer_ratios.get(name)
        if value is not None:
            say("target: %s (%s) <= %.2f: %s (%.3f)" % (
                name, LABELS["panel+" + kind], TARGET_OBSERVER_RATIO,
                "met" if value <= TARGET_OBSERVER_RATIO else "NOT met", value))
    say("bench took %.0f min" % (elapsed / 60))
    final = [("request_seconds", request_worst, 3)]
    if args.plan != "observers":
        final += [("done_ratio", ratio, 3), ("best_fixed_done_seconds", best_done, 2),
                  ("done_vs_best_ratio", vs_best, 3)]
    if getattr(args, "pacing_ab", False):
        final += [("unpaced_done_seconds", panel_done, 2), ("paced_done_seconds", paced_done, 2),
                  ("paced_done_vs_best_ratio", paced_vs_best, 3),
                  ("paced_vs_unpaced_ratio", pacing_ratio, 3)]
    if variant:
        final += [("variant_done_seconds", variant_done, 2),
                  ("variant_vs_panel_ratio", variant_ratio, 3)]
    if args.plan != "methods":
        names = ("observer_calls", "observer_cpu_ratio", "observer_ratio",
                 "observer_submit_ratio")
        if "rows" in args.observers:
            names = ("observer_rows_calls", "observer_calls", "observer_rows_cpu_ratio",
                     "observer_cpu_ratio", "observer_rows_ratio",
                     "observer_rows_submit_ratio", "observer_ratio", "observer_submit_ratio")
        final += [(name, observer_ratios.get(name), 3) for name in names]
    for name, value, digits in final:
        say("%s=%s" % (name, fmt(value, digits) if value is not None else "nan"))
    complete = all(value is not None for _name, value, _d in final)
    return 0 if complete and not failures else 1


def report_observers(rows):
    """Medians of the unwatched and watched panel runs; returns the ratio figures."""
    groups = {kind: [r for r in rows if r["method"] == ("panel+" + kind if kind else "panel")]
              for kind in (None, "progress", "rows")}
    if not groups["progress"] and not groups["rows"]:
        return {}
    base = groups[None]
    base_done = median([r["done"] for r in base])
    base_submit = median([r["submitted"] for r in base])
    say("")
    say("observers (medians; submit = POST start until the last evacuate call was answered,"
        " done = as above;")
    say("observer Nova calls = nova-api requests made as the observer's own user while it"
        " watched):")
    say("  %-24s %4s  %8s  %8s  %9s  %10s" % ("", "runs", "submit_s", "done_s", "obs GETs",
                                              "obs Nova"))
    figures = {}
    for kind, group in groups.items():
        label = LABELS["panel+" + kind] if kind else "(c) panel, unwatched"
        submit = median([r["submitted"] for r in group])
        done = median([r["done"] for r in group])
        gets = median([r.get("observer_gets") for r in group])
        calls = median([r.get("observer_calls") for r in group])
        say("  %-24s %4d  %8s  %8s  %9s  %10s" % (label, len(group), fmt(submit), fmt(done),
                                                  fmt(gets, 0), fmt(calls, 0)))
        say("  %-24s       runs: submit %s; done %s" % ("", ", ".join(
            fmt(r["submitted"]) for r in group), ", ".join(fmt(r["done"]) for r in group)))
        if not kind:
            continue
        prefix = "observer" if kind == "progress" else "observer_" + kind
        figures[prefix + "_calls"] = calls
        base_cpu = median([r.get("machine_cpu") for r in base])
        cpu = median([r.get("machine_cpu") for r in group])
        if cpu and base_cpu:
            figures[prefix + "_cpu_ratio"] = cpu / base_cpu
            say("  %-24s       machine CPU-seconds: %s (unwatched %s)" % ("", ", ".join(
                fmt(r.get("machine_cpu")) for r in group), ", ".join(
                fmt(r.get("machine_cpu")) for r in base)))
        names = sorted({n for r in base + group for n in r.get("cpu_by_service", {})})
        if names and group:
            say("  %-24s       CPU-s by process, median watched / unwatched: %s" % ("", ", ".join(
                "%s %s/%s" % (n, fmt(median([r.get("cpu_by_service", {}).get(n, 0.0)
                                             for r in group])),
                              fmt(median([r.get("cpu_by_service", {}).get(n, 0.0)
                                          for r in base]))) for n in names)))
        if done and base_done:
            figures[prefix + "_ratio"] = done / base_done
        if submit and base_submit:
            figures[prefix + "_submit_ratio"] = submit / base_submit
    for kind in ("progress", "rows"):
        prefix = "observer" if kind == "progress" else "observer_" + kind
        if prefix + "_ratio" in figures:
            say("  %s / unwatched: time to done %.3fx, time to submit %s" % (
                LABELS["panel+" + kind], figures[prefix + "_ratio"],
                "%.3fx" % figures[prefix + "_submit_ratio"]
                if prefix + "_submit_ratio" in figures else "-"))
    return figures


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        if OUT is not None:
            OUT.say("bench failed: %s" % error)
        else:
            print("bench failed: %s" % error, file=sys.stderr)
        sys.exit(2)
