"""``up``, ``down``, ``status`` and ``wipe`` of the whole cloud."""
import concurrent.futures
import fcntl
import shutil
import time

from . import (bmc, cloudjson, confgen, identity, mariadb, masakari, nova, procs, rabbitmq,
               rest, services, venv)
from .procs import say

API_TIMEOUT = 240
COMPUTE_TIMEOUT = 240


def _parallel(tasks, workers=3):
    """Run callables concurrently (setup steps are subprocess-bound); re-raise the first error."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(t) for t in tasks]
        for f in futures:
            f.result()


def _infra(cloud):
    mariadb.initialize(cloud)
    mariadb.start(cloud)
    rabbitmq.start(cloud)
    mariadb.wait(cloud)
    mariadb.provision(cloud)
    rabbitmq.wait(cloud)


def _keystone(cloud):
    identity.bootstrap(cloud)
    svc = [s for s in services.control_services(cloud) if s.name == "keystone"][0]
    services.start(cloud, svc)
    procs.wait_for("keystone", {"keystone": lambda: services.api_ready(svc)}, API_TIMEOUT,
                   watch={"keystone": "keystone"}, cloud=cloud)
    marker = "keystone-catalog-%d" % cloud.settings.port_base
    if not cloud.done(marker):
        say("  registering service users and catalog")
        identity.register_services(cloud, rest.Session(cloud))
        cloud.mark_done(marker)


def compute_ready_checks(cloud, session, since):
    """Checks for 'compute heartbeats since its (re)start and is mapped as a hypervisor'."""
    cache = {"t": 0.0}

    def refresh():
        if time.monotonic() - cache["t"] > 1.5:
            cache["hb"] = nova.heartbeats(cloud)
            try:
                cache["mapped"] = nova.mapped_hosts(session)
            except Exception:  # noqa: BLE001 - nova-api not answering yet
                cache["mapped"] = set()
            cache["t"] = time.monotonic()
        return cache

    def check(host):
        def fn():
            c = refresh()
            return c["hb"].get(host, "") >= since.get(host, "0") and host in c["mapped"]
        return fn

    return {"%s (heartbeat+hypervisor)" % h: check(h) for h in cloud.compute_hosts}


def start_computes(cloud, hosts):
    """Start the given computes; returns {host: DB time before start} for started ones.

    A file lock per compute makes "not running? start it" atomic across processes: the
    BMC emulator starts a compute when its host is powered On, maybe while `revive-host`
    or `up` does the same."""
    since = {}
    cloud.run.mkdir(parents=True, exist_ok=True)
    for host in hosts:
        svc = services.compute_service(cloud, host)
        with open(cloud.run / (svc.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if services.needs_start(cloud, svc):
                since[host] = nova.db_now(cloud)
                services.start(cloud, svc)
    return since


def _must_run(cloud):
    """Daemons that must stay alive while we wait for readiness."""
    return [s.name for s in services.control_services(cloud)
            if procs.record(cloud, s.name)] + [mariadb.NAME, rabbitmq.NAME, rabbitmq.EPMD]


def wait_computes(cloud, since, timeout=COMPUTE_TIMEOUT):
    session = rest.Session(cloud)
    # already-running computes only need a recent heartbeat
    base = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 20))
    full = {h: since.get(h, base) for h in cloud.compute_hosts}
    procs.wait_for("computes", compute_ready_checks(cloud, session, full), timeout,
                   watch={"%s (heartbeat+hypervisor)" % h: services.compute_name(h)
                          for h in cloud.compute_hosts}, cloud=cloud, alive=_must_run(cloud))


def up(cloud, note_forced=True):
    t0 = time.monotonic()
    cloud.ensure_dirs()
    cloud.save_settings()
    say("local cloud in %s" % cloud.dir)
    say("setup: virtualenv, MariaDB, RabbitMQ")
    _parallel([lambda: venv.ensure(cloud), lambda: _infra(cloud),
               lambda: bmc.ensure_venv(cloud)]
              + ([lambda: masakari.ensure_venv(cloud)] if masakari.enabled(cloud) else []),
              workers=4)
    confgen.write_all(cloud)
    say("setup: databases, keystone")
    _parallel([lambda: _keystone(cloud),
               lambda: services.setup_nova(cloud),
               lambda: services.setup_neutron(cloud),
               lambda: services.setup_placement(cloud),
               lambda: services.setup_glance(cloud)], workers=3)
    t_setup = time.monotonic() - t0

    say("start: OpenStack services")
    control = services.control_services(cloud)
    apis = [s for s in control if s.port]
    for svc in apis:
        services.start(cloud, svc)
    # conductor and scheduler die at start-up if keystone/placement do not answer, and a
    # compute that cannot reach placement stays unschedulable until its next periodic run
    needed = [s for s in apis if s.name in ("keystone", "placement")]
    procs.wait_for("keystone and placement", {s.name: (lambda s=s: services.api_ready(s))
                                              for s in needed},
                   API_TIMEOUT, watch={s.name: s.name for s in needed}, cloud=cloud,
                   alive=_must_run(cloud))
    for svc in control:
        if not svc.port:
            services.start(cloud, svc)
    since = start_computes(cloud, cloud.compute_hosts)
    procs.wait_for("APIs", {s.name: (lambda s=s: services.api_ready(s)) for s in apis},
                   API_TIMEOUT, watch={s.name: s.name for s in apis}, cloud=cloud,
                   alive=_must_run(cloud))
    wait_computes(cloud, since)
    _stop_extra_computes(cloud)
    say("start: BMCs (Redfish %s, IPMI UDP %d+)" % (bmc.redfish_url(cloud),
                                                   cloud.port("bmc-ipmi")))
    bmc.up(cloud)
    if masakari.enabled(cloud):
        say("start: Masakari (API %s, engine)" % masakari.api_url(cloud))
        masakari.up(cloud)
    else:
        masakari.stop(cloud)
    cloudjson.write(cloud)
    t_start = time.monotonic() - t0 - t_setup
    forced = [h for h, s in nova.compute_services(rest.Session(cloud)).items()
              if s.get("forced_down") and h in cloud.compute_hosts]
    if forced and note_forced:
        say("note: forced down: %s (run `reset` to clear)" % ", ".join(forced))
    say("cloud is up: %d computes (%s); auth_url %s; cloud.json: %s"
        % (len(cloud.compute_hosts), ", ".join(cloud.compute_hosts), cloud.auth_url,
           cloud.cloud_json))
    say("BMCs: Redfish %s, IPMI 127.0.0.1 UDP %s, user %s / %s; dashboard BMC file "
        "(EVAC_BMC_FILE): %s" % (bmc.redfish_url(cloud), ", ".join(
            "%s:%d" % (h, bmc.ipmi_port(cloud, h)) for h in cloud.compute_hosts),
            bmc.USER, bmc.PASSWORD, bmc.bmc_file_path(cloud)))
    say("setup %.1f s, start %.1f s (total %.1f s)" % (t_setup, t_start, t_setup + t_start))
    return t_setup, t_start


def _stop_extra_computes(cloud):
    wanted = {services.compute_name(h) for h in cloud.compute_hosts}
    extra = [n for n in procs.known_names(cloud)
             if n.startswith("nova-compute-") and n not in wanted and procs.pid_of(cloud, n)]
    if extra:
        say("  stopping computes no longer configured: %s" % ", ".join(extra))
        procs.stop(cloud, extra)


def down(cloud):
    names = services.all_daemon_names(cloud)
    infra = [mariadb.NAME, rabbitmq.NAME, rabbitmq.EPMD]
    running = [n for n in names if procs.group_pids(cloud, n)]
    if not running:
        say("nothing running")
        return True
    t0 = time.monotonic()
    say("stopping %s" % ", ".join(running))
    left = procs.stop(cloud, [n for n in names if n not in infra])
    left += procs.stop(cloud, [mariadb.NAME], timeout=30)
    left += procs.stop(cloud, [rabbitmq.NAME], timeout=20)
    left += procs.stop(cloud, [rabbitmq.EPMD], timeout=5)
    if left:
        say("still running after SIGKILL: %s" % ", ".join(left))
        return False
    say("stopped in %.1f s" % (time.monotonic() - t0))
    return True


def status(cloud):
    """Print every daemon and every compute's Nova state; True if all is up."""
    if not cloud.exists:
        say("no local cloud in %s (run `up`)" % cloud.dir)
        return False
    ok = True
    say("data dir %s" % cloud.dir)
    total_rss = 0
    rows = []
    apis = {s.name: s for s in services.control_services(cloud) + bmc.bmc_services(cloud)
            + masakari.masakari_services(cloud) if s.port}
    infra_ports = {mariadb.NAME: cloud.port("mariadb"), rabbitmq.NAME: cloud.port("rabbitmq"),
                   rabbitmq.EPMD: cloud.port("epmd")}
    names = [n for n in services.all_daemon_names(cloud) if not n.startswith("nova-compute-")]
    for name in names:
        pid = procs.pid_of(cloud, name)
        pids = procs.group_pids(cloud, name)
        rss = procs.rss_kib(pids)
        total_rss += rss
        detail = ""
        if name in apis:
            answering = bool(pid) and services.api_ready(apis[name])
            detail = "%s %s" % ("answers" if answering else "NOT answering",
                                "http://127.0.0.1:%d" % apis[name].port)
            state = "up" if answering else "DOWN"
        else:
            state = "up" if pid else "DOWN"
            if name in infra_ports:
                detail = "127.0.0.1:%d" % infra_ports[name]
        if state != "up":
            ok = False
        rows.append((name, state, "pid %s" % pid if pid else "-", "%4d MiB" % (rss // 1024), detail))
    try:
        svcs = nova.compute_services(rest.Session(cloud))
    except Exception as e:  # noqa: BLE001
        svcs, ok = {}, False
        say("  (cannot ask Nova about computes: %s)" % str(e)[:200])
    for host in sorted(set(cloud.compute_hosts) | set(svcs)):
        name = services.compute_name(host)
        pid = procs.pid_of(cloud, name)
        rss = procs.rss_kib(procs.group_pids(cloud, name))
        total_rss += rss
        s = svcs.get(host, {})
        nstate = s.get("state", "?")
        detail = "nova: state %s, %s, forced_down %s" % (
            nstate, s.get("status", "?"), "yes" if s.get("forced_down") else "no")
        configured = host in cloud.compute_hosts
        healthy = bool(pid) and nstate == "up" and s.get("status") == "enabled" \
            and not s.get("forced_down")
        if configured and not healthy:
            ok = False
        label = ("compute " + host) + ("" if configured else " (not configured)")
        rows.append((label, "up" if pid else "DEAD", "pid %s" % pid if pid else "-",
                     "%4d MiB" % (rss // 1024), detail))
    w = max(len(r[0]) for r in rows)
    for r in rows:
        say("  %-*s  %-4s  %-10s %s  %s" % (w, r[0], r[1], r[2], r[3], r[4]))
    say("total RSS %.2f GiB; overall: %s" % (total_rss / 1024 / 1024, "all up" if ok else "NOT all up"))
    return ok


def total_rss_kib(cloud):
    return sum(procs.rss_kib(procs.group_pids(cloud, n)) for n in services.all_daemon_names(cloud))


def wipe(cloud, keep_venv=True):
    """Stop everything and delete the data dir (except the virtualenv unless told)."""
    if cloud.dir.exists():
        down(cloud)
        for child in cloud.dir.iterdir():
            if keep_venv and child.name in ("venv", "bmc-venv", "masakari-venv"):
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    say("wiped %s%s" % (cloud.dir, " (kept venv)" if keep_venv else ""))
