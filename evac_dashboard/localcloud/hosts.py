"""Make a compute host die and come back, and put the cloud back into a known state."""
import time

from . import bmc, lifecycle, nova, procs, rest, services
from .procs import CloudError, say

DOWN_TIMEOUT = 60     # service_down_time is 20 s
CLEANUP_TIMEOUT = 60  # a revived compute turns `done` evacuations `completed` in init_host


def _check_host(cloud, host):
    if host not in cloud.compute_hosts:
        raise CloudError("unknown compute host %r (hosts: %s)" % (host, ", ".join(cloud.compute_hosts)))


def kill_host(cloud, host, wait_down=False):
    _check_host(cloud, host)
    name = services.compute_name(host)
    if procs.kill(cloud, name):
        say("killed %s (SIGKILL)" % name)
    else:
        say("%s was not running" % name)
    if wait_down:
        session = rest.Session(cloud)
        t = procs.wait_for("%s to be down in Nova" % host,
                           {host: lambda: nova.compute_services(session)[host]["state"] == "down"},
                           DOWN_TIMEOUT, interval=1.0)
        say("%s is down in Nova (%.1f s after kill)" % (host, t))


def revive_host(cloud, host, wait_up=False):
    _check_host(cloud, host)
    since = lifecycle.start_computes(cloud, [host])
    if not since:
        say("%s is already running" % services.compute_name(host))
    else:
        say("started %s" % services.compute_name(host))
    if bmc.running(cloud):
        bmc.power_on(cloud, [host])  # the BMC agrees: the host is On
    if wait_up:
        lifecycle.wait_computes(cloud, since)
        svc = nova.compute_services(rest.Session(cloud))[host]
        say("%s heartbeats again (Nova state %s%s)" % (
            host, svc["state"], ", forced_down: run `reset` or unset it" if svc["forced_down"] else ""))


def _unforce(cloud, session, host, svc):
    """Unset forced_down once the revived compute has completed its evacuation records."""
    deadline = time.monotonic() + CLEANUP_TIMEOUT
    restarts = 0
    while True:
        migs = nova.evacuations_from(session, host)
        in_flight = [m for m in migs if m["status"] in ("accepted", "pre-migrating")]
        done = [m for m in migs if m["status"] == "done"]
        if not in_flight and not done:
            try:
                nova.set_forced_down(session, svc["id"], False)
                return
            except rest.HTTPError as e:
                if e.status != 400:
                    raise
        elif done and not in_flight and restarts < 2:
            # The compute is running (up() waited for its heartbeat, which comes after
            # init_host), so these became `done` after it started: only its next start
            # turns them `completed`.
            say("  %s has %d `done` evacuation record(s); restarting its compute to clean up"
                % (host, len(done)))
            procs.stop(cloud, [services.compute_name(host)])
            lifecycle.wait_computes(cloud, lifecycle.start_computes(cloud, [host]))
            restarts += 1
            continue
        if time.monotonic() > deadline:
            raise CloudError("cannot unset forced_down on %s: evacuation records still %s"
                             % (host, ", ".join(sorted({m["status"] for m in migs}))))
        time.sleep(1.0)


def reset(cloud, delete_servers=False):
    """Every compute running and mapped, forced_down cleared, services enabled."""
    t0 = time.monotonic()
    lifecycle.up(cloud, note_forced=False)
    session = rest.Session(cloud)
    svcs = nova.compute_services(session)
    for host in cloud.compute_hosts:
        svc = svcs.get(host)
        if svc and svc["forced_down"]:
            say("  clearing forced_down on %s" % host)
            _unforce(cloud, session, host, svc)
        if svc and svc["status"] != "enabled":
            say("  enabling %s" % host)
            nova.set_enabled(session, svc["id"], True)
    if delete_servers:
        from . import seed
        seed.delete_all_servers(session)
        seed.forget_server_sets(cloud)
    procs.wait_for("computes up in Nova",
                   {h: (lambda h=h: nova.compute_services(session)[h]["state"] == "up")
                    for h in cloud.compute_hosts}, 60)
    say("reset done in %.1f s" % (time.monotonic() - t0))
