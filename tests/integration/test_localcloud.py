"""The local cloud tool against the live cloud: hosts die, come back, and Nova evacuates."""
import os
import subprocess
import time
import uuid

import pytest
from novaclient import exceptions as nova_exc

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore_cloud")]

EVAC_MV = "2.94"  # newest microversion that keeps evacuated servers running


def wait_until(what, fn, timeout, interval=0.5):
    t0 = time.monotonic()
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(interval)


def compute_service(nova, host):
    return nova.services.list(host=host, binary="nova-compute")[0]


def test_cloud_json_has_the_documented_keys(local_cloud):
    cfg = local_cloud.config
    for key in ("auth_url", "region", "admin", "member", "endpoints", "compute_hosts",
                "mariadb", "dashboard_db"):
        assert key in cfg, key
    for user in ("admin", "member"):
        assert set(cfg[user]) >= {"username", "password", "project_name",
                                  "user_domain_name", "project_domain_name"}
    assert set(cfg["endpoints"]) >= {"identity", "compute", "placement", "image", "network"}
    assert set(cfg["dashboard_db"]) >= {"host", "port", "name", "user", "password"}
    assert cfg["auth_url"].startswith("http://127.0.0.1:")


def test_dashboard_db_user_can_create_its_test_database(local_cloud):
    db = local_cloud["dashboard_db"]
    env = dict(os.environ, MYSQL_PWD=db["password"])
    sql = ("CREATE DATABASE IF NOT EXISTS test_%s; DROP DATABASE test_%s; USE %s; SELECT 1;"
           % (db["name"], db["name"], db["name"]))
    out = subprocess.run(["mariadb", "--no-defaults", "-h", db["host"], "-P", str(db["port"]),
                          "-u", db["user"], "-N", "-e", sql],
                         capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_all_computes_up_and_mapped(local_cloud, admin_nova):
    services = {s.host: s for s in admin_nova.services.list(binary="nova-compute")}
    for host in local_cloud.compute_hosts:
        s = services[host]
        assert (s.state, s.status, s.forced_down) == ("up", "enabled", False), host
    hypervisors = {h.service["host"] for h in admin_nova.hypervisors.list()}
    assert hypervisors >= set(local_cloud.compute_hosts)


def test_member_user_is_not_admin(local_cloud):
    member = local_cloud.nova(user="member")
    with pytest.raises(nova_exc.Forbidden):
        member.services.list()
    member.servers.list()  # but it can use its own project


def test_force_down_via_api_is_immediate(local_cloud, admin_nova):
    host = local_cloud.compute_hosts[-1]
    svc = compute_service(admin_nova, host)
    admin_nova.services.force_down(svc.id, True)
    try:
        svc = compute_service(admin_nova, host)
        assert (svc.forced_down, svc.state) == (True, "down")
    finally:
        admin_nova.services.force_down(svc.id, False)
    wait_until("%s up again" % host, lambda: compute_service(admin_nova, host).state == "up", 30)


def test_kill_host_goes_down_and_revive_brings_it_back(local_cloud, admin_nova):
    host = local_cloud.compute_hosts[1]
    t0 = time.monotonic()
    local_cloud.tool("kill-host", host, "--wait-down")
    assert compute_service(admin_nova, host).state == "down"
    assert time.monotonic() - t0 < 60
    assert local_cloud.tool("status", check=False, capture=True).returncode != 0
    local_cloud.tool("revive-host", host, "--wait-up")
    wait_until("%s up" % host, lambda: compute_service(admin_nova, host).state == "up", 30)
    assert local_cloud.tool("status", check=False, capture=True).returncode == 0


def test_evacuate_off_a_dead_host_then_revive_completes_it(local_cloud):
    nova = local_cloud.nova(EVAC_MV)
    source = local_cloud.compute_hosts[0]
    flavor = nova.flavors.find(name="m1.tiny")
    image = nova.glance.find_image("evac-tiny")
    booter = local_cloud.nova("2.74")
    server = booter.servers.create("it-evac-%s" % uuid.uuid4().hex[:6], image.id, flavor.id,
                                   nics="none", host=source)
    try:
        wait_until("server ACTIVE", lambda: booter.servers.get(server.id).status == "ACTIVE", 120)

        # the host dies and is fenced: killed, then forced down (down at once)
        local_cloud.tool("kill-host", source)
        svc = compute_service(nova, source)
        nova.services.force_down(svc.id, True)
        assert compute_service(nova, source).state == "down"

        nova.servers.evacuate(server)

        def migration():
            migs = nova.migrations.list(instance_uuid=server.id, migration_type="evacuation")
            return migs[0] if migs else None

        def evacuated():
            m = migration()
            if m and m.status in ("error", "failed"):
                raise AssertionError("evacuation %s" % m.status)
            s = nova.servers.get(server.id)
            host = getattr(s, "OS-EXT-SRV-ATTR:host")
            return m and m.status == "done" and host != source and (m, host)

        mig, new_host = wait_until("migration done and host changed", evacuated, 90)
        assert new_host in local_cloud.compute_hosts and new_host != source
        assert mig.source_compute == source and mig.dest_compute == new_host
        assert nova.servers.get(server.id).status == "ACTIVE"

        # forced_down cannot be cleared while the `done` record remains
        with pytest.raises(nova_exc.BadRequest):
            nova.services.force_down(svc.id, False)

        # the source comes back: its init_host turns the record `completed`
        local_cloud.tool("revive-host", source, "--wait-up")
        wait_until("migration completed", lambda: migration().status == "completed", 60)
        nova.services.force_down(svc.id, False)
        wait_until("%s up" % source, lambda: compute_service(nova, source).state == "up", 30)
    finally:
        try:
            booter.servers.delete(server.id)
        except nova_exc.NotFound:
            pass
