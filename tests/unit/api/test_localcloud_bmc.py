"""The local cloud's BMCs (``localcloud/bmc.py``) as the dashboard's BMC client sees them, in
a throw-away data directory with its own ports: no OpenStack runs, a ``sleep`` stands in for
a host's nova-compute, and the dashboard's Python (which has sushy-tools and pyghmi) stands
in for the BMC virtualenv."""
import os
import random
import socket
import subprocess
import time

import pytest
import yaml

from evac_dashboard.api import bmc as bmc_api
from evac_dashboard.localcloud import bmc, config, procs, services
from evac_dashboard.rules import bmc_config
from evac_dashboard.rules import power


def _free_base():
    for _ in range(50):
        base = random.randrange(30000, 39000, 100)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", base + 800)):
                return base
    raise RuntimeError("no free port base")


@pytest.fixture
def cloud(tmp_path):
    import sys
    cloud = config.Cloud(tmp_path / "lc")
    cloud.settings.port_base = _free_base()
    cloud.settings.bmc_power_delay = 0
    cloud.ensure_dirs()
    cloud.save_settings()
    os.symlink(sys.prefix, bmc.venv_dir(cloud))  # the dashboard's venv, read only
    procs.start(cloud, services.compute_name("cmp1"), ["sleep", "300"])
    bmc.write_config(cloud)
    for svc in bmc.bmc_services(cloud):
        services.start(cloud, svc)
    redfish = bmc.bmc_services(cloud)[0]
    procs.wait_for("redfish", {"r": lambda: services.api_ready(redfish)}, 30, cloud=cloud,
                   watch={"r": bmc.REDFISH})
    bmc.write_bmc_files(cloud)
    yield cloud
    procs.stop(cloud, bmc.daemon_names(cloud) + [services.compute_name("cmp1")], timeout=5)


def entries(cloud, agent):
    path = bmc.bmc_file_path(cloud, agent)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path) as handle:
        return bmc_config.parse_inventory(yaml.safe_load(handle))


def wait_state(client, wanted, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.power_state() == wanted:
            return True
        time.sleep(0.2)
    return False


def test_fencing_through_the_local_cloud_bmc_kills_its_compute(cloud):
    inventory = entries(cloud, "redfish")
    assert sorted(inventory.entries) == cloud.compute_hosts and not inventory.problems
    entry = inventory.get("cmp1")
    password = open(entry.password_file).read().strip()
    client = bmc_api.client(entry, password, timeout=5)
    assert client.power_state() == power.ON
    assert procs.pid_of(cloud, services.compute_name("cmp1"))
    client.power_off()
    assert wait_state(client, power.OFF)
    # Off was reported only once the host's nova-compute was dead.
    assert not procs.pid_of(cloud, services.compute_name("cmp1"))
    client.power_on()
    assert wait_state(client, power.ON)
    log = (cloud.logs / (bmc.REDFISH + ".log")).read_text()
    assert "cmp1: Off -> killing its nova-compute" in log
    assert "cmp1: On -> starting its nova-compute" in log


def test_ipmi_and_redfish_are_one_bmc(cloud):
    ipmi = entries(cloud, "ipmi").get("cmp2")
    password = open(ipmi.password_file).read().strip()
    client = bmc_api.client(ipmi, password, timeout=5)
    assert client.power_state() == power.ON
    client.power_off()
    assert wait_state(client, power.OFF)
    assert bmc.power_state(cloud, "cmp2") == "Off"
    assert bmc.power_on(cloud, ["cmp2"]) == ["cmp2"]
    assert client.power_state() == power.ON


def test_wrong_credentials_are_refused(cloud):
    entry = entries(cloud, "redfish").get("cmp3")
    reading = bmc_api.read_power(entry, "not-the-password", timeout=5)
    assert reading.state == power.AUTH_FAILED
    assert bmc.power_state(cloud, "cmp3") == "On"


def test_cloud_json_section_and_daemons(cloud):
    info = bmc.info(cloud)
    assert info["redfish"] == "http://127.0.0.1:%d" % (cloud.settings.port_base + 800)
    assert info["ipmi_ports"]["cmp3"] == cloud.settings.port_base + 625
    assert set(bmc.daemon_names(cloud)) >= {"bmc-redfish", "bmc-ipmi-cmp1"}
    assert "bmc-redfish" in services.all_daemon_names(cloud)
    # The hash of the bcrypt file is stable: a second write restarts nothing.
    before = procs.pid_of(cloud, bmc.REDFISH)
    bmc.write_config(cloud)
    assert not services.start(cloud, bmc.bmc_services(cloud)[0])
    assert procs.pid_of(cloud, bmc.REDFISH) == before
    assert subprocess.call(["true"]) == 0
