"""api.bmc against real protocols: sushy-tools' Redfish emulator and pyghmi's BMC server."""
import time

import pytest

from evac_dashboard.api import bmc
from evac_dashboard.rules import bmc_config
from evac_dashboard.rules import power
from tests.unit.fakes import bmc as fake_bmc

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture(scope="module")
def redfish(tmp_path_factory):
    emulator = fake_bmc.RedfishEmulator(tmp_path_factory.mktemp("redfish"),
                                        ["cmp1", "cmp2", "cmp3"], power_delay=0)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def ipmi(tmp_path_factory):
    server = fake_bmc.IpmiBmc(tmp_path_factory.mktemp("ipmi"), "cmp9")
    yield server
    server.stop()


def entry(raw, host="cmp1"):
    return bmc_config.parse_entry(host, raw)


def test_redfish_reads_power_off_and_on(redfish):
    bmc_entry = entry(fake_bmc.redfish_entry(redfish, "cmp1"))
    client = bmc.client(bmc_entry, fake_bmc.PASSWORD, timeout=5)
    assert client.power_state() == power.ON
    client.power_off()
    assert client.power_state() == power.OFF
    assert redfish.power_state("cmp1") == "Off"
    client.power_on()
    assert client.power_state() == power.ON
    assert redfish.power_state("cmp1") == "On"


def test_redfish_wrong_password_is_auth_failed_without_the_password(redfish):
    bmc_entry = entry(fake_bmc.redfish_entry(redfish, "cmp2", password="wrong-pass-123"))
    reading = bmc.read_power(bmc_entry, "wrong-pass-123", timeout=5)
    assert reading.state == power.AUTH_FAILED
    assert "wrong-pass-123" not in reading.detail
    assert redfish.power_state("cmp2") == "On"


def test_redfish_discovers_no_single_system_among_three(redfish):
    raw = fake_bmc.redfish_entry(redfish, "cmp1")
    raw.pop("system_id")
    reading = bmc.read_power(entry(raw), fake_bmc.PASSWORD, timeout=5)
    assert reading.state == power.ERROR
    assert "exactly one system" in reading.detail


def test_redfish_discovers_the_single_system(tmp_path):
    emulator = fake_bmc.RedfishEmulator(tmp_path, ["solo"], power="Off")
    try:
        raw = fake_bmc.redfish_entry(emulator, "solo")
        raw.pop("system_id")
        reading = bmc.read_power(entry(raw, "solo"), fake_bmc.PASSWORD, timeout=5)
        assert reading.state == power.OFF, reading.detail
    finally:
        emulator.stop()


def test_redfish_unreachable_is_quick_and_says_so():
    port = fake_bmc.free_port()  # nothing listens there
    bmc_entry = entry({"agent": "redfish", "address": "http://127.0.0.1:%d" % port,
                       "username": "u", "password": "p"})
    started = time.monotonic()
    reading = bmc.read_power(bmc_entry, "p", timeout=1)
    assert reading.state == power.UNREACHABLE
    assert time.monotonic() - started < 3
    assert "cannot be reached" in reading.detail


def test_redfish_unknown_system_is_an_error(redfish):
    bmc_entry = entry(fake_bmc.redfish_entry(redfish, "cmp1", system_id="no-such-system"))
    reading = bmc.read_power(bmc_entry, fake_bmc.PASSWORD, timeout=5)
    assert reading.state == power.ERROR


def test_ipmi_reads_power_off_and_on(ipmi):
    bmc_entry = entry(fake_bmc.ipmi_entry(ipmi), "cmp9")
    client = bmc.client(bmc_entry, fake_bmc.PASSWORD, timeout=5)
    try:
        assert client.power_state() == power.ON
        client.power_off()
        assert client.power_state() == power.OFF
        assert ipmi.power_state() == "Off"
        client.power_on()
        assert client.power_state() == power.ON
        assert ipmi.power_state() == "On"
    finally:
        bmc.close(client)


def test_ipmi_wrong_password_is_auth_failed(ipmi):
    bmc_entry = entry(fake_bmc.ipmi_entry(ipmi, password="bad-ipmi-pw"), "cmp9")
    reading = bmc.read_power(bmc_entry, "bad-ipmi-pw", timeout=5)
    assert reading.state == power.AUTH_FAILED, reading
    assert "bad-ipmi-pw" not in reading.detail


def test_ipmi_unreachable_says_so():
    port = fake_bmc.free_port()
    bmc_entry = entry({"agent": "ipmi", "address": "127.0.0.1", "port": port,
                       "username": "u", "password": "p"}, "cmp8")
    reading = bmc.read_power(bmc_entry, "p", timeout=1)
    assert reading.state == power.UNREACHABLE, reading


def test_clients_never_show_the_password(redfish):
    bmc_entry = entry(fake_bmc.redfish_entry(redfish, "cmp1"))
    client = bmc.client(bmc_entry, fake_bmc.PASSWORD, timeout=5)
    assert fake_bmc.PASSWORD not in repr(client)
    assert fake_bmc.PASSWORD not in repr(bmc_entry)


def test_ipmi_side_of_a_redfish_bmc_shares_its_power_state(redfish, tmp_path):
    """The local cloud's IPMI BMC is a front-end to the host's Redfish system."""
    front = fake_bmc.IpmiBmc(tmp_path, "cmp3", redfish=redfish)
    try:
        client = bmc.client(entry(fake_bmc.ipmi_entry(front), "cmp3"), fake_bmc.PASSWORD, 5)
        assert client.power_state() == power.ON
        client.power_off()
        assert redfish.power_state("cmp3") == "Off"
        assert client.power_state() == power.OFF
        client.power_on()
        assert redfish.power_state("cmp3") == "On"
    finally:
        front.stop()
