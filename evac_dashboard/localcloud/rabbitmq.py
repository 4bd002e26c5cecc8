"""A private RabbitMQ node on 127.0.0.1 with its own epmd, HOME, mnesia and log dirs.

Debian's ``/usr/sbin/rabbitmq-server`` wrapper switches to the ``rabbitmq`` user and the
system paths, so the real script in /usr/lib/rabbitmq/bin is used with everything pointed
into the data dir. epmd normally outlives the node as a daemon nobody owns; here we start
it ourselves in the foreground (loopback, private port) before the node, and the node is
told not to start one (``-start_epmd false``), so both are stopped by recorded PID.
"""
import os
import shutil
import socket

from . import config, procs
from .procs import CloudError

NAME = "rabbitmq"
EPMD = "epmd"
NODENAME = "evaclc@localhost"
_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def _dir(cloud, *parts):
    return cloud.path("rabbitmq", *parts)


def _env(cloud):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    env.update({
        "HOME": str(_dir(cloud, "home")),
        "RABBITMQ_NODENAME": NODENAME,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(cloud.port("rabbitmq")),
        "RABBITMQ_DIST_PORT": str(cloud.port("rabbitmq-dist")),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "ERL_EPMD_PORT": str(cloud.port("epmd")),
        "RABBITMQ_MNESIA_BASE": str(_dir(cloud, "mnesia")),
        "RABBITMQ_LOG_BASE": str(_dir(cloud, "log")),
        "RABBITMQ_CONFIG_FILE": str(_dir(cloud, "rabbitmq.conf")),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(_dir(cloud, "advanced.config")),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(_dir(cloud, "enabled_plugins")),
        "RABBITMQ_CONF_ENV_FILE": str(_dir(cloud, "rabbitmq-env.conf")),
        "RABBITMQ_PID_FILE": str(_dir(cloud, "rabbit.pid")),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
            "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false",
    })
    return env


def _write_config(cloud):
    for d in ("home", "mnesia", "log"):
        _dir(cloud, d).mkdir(parents=True, exist_ok=True)
    _dir(cloud, "rabbitmq.conf").write_text("\n".join([
        "listeners.tcp.default = 127.0.0.1:%d" % cloud.port("rabbitmq"),
        "loopback_users = none",
        "default_user = %s" % config.RABBIT_USER,
        "default_pass = %s" % config.RABBIT_PASSWORD,
        "default_vhost = /",
        "disk_free_limit.absolute = 50MB",
        "log.console = true",
        "log.console.level = warning",
        "log.file = false",
        "",
    ]))
    _dir(cloud, "advanced.config").write_text("[].\n")
    _dir(cloud, "enabled_plugins").write_text("[].\n")
    _dir(cloud, "rabbitmq-env.conf").write_text("# intentionally empty (ignore /etc/rabbitmq)\n")


def start(cloud):
    if not os.path.exists(_SCRIPT):
        raise CloudError("%s not found: run tools/system-packages.sh (installs rabbitmq-server)"
                         % _SCRIPT)
    _write_config(cloud)
    env = _env(cloud)
    if not procs.pid_of(cloud, EPMD):
        port = cloud.port("epmd")
        if procs.port_in_use(port):
            raise CloudError("port %d (epmd) is in use by another process" % port)
        epmd = shutil.which("epmd") or "/usr/bin/epmd"
        procs.start(cloud, EPMD, [epmd, "-address", "127.0.0.1", "-port", str(port)], env=env)
        procs.wait_for("epmd", {"epmd": lambda: procs.port_in_use(port)}, 15,
                       watch={"epmd": EPMD}, cloud=cloud, interval=0.1)
    if not procs.pid_of(cloud, NAME):
        for key in ("rabbitmq", "rabbitmq-dist"):
            if procs.port_in_use(cloud.port(key)):
                raise CloudError("port %d (%s) is in use by another process"
                                 % (cloud.port(key), key))
        procs.start(cloud, NAME, [_SCRIPT], env=env, cwd=str(_dir(cloud, "home")))


def is_ready(cloud):
    """The AMQP listener answers the protocol header with a Connection.Start frame."""
    try:
        with socket.create_connection(("127.0.0.1", cloud.port("rabbitmq")), timeout=2) as s:
            s.sendall(b"AMQP\x00\x00\x09\x01")
            return s.recv(1) == b"\x01"
    except OSError:
        return False


def wait(cloud, timeout=90):
    procs.wait_for("rabbitmq", {"rabbitmq": lambda: is_ready(cloud)}, timeout,
                   watch={"rabbitmq": NAME}, cloud=cloud, interval=0.5)


def transport_url(cloud):
    return "rabbit://%s:%s@127.0.0.1:%d/" % (config.RABBIT_USER, config.RABBIT_PASSWORD,
                                             cloud.port("rabbitmq"))
