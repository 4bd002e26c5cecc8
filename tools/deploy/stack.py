"""The production shape on one machine: stock Horizon from PyPI with the plugin's wheel,
two Apache mod_wsgi nodes (Kolla's ``processes=2 threads=1``), haproxy round-robin in
front, memcached for sessions, cache and coordination, and the local cloud's MariaDB for
the plugin's records. Everything on 127.0.0.1, under ``$EVAC_DEPLOY_DIR`` (default
``<repo>/.deploy``).

    python3 tools/deploy/stack.py up       # build once (venv, static files), start all
    python3 tools/deploy/stack.py down     # stop all
    python3 tools/deploy/stack.py status   # what runs, as JSON

The Apache nodes are Debian's ``apache2`` with Debian's ``mod_wsgi`` (it embeds Debian's
``/usr/bin/python3``, so the deployment's venv is made from that Python), each with its own
configuration, logs and pid file; the daemon processes run as ``www-data``, as on Debian.
The local cloud must be up (``make cloud``).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HORIZON = "horizon==27.0.0"
DJANGO = "Django>=5.2,<5.3"
EXTRA = ["PyMySQL>=1.1", "pymemcache>=4.0"]
SYSTEM_PYTHON = "/usr/bin/python3"  # the Python Debian's mod_wsgi embeds
APACHE_MODULES = Path("/usr/lib/apache2/modules")
WSGI_USER = "www-data"
DATABASE = "evac_deploy"

PORTS = {"haproxy": 28080, "node1": 28081, "node2": 28082, "memcached": 28211}
NODES = ("node1", "node2")
PROCESSES = 2  # per node, as Kolla-Ansible's horizon_wsgi_processes default
THREADS = 1


def deploy_dir():
    return Path(os.environ.get("EVAC_DEPLOY_DIR") or REPO / ".deploy").resolve()


def cloud_dir():
    return Path(os.environ.get("EVAC_LOCALCLOUD_DIR") or REPO / ".localcloud").resolve()


def cloud():
    with open(cloud_dir() / "cloud.json", encoding="utf-8") as handle:
        return json.load(handle)


def say(text):
    print("deploy: " + text, flush=True)


def run(command, **kwargs):
    kwargs.setdefault("check", True)
    kwargs.setdefault("timeout", 1800)
    return subprocess.run([str(c) for c in command], **kwargs)


# ------------------------------------------------------------------------------- build

def venv_python(root):
    return root / "venv" / "bin" / "python"


def site_packages(root):
    out = run([venv_python(root), "-c", "import openstack_dashboard, os; "
               "print(os.path.dirname(os.path.dirname(openstack_dashboard.__file__)))"],
              capture_output=True, text=True, cwd=root).stdout.strip()
    return Path(out)


def build_venv(root):
    """Stock Horizon from PyPI, then the plugin as an operator installs it (a wheel)."""
    marker = root / "venv" / ".installed"
    wheel_dir = root / "wheel"
    if marker.exists() and marker.read_text() == _source_stamp():
        return
    say("building the deployment's venv (stock %s + the plugin's wheel)" % HORIZON)
    if not venv_python(root).exists():
        run([SYSTEM_PYTHON, "-m", "venv", root / "venv"])
    pip = [venv_python(root), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run(pip + ["--upgrade", "pip", "setuptools", "wheel"])  # Debian's pip cannot build wheels
    run(pip + [HORIZON, DJANGO] + EXTRA)
    shutil.rmtree(wheel_dir, ignore_errors=True)
    run([venv_python(root), "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheel_dir, REPO],
        cwd=root)
    wheels = sorted(wheel_dir.glob("evac_dashboard-*.whl"))
    run(pip + ["--force-reinstall", "--no-deps", wheels[-1]])
    run(pip + [wheels[-1]])  # its dependencies (tooz ...)
    marker.write_text(_source_stamp())


def _source_stamp():
    """Changes when the plugin's code does: the venv gets the new wheel."""
    newest = max(p.stat().st_mtime for base in ("evac_dashboard", "templates", "static")
                 for p in (REPO / base).rglob("*") if p.is_file())
    return "%s %d" % (HORIZON, newest)


LOCAL_SETTINGS = '''\
# Written by tools/deploy/stack.py: what an operator puts in Horizon's local_settings.py
# (Kolla-Ansible: horizon_backend_database: true and a custom local_settings).
import pymysql

pymysql.install_as_MySQLdb()

DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "deploy-test-shared-secret"  # the same on every node
OPENSTACK_KEYSTONE_URL = {auth_url!r}
OPENSTACK_ENDPOINT_TYPE = "publicURL"
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                        "LOCATION": "127.0.0.1:{memcached}"}}}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
DATABASES = {{"default": {{"ENGINE": "django.db.backends.mysql", "NAME": {database!r},
                           "USER": {db_user!r}, "PASSWORD": {db_password!r},
                           "HOST": {db_host!r}, "PORT": {db_port!r}}}}}
STATIC_ROOT = {static!r}
COMPRESS_OFFLINE = True
# The plugin: its coordination backend defaults to the memcached of CACHES above.
EVAC_SERVICE_DOWN_TIME = {service_down_time}
LOGGING = {{
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {{"console": {{"format": "%(levelname)s %(name)s %(message)s"}}}},
    "handlers": {{"console": {{"level": "INFO", "class": "logging.StreamHandler",
                               "formatter": "console"}}}},
    "loggers": {{
        "horizon": {{"handlers": ["console"], "level": "INFO", "propagate": False}},
        "openstack_dashboard": {{"handlers": ["console"], "level": "INFO",
                                 "propagate": False}},
        # The plugin's logger: without it its lines never reach Apache's error log.
        "evac_dashboard": {{"handlers": ["console"], "level": "INFO", "propagate": False}},
        "django": {{"handlers": ["console"], "level": "WARNING", "propagate": False}},
    }},
}}
'''


def configure_horizon(root, site):
    """local_settings.py, the enabled files, the database, static files compressed."""
    config = cloud()
    db = config["dashboard_db"]
    dashboard = site / "openstack_dashboard"
    (dashboard / "local" / "local_settings.py").write_text(LOCAL_SETTINGS.format(
        auth_url=config["auth_url"], memcached=PORTS["memcached"], database=DATABASE,
        db_user=db["user"], db_password=db["password"], db_host=db["host"],
        db_port=str(db["port"]), static=str(root / "static"),
        service_down_time=config.get("nova", {}).get("service_down_time", 60)))
    enabled = site / "evac_dashboard" / "enabled"
    for name in sorted(os.listdir(enabled)):
        if name.startswith("_9") and name.endswith(".py"):
            shutil.copy(enabled / name, dashboard / "local" / "enabled" / name)
    mariadb = config["mariadb"]
    sql = ("CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4; "
           "GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%%'; FLUSH PRIVILEGES;"
           % (DATABASE, DATABASE, db["user"]))
    run(["mysql", "--no-defaults", "-S", mariadb["socket"], "-u", mariadb["root_user"],
         "-e", sql],
        env=dict(os.environ, MYSQL_PWD=mariadb["root_password"]))
    admin = [venv_python(root), "-m", "django"]
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="openstack_dashboard.settings")
    env.pop("PYTHONPATH", None)
    for command in (["migrate", "--noinput", "-v", "0"],
                    ["collectstatic", "--noinput", "-v", "0", "--clear"]):
        say("django-admin %s" % " ".join(command))
        run(admin + command, env=env, cwd=root, capture_output=True)
    # Seen here: a first `compress --force` after a reinstall sometimes leaves one block
    # (Horizon's angular templates) out of the manifest, and every page is then a 500
    # (OfflineGenerationError). Compress until the login page renders.
    for attempt in range(1, 4):
        say("django-admin compress --force (attempt %d)" % attempt)
        run(admin + ["compress", "--force", "-v", "0"], env=env, cwd=root,
            capture_output=True)
        probe = run([venv_python(root), "-W", "ignore", "-c", RENDER_PROBE], env=env,
                    cwd=root, capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return
    raise SystemExit("deploy: the login page does not render after compress:\n%s"
                     % probe.stderr[-2000:])


RENDER_PROBE = """
import django, sys
django.setup()
from django.test import Client
sys.exit(0 if Client().get("/auth/login/").status_code == 200 else 1)
"""


# ------------------------------------------------------------------------------ run

APACHE_CONF = '''\
# One Horizon node: stock Horizon under Apache mod_wsgi daemon mode, as Kolla-Ansible runs it.
ServerRoot "/etc/apache2"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {node}/apache.pid
DefaultRuntimeDir {node}/run
Mutex file:{node}/run default
ErrorLog {node}/error.log
LogLevel warn
LogFormat "%h %t \\"%r\\" %>s %b %D" timed
CustomLog {node}/access.log timed
User {user}
Group {user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule alias_module {modules}/mod_alias.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule wsgi_module {modules}/mod_wsgi.so
TypesConfig /etc/mime.types
WSGISocketPrefix {node}/run/wsgi
WSGIDaemonProcess horizon processes={processes} threads={threads} python-home={venv} display-name=horizon-{name}
WSGIProcessGroup horizon
WSGIApplicationGroup %{{GLOBAL}}
WSGIScriptAlias / {site}/openstack_dashboard/wsgi.py
Alias /static {static}
<Directory {static}>
  Require all granted
</Directory>
<Directory {site}/openstack_dashboard>
  <Files wsgi.py>
    Require all granted
  </Files>
</Directory>
'''

HAPROXY_CONF = '''\
global
  maxconn 256
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend horizon
  bind 127.0.0.1:{port}
  default_backend nodes
backend nodes
  balance roundrobin
  http-response set-header X-Evac-Node %s
{servers}
'''


def node_dir(root, name):
    return root / name


def apache(root, name, *args):
    return run(["apache2", "-f", node_dir(root, name) / "apache.conf"] + list(args),
               capture_output=True, text=True, check=False)


def write_configs(root, site):
    for name in NODES:
        node = node_dir(root, name)
        (node / "run").mkdir(parents=True, exist_ok=True)
        shutil.chown(node / "run", WSGI_USER, WSGI_USER)
        (node / "apache.conf").write_text(APACHE_CONF.format(
            port=PORTS[name], node=node, user=WSGI_USER, modules=APACHE_MODULES,
            processes=PROCESSES, threads=THREADS, venv=root / "venv", name=name, site=site,
            static=root / "static"))
    servers = "\n".join("  server %s 127.0.0.1:%d check inter 2s" % (n, PORTS[n])
                        for n in NODES)
    (root / "haproxy.cfg").write_text(HAPROXY_CONF.format(root=root, port=PORTS["haproxy"],
                                                          servers=servers))


def readable_by_wsgi_user(root):
    """The daemons run as www-data: every parent must be traversable."""
    for parent in [root] + list(root.parents):
        if not os.stat(parent).st_mode & 0o001:
            raise SystemExit("deploy: %s is not traversable by %s (chmod o+x it, or set "
                             "EVAC_DEPLOY_DIR elsewhere)" % (parent, WSGI_USER))


def pid_of(path):
    try:
        pid = int(Path(path).read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start_memcached(root):
    if pid_of(root / "memcached.pid"):
        return
    # Not -d/-P: memcached drops to "nobody" before writing its pid file, which then
    # cannot be written here; the pid is ours to keep.
    process = subprocess.Popen(
        ["memcached", "-l", "127.0.0.1", "-p", str(PORTS["memcached"]), "-U", "0", "-m", "64",
         "-u", "nobody"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    (root / "memcached.pid").write_text(str(process.pid))
    wait_port(PORTS["memcached"])


def wait_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("deploy: nothing listens on 127.0.0.1:%d" % port)


def start_node(root, name, reload=False):
    """Start the node; a running one is reloaded gracefully when asked (new code)."""
    if pid_of(node_dir(root, name) / "apache.pid"):
        if reload:
            apache(root, name, "-k", "graceful")
        return
    answer = apache(root, name, "-k", "start")
    if answer.returncode != 0:
        raise SystemExit("deploy: apache %s did not start: %s" % (name, answer.stderr))


def start_haproxy(root):
    if pid_of(root / "haproxy.pid"):
        return
    run(["haproxy", "-D", "-f", root / "haproxy.cfg", "-p", root / "haproxy.pid"])


def wait_http(url, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            time.sleep(0.5)
    raise SystemExit("deploy: nothing answers at %s" % url)


def urls():
    return {name: "http://127.0.0.1:%d" % PORTS[name] for name in ("haproxy",) + NODES}


def up():
    root = deploy_dir()
    root.mkdir(parents=True, exist_ok=True)
    readable_by_wsgi_user(root)
    build_venv(root)
    site = site_packages(root)
    # Before configure_horizon: its render probe opens the login page, whose session
    # and cache live in this memcached (a clean machine has no other).
    start_memcached(root)
    configure_horizon(root, site)
    write_configs(root, site)
    run(["chmod", "-R", "o+rX", root])
    for name in NODES:
        start_node(root, name, reload=True)
    start_haproxy(root)
    for name, url in urls().items():
        status = wait_http(url + "/auth/login/")
        say("%s answers %d at %s" % (name, status, url))
    return status_of()


def down():
    root = deploy_dir()
    if pid_of(root / "haproxy.pid"):
        os.kill(pid_of(root / "haproxy.pid"), signal.SIGTERM)
    for name in NODES:
        if (node_dir(root, name) / "apache.conf").exists():
            apache(root, name, "-k", "stop")
    if pid_of(root / "memcached.pid"):
        os.kill(pid_of(root / "memcached.pid"), signal.SIGTERM)
    for _ in range(100):
        if not any(pid_of(p) for p in node_pid_files(root)):
            break
        time.sleep(0.1)


def node_pid_files(root):
    return [node_dir(root, name) / "apache.pid" for name in NODES]


def daemon_pids(name):
    """The mod_wsgi daemon processes of one node (display-name horizon-<node>)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith(("horizon-%s" % name).encode()):
            found.append(int(entry.name))
    return sorted(found)


def status_of():
    root = deploy_dir()
    return {"urls": urls(), "dir": str(root),
            "memcached": pid_of(root / "memcached.pid"),
            "haproxy": pid_of(root / "haproxy.pid"),
            "nodes": {name: {"apache": pid_of(node_dir(root, name) / "apache.pid"),
                             "daemons": daemon_pids(name),
                             "error_log": str(node_dir(root, name) / "error.log"),
                             "access_log": str(node_dir(root, name) / "access.log")}
                      for name in NODES}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__).splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    if args.command == "up":
        print(json.dumps(up(), indent=2))
    elif args.command == "down":
        down()
    else:
        print(json.dumps(status_of(), indent=2))


if __name__ == "__main__":
    sys.exit(main())
