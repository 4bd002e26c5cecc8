"""Start, find and stop the cloud's daemons by recorded PID and process group; wait for things.

Each daemon is started in its own session (so its PID is also its process-group id) with
stdout+stderr appended to ``<datadir>/logs/<name>.log``. ``<datadir>/run/<name>.json``
records the PID together with the process start time from /proc, so a recycled PID is never
mistaken for ours and nothing outside the recorded groups is ever signalled.
"""
import json
import os
import signal
import subprocess
import time

_CLK_TCK = os.sysconf("SC_CLK_TCK")


class CloudError(Exception):
    """A failure the CLI reports as a message (and exit code 1), without a traceback."""


def _stat(pid):
    """(state, pgrp, start_ticks) of a process, or None if it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[2]), int(fields[19])


def _pidfile(cloud, name):
    return cloud.run / (name + ".json")


def record(cloud, name):
    try:
        return json.loads(_pidfile(cloud, name).read_text())
    except (OSError, ValueError):
        return None


def pid_of(cloud, name):
    """PID of the running daemon ``name`` that we started, else None."""
    rec = record(cloud, name)
    if not rec:
        return None
    st = _stat(rec["pid"])
    if st is None or st[0] == "Z" or st[2] != rec["start_ticks"]:
        return None
    return rec["pid"]


def _group_members(pgid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st and st[1] == pgid and st[0] != "Z":
                pids.append(int(entry))
    return pids


def _our_group(cloud, name):
    """pgid of the recorded daemon if any process of its group is still alive."""
    rec = record(cloud, name)
    if not rec:
        return None
    pid = rec["pid"]
    st = _stat(pid)
    if st is not None and st[2] != rec["start_ticks"]:
        return None  # the PID now belongs to somebody else
    return pid if _group_members(pid) else None


def start(cloud, name, argv, env=None, cwd=None, extra=None):
    """Start ``argv`` as daemon ``name``; returns its PID."""
    cloud.logs.mkdir(parents=True, exist_ok=True)
    cloud.run.mkdir(parents=True, exist_ok=True)
    log_path = cloud.logs / (name + ".log")
    with open(log_path, "ab") as log:
        log.write(("\n==== %s starting %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                                " ".join(argv))).encode())
        log.flush()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True, close_fds=True)
    st = _stat(proc.pid)
    rec = {"pid": proc.pid, "start_ticks": st[2] if st else 0, "argv": argv,
           "started_at": time.time()}
    rec.update(extra or {})
    _pidfile(cloud, name).write_text(json.dumps(rec))
    return proc.pid


def signal_group(cloud, name, sig):
    pgid = _our_group(cloud, name)
    if pgid:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
    return pgid


def stop(cloud, names, timeout=15.0):
    """SIGTERM the groups of ``names`` together, SIGKILL what is left after ``timeout``."""
    pending = {}
    for name in names:
        pgid = signal_group(cloud, name, signal.SIGTERM)
        if pgid:
            pending[name] = pgid
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        time.sleep(0.2)
        pending = {n: g for n, g in pending.items() if _group_members(g)}
    for name, pgid in pending.items():
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    t = time.monotonic() + 5
    while pending and time.monotonic() < t:
        time.sleep(0.1)
        pending = {n: g for n, g in pending.items() if _group_members(g)}
    for name in names:
        if not _our_group(cloud, name):
            try:
                _pidfile(cloud, name).unlink()
            except FileNotFoundError:
                pass
    return sorted(pending)


def kill(cloud, name):
    """SIGKILL the whole group at once (a host "dies"); True if something was killed."""
    pgid = signal_group(cloud, name, signal.SIGKILL)
    if not pgid:
        return False
    t = time.monotonic() + 5
    while _group_members(pgid) and time.monotonic() < t:
        time.sleep(0.05)
    return True


def known_names(cloud):
    if not cloud.run.exists():
        return []
    return sorted(p.stem for p in cloud.run.glob("*.json"))


def group_pids(cloud, name):
    pgid = _our_group(cloud, name)
    return _group_members(pgid) if pgid else []


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def log_tail(cloud, name, lines=25):
    path = cloud.logs / (name + ".log")
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log at %s)" % path
    return "\n".join(text.splitlines()[-lines:])


def say(msg):
    print(msg, flush=True)


def wait_for(what, checks, timeout, watch=None, cloud=None, interval=1.0, quiet_for=10.0,
             alive=()):
    """Poll ``checks`` ({label: fn -> bool}) until all are true.

    Prints what it is still waiting for whenever that set changes (and every ``quiet_for``
    seconds). ``watch`` maps labels to daemon names, ``alive`` lists further daemons that
    must keep running: if one of them dies, fail at once with the tail of its log.
    """
    pending = dict(checks)
    start_t = time.monotonic()
    last_msg, last_t = None, 0.0
    while True:
        for label in list(pending):
            try:
                ok = pending[label]()
            except Exception:  # noqa: BLE001 - a check that raises is simply "not yet"
                ok = False
            if ok:
                del pending[label]
        if not pending:
            return time.monotonic() - start_t
        if cloud:
            daemons = [watch.get(label) for label in pending] if watch else []
            for daemon in daemons + list(alive):
                if daemon and not pid_of(cloud, daemon):
                    raise CloudError("%s exited while waiting for %s; last lines of %s:\n%s"
                                     % (daemon, what, cloud.logs / (daemon + ".log"),
                                        log_tail(cloud, daemon)))
        elapsed = time.monotonic() - start_t
        if elapsed > timeout:
            tails = []
            if watch and cloud:
                for label in pending:
                    if watch.get(label):
                        tails.append("--- %s:\n%s" % (cloud.logs / (watch[label] + ".log"),
                                                      log_tail(cloud, watch[label])))
            raise CloudError("timed out after %.0f s waiting for %s: %s\n%s"
                             % (elapsed, what, ", ".join(sorted(pending)), "\n".join(tails)))
        msg = ", ".join(sorted(pending))
        if msg != last_msg or time.monotonic() - last_t > quiet_for:
            say("  waiting for %s (%.0f s): %s" % (what, elapsed, msg))
            last_msg, last_t = msg, time.monotonic()
        time.sleep(interval)


def run(argv, log_path, env=None, what=None, timeout=900):
    """Run a one-shot setup command, output to ``log_path``; raise with its tail on failure."""
    with open(log_path, "ab") as log:
        log.write(("\n==== %s %s\n" % (time.strftime("%H:%M:%S"), " ".join(argv))).encode())
        log.flush()
        rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, env=env, timeout=timeout)
    if rc != 0:
        with open(log_path, "rb") as f:
            tail = f.read()[-3000:].decode("utf-8", "replace")
        raise CloudError("%s failed (exit %d); end of %s:\n%s"
                         % (what or argv[0], rc, log_path, tail))


def child_env(cloud, extra=None):
    """Environment for the cloud's processes: no OS_* client variables, venv first in PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "PYTHON", "VIRTUAL_ENV", "DJANGO_"))}
    env["PATH"] = str(cloud.venv / "bin") + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def port_in_use(port, host="127.0.0.1"):
    import socket
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


