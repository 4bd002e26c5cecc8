"""The power column's reads: concurrent, bounded in time, cached briefly, never a secret;
and the BMC file: formats, permissions, problems."""
import logging
import os
import socket
import threading
import time

import pytest
from django.core.cache import cache

from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import power_states
from evac_dashboard.rules import power
from tests.unit.fakes import bmc as fake_bmc

HOSTS = ["cmp%d" % i for i in range(1, 9)]


@pytest.fixture(scope="module")
def redfish(tmp_path_factory):
    emulator = fake_bmc.RedfishEmulator(tmp_path_factory.mktemp("redfish"), HOSTS)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def ipmi(tmp_path_factory):
    server = fake_bmc.IpmiBmc(tmp_path_factory.mktemp("ipmi"), "ipmi1", power="Off")
    yield server
    server.stop()


@pytest.fixture
def silent_bmc():
    """Accepts TCP connections and never answers: the slowest BMC there is."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@pytest.fixture
def configure(settings, tmp_path):
    settings.EVAC_BMC_TIMEOUT = 3
    settings.EVAC_BMC_STATUS_SECONDS = 2
    settings.EVAC_BMC_POWER_CACHE_SECONDS = 30
    cache.clear()

    def write(hosts, fmt="yaml", mode=0o600, name="bmc"):
        path = tmp_path / ("%s.%s" % (name, fmt))
        settings.EVAC_BMC_FILE = fake_bmc.bmc_file(path, hosts, fmt=fmt, mode=mode)
        bmc_inventory.forget()
        return path
    yield write
    bmc_inventory.forget()
    cache.clear()


def test_every_host_read_at_once_with_its_state(configure, redfish, ipmi):
    hosts = {h: fake_bmc.redfish_entry(redfish, h) for h in HOSTS}
    hosts["ipmi1"] = fake_bmc.ipmi_entry(ipmi)
    configure(hosts)
    started = time.monotonic()
    readings = power_states.read(HOSTS + ["ipmi1", "plain"])
    took = time.monotonic() - started
    assert {h: r.state for h, r in readings.items()} == dict(
        {h: power.ON for h in HOSTS}, ipmi1=power.OFF, plain=power.NOT_CONFIGURED)
    assert took < 2.0
    # The second look is the cache's: no BMC asked, nothing secret in it.
    started = time.monotonic()
    again = power_states.read(HOSTS)
    assert time.monotonic() - started < 0.05
    assert again["cmp1"].state == power.ON
    for host in HOSTS:
        stored = cache.get(power_states._key(bmc_inventory.entry_for(host)))
        assert stored["state"] == power.ON and fake_bmc.PASSWORD not in str(stored)


def test_a_silent_bmc_costs_the_status_budget_not_more(configure, redfish, silent_bmc):
    configure({"cmp1": fake_bmc.redfish_entry(redfish, "cmp1"),
               "dead": {"agent": "redfish", "address": silent_bmc, "username": "u",
                        "password": "p"}})
    started = time.monotonic()
    readings = power_states.read(["cmp1", "dead"])
    took = time.monotonic() - started
    assert readings["cmp1"].state == power.ON
    assert readings["dead"].state == power.UNREACHABLE
    assert "no answer within 2 s" in readings["dead"].detail
    assert 1.9 < took < 2.8


def test_fresh_reads_skip_the_cache_and_forget_drops_it(configure, redfish):
    configure({"cmp2": fake_bmc.redfish_entry(redfish, "cmp2")})
    assert power_states.read(["cmp2"])["cmp2"].state == power.ON
    redfish.set_power("cmp2", "ForceOff")
    time.sleep(0.1)
    assert power_states.read(["cmp2"])["cmp2"].state == power.ON  # cached
    assert power_states.read(["cmp2"], fresh=True)["cmp2"].state in (power.ON, power.OFF)
    power_states.forget("cmp2")
    assert cache.get(power_states._key(bmc_inventory.entry_for("cmp2"))) is None
    redfish.set_power("cmp2", "On")


def test_json_file_and_password_file(configure, redfish, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(fake_bmc.PASSWORD + "\n")
    os.chmod(secret, 0o600)
    entry = fake_bmc.redfish_entry(redfish, "cmp3")
    entry.pop("password")
    entry["password_file"] = str(secret)
    configure({"cmp3": entry}, fmt="json")
    assert power_states.read(["cmp3"])["cmp3"].state == power.ON
    os.chmod(secret, 0)
    if os.geteuid() != 0:  # root reads anything
        power_states.forget("cmp3")
        reading = power_states.read(["cmp3"])["cmp3"]
        assert reading.state == power.ERROR and "cannot be read" in reading.detail


def test_a_shared_file_is_used_with_a_warning(configure, redfish, caplog):
    with caplog.at_level(logging.WARNING):
        configure({"cmp4": fake_bmc.redfish_entry(redfish, "cmp4")}, mode=0o644)
        assert bmc_inventory.entry_for("cmp4") is not None
    assert "can be read by its group or others (mode 0644)" in caplog.text
    assert fake_bmc.PASSWORD not in caplog.text


def test_bad_files_fence_nothing_and_say_why(configure, settings, tmp_path, caplog):
    path = tmp_path / "broken.yaml"
    path.write_text("hosts:\n  cmp1: {agent: redfish, password: 'pw-in-line\n")
    os.chmod(path, 0o600)
    settings.EVAC_BMC_FILE = str(path)
    bmc_inventory.forget()
    with caplog.at_level(logging.WARNING):
        assert len(bmc_inventory.inventory()) == 0
        assert "is not valid" in bmc_inventory.problem()
    assert "pw-in-line" not in bmc_inventory.problem() + caplog.text
    settings.EVAC_BMC_FILE = str(tmp_path / "missing.yaml")
    assert "cannot be read" in bmc_inventory.problem()
    configure({"cmp1": {"agent": "redfish", "address": "x", "username": "u"}})
    assert "password" in bmc_inventory.host_problem("cmp1")
    reading = power_states.read(["cmp1"])["cmp1"]
    assert reading.state == power.ERROR and "not valid" in reading.detail


def test_an_edited_file_is_read_again(configure, redfish):
    path = configure({"cmp5": fake_bmc.redfish_entry(redfish, "cmp5")})
    assert bmc_inventory.entry_for("cmp5") is not None
    fake_bmc.bmc_file(path, {"cmp6": fake_bmc.redfish_entry(redfish, "cmp6")})
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert bmc_inventory.entry_for("cmp5") is None
    assert bmc_inventory.entry_for("cmp6") is not None


def test_no_file_is_no_bmc(settings):
    settings.EVAC_BMC_FILE = None
    bmc_inventory.forget()
    assert power_states.read(["cmp1"])["cmp1"].state == power.NOT_CONFIGURED
    assert bmc_inventory.problem() == ""
