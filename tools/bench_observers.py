"""Observers for ``tools/bench_evacuate.py``: someone watching an evacuation while it runs.

Does watching slow the recovery down? Two ways of watching a 100-server evacuation:

* ``progress``: the panel's progress page as a browser runs it: one GET of
  ``<batch>/progress.json`` every ``poll.interval_seconds`` (3 s by default). Always the
  base interval, never the script's back-off: the most this page ever asks for.
* ``rows``: Horizon-style per-row polling: every instance's row fetched on its own every
  2.5 s (Horizon's ``ajax_poll_interval``), at most 6 requests in flight (a browser's
  connections per host). The row is stock Horizon's Admin > Instances row update
  (``?action=row_update&table=instances&obj_id=<id>``, ``AdminUpdateRow``) served by the same
  dashboard process, so each GET costs what it costs in Horizon: a Nova server GET plus
  Neutron and Keystone lookups.

The observer logs in as its own admin user (``OBSERVER_USER``, created in Keystone when
missing), so the Nova calls it causes are counted exactly: the nova-api request log lines
carrying that user's id while it watched. The bench's own "done" poller and the panel's
submission run as ``admin`` and are not counted.
"""
import concurrent.futures
import re
import threading
import time
from urllib import parse

OBSERVER_USER = "evac-bench-observer"
OBSERVER_PASSWORD = "observer-secret"
ROW_POLL_SECONDS = 2.5
ROW_CONNECTIONS = 6
REQUEST_TIMEOUT = 120
AJAX_HEADERS = {"X-Requested-With": "XMLHttpRequest"}  # as the browser's polling sends


def ensure_observer_user(session, auth_url, project_name):
    """The observer's admin user in Keystone (created, or its password reset). Returns
    (credentials dict in cloud.json's shape, user id)."""
    identity = auth_url.rstrip("/")

    def call(method, path, body=None):
        response = session.request(identity + path, method, json=body, raise_exc=False)
        if response.status_code >= 400:
            raise RuntimeError("Keystone %s %s: %d %s" % (method, path, response.status_code,
                                                         response.text[:200]))
        return response.json() if response.content else {}

    def find(collection, name):
        found = call("GET", "/%s?name=%s" % (collection, parse.quote(name)))[collection]
        return found[0] if found else None

    user = find("users", OBSERVER_USER)
    if user:
        call("PATCH", "/users/%s" % user["id"],
             {"user": {"password": OBSERVER_PASSWORD, "enabled": True}})
    else:
        user = call("POST", "/users", {"user": {
            "name": OBSERVER_USER, "password": OBSERVER_PASSWORD, "domain_id": "default",
            "enabled": True}})["user"]
    project, role = find("projects", project_name), find("roles", "admin")
    call("PUT", "/projects/%s/users/%s/roles/%s" % (project["id"], user["id"], role["id"]))
    creds = {"username": OBSERVER_USER, "password": OBSERVER_PASSWORD,
             "project_name": project_name, "user_domain_name": "Default",
             "project_domain_name": "Default"}
    return creds, user["id"]


class NovaLogCounter:
    """Counts nova-api request-log lines of one user written after ``start()``."""

    def __init__(self, log_path, user_id):
        self.path = log_path
        self.user_id = user_id
        self.offset = 0

    def start(self):
        try:
            self.offset = self.path.stat().st_size
        except OSError:
            self.offset = 0

    def count(self):
        """(calls, {"GET /v2.1/servers/{id}": n, ...}) since ``start()``."""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            text = handle.read().decode("utf-8", "replace")
        wanted = " %s " % self.user_id
        kinds = {}
        for line in text.splitlines():
            if "requestlog" not in line or wanted not in line:
                continue
            kind = _request_kind(line)
            kinds[kind] = kinds.get(kind, 0) + 1
        return sum(kinds.values()), kinds


def _request_kind(line):
    """'"GET /v2.1/servers/<uuid>?x=1" status' -> 'GET /v2.1/servers/{id}'."""
    try:
        request = line.split('"', 2)[1]
        method, target = request.split(" ", 1)
    except (IndexError, ValueError):
        return "?"
    path = target.split("?", 1)[0]
    parts = ["{id}" if len(p) >= 32 and p.replace("-", "").isalnum() else p
             for p in path.split("/")]
    return "%s %s" % (method, "/".join(parts))


class Observer:
    """Runs ``watch()`` in a thread until ``stop()``; counts its GETs and failures."""

    name = "observer"

    def __init__(self, web_factory, base_url):
        self.web_factory = web_factory
        self.base = base_url
        self.requests = 0
        self.failures = 0
        self.stopping = threading.Event()
        self.thread = None
        self.lock = threading.Lock()

    def start(self, batch_id, instance_ids):
        self.thread = threading.Thread(target=self.watch, args=(batch_id, instance_ids),
                                       name=self.name, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        if self.thread:
            self.thread.join(timeout=REQUEST_TIMEOUT + 10)

    def get(self, web, url, **kw):
        try:
            answer = web.get(url, timeout=REQUEST_TIMEOUT, **kw)
            ok = answer.status_code == 200
        except Exception:  # a timeout or a refused connection is a failed poll, not a crash
            answer, ok = None, False
        with self.lock:
            self.requests += 1
            self.failures += 0 if ok else 1
        return answer if ok else None

    def warm_up(self, instance_id):
        """Load the page's code in the dashboard before timing (a fresh runserver imports
        a panel's modules on its first request); not counted."""

    def watch(self, batch_id, instance_ids):
        raise NotImplementedError


class ProgressObserver(Observer):
    """The panel's progress page: lands on it, then polls progress.json at the base rate."""

    name = "progress"

    def watch(self, batch_id, instance_ids):
        web = self.web_factory()
        page = self.base + "/admin/evac_batches/%s/" % batch_id
        landed = self.get(web, page)
        # Like the page's script: send back the version of what it shows, get what changed.
        found = re.search(r'data-version="([^"]*)"', landed.text) if landed is not None else None
        version = found.group(1) if found else ""
        interval = None
        while not self.stopping.is_set():
            started = time.monotonic()
            answer = self.get(web, page + "progress.json" + (
                "?since=" + version if version else ""), headers=AJAX_HEADERS)
            if answer is not None:
                document = answer.json()
                version = document.get("version") or version
                if interval is None:
                    interval = float(document.get("poll", {}).get("interval_seconds") or 3)
            wait = (interval or 3.0) - (time.monotonic() - started)
            self.stopping.wait(max(0.0, wait))


class RowObserver(Observer):
    """Horizon's per-row updates: each row every ROW_POLL_SECONDS, ROW_CONNECTIONS at once."""

    name = "rows"

    def row_url(self, instance_id):
        return (self.base + "/admin/instances/?action=row_update&table=instances&obj_id=%s"
                % instance_id)

    def warm_up(self, instance_id):
        self.web_factory().get(self.row_url(instance_id), timeout=REQUEST_TIMEOUT,
                               headers=AJAX_HEADERS)

    def watch(self, batch_id, instance_ids):
        local = threading.local()

        def fetch(instance_id):
            if self.stopping.is_set():
                return
            if not hasattr(local, "web"):
                local.web = self.web_factory()
            self.get(local.web, self.row_url(instance_id),
                     headers=AJAX_HEADERS)

        with concurrent.futures.ThreadPoolExecutor(max_workers=ROW_CONNECTIONS) as pool:
            while not self.stopping.is_set():
                started = time.monotonic()
                list(pool.map(fetch, instance_ids))
                self.stopping.wait(max(0.0, ROW_POLL_SECONDS - (time.monotonic() - started)))


OBSERVERS = {"progress": ProgressObserver, "rows": RowObserver}
