"""The BMC file's document: what validates, what is left out, and no password anywhere."""
import dataclasses

import pytest

from evac_dashboard.rules import bmc_config
from evac_dashboard.rules import power

SECRET = "hunter2-bmc"


def redfish(**extra):
    raw = {"agent": "redfish", "address": "10.0.0.11", "username": "root", "password": SECRET}
    raw.update(extra)
    return raw


def test_redfish_entry_defaults_to_https_and_discovery():
    entry = bmc_config.parse_entry("cmp1", redfish())
    assert entry.address == "https://10.0.0.11"
    assert entry.system_id is None
    assert entry.verify_tls is True
    assert entry.auth == "basic"


def test_redfish_system_id_may_be_an_id_or_a_path():
    assert bmc_config.parse_entry("cmp1", redfish(system_id="1")).system_id == \
        "/redfish/v1/Systems/1"
    assert bmc_config.parse_entry("cmp1", redfish(
        system_id="/redfish/v1/Systems/System.Embedded.1/")).system_id == \
        "/redfish/v1/Systems/System.Embedded.1"


def test_ipmi_entry_with_port_and_password_file():
    entry = bmc_config.parse_entry("cmp2", {"agent": "IPMI", "address": "10.0.0.12",
                                            "port": 6230, "username": "admin",
                                            "password_file": "/etc/bmc/cmp2"})
    assert (entry.agent, entry.ipmi_port, entry.password, entry.password_file) == \
        ("ipmi", 6230, None, "/etc/bmc/cmp2")
    assert bmc_config.parse_entry("cmp2", {"agent": "ipmi", "address": "h", "username": "u",
                                           "password": "p"}).ipmi_port == 623


def test_verify_tls_false_or_a_ca_bundle():
    assert bmc_config.parse_entry("h", redfish(verify_tls=False)).verify_tls is False
    assert bmc_config.parse_entry("h", redfish(verify_tls="/etc/ssl/bmc-ca.pem")).verify_tls \
        == "/etc/ssl/bmc-ca.pem"


@pytest.mark.parametrize("change, words", [
    ({"agent": "ssh"}, "agent"),
    ({"address": ""}, "address"),
    ({"username": None}, "username"),
    ({"password": None}, "password or password_file"),
    ({"password_file": "/x"}, "not both"),
    ({"address": "https://u:pw@10.0.0.1"}, "not in the address"),
    ({"address": "https://10.0.0.1/redfish/v1"}, "no path"),
    ({"port": 443}, "belongs in the address"),
    ({"colour": "red"}, "unknown key"),
    ({"verify_tls": "maybe"}, "verify_tls"),
    ({"auth": "kerberos"}, "auth"),
])
def test_bad_entries_say_which_field(change, words):
    raw = redfish()
    raw.update(change)
    with pytest.raises(ValueError) as caught:
        bmc_config.parse_entry("cmp1", {k: v for k, v in raw.items() if v is not None})
    assert words in str(caught.value)
    assert SECRET not in str(caught.value)


def test_ipmi_rejects_urls_and_system_ids():
    with pytest.raises(ValueError):
        bmc_config.parse_entry("h", {"agent": "ipmi", "address": "https://x", "username": "u",
                                     "password": "p"})
    with pytest.raises(ValueError):
        bmc_config.parse_entry("h", {"agent": "ipmi", "address": "x", "username": "u",
                                     "password": "p", "system_id": "1"})
    with pytest.raises(ValueError):
        bmc_config.parse_entry("h", {"agent": "ipmi", "address": "x", "username": "u",
                                     "password": "p", "port": 70000})


def test_inventory_keeps_good_entries_and_reports_bad_ones():
    inventory = bmc_config.parse_inventory({
        "defaults": {"username": "fence", "password": SECRET},
        "hosts": {"cmp1": {"agent": "redfish", "address": "bmc1"},
                  "cmp2": {"agent": "ipmi", "address": "bmc2", "username": "other"},
                  "cmp3": {"agent": "telnet", "address": "bmc3"}},
        "extra": 1})
    assert sorted(inventory.entries) == ["cmp1", "cmp2"]
    assert inventory.get("cmp1").username == "fence"
    assert inventory.get("cmp2").username == "other"
    assert "cmp3" in inventory.problems and "agent" in inventory.problems["cmp3"]
    assert "unknown top-level" in inventory.problems[""]
    assert "cmp1" in inventory and len(inventory) == 2


@pytest.mark.parametrize("document", [[], {"hosts": []}, {"hosts": {}, "defaults": []}])
def test_unusable_documents(document):
    with pytest.raises(bmc_config.BmcConfigError):
        bmc_config.parse_inventory(document)


def test_no_document_is_empty():
    assert len(bmc_config.parse_inventory(None)) == 0


def test_password_is_in_no_repr_and_not_public():
    entry = bmc_config.parse_entry("cmp1", redfish())
    inventory = bmc_config.parse_inventory({"hosts": {"cmp1": redfish()}})
    for shown in (repr(entry), str(entry), repr(inventory), str(entry.public()),
                  entry.label()):
        assert SECRET not in shown
    assert "root" not in str(entry.public())  # nor the user name
    assert entry.password == SECRET  # only the BMC client reads it
    assert dataclasses.replace(entry) == entry


def test_power_state_words():
    assert power.from_redfish("On") == power.ON
    assert power.from_redfish("PoweringOff") == power.POWERING_OFF
    assert power.from_redfish(None) == power.ERROR
    assert power.from_ipmi("off") == power.OFF
    assert power.Reading("h", power.UNREACHABLE).label == "BMC unreachable"


def test_poll_delays_add_up_to_the_timeout():
    delays = power.poll_delays(10)
    assert abs(sum(delays) - 10) < 0.06
    assert delays[0] == 0.5 and max(delays) <= 3.0
    assert power.poll_delays(0) == []


def test_fence_report():
    report = power.FenceReport("cmp1")
    report.add(power.POWER_OFF_STEP, power.SUCCEEDED, seconds=0.5)
    assert report.ok and report.steps[0].title == "Power off through the BMC"
    report.add(power.CONFIRM_OFF_STEP, power.FAILED, "no", 2.0)
    assert not report.ok and report.seconds() == 2.5
