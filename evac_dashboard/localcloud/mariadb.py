"""A private MariaDB instance: own datadir and socket, TCP on 127.0.0.1 only.

Runs Debian's ``mariadbd`` with ``--no-defaults`` so nothing from /etc/mysql applies and
the system-wide server (if any) is never touched. Admin SQL goes through the ``mariadb``
command-line client over the private socket.
"""
import os
import shutil
import subprocess

from . import config, procs
from .procs import CloudError

NAME = "mariadb"
# Databases of the OpenStack services that cannot live on SQLite (many processes).
SERVICE_DBS = {"nova_api": "nova", "nova_cell0": "nova", "nova_cell1": "nova",
               "placement": "placement", "neutron": "neutron"}


def _bin(*names):
    for n in names:
        p = shutil.which(n) or (os.path.exists("/usr/sbin/" + n) and "/usr/sbin/" + n)
        if p:
            return p
    raise CloudError("%s not found: run tools/system-packages.sh (installs mariadb-server)"
                     % names[0])


def datadir(cloud):
    return cloud.path("mariadb", "data")


def initialize(cloud):
    """mariadb-install-db into our own datadir (once)."""
    if (datadir(cloud) / "mysql").is_dir():
        return
    datadir(cloud).mkdir(parents=True, exist_ok=True)
    procs.run([_bin("mariadb-install-db", "mysql_install_db"), "--no-defaults",
               "--datadir=%s" % datadir(cloud), "--user=root",
               "--auth-root-authentication-method=normal", "--skip-test-db"],
              cloud.logs / "mariadb-setup.log", what="mariadb-install-db")


def start(cloud):
    if procs.pid_of(cloud, NAME):
        return
    port = cloud.port("mariadb")
    if procs.port_in_use(port):
        raise CloudError("port %d (mariadb) is in use by another process" % port)
    tmp = cloud.path("mariadb", "tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [_bin("mariadbd", "mysqld"), "--no-defaults",
            "--datadir=%s" % datadir(cloud), "--socket=%s" % cloud.mysql_socket,
            "--pid-file=%s" % cloud.path("mariadb", "mysqld.pid"), "--tmpdir=%s" % tmp,
            "--port=%d" % port, "--bind-address=127.0.0.1", "--user=root",
            "--skip-name-resolve", "--skip-log-bin", "--max-connections=1000",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
            "--innodb-buffer-pool-size=256M", "--innodb-log-file-size=64M",
            # a throw-away dev database: trade durability for fast schema migrations
            "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
            "--sync-binlog=0", "--innodb-flush-method=O_DIRECT_NO_FSYNC"]
    procs.start(cloud, NAME, argv)


def _client(cloud, password):
    env = dict(os.environ)
    env.pop("MYSQL_HOST", None)
    env["MYSQL_PWD"] = password
    argv = [_bin("mariadb", "mysql"), "--no-defaults", "-S", cloud.mysql_socket,
            "-u", "root", "-N", "-B"]
    return argv, env


def sql(cloud, statements, password=config.DB_ROOT_PASSWORD, check=True):
    """Run SQL as root over the socket; returns stdout (tab-separated rows)."""
    argv, env = _client(cloud, password)
    p = subprocess.run(argv, input=statements, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise CloudError("SQL failed: %s\n%s" % (p.stderr.strip(), statements[:500]))
    return p.stdout if p.returncode == 0 else None


def rows(cloud, query):
    out = sql(cloud, query) or ""
    return [line.split("\t") for line in out.splitlines() if line]


def is_ready(cloud):
    if not os.path.exists(cloud.mysql_socket):
        return False
    return sql(cloud, "SELECT 1;", check=False) is not None or \
        sql(cloud, "SELECT 1;", password="", check=False) is not None


def wait(cloud, timeout=60):
    procs.wait_for("mariadb", {"mariadb": lambda: is_ready(cloud)}, timeout,
                   watch={"mariadb": NAME}, cloud=cloud, interval=0.3)


def _q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def provision(cloud):
    """Root password, service databases and users, the dashboard's database (idempotent)."""
    if sql(cloud, "SELECT 1;", check=False) is None:
        # fresh datadir: root has no password yet
        sql(cloud, "ALTER USER 'root'@'localhost' IDENTIFIED BY %s;" % _q(config.DB_ROOT_PASSWORD),
            password="")
    stmts = [
        "DELETE FROM mysql.global_priv WHERE User='';",
        "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY %s;" % _q(config.DB_ROOT_PASSWORD),
        # mariadb-install-db may have made it already, with no password: set it either way.
        "ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY %s;" % _q(config.DB_ROOT_PASSWORD),
        "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;",
    ]
    users = sorted(set(SERVICE_DBS.values()))
    for user in users:
        stmts.append("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY %s;"
                     % (user, _q(config.DB_APP_PASSWORD)))
    for db, user in SERVICE_DBS.items():
        stmts.append("CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;" % db)
        stmts.append("GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%%';" % (db, user))
    d = config.DASHBOARD_DB
    stmts += [
        "CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY %s;" % (d["user"], _q(d["password"])),
        "CREATE USER IF NOT EXISTS '%s'@'localhost' IDENTIFIED BY %s;" % (d["user"], _q(d["password"])),
        "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;" % d["name"],
    ]
    for host in ("%", "localhost"):
        for db in (d["name"], d["test_name"]):
            stmts.append("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s';" % (db, d["user"], host))
    stmts.append("FLUSH PRIVILEGES;")
    sql(cloud, "\n".join(stmts))


def url(cloud, db):
    return "mysql+pymysql://%s:%s@127.0.0.1:%d/%s?charset=utf8mb4" % (
        SERVICE_DBS[db], config.DB_APP_PASSWORD, cloud.port("mariadb"), db)


def info(cloud):
    return {"host": config.HOST, "port": cloud.port("mariadb"), "socket": cloud.mysql_socket,
            "root_user": "root", "root_password": config.DB_ROOT_PASSWORD}
