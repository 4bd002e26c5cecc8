"""Time to recovery of a failed compute host (``make bench BENCH_ARGS="--plan mttr"``).

The clock starts when the source host "dies": the local cloud's ``kill-host`` (its
nova-compute process group SIGKILLed; its BMC stays On and answers, as a host that crashed
on its own), done in this process so the moment is exact. It stops when every one of its
N servers is ACTIVE on another host and its evacuation record from the source is ``done``
(or ``completed``), as Nova itself records them. Four ways, alternated over ``--repeats``
runs, medians compared:

* ``panel``: the operator, already logged in, opens the dashboard's **Fence and evacuate**
  form of the host at once and posts it as it comes (Redfish ForceOff through the host's
  BMC, read until Off, force the service down and disable it, evacuate the host with the
  scheduler choosing targets).
* ``masakari``: a ``COMPUTE_HOST`` notification to Masakari right after the kill (what
  masakari-hostmonitor would send); Masakari's engine disables the service, sleeps
  ``wait_period_after_service_update`` and evacuates.
* ``horizon``: stock Horizon's way: wait until Nova shows the service down (its
  ``service_down_time`` after the last heartbeat), then Horizon's own ``evacuate_host``
  loop, one instance after another (``bench_evacuate.run_horizon``).
* ``floor`` and ``floor-1`` (unsafe): force the service down at once, no fencing, and
  evacuate from a pool of ``--concurrency`` callers, or from one (``bench_evacuate.run_bare``).
  The faster of their medians is the floor: the bound no safe method can beat.

Before each run the source host is put back (``reset``: its compute restarted, forced-down
unset, service enabled, its BMC powered On; Masakari's maintenance flag on the host ended),
the bench servers deleted and N booted again on it. The output ends with ``name=value``
lines (see :func:`final_values`).
"""
import configparser
import datetime
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

import bench_evacuate as be  # noqa: E402

METHODS = ("panel", "masakari", "horizon", "floor", "floor-1")
LABELS = {"panel": "panel fence+evacuate", "masakari": "Masakari notification",
          "horizon": "Horizon (wait down)", "floor": "floor (unsafe)",
          "floor-1": "floor (unsafe, 1 caller)"}
TARGET_RATIO = 0.5          # panel / masakari
TARGET_FLOOR_RATIO = 1.15   # panel / floor
MASAKARI_DEFAULT_WAIT = 180  # masakari/conf/engine.py: wait_period_after_service_update
NOVA_DEFAULT_DOWN_TIME = 60
MASAKARI_TERMINAL = ("finished", "error", "failed", "ignored")


def add_arguments(parser):
    """The options only ``--plan mttr`` reads (added to bench_evacuate's parser)."""
    parser.add_argument("--mttr-methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="--plan mttr: which recoveries to time (default: all; floor is "
                             "--concurrency callers, floor-1 one caller)")
    parser.add_argument("--masakari-timeout", type=float, default=900,
                        help="--plan mttr: how long to wait for Masakari's notification to "
                             "end after the servers are back (900 s)")


# ------------------------------------------------------------------------ pure parts

def build_plan(methods, repeats):
    """Alternating: every method once per repeat, in the order given."""
    return [m for _r in range(repeats) for m in methods]


def latest_evacuations(migrations, ids, source):
    """{instance uuid: its newest evacuation record from ``source``}, for ``ids`` only."""
    latest = {}
    for migration in sorted(migrations, key=lambda m: (m.get("created_at") or "",
                                                       m.get("id") or 0)):
        if (migration.get("instance_uuid") in ids
                and migration.get("source_compute", source) == source
                and migration.get("migration_type", "evacuation") == "evacuation"):
            latest[migration["instance_uuid"]] = migration
    return latest


def recovery_state(servers, migrations, ids, source):
    """How far the recovery of ``ids`` off ``source`` is, from Nova's records.

    A server is recovered when Nova shows it ACTIVE on a host that is not ``source`` and
    its newest evacuation record from ``source`` is ``done`` or ``completed``. It failed
    when that record is ``error``/``failed`` or the server is in ERROR. ``servers`` may be
    None (not read this poll): then nothing counts as recovered yet. Returns a dict:
    ``recovered`` (ids), ``failed`` (ids), ``counts`` ({what: n} of the others) and
    ``done`` (every id recovered or failed)."""
    ids = set(ids)
    latest = latest_evacuations(migrations, ids, source)
    by_id = {s.get("id"): s for s in servers or []}
    recovered, failed, counts = set(), set(), {}
    for uid in ids:
        migration = latest.get(uid)
        status = migration.get("status") if migration else None
        server = by_id.get(uid)
        if status in be.TERMINAL_FAILED or (server and server.get("status") == "ERROR"):
            failed.add(uid)
            continue
        if status in be.TERMINAL_OK and server is not None:
            host = server.get("OS-EXT-SRV-ATTR:host")
            if server.get("status") == "ACTIVE" and host and host != source:
                recovered.add(uid)
                continue
            what = "done, server %s on %s" % (server.get("status"), host)
        elif status in be.TERMINAL_OK:
            what = "done"
        else:
            what = status or "not started"
        counts[what] = counts.get(what, 0) + 1
    return {"recovered": sorted(recovered), "failed": sorted(failed), "counts": counts,
            "done": len(recovered) + len(failed) == len(ids),
            "records_final": len(latest) == len(ids) and all(
                m.get("status") in be.TERMINAL_OK + be.TERMINAL_FAILED
                for m in latest.values())}


def masakari_wait_period(conf_text):
    """``wait_period_after_service_update`` as masakari.conf sets it ([DEFAULT]), else
    Masakari's default. Returns (seconds, where it came from)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(conf_text or "")
    except configparser.Error:
        return MASAKARI_DEFAULT_WAIT, "default (masakari.conf unreadable)"
    value = parser.defaults().get("wait_period_after_service_update")
    if value is None:
        return MASAKARI_DEFAULT_WAIT, "Masakari's default (not set in masakari.conf)"
    return int(value), "set in masakari.conf"


def parse_stamp(text):
    """A timestamp as Masakari or Nova writes it (naive = UTC) -> epoch seconds, or None."""
    if not text:
        return None
    text = str(text).strip().replace("Z", "+00:00")
    for candidate in (text, text.replace(" ", "T", 1)):
        try:
            stamp = datetime.datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.timezone.utc)
        return stamp.timestamp()
    return None


MASAKARI_PHASES = (("disable_started", r"^Disabling compute service"),
                   ("wait_over", r"^Disabled compute service"),
                   ("evacuation_started", r"^Start evacuation of instances"))


def masakari_phases(notification, t0_wall):
    """Seconds after ``t0_wall`` at which Masakari's workflow reached each phase (from the
    notification's ``recovery_workflow_details`` progress messages), and its status."""
    phases = {"status": (notification or {}).get("status")}
    messages = []
    for task in (notification or {}).get("recovery_workflow_details") or []:
        for item in task.get("progress_details") or []:
            messages.append((item.get("message") or "", parse_stamp(item.get("timestamp"))))
    for name, pattern in MASAKARI_PHASES:
        stamps = [t for m, t in messages if t is not None and re.search(pattern, m)]
        phases[name] = (min(stamps) - t0_wall) if stamps else None
    return phases


def fence_times(records, t0_wall):
    """From the dashboard's audit records ((action, created, completed, outcome) with epoch
    seconds), seconds after ``t0_wall`` until the BMC confirmed Off (the ``fence`` record
    completed succeeded) and until Nova accepted the force-down."""
    def first(action):
        done = [completed for name, _c, completed, outcome in records
                if name == action and completed is not None and outcome == "succeeded"]
        return (min(done) - t0_wall) if done else None
    return {"fenced_off": first("fence"), "forced_down": first("force_down")}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(rows):
    """Medians per method (successful runs only) and the ratios."""
    out = {"runs": {}}
    for method in METHODS:
        good = [r for r in rows if r["method"] == method and not r.get("failed_count")
                and not r.get("error") and r.get("mttr") is not None]
        out["runs"][method] = [r["mttr"] for r in good]
        out[method] = median(r["mttr"] for r in good)
    out["floor_many"], out["floor_one"] = out["floor"], out.pop("floor-1")
    out["floor"] = min((v for v in (out["floor_many"], out["floor_one"]) if v is not None),
                       default=None)  # the faster of many callers and one
    panel = [r for r in rows if r["method"] == "panel" and r.get("mttr") is not None]
    out["panel_fenced_off"] = median(r.get("fenced_off") for r in panel)
    out["panel_forced_down"] = median(r.get("forced_down") for r in panel)
    out["ratio"] = (out["panel"] / out["masakari"]
                    if out["panel"] and out["masakari"] else None)
    out["floor_ratio"] = (out["panel"] / out["floor"] if out["panel"] and out["floor"]
                          else None)
    return out


def final_values(summary):
    """The machine-readable lines, in order: (name, value, digits)."""
    return [("mttr_panel_seconds", summary["panel"], 2),
            ("mttr_masakari_seconds", summary["masakari"], 2),
            ("mttr_horizon_seconds", summary["horizon"], 2),
            ("mttr_floor_seconds", summary["floor"], 2),
            ("mttr_ratio", summary["ratio"], 3),
            ("mttr_floor_ratio", summary["floor_ratio"], 3),
            ("mttr_panel_fenced_off_seconds", summary["panel_fenced_off"], 2),
            ("mttr_panel_forced_down_seconds", summary["panel_forced_down"], 2),
            ("mttr_floor_many_seconds", summary["floor_many"], 2),
            ("mttr_floor_one_seconds", summary["floor_one"], 2)]


def final_lines(summary):
    return ["%s=%s" % (name, be.fmt(float(value), digits) if value is not None else "nan")
            for name, value, digits in final_values(summary)]


def target_lines(summary):
    lines = []
    for name, value, target, what in (("mttr_ratio", summary["ratio"], TARGET_RATIO,
                                       "panel / Masakari"),
                                      ("mttr_floor_ratio", summary["floor_ratio"],
                                       TARGET_FLOOR_RATIO, "panel / floor")):
        if value is None:
            lines.append("target: %s (%s) <= %.2f: not measured" % (name, what, target))
        else:
            lines.append("target: %s (%s) <= %.2f: %s (%.3f)" % (
                name, what, target, "met" if value <= target else "NOT met", value))
    return lines


COLUMNS = (("run", "run", 3), ("method", "label", 26), ("n", "servers", 3),
           ("act_s", "acted", 6), ("off_s", "fenced_off", 6), ("down_s", "forced_down", 6),
           ("sent_s", "submitted", 6), ("mttr_s", "mttr", 7), ("failed", "failed_count", 6),
           ("load", "load", 5))


def row_text(row):
    return "  ".join(be.fmt(round(row[key], 2) if isinstance(row.get(key), float)
                            else row.get(key)).ljust(width)
                     for _h, key, width in COLUMNS).rstrip()


def header_text():
    return "  ".join(head.ljust(width) for head, _k, width in COLUMNS).rstrip()


# --------------------------------------------------------------------- on the cloud

def wait_recovered(ctx, ids, t0_mono, t0_wall):
    """Poll Nova until every server of ``ids`` is recovered or failed (recovery_state).
    Evacuation records are read every poll; the servers only once every record is final
    (done/completed or failed), so that each method pays the same polling. Returns the
    seconds from ``t0_mono`` and the failed ids."""
    args, source = ctx.args, ctx.args.source
    since = be.utc_stamp(t0_wall - 5)
    deadline = t0_mono + args.timeout
    last_report, polls = 0.0, 0
    while True:
        polls += 1
        migrations = be.get_paged(ctx.compute, "/os-migrations", "migrations", {
            "source_compute": source, "migration_type": "evacuation", "changes-since": since,
            "limit": 1000})
        state = recovery_state(None, migrations, ids, source)
        if state["records_final"]:
            servers = be.get_paged(ctx.compute, "/servers/detail", "servers", {
                "all_tenants": "1", "name": "^%s-" % re.escape(args.prefix), "limit": 1000})
            state = recovery_state(servers, migrations, ids, source)
        now = time.monotonic()
        if state["done"]:
            return {"mttr": now - t0_mono, "failed": state["failed"], "polls": polls}
        if now - last_report >= 15:
            be.say("      %5.1f s after the kill: %d/%d recovered; %s" % (
                now - t0_mono, len(state["recovered"]), len(ids), ", ".join(
                    "%s %d" % kv for kv in sorted(state["counts"].items()))))
            last_report = now
        if now > deadline:
            raise be.BenchError("not recovered %d s after the kill: %d/%d" % (
                args.timeout, len(state["recovered"]), len(ids)))
        time.sleep(max(0.0, args.poll_interval - (time.monotonic() - now)))


def kill(ctx):
    """The host dies: its nova-compute group SIGKILLed (BMC left On). Returns the moment
    the process is gone (monotonic, wall)."""
    from evac_dashboard.localcloud import hosts, procs, services

    if not procs.pid_of(ctx.lc, services.compute_name(ctx.args.source)):
        raise be.BenchError("%s's nova-compute is not running" % ctx.args.source)
    with be.quiet_output():  # its "killed ..." line goes to the log
        hosts.kill_host(ctx.lc, ctx.args.source)  # what `localcloud kill-host` does
    return time.monotonic(), time.time()


def audit_records(host, t0_wall):
    from django.db import connection

    from evac_dashboard.models import AuditRecord

    since = datetime.datetime.fromtimestamp(t0_wall - 1, datetime.timezone.utc)
    try:
        rows = [(r.action, r.created_at.timestamp(),
                 r.completed_at.timestamp() if r.completed_at else None, r.outcome)
                for r in AuditRecord.objects.filter(source_host=host, created_at__gte=since)]
    finally:
        connection.close()
    return rows


def fence_evacuate(ctx, web, t0):
    """GET the host's Fence and evacuate form and POST it as it comes (the BMC's
    confirmation is relied on: no typed override). Returns (GET s, POST s, batch id), the
    seconds measured from ``t0``."""
    host = ctx.args.source
    url = ctx.dashboard.base + "/admin/evac_hosts/%s/fence-evacuate/" % be.parse.quote(host)
    page = web.get(url, timeout=600)
    got = time.monotonic() - t0
    forms = [f for f in be.parse_forms(page.text) if "reviewed" in f["names"]
             and "override_host" in f["names"]]
    if page.status_code != 200 or not forms:
        raise be.BenchError("no Fence and evacuate form at %s (%d); page says %s" % (
            url, page.status_code, be.page_errors(page.text)))
    form = forms[0]
    data = dict(form["fields"])
    data["override_host"] = ""
    if "power_state" in form["names"]:
        data["power_state"] = "running"
    if "acknowledge_local_disks" in form["names"]:
        data["acknowledge_local_disks"] = "on"
    action = be.parse.urljoin(url, form["action"] or url)
    answer = web.post(action, data=data, headers={"Referer": url}, allow_redirects=False,
                      timeout=600)
    posted = time.monotonic() - t0
    match = re.search(r"/admin/evac_batches/([0-9a-f-]{36})/",
                      answer.headers.get("Location", ""))
    if answer.status_code != 302 or not match:
        raise be.BenchError("POST %s: %d; page says %s" % (action, answer.status_code,
                                                          be.page_errors(answer.text)))
    return got, posted, match.group(1)


def run_panel(ctx, servers):
    web = ctx.dashboard.login()  # the operator is logged in before the host fails
    t0, t0_wall = kill(ctx)
    got, posted, batch_id = fence_evacuate(ctx, web, t0)
    be.say("    form GET answered %.2f s after the kill, POST (fence, force down, start) "
           "answered %.2f s after it (batch %s)" % (got, posted, batch_id))
    result = wait_recovered(ctx, [s["id"] for s in servers], t0, t0_wall)
    result.update(fence_times(audit_records(ctx.args.source, t0_wall), t0_wall))
    from evac_dashboard.localcloud import bmc

    result["bmc_after"] = bmc.power_state(ctx.lc, ctx.args.source)  # Off: it was fenced
    if result["bmc_after"] != "Off":
        result["error"] = "the BMC reports %s after the fence" % result["bmc_after"]
    facts = be.batch_facts(batch_id, t0_wall)
    result.update(acted=got, posted=posted, batch=batch_id, submitted=facts.get("submitted"),
                  items=facts.get("items"))
    return result


def run_masakari(ctx, servers):
    from evac_dashboard.localcloud import masakari

    ctx.lc_session.token()  # as masakari-hostmonitor, already authenticated
    t0, t0_wall = kill(ctx)
    notification = masakari.notify_host_down(ctx.lc, ctx.args.source, ctx.lc_session)
    acted = time.monotonic() - t0
    be.say("    notification %s accepted %.2f s after the kill" % (notification, acted))
    result = wait_recovered(ctx, [s["id"] for s in servers], t0, t0_wall)
    deadline = time.monotonic() + ctx.args.masakari_timeout
    status = masakari.notification_status(ctx.lc, notification, ctx.lc_session)
    while status.get("status") not in MASAKARI_TERMINAL and time.monotonic() < deadline:
        time.sleep(2)
        status = masakari.notification_status(ctx.lc, notification, ctx.lc_session)
    phases = masakari_phases(status, t0_wall)
    be.detail("    notification: %s" % json.dumps(status, default=str)[:4000])
    be.say("    Masakari: notification %s; disable at %s s, wait over at %s s, evacuation "
           "started at %s s after the kill" % (phases["status"], be.fmt(
               phases["disable_started"]), be.fmt(phases["wait_over"]),
               be.fmt(phases["evacuation_started"])))
    result.update(acted=acted, notification=notification, masakari=phases,
                  error=None if phases["status"] == "finished" else
                  "notification %s" % phases["status"])
    result["submitted"] = phases["evacuation_started"]
    return result


def run_horizon(ctx, servers):
    t0, t0_wall = kill(ctx)
    while be.compute_service(ctx.compute, ctx.args.source).get("state") != "down":
        if time.monotonic() - t0 > ctx.args.timeout:
            raise be.BenchError("%s never shown down" % ctx.args.source)
        time.sleep(0.5)
    acted = time.monotonic() - t0
    be.say("    Nova shows %s down %.2f s after the kill; Horizon's evacuate_host now"
           % (ctx.args.source, acted))
    inner = be.run_horizon(ctx, servers)
    result = wait_recovered(ctx, [s["id"] for s in servers], t0, t0_wall)
    result.update(acted=acted, submitted=acted + inner["request"], error=inner.get("error"))
    return result


def run_floor(ctx, servers, callers=None):
    ctx.session.get_token()
    t0, t0_wall = kill(ctx)
    be.force_down(ctx.compute, ctx.args.source)
    acted = time.monotonic() - t0
    inner = be.run_bare(ctx, servers, callers or ctx.args.concurrency)
    result = wait_recovered(ctx, [s["id"] for s in servers], t0, t0_wall)
    result.update(acted=acted, forced_down=acted, submitted=acted + inner["submitted"],
                  error=inner.get("error"))
    return result


RUNNERS = {"panel": run_panel, "masakari": run_masakari, "horizon": run_horizon,
           "floor": run_floor, "floor-1": lambda ctx, servers: run_floor(ctx, servers, 1)}


def restore(ctx):
    """The source host back: compute running, not forced down, enabled, BMC On, not on
    maintenance in Masakari's segment. Returns the seconds it took, by step."""
    from evac_dashboard.localcloud import bmc, masakari

    source = ctx.args.source
    timings = {"reset": be.settle_cloud(ctx)}
    t = time.monotonic()
    with be.quiet_output():
        bmc.power_on(ctx.lc, [source])
        if ctx.masakari:
            if masakari.end_maintenance(ctx.lc, source, ctx.lc_session):
                be.detail("    ended Masakari's maintenance on %s" % source)
    timings["bmc+maintenance"] = time.monotonic() - t
    service = be.compute_service(ctx.compute, source)
    power = bmc.power_state(ctx.lc, source)
    if (service.get("state") != "up" or service.get("forced_down")
            or service.get("status") != "enabled" or power != "On"):
        raise be.BenchError("%s not back: service %s, BMC %s" % (source, service, power))
    return timings


def prepare(ctx):
    """``bench_evacuate.prepare`` without the kill: N ACTIVE bench servers on a live
    source, then a quiet machine."""
    args = ctx.args
    timings = restore(ctx)
    be.clear_foreign_servers(ctx)
    timings["delete"] = ctx.cloud.tool("delete-servers", "--prefix", args.prefix)
    timings["seed"] = ctx.cloud.tool("seed", "--on", args.source, "--servers", args.servers,
                                     "--prefix", args.prefix)
    servers = be.servers_on(ctx.compute, args.source)
    wrong = [s for s in servers if s.get("status") != "ACTIVE"
             or not s.get("name", "").startswith(args.prefix + "-")]
    if len(servers) != args.servers or wrong:
        raise be.BenchError("expected %d ACTIVE bench servers on %s, found %d (%d unexpected)"
                            % (args.servers, args.source, len(servers), len(wrong)))
    time.sleep(args.settle)
    timings["quiet"], idle = be.wait_quiet(args.quiet_idle, args.quiet_timeout)
    be.detail("    prepared: %s; CPU idle %.0f %%" % (
        ", ".join("%s %.1f s" % kv for kv in timings.items()), idle * 100))
    return servers, timings


def main(args):
    """``--plan mttr`` (called by bench_evacuate.main with its parsed options)."""
    try:
        return _main(args)
    except be.BenchError as error:
        be.say("bench failed: %s" % error)
        return 2


def _main(args):
    import contextlib

    datadir = Path(os.environ.get("EVAC_LOCALCLOUD_DIR", "").strip()
                   or be.REPO / ".localcloud").expanduser().resolve()
    os.environ["EVAC_LOCALCLOUD_DIR"] = str(datadir)
    out_dir = Path(args.out or be.REPO / ".artifacts" / "bench" /
                   ("mttr-" + time.strftime("%Y%m%d-%H%M%S"))).resolve()
    (out_dir / "dashboard").mkdir(parents=True, exist_ok=True)
    be.OUT = be.Output(out_dir / "bench.log")

    cloud = be.Cloud(datadir, out_dir / "bench.log")
    methods = list(args.mttr_methods)
    use_masakari = "masakari" in methods
    cloud.tool(*(["up", "--with-masakari"] if use_masakari else ["up"]))
    cloud.load()
    be.setup_django(out_dir / "dashboard", cloud)
    from evac_dashboard import conf
    from evac_dashboard.localcloud import config as lc_config
    from evac_dashboard.localcloud import rest

    ctx = be.Context()
    ctx.args, ctx.cloud = args, cloud
    ctx.session = cloud.session()
    ctx.compute = cloud.compute(ctx.session)
    ctx.negotiated = be.negotiated_version(ctx.compute)
    ctx.lc = lc_config.Cloud(datadir)
    ctx.lc_session = rest.Session(ctx.lc)
    ctx.masakari = bool(cloud.config.get("masakari"))
    args.concurrency = args.concurrency or conf.DEFAULT_SUBMIT_CONCURRENCY
    if use_masakari and not ctx.masakari:
        raise be.BenchError("cloud.json has no masakari section after up --with-masakari")

    down_time = (cloud.config.get("nova") or {}).get("service_down_time",
                                                     NOVA_DEFAULT_DOWN_TIME)
    wait_period, wait_source = MASAKARI_DEFAULT_WAIT, "not used"
    if ctx.masakari:
        conf_file = Path(cloud.config["masakari"]["config"])
        wait_period, wait_source = masakari_wait_period(
            conf_file.read_text() if conf_file.exists() else "")
    plan = build_plan(methods, args.repeats)
    be.say("time-to-recovery benchmark: %d servers on %s, cloud %s" % (
        args.servers, args.source, datadir))
    be.say("clock: from the SIGKILL of %s's nova-compute (BMC left On) until every server "
           "is ACTIVE elsewhere with its evacuation record done" % args.source)
    be.say("Nova service_down_time %s s (cloud.json); Masakari wait_period_after_service_"
           "update %s s (%s); BMC power delay %s s; panel/floor concurrency %d" % (
               down_time, wait_period, wait_source,
               (cloud.config.get("bmc") or {}).get("power_delay_seconds"), args.concurrency))
    be.say("runs: %s; logs in %s" % (", ".join(LABELS[m] for m in plan), out_dir))
    be.say("cores: %d; load average at start: %s" % (
        os.cpu_count() or 0, " ".join("%.2f" % x for x in os.getloadavg())))

    from tests.integration.dashboard_server import running_dashboard

    rows, started = [], time.monotonic()
    meta = {"service_down_time": down_time, "masakari_wait_period": wait_period,
            "masakari_wait_source": wait_source}
    with contextlib.ExitStack() as stack:
        if "panel" in methods:
            with be.quiet_output():
                be.production_assets(out_dir / "dashboard", cloud.auth_url)
                base_url = stack.enter_context(running_dashboard(
                    out_dir / "dashboard", cloud.auth_url, extra_env=be.PRODUCTION_ENV))
            ctx.dashboard = be.Dashboard(base_url, cloud.config["admin"])
            ctx.dashboard.login()  # a fresh runserver's first request loads Horizon
            be.say("dashboard %s (runserver, DEBUG off)" % base_url)
        be.say("")
        for number, method in enumerate(plan, 1):
            be.say("run %d/%d: %s — preparing (source back, %d servers on %s)"
                   % (number, len(plan), LABELS[method], args.servers, args.source))
            servers, prep = prepare(ctx)
            load = os.getloadavg()[0]
            be.say("    prepared in %.0f s; killing %s (load %.2f)" % (
                sum(prep.values()), args.source, load))
            row = {"run": number, "method": method, "label": LABELS[method],
                   "servers": len(servers), "load": load, "prepare": prep}
            try:
                row.update(RUNNERS[method](ctx, servers))
            except Exception as error:  # noqa: BLE001 - the other runs still count
                import traceback

                be.detail(traceback.format_exc())
                row.update(error="%s: %s" % (type(error).__name__, error), mttr=None,
                           failed=[])
                be.say("    run failed: %s" % row["error"])
            row["failed_count"] = len(row.get("failed") or [])
            rows.append(row)
            be.say("    " + header_text())
            be.say("    " + row_text(row))
            be.say("")
            with open(out_dir / "results.json", "w", encoding="utf-8") as handle:
                json.dump({"args": vars(args), "meta": meta, "rows": rows}, handle, indent=1,
                          default=str)
    be.say("putting the source back")
    restore(ctx)
    if not args.keep_servers:
        cloud.tool("delete-servers", "--prefix", args.prefix)
    return report(args, rows, meta, time.monotonic() - started)


def report(args, rows, meta, elapsed):
    be.say("=" * 100)
    be.say("time to recovery (%d servers on %s; seconds after the kill; act = the recovery "
           "began: form answered / notification accepted / Nova showed the service down / "
           "forced down; off/down = BMC confirmed Off / service forced down; sent = last "
           "evacuate answered or, for Masakari, its evacuation began)" % (
               args.servers, args.source))
    be.say("")
    be.say(header_text())
    for row in rows:
        be.say(row_text(row))
    summary = summarize(rows)
    be.say("")
    medians = dict(summary, **{"floor": summary["floor_many"], "floor-1": summary["floor_one"]})
    for method in METHODS:
        if summary["runs"][method] or any(r["method"] == method for r in rows):
            be.say("  %-26s median %s s (runs: %s)" % (LABELS[method], be.fmt(
                medians[method]), ", ".join(be.fmt(v) for v in summary["runs"][method])))
    be.say("  floor: the faster median of %d callers and one: %s s" % (
        args.concurrency, be.fmt(summary["floor"])))
    be.say("  panel fence: BMC confirmed Off median %s s, forced down median %s s after the "
           "kill" % (be.fmt(summary["panel_fenced_off"]), be.fmt(summary["panel_forced_down"])))
    be.say("  Nova service_down_time %s s; Masakari wait_period_after_service_update %s s (%s)"
           % (meta["service_down_time"], meta["masakari_wait_period"],
              meta["masakari_wait_source"]))
    for row in rows:
        if row.get("error") or row.get("failed_count"):
            be.say("  run %d (%s) had problems: %d failed; %s" % (
                row["run"], row["label"], row["failed_count"], row.get("error") or ""))
    be.say("")
    for line in target_lines(summary):
        be.say(line)
    be.say("bench took %.0f min" % (elapsed / 60))
    for line in final_lines(summary):
        be.say(line)
    be.say("masakari_wait_period_seconds=%s" % meta["masakari_wait_period"])
    be.say("service_down_time_seconds=%s" % meta["service_down_time"])
    complete = all(summary["runs"][method] for method in args.mttr_methods)
    problems = any(r.get("error") or r.get("failed_count") for r in rows)
    return 0 if complete and not problems else 1
