"""Where everything lives, which ports it uses, and the persisted settings of one cloud.

Settings chosen at ``up`` (number of computes, host sizes, port base) are written to
``<datadir>/settings.json`` so that every later command (status, kill-host, reset, ...)
sees the same cloud without repeating the options.
"""
import dataclasses
import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parent
RUNTIME_DIR = PACKAGE_DIR / "runtime"
REQUIREMENTS = PACKAGE_DIR / "requirements.txt"

REGION = "RegionOne"
HOST = "127.0.0.1"

# Well-known development credentials: the cloud only listens on 127.0.0.1.
ADMIN_USER, ADMIN_PASSWORD, ADMIN_PROJECT = "admin", "admin-secret", "admin"
MEMBER_USER, MEMBER_PASSWORD = "evac-member", "member-secret"
SEED_PROJECTS = ("demo", "ops")
SERVICE_PASSWORD = "service-secret"
SERVICE_USERS = ("nova", "placement", "glance", "neutron")
DB_ROOT_PASSWORD = "root-secret"
DB_APP_PASSWORD = "db-secret"          # nova, placement, neutron database users
RABBIT_USER, RABBIT_PASSWORD = "evac", "rabbit-secret"
BMC_USER, BMC_PASSWORD = "bmc-admin", "bmc-secret"  # every fake host's BMC (Redfish, IPMI)
DASHBOARD_DB = {"name": "evac_dashboard", "test_name": "test_evac_dashboard",
                "user": "evac", "password": "evac-secret"}

DEFAULT_PORT_BASE = 28000
# port = base + offset; the offsets echo each service's usual port.
PORT_OFFSETS = {
    "mariadb": 306,
    "rabbitmq": 672,
    "rabbitmq-dist": 673,
    "epmd": 369,
    "keystone": 500,
    "glance": 292,
    "neutron": 696,
    "nova-api": 774,
    "placement": 778,
    "bmc-redfish": 800,   # sushy-tools' Redfish emulator: every host's BMC
    "bmc-ipmi": 623,      # UDP, one per host: base+623, base+624, ...
    "masakari-api": 868,  # only with `up --with-masakari` (Masakari's usual port is 15868)
}

# Default size of every fake compute host (overridable per host).
DEFAULT_SIZE = {"vcpus": 32, "ram_gb": 128, "disk_gb": 2048,
                "cpu_ratio": 4.0, "ram_ratio": 1.0, "disk_ratio": 1.0,
                "reserved_ram_mb": 512, "reserved_disk_mb": 0, "reserved_cpus": 0}
SIZE_KEYS = tuple(DEFAULT_SIZE)


def default_datadir():
    env = os.environ.get("EVAC_LOCALCLOUD_DIR", "").strip()
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".localcloud"


@dataclasses.dataclass
class Settings:
    computes: int = 3
    compute_prefix: str = "cmp"
    port_base: int = DEFAULT_PORT_BASE
    size: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_SIZE))
    host_sizes: dict = dataclasses.field(default_factory=dict)  # host -> partial size dict
    bmc_power_delay: float = 2.0  # seconds a BMC power change takes to show
    with_masakari: bool = False   # `up --with-masakari`: Masakari API + engine (masakari.py)


class Cloud:
    """Paths, ports and settings of the cloud in one data directory."""

    def __init__(self, datadir=None):
        self.dir = Path(datadir) if datadir else default_datadir()
        self.settings = self._load_settings()

    # ---- paths -------------------------------------------------------------------------
    def path(self, *parts):
        return self.dir.joinpath(*parts)

    @property
    def venv(self):
        return self.path("venv")

    def venv_bin(self, name):
        return str(self.venv / "bin" / name)

    @property
    def etc(self):
        return self.path("etc")

    @property
    def logs(self):
        return self.path("logs")

    @property
    def run(self):
        return self.path("run")

    @property
    def state(self):
        return self.path("state")

    @property
    def cloud_json(self):
        return self.path("cloud.json")

    @property
    def mysql_socket(self):
        return str(self.path("mariadb", "mysqld.sock"))

    def ensure_dirs(self):
        for d in (self.dir, self.etc, self.logs, self.run, self.state):
            d.mkdir(parents=True, exist_ok=True)

    # ---- ports -------------------------------------------------------------------------
    def port(self, name):
        return self.settings.port_base + PORT_OFFSETS[name]

    def url(self, name, suffix=""):
        return "http://%s:%d%s" % (HOST, self.port(name), suffix)

    @property
    def auth_url(self):
        return self.url("keystone", "/v3")

    def endpoints(self):
        return {
            "identity": self.url("keystone", "/v3"),
            "compute": self.url("nova-api", "/v2.1"),
            "placement": self.url("placement"),
            "image": self.url("glance"),
            "network": self.url("neutron"),
        }

    # ---- computes ----------------------------------------------------------------------
    @property
    def compute_hosts(self):
        s = self.settings
        return ["%s%d" % (s.compute_prefix, i) for i in range(1, s.computes + 1)]

    def host_size(self, host):
        size = dict(DEFAULT_SIZE)
        size.update(self.settings.size)
        size.update(self.settings.host_sizes.get(host, {}))
        return size

    # ---- settings persistence ----------------------------------------------------------
    @property
    def _settings_file(self):
        return self.path("settings.json")

    def _load_settings(self):
        s = Settings()
        env_base = os.environ.get("EVAC_LOCALCLOUD_PORT_BASE", "").strip()
        try:
            data = json.loads(self._settings_file.read_text())
        except (OSError, ValueError):
            data = {}
        for field in dataclasses.fields(Settings):
            if field.name in data:
                setattr(s, field.name, data[field.name])
        s.size = dict(DEFAULT_SIZE, **s.size)
        if env_base and "port_base" not in data:
            s.port_base = int(env_base)
        return s

    def save_settings(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self._settings_file.write_text(json.dumps(dataclasses.asdict(self.settings), indent=2) + "\n")

    @property
    def exists(self):
        return self._settings_file.exists()

    # ---- one-time setup markers --------------------------------------------------------
    def done(self, step):
        return self.state.joinpath(step + ".done").exists()

    def mark_done(self, step):
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.joinpath(step + ".done").write_text("")
