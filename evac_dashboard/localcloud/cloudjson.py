"""``<datadir>/cloud.json``: what the dashboard's settings and the tests need to reach the cloud.

The schema is documented in docs/local-cloud.md; bump SCHEMA_VERSION on incompatible change.
"""
import json
import os
import time

from . import bmc, config, mariadb, masakari, rabbitmq

SCHEMA_VERSION = 1


def _user(username, password, project):
    return {"username": username, "password": password, "project_name": project,
            "user_domain_name": "Default", "project_domain_name": "Default"}


def build(cloud, seed=None):
    d = config.DASHBOARD_DB
    data = {
        "schema_version": SCHEMA_VERSION,
        "datadir": str(cloud.dir),
        "auth_url": cloud.auth_url,
        "region": config.REGION,
        "interface": "public",
        "admin": _user(config.ADMIN_USER, config.ADMIN_PASSWORD, config.ADMIN_PROJECT),
        "member": _user(config.MEMBER_USER, config.MEMBER_PASSWORD, config.SEED_PROJECTS[0]),
        "projects": list(config.SEED_PROJECTS),
        "endpoints": cloud.endpoints(),
        "compute_hosts": cloud.compute_hosts,
        "compute_capacity": {h: cloud.host_size(h) for h in cloud.compute_hosts},
        "nova": {"report_interval": 5, "service_down_time": 20},
        "mariadb": mariadb.info(cloud),
        "rabbitmq": {"transport_url": rabbitmq.transport_url(cloud)},
        "dashboard_db": {"engine": "mysql", "host": config.HOST, "port": cloud.port("mariadb"),
                         "name": d["name"], "test_name": d["test_name"],
                         "user": d["user"], "password": d["password"]},
        "bmc": bmc.info(cloud),
        "seed": seed,
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if masakari.enabled(cloud):  # `up --with-masakari` only
        data["masakari"] = masakari.info(cloud)
    return data


def read(cloud):
    try:
        return json.loads(cloud.cloud_json.read_text())
    except (OSError, ValueError):
        return None


def write(cloud, seed=None):
    """(Re)write cloud.json, keeping the ``seed`` section of an earlier ``seed`` run."""
    old = read(cloud) or {}
    data = build(cloud, seed if seed is not None else old.get("seed"))
    tmp = cloud.cloud_json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, cloud.cloud_json)
    return data
