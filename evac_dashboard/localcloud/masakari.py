"""Masakari (instance HA) beside the local cloud, for benchmarks: ``up --with-masakari``.

* Its own virtualenv ``<datadir>/masakari-venv`` (``masakari-requirements.txt``: the masakari
  release of the cloud's OpenStack series), so its dependencies cannot break Nova's venv;
  made only when the option is on.
* ``masakari-api`` on ``127.0.0.1:<base+868>`` (Keystone auth) and ``masakari-engine``,
  both configured by ``<datadir>/etc/masakari/masakari.conf``; database ``masakari`` on the
  cloud's MariaDB (``masakari-manage db sync``, taskflow tables too), the cloud's RabbitMQ.
* Keystone: service user ``masakari`` (admin and service roles in project ``service``), the
  engine's privileged user towards Nova (``[DEFAULT] os_privileged_user_*``) and the API's
  ``[keystone_authtoken]`` user; catalog entry type ``instance-ha`` (public, internal,
  admin: ``http://127.0.0.1:<base+868>/v1``).
* Failover segment ``evac-bench`` (recovery_method ``auto``, service_type ``COMPUTE``) with
  every compute host (type COMPUTE, control_attributes ``SSH``), made idempotently.

Masakari's recovery defaults are kept: ``wait_period_after_service_update`` (180 s) and
``host_failure_recovery_threads`` (3) are not set. Nova refuses to evacuate from a compute
whose service still heartbeats, so a benchmark stops or fences the host (or forces its
service down) before it calls :func:`notify_host_down`, as masakari-hostmonitor would
only report a host that is really gone.
"""
import hashlib
import os
import sys
import time
import urllib.error

from . import config, confgen, identity, mariadb, procs, rabbitmq, rest, services
from .procs import CloudError, say

API, ENGINE = "masakari-api", "masakari-engine"
NAMES = (API, ENGINE)
SERVICE_TYPE, SERVICE_NAME = "instance-ha", "masakari"
USER = "masakari"
DB_NAME = DB_USER = "masakari"
SEGMENT = "evac-bench"
API_VERSION = "1.1"   # notification_status: recovery_workflow_details need 1.1
REQUIREMENTS = config.PACKAGE_DIR / "masakari-requirements.txt"
_STAMP = ".evac-masakari-requirements.sha256"
READY_TIMEOUT = 90
DOWN_PAYLOAD = {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}


def enabled(cloud):
    return bool(getattr(cloud.settings, "with_masakari", False))


def venv_dir(cloud):
    return cloud.path("masakari-venv")


def venv_bin(cloud, name):
    return str(venv_dir(cloud) / "bin" / name)


def etc(cloud):
    return cloud.etc / "masakari"


def conf_path(cloud):
    return etc(cloud) / "masakari.conf"


def api_url(cloud):
    return cloud.url("masakari-api", "/v1")


# ---- virtualenv ----------------------------------------------------------------------------

def _wanted_hash():
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_venv(cloud):
    """Create/refresh ``<datadir>/masakari-venv`` when masakari-requirements.txt changed;
    returns seconds spent."""
    stamp = venv_dir(cloud) / _STAMP
    if stamp.exists() and stamp.read_text().strip() == _wanted_hash():
        return 0.0
    t0 = time.monotonic()
    cloud.logs.mkdir(parents=True, exist_ok=True)
    log = cloud.logs / "pip-masakari.log"
    if not os.path.exists(venv_bin(cloud, "python")):
        say("  creating virtualenv %s" % venv_dir(cloud))
        procs.run([sys.executable, "-m", "venv", str(venv_dir(cloud))], log,
                  what="python3 -m venv (Masakari)")
    say("  pip install -r %s (log: %s)" % (REQUIREMENTS, log))
    procs.run([venv_bin(cloud, "python"), "-m", "pip", "install", "-q",
               "--disable-pip-version-check", "-r", str(REQUIREMENTS)], log,
              what="pip install (Masakari)", timeout=1800)
    stamp.write_text(_wanted_hash() + "\n")
    return time.monotonic() - t0


# ---- configuration -------------------------------------------------------------------------

def db_url(cloud):
    return "mysql+pymysql://%s:%s@%s:%d/%s?charset=utf8mb4" % (
        DB_USER, config.DB_APP_PASSWORD, config.HOST, cloud.port("mariadb"), DB_NAME)


def conf_sections(cloud):
    """masakari.conf as {section: {key: value}} (options of ``masakari/conf/``)."""
    keystone = cloud.url("keystone", "/v3")
    return {
        "DEFAULT": {
            "debug": False,
            "host": "localcloud",
            "transport_url": rabbitmq.transport_url(cloud),
            "auth_strategy": "keystone",
            "masakari_api_listen": config.HOST,
            "masakari_api_listen_port": cloud.port("masakari-api"),
            "masakari_api_workers": 1,
            "graceful_shutdown_timeout": 5,
            # the engine's user towards Nova (masakari/conf/nova.py)
            "os_privileged_user_name": USER,
            "os_privileged_user_password": config.SERVICE_PASSWORD,
            "os_privileged_user_tenant": "service",
            "os_privileged_user_auth_url": keystone,
            "os_user_domain_name": "Default",
            "os_project_domain_name": "Default",
            "os_region_name": config.REGION,
            "nova_catalog_admin_info": "compute:nova:publicURL",
        },
        "wsgi": {"api_paste_config": etc(cloud) / "api-paste.ini"},
        "database": {"connection": db_url(cloud)},
        "taskflow": {"connection": db_url(cloud)},
        "keystone_authtoken": confgen._authtoken(cloud, USER),
        "oslo_concurrency": {"lock_path": cloud.path("masakari", "lock")},
        "oslo_messaging_notifications": {"driver": "noop"},
    }


def write_config(cloud):
    """Write masakari.conf and api-paste.ini (from the venv) into ``<datadir>/etc/masakari``."""
    directory = etc(cloud)
    directory.mkdir(parents=True, exist_ok=True)
    cloud.path("masakari", "lock").mkdir(parents=True, exist_ok=True)
    paste = directory / "api-paste.ini"
    if not paste.exists():
        src = venv_dir(cloud) / "etc" / "masakari" / "api-paste.ini"
        text = src.read_text().replace("/etc/masakari/healthcheck_disable",
                                       str(directory / "healthcheck_disable"))
        paste.write_text(text)
    confgen._write(conf_path(cloud), confgen.ini(conf_sections(cloud)))
    os.chmod(conf_path(cloud), 0o600)
    return conf_path(cloud)


def masakari_services(cloud):
    env = procs.child_env(cloud)
    env["PATH"] = str(venv_dir(cloud) / "bin") + os.pathsep + env["PATH"]
    conf = conf_path(cloud)
    files = (conf, etc(cloud) / "api-paste.ini")
    return [services.Service(API, [venv_bin(cloud, "masakari-api"), "--config-file", str(conf)],
                             env, port=cloud.port("masakari-api"), config_files=files),
            services.Service(ENGINE, [venv_bin(cloud, "masakari-engine"), "--config-file",
                                      str(conf)], env, config_files=files)]


def daemon_names(cloud):
    """The Masakari daemons to show/stop: when enabled, or when some ran before."""
    known = set(procs.known_names(cloud))
    return [n for n in NAMES if enabled(cloud) or n in known]


# ---- one-time setup ------------------------------------------------------------------------

def provision_db(cloud):
    q = mariadb._q(config.DB_APP_PASSWORD)
    mariadb.sql(cloud, "\n".join([
        "CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY %s;" % (DB_USER, q),
        "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;" % DB_NAME,
        "GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%%';" % (DB_NAME, DB_USER),
        "FLUSH PRIVILEGES;"]))


def db_sync(cloud):
    if cloud.done("masakari-db"):
        return
    procs.run([venv_bin(cloud, "masakari-manage"), "--config-file", str(conf_path(cloud)),
               "db", "sync"], cloud.logs / "setup-masakari.log", procs.child_env(cloud),
              "masakari-manage db sync")
    cloud.mark_done("masakari-db")


def register(cloud, session):
    """Keystone user ``masakari`` (admin + service in ``service``) and the catalog entry."""
    idm = identity.Identity(session)
    project = idm.project("service", "OpenStack service users")
    user = idm.user(USER, config.SERVICE_PASSWORD)
    for role in ("admin", "service"):
        idm.grant(project, user, idm.role(role))
    idm.endpoints(idm.service(SERVICE_TYPE, SERVICE_NAME), api_url(cloud))


# ---- the REST API --------------------------------------------------------------------------

def _session(cloud, session=None):
    session = session or rest.Session(cloud)
    session.endpoints.setdefault(SERVICE_TYPE, api_url(cloud))
    return session


def _call(session, method, path, body=None):
    return session.call(SERVICE_TYPE, method, path, body,
                        headers={"OpenStack-API-Version": "%s %s" % (SERVICE_TYPE, API_VERSION)})


def segment_body(cloud):
    return {"segment": {"name": SEGMENT, "recovery_method": "auto", "service_type": "COMPUTE",
                        "description": "evac-dashboard local cloud benchmark: every compute"}}


def host_body(host):
    return {"host": {"name": host, "type": "COMPUTE", "control_attributes": "SSH"}}


def ensure_segment(cloud, session=None):
    """Segment ``evac-bench`` with every compute host (idempotent); returns its uuid."""
    session = _session(cloud, session)
    found = [s for s in _call(session, "GET", "/segments")["segments"] if s["name"] == SEGMENT]
    segment = found[0] if found else _call(session, "POST", "/segments",
                                           segment_body(cloud))["segment"]
    sid = segment["uuid"]
    have = {h["name"] for h in _call(session, "GET", "/segments/%s/hosts" % sid)["hosts"]}
    for host in cloud.compute_hosts:
        if host not in have:
            _call(session, "POST", "/segments/%s/hosts" % sid, host_body(host))
    return sid


def notification_body(host, generated_time=None):
    stamp = generated_time or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"notification": {"type": "COMPUTE_HOST", "hostname": host,
                             "generated_time": stamp, "payload": dict(DOWN_PAYLOAD)}}


def notify_host_down(cloud, host, session=None):
    """Tell Masakari that compute ``host`` is down, as masakari-hostmonitor does (a
    COMPUTE_HOST notification: event STOPPED, cluster_status OFFLINE, generated now).
    Returns the notification's uuid. Masakari then disables the host's compute service,
    waits ``wait_period_after_service_update`` (180 s) and evacuates its servers."""
    if host not in cloud.compute_hosts:
        raise CloudError("unknown compute host %r" % host)
    answer = _call(_session(cloud, session), "POST", "/notifications", notification_body(host))
    return answer["notification"]["notification_uuid"]


def end_maintenance(cloud, host, session=None):
    """Take ``host`` out of maintenance in the segment (Masakari sets ``on_maintenance`` on
    a host it recovers and refuses, 409, new notifications for it until this is done: call
    it after ``reset`` has put the host back). Returns True if it was on maintenance."""
    session = _session(cloud, session)
    sid = ensure_segment(cloud, session)
    for item in _call(session, "GET", "/segments/%s/hosts" % sid)["hosts"]:
        if item["name"] == host and item.get("on_maintenance"):
            _call(session, "PUT", "/segments/%s/hosts/%s" % (sid, item["uuid"]),
                  {"host": {"on_maintenance": False}})
            return True
    return False


def notification_status(cloud, notification_id, session=None):
    """The notification as Masakari shows it (API 1.1): ``status`` (new, running, finished,
    error, failed, ignored), ``created_at``/``updated_at`` and the recovery workflow's
    steps with their progress details in ``recovery_workflow_details``."""
    return _call(_session(cloud, session), "GET",
                 "/notifications/%s" % notification_id)["notification"]


# ---- lifecycle -----------------------------------------------------------------------------

def running(cloud):
    return all(procs.pid_of(cloud, n) for n in NAMES)


def up(cloud, session=None):
    """Set up (once) and start Masakari's API and engine, then make the segment."""
    t0 = time.monotonic()
    ensure_venv(cloud)
    write_config(cloud)
    provision_db(cloud)
    db_sync(cloud)
    session = _session(cloud, session)
    register(cloud, session)
    svcs = masakari_services(cloud)
    for svc in svcs:
        services.start(cloud, svc)
    api = svcs[0]
    procs.wait_for("masakari-api", {API: lambda: services.api_ready(api)}, READY_TIMEOUT,
                   watch={API: API}, cloud=cloud, alive=[ENGINE])
    try:
        sid = ensure_segment(cloud, session)
    except (rest.HTTPError, OSError, urllib.error.URLError) as error:
        raise CloudError("cannot make the Masakari segment %s: %s (logs: %s)"
                         % (SEGMENT, error, cloud.logs / (API + ".log"))) from None
    say("Masakari: API %s, engine up, segment %s (%s) with %s (%.1f s)"
        % (api_url(cloud), SEGMENT, sid, ", ".join(cloud.compute_hosts),
           time.monotonic() - t0))
    return sid


def stop(cloud):
    """Stop the Masakari daemons (``up`` without the option, ``down``)."""
    names = [n for n in NAMES if procs.group_pids(cloud, n)]
    if names:
        say("  stopping %s" % ", ".join(names))
        procs.stop(cloud, names)


def info(cloud):
    """cloud.json's ``masakari`` section (None unless ``--with-masakari``)."""
    if not enabled(cloud):
        return None
    return {"api": api_url(cloud), "service_type": SERVICE_TYPE, "segment": SEGMENT,
            "username": USER, "password": config.SERVICE_PASSWORD, "project_name": "service",
            "api_version": API_VERSION, "config": str(conf_path(cloud))}
