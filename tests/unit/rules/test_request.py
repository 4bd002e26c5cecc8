import pytest

from evac_dashboard.rules.request import (
    EvacuateOptions, OptionError, build_request, novaclient_kwargs, options_available)

BELOW_2_14 = ["2.1", "2.13"]
NO_FLAG_NO_FORCE_BEFORE_2_29 = ["2.14", "2.28"]
FORCE_RANGE = ["2.29", "2.67"]
NO_FORCE = ["2.68", "2.94"]
LEAVES_STOPPED = ["2.95", "2.96"]
ALL = BELOW_2_14 + NO_FLAG_NO_FORCE_BEFORE_2_29 + FORCE_RANGE + NO_FORCE + LEAVES_STOPPED


def sent_version(negotiated):
    """Servers come back running: the cloud's 2.95+ is stepped down to 2.94."""
    return "2.94" if negotiated in LEAVES_STOPPED else negotiated


# --- defaults and target host ------------------------------------------------------------

@pytest.mark.parametrize("version, expected", [
    ("2.1", {"onSharedStorage": False}),
    ("2.13", {"onSharedStorage": False}),
    ("2.14", {}), ("2.28", {}), ("2.29", {}), ("2.67", {}), ("2.68", {}), ("2.94", {}),
    ("2.95", {}), ("2.96", {}),
])
def test_default_options_body(version, expected):
    request = build_request(EvacuateOptions(), version)
    assert request.body == expected
    assert request.microversion == sent_version(version)
    assert request.action() == {"evacuate": expected}


@pytest.mark.parametrize("version", ALL)
def test_target_host_is_sent_at_every_version(version):
    body = build_request(EvacuateOptions(target_host=" cmp2 "), version).body
    assert body["host"] == "cmp2"
    assert ("onSharedStorage" in body) == (version in BELOW_2_14)
    assert "force" not in body


@pytest.mark.parametrize("version", ALL)
def test_blank_target_host_is_not_sent(version):
    assert "host" not in build_request(EvacuateOptions(target_host="  "), version).body


@pytest.mark.parametrize("version, bypasses", [(v, v in BELOW_2_14 + NO_FLAG_NO_FORCE_BEFORE_2_29)
                                               for v in ALL])
def test_named_host_bypassing_scheduler_is_noted_before_2_29(version, bypasses):
    notes = build_request(EvacuateOptions(target_host="cmp2"), version).notes
    assert any("bypasses the scheduler" in n for n in notes) == bypasses


# --- shared storage and password ---------------------------------------------------------

@pytest.mark.parametrize("version", BELOW_2_14)
def test_shared_storage_flag_below_2_14(version):
    request = build_request(EvacuateOptions(on_shared_storage=True), version)
    assert request.body == {"onSharedStorage": True}
    assert any("shared" in n and "ERROR" in n for n in request.notes)


@pytest.mark.parametrize("version", ALL[2:])
def test_shared_storage_flag_not_sent_from_2_14(version):
    request = build_request(EvacuateOptions(on_shared_storage=True), version)
    assert "onSharedStorage" not in request.body
    assert any("detects shared instance storage" in n for n in request.notes)


@pytest.mark.parametrize("version", BELOW_2_14)
def test_password_with_shared_storage_is_refused_below_2_14(version):
    with pytest.raises(OptionError, match="password cannot be set"):
        build_request(EvacuateOptions(admin_password="s3cret", on_shared_storage=True), version)


@pytest.mark.parametrize("version", ALL[2:])
def test_password_with_shared_storage_is_fine_from_2_14(version):
    body = build_request(EvacuateOptions(admin_password="s3cret", on_shared_storage=True),
                         version).body
    assert body == {"adminPass": "s3cret"}


@pytest.mark.parametrize("version", ALL)
def test_password_is_sent_at_every_version(version):
    request = build_request(EvacuateOptions(admin_password="s3cret"), version)
    assert request.body["adminPass"] == "s3cret"
    returned = any("answers with the admin password" in n for n in request.notes)
    not_returned = any("does not return" in n for n in request.notes)
    assert (returned, not_returned) == ((True, False) if version in BELOW_2_14 else (False, True))


def test_empty_password_is_not_sent():
    assert build_request(EvacuateOptions(admin_password=""), "2.29").body == {}


# --- force --------------------------------------------------------------------------------

@pytest.mark.parametrize("version", FORCE_RANGE)
def test_force_with_host_2_29_to_2_67(version):
    request = build_request(EvacuateOptions(target_host="cmp2", force=True), version)
    assert request.body == {"host": "cmp2", "force": True}
    assert any("bypassed" in n for n in request.notes)


@pytest.mark.parametrize("version", BELOW_2_14 + NO_FLAG_NO_FORCE_BEFORE_2_29)
def test_force_before_2_29_is_implicit_in_the_host(version):
    body = build_request(EvacuateOptions(target_host="cmp2", force=True), version).body
    assert body["host"] == "cmp2" and "force" not in body


@pytest.mark.parametrize("version", NO_FORCE + LEAVES_STOPPED)
def test_force_is_refused_from_2_68(version):
    with pytest.raises(OptionError, match="not possible"):
        build_request(EvacuateOptions(target_host="cmp2", force=True), version)


@pytest.mark.parametrize("version", ALL)
def test_force_without_host_is_refused(version):
    with pytest.raises(OptionError, match="needs a target host"):
        build_request(EvacuateOptions(force=True), version)


# --- power state --------------------------------------------------------------------------

@pytest.mark.parametrize("version", LEAVES_STOPPED)
def test_keep_running_steps_down_to_2_94(version):
    request = build_request(EvacuateOptions(target_host="cmp2"), version)
    assert request.microversion == "2.94"
    assert request.body == {"host": "cmp2"}
    assert any("previous power state" in n for n in request.notes)


@pytest.mark.parametrize("version", LEAVES_STOPPED)
def test_leave_stopped_uses_the_negotiated_version(version):
    request = build_request(EvacuateOptions(keep_running=False), version)
    assert request.microversion == version
    assert request.body == {}
    assert any("SHUTOFF" in n for n in request.notes)


@pytest.mark.parametrize("version", ALL[:-2])
def test_leave_stopped_needs_2_95(version):
    with pytest.raises(OptionError, match="2.95"):
        build_request(EvacuateOptions(keep_running=False), version)


def test_leave_stopped_and_force_cannot_be_combined():
    with pytest.raises(OptionError):
        build_request(EvacuateOptions(target_host="cmp2", force=True, keep_running=False), "2.96")


def test_accepts_version_tuples():
    assert build_request(EvacuateOptions(), (2, 13)).microversion == "2.13"


# --- options_available ----------------------------------------------------------------------

@pytest.mark.parametrize("version, flag, force, power, password, checked", [
    ("2.1", True, False, False, True, False),
    ("2.13", True, False, False, True, False),
    ("2.14", False, False, False, False, False),
    ("2.28", False, False, False, False, False),
    ("2.29", False, True, False, False, True),
    ("2.67", False, True, False, False, True),
    ("2.68", False, False, False, False, True),
    ("2.94", False, False, False, False, True),
    ("2.95", False, False, True, False, True),
    ("2.96", False, False, True, False, True),
])
def test_options_available(version, flag, force, power, password, checked):
    available = options_available(version)
    assert (available.shared_storage_flag, available.force, available.power_state_choice,
            available.password_returned, available.target_host_checked) == (
        flag, force, power, password, checked)


# --- novaclient ------------------------------------------------------------------------------

@pytest.mark.parametrize("version, options, expected", [
    ("2.1", EvacuateOptions(), {"on_shared_storage": False}),
    ("2.13", EvacuateOptions(target_host="cmp2", admin_password="pw"),
     {"host": "cmp2", "on_shared_storage": False, "password": "pw"}),
    ("2.14", EvacuateOptions(on_shared_storage=True, admin_password="pw"), {"password": "pw"}),
    ("2.29", EvacuateOptions(target_host="cmp2", force=True), {"host": "cmp2", "force": True}),
    ("2.67", EvacuateOptions(target_host="cmp2"), {"host": "cmp2"}),
    ("2.68", EvacuateOptions(target_host="cmp2"), {"host": "cmp2"}),
    ("2.96", EvacuateOptions(), {}),
])
def test_novaclient_kwargs(version, options, expected):
    assert novaclient_kwargs(build_request(options, version)) == expected


@pytest.mark.parametrize("version, options", [
    ("2.1", EvacuateOptions()),
    ("2.13", EvacuateOptions(target_host="cmp2", admin_password="pw")),
    ("2.13", EvacuateOptions(on_shared_storage=True)),
    ("2.14", EvacuateOptions(target_host="cmp2", admin_password="pw")),
    ("2.29", EvacuateOptions(target_host="cmp2", force=True)),
    ("2.67", EvacuateOptions(target_host="cmp2")),
    ("2.68", EvacuateOptions(admin_password="pw")),
    ("2.95", EvacuateOptions(target_host="cmp2")),
    ("2.96", EvacuateOptions(keep_running=False)),
])
def test_novaclient_sends_the_same_body(version, options):
    """The kwargs fit novaclient's signature at that version and produce our body."""
    pytest.importorskip("novaclient")
    from novaclient import api_versions
    from novaclient.v2 import servers

    request = build_request(options, version)

    class FakeApi:
        api_version = api_versions.APIVersion(request.microversion)

    class FakeResponse:
        headers = {}

    sent = {}
    manager = servers.ServerManager(FakeApi())

    def capture(action, server, info=None, **kwargs):
        sent.update(action=action, body=info)
        return FakeResponse(), None

    manager._action_return_resp_and_body = capture
    manager.evacuate("server-uuid", **novaclient_kwargs(request))
    assert sent == {"action": "evacuate", "body": request.body}
