"""Every fake compute host gets a BMC whose power state drives its nova-compute.

* Redfish: one sushy-tools emulator (``bmc-redfish``, fake systems driver, HTTP basic auth)
  with one ComputerSystem per compute host, on ``127.0.0.1:<base+800>``;
  ``runtime/lc_redfish.py`` runs it so that a power change that has *happened* drives the
  host: Off SIGKILLs that host's nova-compute (before the BMC answers "Off"), On starts it.
* IPMI: one pyghmi BMC server per host (``bmc-ipmi-<host>``, UDP ``<base+623+i>``), the
  IPMI side of the same system (``runtime/lc_ipmi_bmc.py --redfish``): one power state.

They run from their own virtualenv (``<datadir>/bmc-venv``: sushy-tools and pyghmi, pinned in
``bmc-requirements.txt``), never the cloud's or the dashboard's. ``up`` starts them after the
computes and powers On any system found Off (``up`` has just started its compute), so the
BMCs and the computes agree; ``revive-host`` powers the host's system On too. ``kill-host``
leaves the BMC On: a host that died on its own. The dashboard's BMC file is written to
``<datadir>/bmc.yaml`` (Redfish) and ``<datadir>/bmc-ipmi.yaml`` (IPMI), mode 0600.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

from . import config, procs, services
from .procs import CloudError, say

REDFISH = "bmc-redfish"
USER, PASSWORD = config.BMC_USER, config.BMC_PASSWORD
REQUIREMENTS = config.PACKAGE_DIR / "bmc-requirements.txt"
_STAMP = ".evac-bmc-requirements.sha256"
READY_TIMEOUT = 60


def ipmi_name(host):
    return "bmc-ipmi-" + host


def venv_dir(cloud):
    return cloud.path("bmc-venv")


def python(cloud):
    return str(venv_dir(cloud) / "bin" / "python")


def etc(cloud):
    return cloud.etc / "bmc"


def redfish_url(cloud):
    return "http://%s:%d" % (config.HOST, cloud.port("bmc-redfish"))


def ipmi_port(cloud, host):
    return cloud.port("bmc-ipmi") + cloud.compute_hosts.index(host)


def system_uuid(host):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, "evac-localcloud-bmc-" + host))


def system_path(host):
    return "/redfish/v1/Systems/%s" % system_uuid(host)


# ---- virtualenv ----------------------------------------------------------------------------

def _wanted_hash():
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_venv(cloud):
    """Create/refresh ``<datadir>/bmc-venv`` when bmc-requirements.txt changed."""
    stamp = venv_dir(cloud) / _STAMP
    if stamp.exists() and stamp.read_text().strip() == _wanted_hash():
        return 0.0
    t0 = time.monotonic()
    log = cloud.logs / "pip-bmc.log"
    if not os.path.exists(python(cloud)):
        say("  creating virtualenv %s" % venv_dir(cloud))
        procs.run([sys.executable, "-m", "venv", str(venv_dir(cloud))], log,
                  what="python3 -m venv (BMC)")
    say("  pip install -r %s (log: %s)" % (REQUIREMENTS, log))
    procs.run([python(cloud), "-m", "pip", "install", "-q", "--disable-pip-version-check",
               "-r", str(REQUIREMENTS)], log, what="pip install (BMC)", timeout=1200)
    stamp.write_text(_wanted_hash() + "\n")
    return time.monotonic() - t0


# ---- configuration -------------------------------------------------------------------------

def _secret_files(cloud):
    directory = etc(cloud)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    secret = directory / "password"
    if not secret.exists() or secret.read_text().strip() != PASSWORD:
        secret.write_text(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    htpasswd = directory / "htpasswd"
    if not htpasswd.exists():  # bcrypt salts: hash once, so the config hash stays put
        hashed = subprocess.check_output(
            [python(cloud), "-c", "import bcrypt, sys; print(bcrypt.hashpw("
             "sys.stdin.read().strip().encode(), bcrypt.gensalt()).decode())"],
            input=PASSWORD, text=True).strip()
        htpasswd.write_text("%s:%s\n" % (USER, hashed))
        os.chmod(htpasswd, 0o600)
    return secret, htpasswd


def write_config(cloud):
    secret, htpasswd = _secret_files(cloud)
    systems = [{"uuid": system_uuid(h), "name": h, "power_state": "On",
                "external_notifier": True,
                "nics": [{"mac": "52:54:00:00:%02x:01" % i, "ip": config.HOST}]}
               for i, h in enumerate(cloud.compute_hosts, 1)]
    conf = etc(cloud) / "emulator.conf"
    text = ("# Written by `localcloud up`: sushy-tools' emulator, one system per compute.\n"
            "SUSHY_EMULATOR_LISTEN_IP = %r\n"
            "SUSHY_EMULATOR_LISTEN_PORT = %d\n"
            "SUSHY_EMULATOR_FAKE_DRIVER = True\n"
            "SUSHY_EMULATOR_STATE_DIR = %r\n"
            "SUSHY_EMULATOR_AUTH_FILE = %r\n"
            "SUSHY_EMULATOR_FAKE_SYSTEMS = %r\n"
            "EVAC_LC_BMC_POWER_DELAY = %r\n"
            % (config.HOST, cloud.port("bmc-redfish"), str(cloud.path("bmc", "state")),
               str(htpasswd), systems, float(cloud.settings.bmc_power_delay)))
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)
    return conf, secret


def bmc_services(cloud):
    conf = etc(cloud) / "emulator.conf"
    secret = etc(cloud) / "password"
    env = procs.child_env(cloud, {
        "PYTHONPATH": str(config.REPO_ROOT), "EVAC_LC_DIR": str(cloud.dir),
        "EVAC_LC_BMC_POWER_DELAY": str(float(cloud.settings.bmc_power_delay))})
    env["PATH"] = str(venv_dir(cloud) / "bin") + os.pathsep + env["PATH"]
    out = [services.Service(
        REDFISH, [python(cloud), str(config.RUNTIME_DIR / "lc_redfish.py"), "--config",
                  str(conf)], env, port=cloud.port("bmc-redfish"), health_path="/redfish/v1/",
        config_files=(conf, config.RUNTIME_DIR / "lc_redfish.py"))]
    for host in cloud.compute_hosts:
        out.append(services.Service(
            ipmi_name(host),
            [python(cloud), str(config.RUNTIME_DIR / "lc_ipmi_bmc.py"), "--address",
             config.HOST, "--port", str(ipmi_port(cloud, host)), "--user", USER,
             "--password-file", str(secret), "--name", host, "--redfish", redfish_url(cloud),
             "--system", system_path(host)],
            env, config_files=(config.RUNTIME_DIR / "lc_ipmi_bmc.py",)))
    return out


def daemon_names(cloud):
    names = [REDFISH] + [ipmi_name(h) for h in cloud.compute_hosts]
    return names + [n for n in procs.known_names(cloud)
                    if n.startswith("bmc-ipmi-") and n not in names]


# ---- the emulator over HTTP ----------------------------------------------------------------

def _http(cloud, path, body=None, timeout=10):
    token = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    request = urllib.request.Request(
        redfish_url(cloud) + path, data=json.dumps(body).encode() if body else None,
        headers={"Authorization": "Basic " + token, "Content-Type": "application/json"},
        method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        data = answer.read()
    return json.loads(data) if data else None


def power_state(cloud, host):
    """The system's PowerState as the emulator reports it (applies a change that is due)."""
    return _http(cloud, system_path(host))["PowerState"]


def power_on(cloud, hosts, timeout=None):
    """Power On the systems of ``hosts`` that are not On, and wait until they report On."""
    timeout = timeout or float(cloud.settings.bmc_power_delay) + 15
    wanted = [h for h in hosts if power_state(cloud, h) != "On"]
    for host in wanted:
        say("  BMC: powering %s on (it was Off)" % host)
        _http(cloud, system_path(host) + "/Actions/ComputerSystem.Reset", {"ResetType": "On"})
    if wanted:
        procs.wait_for("BMCs to report On", {h: (lambda h=h: power_state(cloud, h) == "On")
                                             for h in wanted}, timeout, interval=0.5)
    return wanted


def running(cloud):
    return bool(procs.pid_of(cloud, REDFISH))


def up(cloud):
    """Start (or restart on a config change) the BMCs, write the dashboard's BMC files and
    make every BMC agree that its host is On (``up`` has started every compute)."""
    write_config(cloud)
    for svc in bmc_services(cloud):
        services.start(cloud, svc)
    redfish = bmc_services(cloud)[0]
    procs.wait_for("the BMCs (Redfish)", {REDFISH: lambda: services.api_ready(redfish)},
                   READY_TIMEOUT, watch={REDFISH: REDFISH}, cloud=cloud)
    extra = [n for n in procs.known_names(cloud) if n.startswith("bmc-ipmi-")
             and n not in {ipmi_name(h) for h in cloud.compute_hosts} and procs.pid_of(cloud, n)]
    if extra:
        procs.stop(cloud, extra)
    write_bmc_files(cloud)
    try:
        power_on(cloud, cloud.compute_hosts)
    except (OSError, urllib.error.URLError) as error:
        raise CloudError("the Redfish BMC does not answer: %s (log: %s)"
                         % (error, cloud.logs / (REDFISH + ".log"))) from None


def bmc_file_path(cloud, agent="redfish"):
    return cloud.path("bmc.yaml" if agent == "redfish" else "bmc-ipmi.yaml")


def entries(cloud, agent="redfish"):
    out = {}
    for host in cloud.compute_hosts:
        if agent == "redfish":
            out[host] = {"agent": "redfish", "address": redfish_url(cloud),
                         "system_id": system_path(host), "username": USER,
                         "password_file": str(etc(cloud) / "password")}
        else:
            out[host] = {"agent": "ipmi", "address": config.HOST,
                         "port": ipmi_port(cloud, host), "username": USER,
                         "password_file": str(etc(cloud) / "password")}
    return out


def write_bmc_files(cloud):
    """The dashboard's ``EVAC_BMC_FILE`` for this cloud (JSON is YAML, so one writer)."""
    for agent in ("redfish", "ipmi"):
        path = bmc_file_path(cloud, agent)
        text = ("# The local cloud's BMCs (%s), written by `localcloud up`.\n" % agent
                + json.dumps({"hosts": entries(cloud, agent)}, indent=2) + "\n")
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


def info(cloud):
    """cloud.json's ``bmc`` section (the password is the dev one, as everywhere here)."""
    return {"redfish": redfish_url(cloud), "username": USER, "password": PASSWORD,
            "password_file": str(etc(cloud) / "password"),
            "power_delay_seconds": float(cloud.settings.bmc_power_delay),
            "file": str(bmc_file_path(cloud)), "ipmi_file": str(bmc_file_path(cloud, "ipmi")),
            "systems": {h: system_path(h) for h in cloud.compute_hosts},
            "ipmi_ports": {h: ipmi_port(cloud, h) for h in cloud.compute_hosts}}
