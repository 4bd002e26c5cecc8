"""Development settings: stock Horizon settings plus the plugin, pointed at a Keystone.

Keystone comes from ``EVAC_KEYSTONE_URL``, else from the local cloud's ``cloud.json``
(``make run`` starts it), else ``http://127.0.0.1:5000/v3``. An uncommitted
``evac_dashboard/devsite/local_settings.py`` may override anything.
"""
import json
import os

import openstack_dashboard.local.enabled as _local_enabled

from evac_dashboard import devsite

devsite.add_enabled_files(_local_enabled)

from openstack_dashboard.settings import *  # noqa: E402,F401,F403

RUN_DIR = os.environ.get("EVAC_RUN_DIR", os.path.join(devsite.REPO_ROOT, ".run"))
os.makedirs(RUN_DIR, exist_ok=True)
CLOUD_DIR = os.environ.get("EVAC_LOCALCLOUD_DIR", os.path.join(devsite.REPO_ROOT, ".localcloud"))


def _cloud_config():
    try:
        with open(os.path.join(CLOUD_DIR, "cloud.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


CLOUD = _cloud_config()

DEBUG = os.environ.get("EVAC_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("EVAC_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
OPENSTACK_KEYSTONE_URL = (os.environ.get("EVAC_KEYSTONE_URL") or CLOUD.get("auth_url")
                          or "http://127.0.0.1:5000/v3")
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = "Default"
# Nova's service_down_time as the cloud has it: the local cloud's 20 s when the dashboard
# runs against it, else Nova's default.
EVAC_SERVICE_DOWN_TIME = int(os.environ.get("EVAC_SERVICE_DOWN_TIME") or (
    (CLOUD.get("nova") or {}).get("service_down_time", 60)
    if not os.environ.get("EVAC_KEYSTONE_URL") or os.environ.get("EVAC_KEYSTONE_URL")
    == CLOUD.get("auth_url") else 60))
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
# Pacing for one run (the bench's A/B runs: --pacing-ab, --ab-env); unset: the defaults.
for _name in ("EVAC_PACING", "EVAC_PACING_CHECK_SECONDS", "EVAC_PACING_MIN_WINDOW",
              "EVAC_PACING_START_WINDOW", "EVAC_PACING_MAX_WINDOW", "EVAC_SUBMIT_CONCURRENCY"):
    if os.environ.get(_name):
        globals()[_name] = os.environ[_name]
# The hosts' BMCs: the local cloud's (Redfish; cloud.json "bmc") when the dashboard runs
# against it, or a file named by EVAC_BMC_FILE.
EVAC_BMC_FILE = os.environ.get("EVAC_BMC_FILE") or (
    (CLOUD.get("bmc") or {}).get("file")
    if not os.environ.get("EVAC_KEYSTONE_URL") or os.environ.get("EVAC_KEYSTONE_URL")
    == CLOUD.get("auth_url") else None)

from horizon.utils import secret_key as _secret_key  # noqa: E402

SECRET_KEY = os.environ.get("EVAC_SECRET_KEY") or _secret_key.generate_or_read_from_file(
    os.path.join(RUN_DIR, ".secret_key_store"))

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
COMPRESS_OFFLINE = not DEBUG


def _database():
    """sqlite in .run/ by default; ``EVAC_DATABASE=mysql`` uses the local cloud's MariaDB."""
    if os.environ.get("EVAC_DATABASE") == "mysql":
        db = CLOUD.get("dashboard_db") or {}
        return {
            "ENGINE": "django.db.backends.mysql",
            "HOST": db.get("host", "127.0.0.1"),
            "PORT": str(db.get("port", 3306)),
            "NAME": db.get("name", "evac_dashboard"),
            "USER": db.get("user", "evac"),
            "PASSWORD": db.get("password", ""),
            "OPTIONS": {"charset": "utf8mb4"},
        }
    # The background submission writes while requests read and write: let sqlite writers
    # wait for each other (and take the write lock up front) instead of failing with
    # "database is locked". Several Horizon nodes should share MySQL instead.
    return {"ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(RUN_DIR, "evac_dashboard.sqlite3"),
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"}}


DATABASES = {"default": _database()}
if DATABASES["default"]["ENGINE"].endswith("mysql"):
    import pymysql  # noqa: E402

    pymysql.install_as_MySQLdb()

_templates, _static = devsite.checkout_asset_dirs()
TEMPLATES[0]["DIRS"] = list(TEMPLATES[0]["DIRS"]) + _templates  # noqa: F405
STATICFILES_DIRS = list(STATICFILES_DIRS) + _static  # noqa: F405
STATIC_ROOT = os.path.join(RUN_DIR, "static")

try:
    from evac_dashboard.devsite.local_settings import *  # noqa: E402,F401,F403
except ImportError:
    pass
