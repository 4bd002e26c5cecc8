"""The scenarios of ``make deploy-test``, through haproxy in front of two Apache mod_wsgi
nodes (``tools/deploy/stack.py``), against the local cloud. Prints ``name=value`` lines.

1. ``end_to_end``: a killed host evacuated through haproxy, every instance done.
2. ``sigkill``: 40 servers; the node that answered the POST is SIGKILLed (Apache and its
   daemons) right after it; the other node must take the batch over by itself.
3. ``sigstop``: the sending node is frozen (SIGSTOP) past its lease, then let go (SIGCONT):
   the other node takes over, the frozen sender must not send again when it wakes.
4. ``graceful``: ``apache2 -k graceful`` on the sending node mid-batch (Debian's logrotate
   does that every day).

Each checks with Nova that every instance was evacuated exactly once and is off the failed
host, that no item is left unsent, and that neither Apache log holds a 500. A takeover is
timed from the fault to the first evacuate the other node sends (``takeover_seconds``).

    .venv/bin/python tools/deploy/scenarios.py [--only sigkill] [--servers 40]
"""
import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_evacuate as bench  # noqa: E402  (tools/)
import stack  # noqa: E402  (tools/deploy/)

SOURCE = "cmp1"
PREFIX = "dep"
TAKEOVER_LIMIT = 20  # seconds (the lease is 15 s by default)
DONE_TIMEOUT = int(os.environ.get("EVAC_DEPLOY_TIMEOUT", "600"))


class ScenarioFailed(Exception):
    pass


def emit(name, value):
    print("%s=%s" % (name, value), flush=True)


# ------------------------------------------------------------------------- the cloud side

def bench_args(servers):
    """The bench's own argument parser with this tool's values, so every option the bench
    reads has its default (a hand-made namespace missed --quiet-idle and broke CI)."""
    return bench.parse_args([
        "--source", SOURCE, "--prefix", PREFIX, "--servers", str(servers), "--settle", "2",
        "--timeout", str(DONE_TIMEOUT), "--poll-interval", "1", "--concurrency", "8",
        "--quiet-timeout", "20"])


def context(servers):
    cloud = bench.Cloud(stack.cloud_dir(), bench.OUT.log.name)
    cloud.load()
    ctx = SimpleNamespace(cloud=cloud)
    ctx.session = cloud.session()
    ctx.compute = cloud.compute(ctx.session)
    ctx.negotiated = bench.negotiated_version(ctx.compute)
    ctx.args = bench_args(servers)
    ctx.dashboard = bench.Dashboard(stack.urls()["haproxy"], cloud.config["admin"])
    return ctx


def evacuations_since(ctx, t0_wall):
    """{instance id: [evacuation records from SOURCE created after t0]}."""
    since = bench.utc_stamp(t0_wall - 5)
    records = bench.get_paged(ctx.compute, "/os-migrations", "migrations", {
        "source_compute": SOURCE, "migration_type": "evacuation", "changes-since": since,
        "limit": 1000})
    found = {}
    for record in records:
        created = record.get("created_at") or ""
        if created[:19] >= since[:19]:
            found.setdefault(record["instance_uuid"], []).append(record)
    return found


def check_exactly_once(ctx, servers, t0_wall):
    ids = [s["id"] for s in servers]
    found = evacuations_since(ctx, t0_wall)
    twice = {i: len(found[i]) for i in ids if len(found.get(i, [])) > 1}
    never = [i for i in ids if not found.get(i)]
    if twice or never:
        raise ScenarioFailed("evacuated more than once: %s; never: %s" % (twice, never))
    left = {s["id"] for s in bench.servers_on(ctx.compute, SOURCE, False)} & set(ids)
    if left:
        raise ScenarioFailed("%d instance(s) still on %s" % (len(left), SOURCE))
    return len(ids)


# --------------------------------------------------------------------- the dashboard side

def database():
    import pymysql

    db = stack.cloud()["dashboard_db"]
    return pymysql.connect(host=db["host"], port=int(db["port"]), user=db["user"],
                           password=db["password"], database=stack.DATABASE, autocommit=True)


def items_of(batch_id):
    with database() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT submit_state, submitting_at, submitted_at FROM "
                       "evac_dashboard_evacuationitem WHERE batch_id = %s",
                       (batch_id.replace("-", ""),))
        return cursor.fetchall()


def batch_state(batch_id):
    with database() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT state, worker FROM evac_dashboard_evacuationbatch "
                       "WHERE id = %s", (batch_id.replace("-", ""),))
        return cursor.fetchone()


def clear_active_batches():
    """A batch an earlier run left active (a failed scenario) would hold the host: end it."""
    with database() as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE evac_dashboard_evacuationbatch SET state = 'cancelled', "
                       "active_source_host = NULL WHERE state IN "
                       "('pending', 'submitting', 'interrupted')")
        cursor.execute("UPDATE evac_dashboard_evacuationitem SET submit_state = 'cancelled' "
                       "WHERE submit_state IN ('pending', 'submitting')")


def first_send_after(batch_id, wall):
    moment = datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).replace(tzinfo=None)
    stamps = [row[1] for row in items_of(batch_id) if row[1] is not None and row[1] > moment]
    return (min(stamps) - moment).total_seconds() if stamps else None


def wait_all_sent(batch_id, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [row[0] for row in items_of(batch_id)]
        if states and all(s not in ("pending", "submitting") for s in states):
            return states
        time.sleep(0.5)
    raise ScenarioFailed("items still unsent after %d s: %s" % (timeout, sorted(
        set(row[0] for row in items_of(batch_id)))))


def start_evacuation(ctx):
    """Review and POST the Evacuate Host form through haproxy; (batch id, node, t0s)."""
    web = ctx.dashboard.login()
    _review_s, form, url = ctx.dashboard.review(web, SOURCE)
    _request_s, batch_id, t0, t0_wall = ctx.dashboard.submit(web, SOURCE, form, url)
    node = ctx.dashboard.last_answer.headers.get("X-Evac-Node")
    if node not in stack.NODES:
        raise ScenarioFailed("haproxy did not say which node answered: %r" % node)
    bench.say("    batch %s posted to %s" % (batch_id, node))
    return batch_id, node, t0, t0_wall


def other(node):
    return [n for n in stack.NODES if n != node][0]


def node_processes(node):
    root = stack.deploy_dir()
    parent = stack.pid_of(stack.node_dir(root, node) / "apache.pid")
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if parent and int(fields[1]) == parent:
                children.append(int(entry.name))
    return ([parent] if parent else []) + children + stack.daemon_pids(node)


def signal_node(node, signum):
    pids = sorted(set(node_processes(node)))
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    return pids


def server_errors():
    """Lines with status 500 in both nodes' access logs."""
    bad = []
    for node in stack.NODES:
        log = stack.node_dir(stack.deploy_dir(), node) / "access.log"
        if log.exists():
            bad += [line for line in log.read_text(errors="replace").splitlines()
                    if re.search(r'" 5\d\d ', line)]
    return bad


# ---------------------------------------------------------------------------- scenarios

def scenario(ctx, name, fault=None):
    """Prepare the host, POST, apply ``fault(node)`` (returns when it happened, wall
    clock), wait until everything is sent and done, check."""
    bench.say("scenario %s: %d servers on %s" % (name, ctx.args.servers, SOURCE))
    clear_active_batches()
    servers, _timings = bench.prepare(ctx)
    batch_id, node, t0, t0_wall = start_evacuation(ctx)
    takeover = None
    if fault is not None:
        fault_wall = fault(node)
        states = wait_all_sent(batch_id, DONE_TIMEOUT)
        takeover = first_send_after(batch_id, fault_wall)
        bench.say("    after the fault: %s; first send by another node %s s later"
                  % (sorted(set(states)), takeover))
    ids = [s["id"] for s in servers]
    bench.wait_done(ctx.compute, SOURCE, ids, t0, t0_wall, DONE_TIMEOUT, 1.0)
    count = check_exactly_once(ctx, servers, t0_wall)
    state = batch_state(batch_id)
    bench.say("    %d evacuated exactly once; batch %s" % (count, state))
    emit("%s_evacuated_once" % name, count)
    if takeover is not None:
        emit("%s_takeover_seconds" % name, "%.1f" % takeover)
    return takeover


def kill(node):
    wall = time.time()
    pids = signal_node(node, signal.SIGKILL)
    bench.say("    SIGKILL %s: %d processes" % (node, len(pids)))
    return wall


def freeze(node):
    wall = time.time()
    pids = signal_node(node, signal.SIGSTOP)
    bench.say("    SIGSTOP %s: %d processes; thawed after the lease" % (node, len(pids)))
    lease = 15
    time.sleep(lease + 10)
    signal_node(node, signal.SIGCONT)
    return wall


def graceful(node):
    wall = time.time()
    stack.apache(stack.deploy_dir(), node, "-k", "graceful")
    bench.say("    apache2 -k graceful on %s" % node)
    return wall


def restart_nodes():
    root = stack.deploy_dir()
    for node in stack.NODES:
        signal_node(node, signal.SIGCONT)
        stack.start_node(root, node)
    for url in stack.urls().values():
        stack.wait_http(url + "/auth/login/")


SCENARIOS = {"end_to_end": None, "sigkill": kill, "sigstop": freeze, "graceful": graceful}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS))
    parser.add_argument("--servers", type=int, default=40)
    args = parser.parse_args(argv)
    out = stack.deploy_dir() / "scenarios.log"
    bench.OUT = bench.Output(out)
    before = len(server_errors())
    takeovers, failures = [], []
    for name in args.only or list(SCENARIOS):
        ctx = context(6 if name == "end_to_end" else args.servers)
        try:
            takeover = scenario(ctx, name, SCENARIOS[name])
            if takeover is not None:
                takeovers.append(takeover)
        except (ScenarioFailed, bench.BenchError) as error:
            failures.append("%s: %s" % (name, error))
            bench.say("    FAILED: %s" % error)
        finally:
            restart_nodes()
    errors = server_errors()[before:]
    emit("server_errors", len(errors))
    if takeovers:
        emit("takeover_seconds", "%.1f" % max(takeovers))
    if errors:
        failures.append("%d answers with status 5xx, e.g. %s" % (len(errors), errors[0]))
    if takeovers and max(takeovers) > TAKEOVER_LIMIT:
        failures.append("takeover took %.1f s (limit %d)" % (max(takeovers), TAKEOVER_LIMIT))
    if failures:
        print("deploy-test FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print("deploy-test passed; log %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
