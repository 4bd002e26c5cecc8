"""Config files of the OpenStack services, written into ``<datadir>/etc`` on every ``up``.

Settings that matter and why (see docs/local-cloud.md):
  * MariaDB for nova/placement/neutron (SQLite locks up with many processes); SQLite for
    keystone and glance (one process each).
  * report_interval 5 / service_down_time 20: a killed compute is ``down`` within ~20 s.
  * the fake driver keeps guests in memory only, so a restarted compute has forgotten its
    guests; power-state sync is off so Nova does not stop those servers 10 minutes later.
"""
import shutil

from . import config, mariadb, rabbitmq


def ini(sections):
    """Render {section: {key: value}} as an ini file."""
    out = []
    for section, items in sections.items():
        out.append("[%s]" % section)
        for key, value in items.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            out.append("%s = %s" % (key, value))
        out.append("")
    return "\n".join(out)


def _write(path, text):
    """Write only when changed; returns True if the file changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    path.write_text(text)
    return True


def _auth(cloud, username):
    return {
        "auth_type": "password",
        "auth_url": cloud.url("keystone", "/v3"),
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": "service",
        "username": username,
        "password": config.SERVICE_PASSWORD,
        "region_name": config.REGION,
    }


def _authtoken(cloud, username):
    section = {"www_authenticate_uri": cloud.url("keystone", "/v3"),
               "service_token_roles_required": True}
    section.update(_auth(cloud, username))
    return section


def _common(cloud, name):
    return {
        "oslo_concurrency": {"lock_path": cloud.path(name, "lock")},
        "oslo_messaging_notifications": {"driver": "noop"},
    }


def _sqlite(path):
    """A sqlite URL whose connections wait up to 30 s for a writer (pysqlite's default is 5 s:
    at a cold start on a busy machine Keystone answered a token request 500, "database is
    locked", and nova-conductor exited)."""
    return "sqlite:///%s?timeout=30" % path


TOKEN_SECONDS = 43200


def keystone(cloud, token_seconds=TOKEN_SECONDS):
    d = cloud.path("keystone")
    return ini({
        "DEFAULT": {"debug": False},
        "database": {"connection": _sqlite(d / "keystone.sqlite")},
        "token": {"provider": "fernet", "expiration": token_seconds},
        "fernet_tokens": {"key_repository": d / "fernet-keys"},
        "credential": {"key_repository": d / "credential-keys"},
        "fernet_receipts": {"key_repository": d / "fernet-keys"},
        **_common(cloud, "keystone"),
    })


def placement(cloud):
    return ini({
        "DEFAULT": {"debug": False},
        "api": {"auth_strategy": "keystone"},
        "placement_database": {"connection": mariadb.url(cloud, "placement")},
        "keystone_authtoken": _authtoken(cloud, "placement"),
        **_common(cloud, "placement"),
    })


def glance(cloud):
    d = cloud.path("glance")
    return ini({
        "DEFAULT": {"debug": False, "enabled_backends": "local:file",
                    "worker_self_reference_url": cloud.url("glance")},
        "database": {"connection": _sqlite(d / "glance.sqlite")},
        "glance_store": {"default_backend": "local"},
        "local": {"filesystem_store_datadir": d / "images"},
        "os_glance_staging_store": {"filesystem_store_datadir": d / "staging"},
        "os_glance_tasks_store": {"filesystem_store_datadir": d / "tasks"},
        "paste_deploy": {"flavor": "keystone",
                         "config_file": cloud.etc / "glance" / "glance-api-paste.ini"},
        "keystone_authtoken": _authtoken(cloud, "glance"),
        **_common(cloud, "glance"),
    })


def neutron(cloud):
    return ini({
        "DEFAULT": {
            "debug": False,
            "core_plugin": "ml2",
            "service_plugins": "",
            "auth_strategy": "keystone",
            "transport_url": rabbitmq.transport_url(cloud),
            "state_path": cloud.path("neutron", "state"),
            "api_paste_config": cloud.etc / "neutron" / "api-paste.ini",
            "notify_nova_on_port_status_changes": False,
            "notify_nova_on_port_data_changes": False,
            "dhcp_agent_notification": False,
            "rpc_workers": 0,
            "rpc_state_report_workers": 0,
        },
        "database": {"connection": mariadb.url(cloud, "neutron")},
        "keystone_authtoken": _authtoken(cloud, "neutron"),
        "nova": _auth(cloud, "nova"),
        **_common(cloud, "neutron"),
    })


def ml2(cloud):
    return ini({
        "ml2": {"type_drivers": "flat,vlan", "tenant_network_types": "",
                "mechanism_drivers": "", "extension_drivers": "port_security"},
        "ml2_type_flat": {"flat_networks": "*"},
    })


def nova(cloud):
    return ini({
        "DEFAULT": {
            "debug": False,
            "host": "localcloud",            # conductor/scheduler; computes override it
            "state_path": cloud.path("nova", "state"),
            "transport_url": rabbitmq.transport_url(cloud),
            "compute_driver": "evac_lc_fake.SizedFakeDriver",
            "my_ip": "127.0.0.1",
            "report_interval": 5,
            "service_down_time": 20,
            "graceful_shutdown_timeout": 5,
            "sync_power_state_interval": -1,
            "heal_instance_info_cache_interval": -1,
            "instance_usage_audit": False,
            # threading mode: scatter-gather over cells queues behind 5 threads by default
            "cell_worker_thread_pool_size": 20,
        },
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": cloud.etc / "nova" / "api-paste.ini"},
        "api_database": {"connection": mariadb.url(cloud, "nova_api")},
        "database": {"connection": mariadb.url(cloud, "nova_cell1")},
        "conductor": {"workers": 1},
        "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": 10},
        "compute": {"consecutive_build_service_disable_threshold": 0},
        "keystone_authtoken": _authtoken(cloud, "nova"),
        "service_user": dict(_auth(cloud, "nova"), send_service_user_token=True),
        "placement": _auth(cloud, "nova"),
        "neutron": _auth(cloud, "nova"),
        "glance": {"region_name": config.REGION},
        "cinder": {"os_region_name": config.REGION},
        "vnc": {"enabled": False},
        "quota": {"instances": -1, "cores": -1, "ram": -1, "metadata_items": -1,
                  "key_pairs": -1, "server_groups": -1, "server_group_members": -1},
        **_common(cloud, "nova"),
    })


def compute(cloud, host):
    """Per-compute overrides, passed as a second --config-file."""
    size = cloud.host_size(host)
    return ini({
        "DEFAULT": {
            "host": host,
            "state_path": cloud.path("nova", host),
            "cpu_allocation_ratio": size["cpu_ratio"],
            "ram_allocation_ratio": size["ram_ratio"],
            "disk_allocation_ratio": size["disk_ratio"],
            "reserved_host_cpus": size["reserved_cpus"],
            "reserved_host_memory_mb": size["reserved_ram_mb"],
            "reserved_host_disk_mb": size["reserved_disk_mb"],
        },
        "evac_localcloud": {"vcpus": size["vcpus"], "ram_mb": int(size["ram_gb"] * 1024),
                            "disk_gb": size["disk_gb"]},
        "oslo_concurrency": {"lock_path": cloud.path("nova", host, "lock")},
    })


def write_all(cloud):
    """Write every config file; returns the set of file names whose content changed."""
    etc = cloud.etc
    venv_etc = cloud.venv / "etc"
    changed = set()
    files = {
        etc / "keystone" / "keystone.conf": keystone(cloud),
        etc / "placement" / "placement.conf": placement(cloud),
        etc / "glance" / "glance-api.conf": glance(cloud),
        etc / "neutron" / "neutron.conf": neutron(cloud),
        etc / "neutron" / "ml2_conf.ini": ml2(cloud),
        etc / "nova" / "nova.conf": nova(cloud),
    }
    for host in cloud.compute_hosts:
        files[etc / "nova" / ("compute-%s.conf" % host)] = compute(cloud, host)
    for path, text in files.items():
        if _write(path, text):
            changed.add(path.name)
    for src, dst in ((venv_etc / "glance" / "glance-api-paste.ini", etc / "glance"),
                     (venv_etc / "nova" / "api-paste.ini", etc / "nova"),
                     (venv_etc / "neutron" / "api-paste.ini", etc / "neutron")):
        if not (dst / src.name).exists():
            shutil.copy(src, dst / src.name)
    for name in ("keystone", "placement", "glance", "neutron", "nova"):
        cloud.path(name, "lock").mkdir(parents=True, exist_ok=True)
    for host in cloud.compute_hosts:
        cloud.path("nova", host, "lock").mkdir(parents=True, exist_ok=True)
    for d in ("images", "staging", "tasks"):
        cloud.path("glance", d).mkdir(parents=True, exist_ok=True)
    cloud.path("nova", "state").mkdir(parents=True, exist_ok=True)
    cloud.path("neutron", "state").mkdir(parents=True, exist_ok=True)
    return changed
