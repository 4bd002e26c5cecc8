"""``localcloud up --with-masakari`` (``localcloud/masakari.py``) without running anything:
the option is remembered, Masakari's recovery defaults are left alone, the segment is made
once, and the benchmark's helpers send what masakari-hostmonitor sends."""
import configparser
import json

import pytest

from evac_dashboard.localcloud import cli, cloudjson, config, confgen, masakari, services


@pytest.fixture
def cloud(tmp_path):
    cloud = config.Cloud(tmp_path / "lc")
    cloud.ensure_dirs()
    cloud.save_settings()
    return cloud


class FakeSession:
    """Just enough of ``rest.Session`` for the Masakari REST calls (one in-memory API)."""

    def __init__(self):
        self.endpoints = {}
        self.calls = []
        self.segments, self.hosts = [], {}

    def call(self, service, method, path, body=None, headers=None, **kw):
        assert service == "instance-ha"
        assert headers == {"OpenStack-API-Version": "instance-ha 1.1"}
        self.calls.append((method, path, body))
        parts = path.strip("/").split("/")
        if (method, parts) == ("GET", ["segments"]):
            return {"segments": list(self.segments)}
        if (method, parts) == ("POST", ["segments"]):
            segment = dict(body["segment"], uuid="seg-%d" % (len(self.segments) + 1))
            self.segments.append(segment)
            self.hosts[segment["uuid"]] = []
            return {"segment": segment}
        if parts[0] == "segments" and parts[2:] == ["hosts"]:
            if method == "GET":
                return {"hosts": list(self.hosts[parts[1]])}
            self.hosts[parts[1]].append(body["host"])
            return {"host": body["host"]}
        if (method, parts) == ("POST", ["notifications"]):
            return {"notification": dict(body["notification"], notification_uuid="n-1",
                                         status="new")}
        if method == "GET" and parts[0] == "notifications":
            return {"notification": {"notification_uuid": parts[1], "status": "running"}}
        raise AssertionError("unexpected call %s %s" % (method, path))


def test_the_option_is_remembered_and_a_plain_up_keeps_it(cloud, monkeypatch):
    started = []
    monkeypatch.setattr(cli.lifecycle, "up",
                        lambda c: (c.save_settings(), started.append(c.settings.with_masakari)))
    assert config.Cloud(cloud.dir).settings.with_masakari is False
    cli.main(["--dir", str(cloud.dir), "up", "--with-masakari"])
    assert config.Cloud(cloud.dir).settings.with_masakari is True
    cli.main(["--dir", str(cloud.dir), "up"])
    assert config.Cloud(cloud.dir).settings.with_masakari is True
    cli.main(["--dir", str(cloud.dir), "up", "--without-masakari"])
    assert config.Cloud(cloud.dir).settings.with_masakari is False
    assert started == [True, True, False]


def test_the_daemons_are_listed_only_with_masakari(cloud):
    assert not set(masakari.NAMES) & set(services.all_daemon_names(cloud))
    cloud.settings.with_masakari = True
    names = services.all_daemon_names(cloud)
    assert names[:2] == [masakari.API, masakari.ENGINE]  # stopped before what they use
    assert names[-3:] == ["mariadb", "rabbitmq", "epmd"]


def test_the_api_port_is_in_the_port_scheme_and_free(cloud):
    ports = {cloud.port(name) for name in config.PORT_OFFSETS if name != "masakari-api"}
    ports |= {cloud.port("bmc-ipmi") + i for i in range(64)}  # one IPMI port per compute
    assert cloud.port("masakari-api") == config.DEFAULT_PORT_BASE + 868
    assert cloud.port("masakari-api") not in ports
    assert masakari.api_url(cloud) == "http://127.0.0.1:28868/v1"


def test_the_configuration_keeps_masakaris_recovery_defaults(cloud):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(confgen.ini(masakari.conf_sections(cloud)))
    default = parser["DEFAULT"]
    assert "wait_period_after_service_update" not in default
    assert "host_failure_recovery_threads" not in default
    assert default["os_privileged_user_name"] == "masakari"
    assert default["os_privileged_user_tenant"] == "service"
    assert default["os_privileged_user_auth_url"] == cloud.auth_url
    assert default["masakari_api_listen_port"] == str(cloud.port("masakari-api"))
    assert default["transport_url"].startswith("rabbit://")
    assert parser["database"]["connection"].endswith(":28306/masakari?charset=utf8mb4")
    assert parser["taskflow"]["connection"] == parser["database"]["connection"]
    assert parser["keystone_authtoken"]["username"] == "masakari"


def test_the_segment_is_made_once_with_every_compute(cloud):
    session = FakeSession()
    first = masakari.ensure_segment(cloud, session)
    again = masakari.ensure_segment(cloud, session)
    assert first == again == "seg-1"
    assert len(session.segments) == 1
    segment = session.segments[0]
    assert (segment["name"], segment["recovery_method"], segment["service_type"]) == (
        "evac-bench", "auto", "COMPUTE")
    assert session.hosts["seg-1"] == [
        {"name": h, "type": "COMPUTE", "control_attributes": "SSH"} for h in ("cmp1", "cmp2", "cmp3")]
    assert sum(1 for m, _, _ in session.calls if m == "POST") == 4
    assert session.endpoints["instance-ha"] == masakari.api_url(cloud)


def test_a_host_down_notification_is_what_the_hostmonitor_sends(cloud):
    session = FakeSession()
    assert masakari.notify_host_down(cloud, "cmp3", session=session) == "n-1"
    method, path, body = session.calls[-1]
    assert (method, path) == ("POST", "/notifications")
    note = body["notification"]
    assert note["type"] == "COMPUTE_HOST" and note["hostname"] == "cmp3"
    assert note["payload"] == {"event": "STOPPED", "host_status": "NORMAL",
                               "cluster_status": "OFFLINE"}
    assert note["generated_time"].endswith("Z") and len(note["generated_time"]) == 20
    assert masakari.notification_status(cloud, "n-1", session=session)["status"] == "running"
    with pytest.raises(masakari.CloudError):
        masakari.notify_host_down(cloud, "cmp9", session=session)


def test_cloud_json_has_a_masakari_section_only_with_the_option(cloud):
    assert "masakari" not in cloudjson.build(cloud)
    cloud.settings.with_masakari = True
    section = json.loads(json.dumps(cloudjson.build(cloud)))["masakari"]
    assert section["api"] == masakari.api_url(cloud)
    assert section["segment"] == "evac-bench" and section["service_type"] == "instance-ha"
