"""Fixtures for tests against the local cloud (``python3 -m evac_dashboard.localcloud``).

These run in the dashboard's virtualenv (keystoneauth1 and python-novaclient come with
Horizon); the cloud itself runs from its own virtualenv and is driven through the tool's
command line, never imported.

* ``local_cloud`` (session): makes sure the cloud is up and seeded (``up``/``reset`` and
  ``seed`` when needed) and returns a :class:`LocalCloud` built from ``<datadir>/cloud.json``.
  ``EVAC_SKIP_INTEGRATION=1`` skips every test that uses it.
* ``restore_cloud``: after the test, if any compute is dead, down, forced down or
  disabled, runs the tool's ``reset``. Cheap when nothing changed, so a module can make it
  autouse: ``pytestmark = pytest.mark.usefixtures("restore_cloud")``.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL_TIMEOUT = 1200


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "integration: needs the local cloud (python3 -m evac_dashboard.localcloud up); "
                   "skipped when EVAC_SKIP_INTEGRATION=1")


def datadir():
    env = os.environ.get("EVAC_LOCALCLOUD_DIR", "").strip()
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".localcloud"


def run_tool(*args, check=True, capture=False, timeout=TOOL_TIMEOUT):
    """Run ``python -m evac_dashboard.localcloud ARGS`` from the repo root (stdlib-only tool,
    so the dashboard venv's interpreter runs it as well as the system python3)."""
    python = os.environ.get("EVAC_LOCALCLOUD_PYTHON") or sys.executable
    proc = subprocess.run([python, "-m", "evac_dashboard.localcloud", *args], cwd=REPO_ROOT,
                          capture_output=capture, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        out = (proc.stdout or "") + (proc.stderr or "") if capture else ""
        raise RuntimeError("localcloud %s failed (exit %d)\n%s" % (" ".join(args), proc.returncode, out))
    return proc


class LocalCloud:
    """cloud.json plus helpers for keystoneauth1 sessions and novaclient clients."""

    def __init__(self, config):
        self.config = config
        self.auth_url = config["auth_url"]
        self.region = config["region"]
        self.compute_hosts = list(config["compute_hosts"])
        self.admin = config["admin"]
        self.member = config["member"]
        self.datadir = Path(config["datadir"])

    def __getitem__(self, key):
        return self.config[key]

    def session(self, user="admin", project_name=None):
        """A keystoneauth1 session for ``admin`` or ``member`` (optionally another project)."""
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3

        creds = dict(self.config[user])
        if project_name:
            creds["project_name"] = project_name
        auth = v3.Password(auth_url=self.auth_url, username=creds["username"],
                           password=creds["password"], project_name=creds["project_name"],
                           user_domain_name=creds["user_domain_name"],
                           project_domain_name=creds["project_domain_name"])
        return ks_session.Session(auth=auth)

    def nova(self, version="2.74", user="admin", project_name=None, session=None):
        from novaclient import client as nova_client

        return nova_client.Client(version, session=session or self.session(user, project_name),
                                  region_name=self.region, endpoint_type="public")

    def tool(self, *args, **kw):
        return run_tool(*args, **kw)


def admin_session(cloud):
    return cloud.session("admin")


def _load_config():
    try:
        return json.loads((datadir() / "cloud.json").read_text())
    except (OSError, ValueError):
        return None


def _all_up():
    return run_tool("status", check=False, capture=True).returncode == 0


@pytest.fixture(scope="session")
def local_cloud():
    if os.environ.get("EVAC_SKIP_INTEGRATION") == "1":
        pytest.skip("EVAC_SKIP_INTEGRATION=1: local-cloud integration tests skipped")
    if not _all_up():
        run_tool("up")
        if not _all_up():
            run_tool("reset")
    config = _load_config()
    if not ((config or {}).get("seed") or {}).get("server_sets", {}).get("default"):
        run_tool("seed")
        config = _load_config()
    return LocalCloud(config)


@pytest.fixture
def admin_nova(local_cloud):
    return local_cloud.nova()


@pytest.fixture
def restore_cloud(local_cloud):
    """Put the cloud back (every compute running, up, enabled, not forced down) after a test."""
    yield local_cloud
    if not _all_up():
        run_tool("reset")
