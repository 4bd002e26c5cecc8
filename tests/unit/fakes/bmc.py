"""Real BMC protocols on 127.0.0.1 for the fencing tests: no mock of sushy or pyghmi.

* ``RedfishEmulator``: sushy-tools' ``sushy-emulator`` with its fake systems driver, run as
  a subprocess on a free port (through the local cloud's ``runtime/lc_redfish.py``), HTTP
  basic auth from a bcrypt htpasswd file, one system per host. ``power_delay`` fixes the
  driver's power transition time (stock: 1–11 s at random).
* ``IpmiBmc``: ``evac_dashboard/localcloud/runtime/lc_ipmi_bmc.py`` (pyghmi's BMC server)
  as a subprocess on a free UDP port.
* ``bmc_file``: writes the dashboard's BMC file for them (mode 0600).
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import bcrypt
import requests
import yaml

from evac_dashboard.localcloud import config as lc_config

USER = "fence-admin"
PASSWORD = "s3cret-bmc-pw"



def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedfishEmulator:
    def __init__(self, workdir, hosts, power="On", power_delay=0, users=None):
        self.dir = str(workdir)
        self.port = free_port()
        self.uuids = {host: str(uuid.uuid5(uuid.NAMESPACE_DNS, "evac-test-" + host))
                      for host in hosts}
        users = users or {USER: PASSWORD}
        htpasswd = os.path.join(self.dir, "htpasswd")
        with open(htpasswd, "w", encoding="utf-8") as handle:
            for user, password in users.items():
                hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
                handle.write("%s:%s\n" % (user, hashed))
        systems = [{"uuid": self.uuids[h], "name": h, "power_state": power,
                    "nics": [{"mac": "00:5c:52:31:3a:%02x" % i, "ip": "127.0.0.1"}]}
                   for i, h in enumerate(hosts)]
        conf = os.path.join(self.dir, "emulator.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write("SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n"
                         "SUSHY_EMULATOR_LISTEN_PORT = %d\n"
                         "SUSHY_EMULATOR_FAKE_DRIVER = True\n"
                         "SUSHY_EMULATOR_STATE_DIR = %r\n"
                         "SUSHY_EMULATOR_AUTH_FILE = %r\n"
                         "SUSHY_EMULATOR_FAKE_SYSTEMS = %r\n"
                         % (self.port, os.path.join(self.dir, "state"), htpasswd, systems))
        self.log = open(os.path.join(self.dir, "emulator.log"), "wb")
        env = dict(os.environ, EVAC_LC_BMC_POWER_DELAY=str(power_delay))
        env.pop("EVAC_LC_DIR", None)
        self.process = subprocess.Popen(
            [sys.executable, str(lc_config.RUNTIME_DIR / "lc_redfish.py"), "--config", conf],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self._wait()

    @property
    def address(self):
        return "http://127.0.0.1:%d" % self.port

    def system_path(self, host):
        return "/redfish/v1/Systems/%s" % self.uuids[host]

    def _wait(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("sushy-emulator exited: see %s/emulator.log" % self.dir)
            try:
                requests.get(self.address + "/redfish/v1/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("sushy-emulator did not answer in %d s" % timeout)

    def power_state(self, host):
        """The system's PowerState, read over HTTP as a client would (applies what is due)."""
        answer = requests.get(self.address + self.system_path(host), timeout=5,
                              auth=(USER, PASSWORD))
        answer.raise_for_status()
        return answer.json()["PowerState"]

    def set_power(self, host, reset_type):
        requests.post(self.address + self.system_path(host) + "/Actions/ComputerSystem.Reset",
                      json={"ResetType": reset_type}, auth=(USER, PASSWORD),
                      timeout=5).raise_for_status()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class RedfishEmulatorMixin:
    """A TestCase mixin: one emulator for the class's ``redfish_hosts``, without power delay,
    as ``cls.redfish`` (``cls.workdir`` holds its files); stopped after the class."""

    redfish_hosts = ("cmp1",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.workdir = tempfile.mkdtemp(prefix="evac-%s-" % cls.__name__.lower())
        cls.redfish = RedfishEmulator(cls.workdir, list(cls.redfish_hosts), power_delay=0)

    @classmethod
    def tearDownClass(cls):
        cls.redfish.stop()
        super().tearDownClass()


class IpmiBmc:
    """Standalone (its own power state), or with ``redfish=emulator`` the IPMI side of that
    emulator's system ``host`` (as in the local cloud)."""

    def __init__(self, workdir, host, power="On", delay=0.0, password=PASSWORD, redfish=None):
        self.dir = str(workdir)
        self.host = host
        self.port = free_port(socket.SOCK_DGRAM)
        self.state_file = os.path.join(self.dir, "ipmi-%s.json" % host)
        with open(self.state_file, "w", encoding="utf-8") as handle:
            json.dump({"power_state": power}, handle)
        secret = os.path.join(self.dir, "ipmi-%s.secret" % host)
        with open(secret, "w", encoding="utf-8") as handle:
            handle.write(password)
        self.log = open(os.path.join(self.dir, "ipmi-%s.log" % host), "wb")
        script = str(lc_config.RUNTIME_DIR / "lc_ipmi_bmc.py")
        backend = ["--state-file", self.state_file, "--delay", str(delay)]
        if redfish is not None:
            backend = ["--redfish", redfish.address, "--system", redfish.system_path(host)]
        self.process = subprocess.Popen(
            [sys.executable, script, "--port", str(self.port), "--user", USER,
             "--password-file", secret, "--name", host] + backend,
            stdout=self.log, stderr=subprocess.STDOUT)
        time.sleep(0.3)
        if self.process.poll() is not None:
            raise RuntimeError("the fake IPMI BMC exited: see %s" % self.log.name)

    def power_state(self):
        with open(self.state_file, encoding="utf-8") as handle:
            return json.load(handle)["power_state"]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def redfish_entry(emulator, host, **extra):
    entry = {"agent": "redfish", "address": emulator.address,
             "system_id": emulator.system_path(host), "username": USER, "password": PASSWORD}
    entry.update(extra)
    return entry


def ipmi_entry(bmc, **extra):
    entry = {"agent": "ipmi", "address": "127.0.0.1", "port": bmc.port, "username": USER,
             "password": PASSWORD}
    entry.update(extra)
    return entry


def bmc_file(path, hosts, fmt="yaml", mode=0o600):
    """Write ``{"hosts": hosts}`` to ``path`` (YAML or JSON) with ``mode``; returns the path."""
    text = yaml.safe_dump({"hosts": hosts}) if fmt == "yaml" else json.dumps({"hosts": hosts})
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return str(path)


def use_bmc_file(case, path, hosts, **settings):
    """For one Django test ``case``: write the BMC file of ``hosts`` at ``path`` and point
    the dashboard at it (EVAC_BMC_FILE, with short BMC timeouts unless ``settings`` says
    otherwise), with the parsed inventory and the cached power states forgotten, before and
    after. Returns the path."""
    from django.core.cache import cache
    from evac_dashboard.operations import bmc_inventory

    values = {"EVAC_BMC_FILE": bmc_file(path, hosts), "EVAC_BMC_FENCE_TIMEOUT": 5,
              "EVAC_BMC_TIMEOUT": 2}
    values.update(settings)
    patcher = case.settings(**values)
    patcher.enable()
    case.addCleanup(patcher.disable)
    for forget in (bmc_inventory.forget, cache.clear):
        forget()
        case.addCleanup(forget)
    return values["EVAC_BMC_FILE"]


def unreachable_redfish_entry(host, **extra):
    """A Redfish entry for ``host`` at a port on 127.0.0.1 where nothing listens."""
    entry = {"agent": "redfish", "address": "http://127.0.0.1:%d" % free_port(),
             "system_id": "/redfish/v1/Systems/%s" % host, "username": USER,
             "password": PASSWORD}
    entry.update(extra)
    return entry
