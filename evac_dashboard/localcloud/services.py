"""The OpenStack daemons: how each is started, when it counts as ready, one-time DB setup."""
import dataclasses
import hashlib

from . import config, confgen, mariadb, procs, rabbitmq, rest


@dataclasses.dataclass
class Service:
    name: str                 # daemon name (pid file, log file)
    argv: list
    env: dict
    port: int = 0             # HTTP APIs only
    health_path: str = "/"
    config_files: tuple = ()  # paths; a change restarts the daemon on the next `up`


WSGI = {  # daemon name -> (port key, WSGI module, config env)
    "keystone": ("keystone", "keystone.wsgi.api", "OS_KEYSTONE_CONFIG_DIR"),
    "placement": ("placement", "placement.wsgi.api", "OS_PLACEMENT_CONFIG_DIR"),
    "glance": ("glance", "glance.wsgi.api", "OS_GLANCE_CONFIG_DIR"),
    "neutron": ("neutron", "neutron.wsgi.api", "OS_NEUTRON_CONFIG_DIR"),
    "nova-api": ("nova-api", "nova.wsgi.osapi_compute", "OS_NOVA_CONFIG_DIR"),
}
CONF_FILES = {"keystone": ("keystone/keystone.conf",), "placement": ("placement/placement.conf",),
              "glance": ("glance/glance-api.conf",),
              "neutron": ("neutron/neutron.conf", "neutron/ml2_conf.ini"),
              "nova-api": ("nova/nova.conf",), "nova-conductor": ("nova/nova.conf",),
              "nova-scheduler": ("nova/nova.conf",)}


def _conf_paths(cloud, name):
    return tuple(cloud.etc / f for f in CONF_FILES[name])
API_ORDER = ("keystone", "placement", "glance", "neutron", "nova-api")


def _gunicorn(cloud, name):
    port_key, module, conf_env = WSGI[name]
    conf_dir = cloud.etc / ("nova" if name == "nova-api" else name)
    env = procs.child_env(cloud, {
        "EVAC_LC_WSGI_MODULE": module,
        conf_env: str(conf_dir),
    })
    if name == "neutron":
        env["OS_NEUTRON_CONFIG_FILES"] = "neutron.conf;ml2_conf.ini"
    argv = [cloud.venv_bin("gunicorn"), "--name", "lc-" + name,
            "--bind", "%s:%d" % (config.HOST, cloud.port(port_key)),
            "--workers", "1", "--worker-class", "gthread", "--threads", "4",
            "--timeout", "180", "--graceful-timeout", "5",
            # gthread's default keep-alive (2 s) races with pooled client connections
            "--keep-alive", "75",
            # Nova->Neutron port queries with many device ids exceed 4094-byte lines
            "--limit-request-line", "0", "--limit-request-field_size", "0",
            "--pythonpath", str(config.RUNTIME_DIR), "lc_wsgi:application"]
    return Service(name, argv, env, cloud.port(port_key), config_files=_conf_paths(cloud, name))


def short_token_keystone(cloud, token_seconds, port):
    """A second Keystone on ``port``, sharing the cloud's database and fernet keys, whose
    tokens expire after ``token_seconds``: every service of the cloud accepts them (a fernet
    token carries its own expiry), so a test can log in and see that login expire."""
    conf_dir = cloud.path("run", "keystone-short")
    conf_dir.mkdir(parents=True, exist_ok=True)
    conf = conf_dir / "keystone.conf"
    conf.write_text(confgen.keystone(cloud, token_seconds))
    svc = _gunicorn(cloud, "keystone")
    argv = list(svc.argv)
    argv[argv.index("--bind") + 1] = "%s:%d" % (config.HOST, port)
    argv[argv.index("--name") + 1] = "lc-keystone-short"
    env = dict(svc.env, OS_KEYSTONE_CONFIG_DIR=str(conf_dir))
    return Service("keystone-short", argv, env, port, config_files=(conf,))


def _nova_daemon(cloud, binary, extra_conf=()):
    conf = [str(cloud.etc / "nova" / "nova.conf")] + [str(cloud.etc / "nova" / c) for c in extra_conf]
    argv = [cloud.venv_bin(binary)]
    for c in conf:
        argv += ["--config-file", c]
    return argv


def compute_name(host):
    return "nova-compute-" + host


def compute_service(cloud, host):
    conf = "compute-%s.conf" % host
    return Service(compute_name(host), _nova_daemon(cloud, "nova-compute", [conf]),
                   procs.child_env(cloud),
                   config_files=(cloud.etc / "nova" / "nova.conf", cloud.etc / "nova" / conf))


def control_services(cloud):
    """APIs, conductor and scheduler, in start order."""
    out = [_gunicorn(cloud, n) for n in API_ORDER]
    for binary in ("nova-conductor", "nova-scheduler"):
        out.append(Service(binary, _nova_daemon(cloud, binary), procs.child_env(cloud),
                           config_files=_conf_paths(cloud, binary)))
    return out


def all_daemon_names(cloud):
    """Every daemon of this cloud, BMCs and OpenStack first, infrastructure last (stop
    order)."""
    from . import bmc, masakari  # they declare their daemons with this module's Service
    names = masakari.daemon_names(cloud) + bmc.daemon_names(cloud)
    names += [s.name for s in control_services(cloud)]
    names += [compute_name(h) for h in cloud.compute_hosts]
    # computes that were configured earlier (e.g. before --computes was lowered)
    names += [n for n in procs.known_names(cloud) if n.startswith("nova-compute-") and n not in names]
    return names + [mariadb.NAME, rabbitmq.NAME, rabbitmq.EPMD]


def config_hash(cloud, svc):
    h = hashlib.sha256(" ".join(svc.argv).encode())
    for path in svc.config_files:
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


def needs_start(cloud, svc):
    """True if ``svc`` is not running, or runs with a config that has changed since."""
    if not procs.pid_of(cloud, svc.name):
        return True
    return (procs.record(cloud, svc.name) or {}).get("config_hash") != config_hash(cloud, svc)


def start(cloud, svc):
    """Start ``svc`` unless it already runs with the current config; True if (re)started."""
    if not needs_start(cloud, svc):
        return False
    if procs.pid_of(cloud, svc.name):
        procs.say("  restarting %s (config changed)" % svc.name)
        procs.stop(cloud, [svc.name])
    if svc.port and procs.port_in_use(svc.port):
        raise procs.CloudError("port %d (%s) is in use by another process" % (svc.port, svc.name))
    procs.start(cloud, svc.name, svc.argv, env=svc.env, cwd=str(cloud.dir),
                extra={"config_hash": config_hash(cloud, svc)})
    return True


def api_ready(svc):
    return rest.answers("http://%s:%d%s" % (config.HOST, svc.port, svc.health_path))


# ---- one-time database setup ---------------------------------------------------------------

def _manage(cloud, step, commands, log_name):
    """Run setup commands once each (a marker per command, so a failed run resumes)."""
    if cloud.done(step):
        return
    env = procs.child_env(cloud)
    log = cloud.logs / log_name
    for i, (argv, what) in enumerate(commands):
        marker = "%s.%d" % (step, i)
        if not cloud.done(marker):
            procs.run(argv, log, env, what)
            cloud.mark_done(marker)
    cloud.mark_done(step)


def setup_placement(cloud):
    conf = str(cloud.etc / "placement" / "placement.conf")
    _manage(cloud, "placement-db", [
        ([cloud.venv_bin("placement-manage"), "--config-file", conf, "db", "sync"],
         "placement-manage db sync")], "setup-placement.log")


def setup_glance(cloud):
    conf = str(cloud.etc / "glance" / "glance-api.conf")
    _manage(cloud, "glance-db", [
        ([cloud.venv_bin("glance-manage"), "--config-file", conf, "db_sync"],
         "glance-manage db_sync")], "setup-glance.log")


def setup_neutron(cloud):
    etc = cloud.etc / "neutron"
    _manage(cloud, "neutron-db", [
        ([cloud.venv_bin("neutron-db-manage"), "--config-file", str(etc / "neutron.conf"),
          "--config-file", str(etc / "ml2_conf.ini"), "upgrade", "heads"],
         "neutron-db-manage upgrade heads")], "setup-neutron.log")


def setup_nova(cloud):
    nm = [cloud.venv_bin("nova-manage"), "--config-file", str(cloud.etc / "nova" / "nova.conf")]
    _manage(cloud, "nova-db", [
        (nm + ["api_db", "sync"], "nova-manage api_db sync"),
        (nm + ["cell_v2", "map_cell0", "--database_connection",
               mariadb.url(cloud, "nova_cell0")], "nova-manage cell_v2 map_cell0"),
        (nm + ["cell_v2", "create_cell", "--name", "cell1", "--verbose",
               "--database_connection", mariadb.url(cloud, "nova_cell1"),
               "--transport-url", rabbitmq.transport_url(cloud)], "nova-manage cell_v2 create_cell"),
        (nm + ["db", "sync"], "nova-manage db sync"),
    ], "setup-nova.log")
