"""The BMC inventory: which baseboard management controller fences which compute host.

Parsed from the operator's file (``EVAC_BMC_FILE``, YAML or JSON; read by
``operations.bmc_inventory``) into frozen dataclasses. Plain Python: this module is given the
decoded document and never opens a file or a socket.

The document::

    defaults:                  # optional, merged under every host's entry
      username: fence
      password_file: /etc/openstack-dashboard/bmc-password
    hosts:
      cmp1:
        agent: redfish         # redfish | ipmi
        address: https://10.0.0.11        # scheme optional (https), port optional
        system_id: /redfish/v1/Systems/1  # optional: discovered when there is one system
        username: admin
        password: secret       # or password_file (first line of the file)
        verify_tls: false      # true (default), false, or a CA bundle path
      cmp2:
        agent: ipmi
        address: 10.0.0.12
        port: 623              # optional
        username: admin
        password_file: /etc/openstack-dashboard/bmc-cmp2

A password is never in a repr, never in ``public()``, and ``BmcEntry.password`` is only read by
the code that talks to the BMC. An entry that does not validate is left out (its host keeps the
typed confirmation) and reported in ``BmcInventory.problems`` without its values.
"""
from dataclasses import dataclass, field
from urllib import parse

REDFISH = "redfish"
IPMI = "ipmi"
AGENTS = (REDFISH, IPMI)
IPMI_DEFAULT_PORT = 623
REDFISH_AUTH = ("basic", "session", "auto")

_KNOWN_KEYS = {"agent", "address", "port", "system_id", "username", "password",
               "password_file", "verify_tls", "auth"}


class BmcConfigError(ValueError):
    """The document as a whole cannot be used (not a mapping, no ``hosts``)."""


@dataclass(frozen=True)
class BmcEntry:
    """One host's BMC. ``password`` (or ``password_file``) is never shown anywhere."""

    host: str
    agent: str
    address: str                 # Redfish: base URL (scheme://host[:port]); IPMI: host name/IP
    username: str
    password: str | None = field(default=None, repr=False, compare=False)
    password_file: str | None = field(default=None, repr=False)
    port: int | None = None      # IPMI only
    system_id: str | None = None  # Redfish only: the ComputerSystem's path, or None: discover
    verify_tls: bool | str = True
    auth: str = "basic"          # Redfish only: basic | session | auto

    @property
    def is_redfish(self):
        return self.agent == REDFISH

    @property
    def ipmi_port(self):
        return self.port or IPMI_DEFAULT_PORT

    def public(self):
        """What may be shown to an admin or written to the audit log: no secret, no user."""
        shown = {"agent": self.agent, "address": self.address}
        if self.is_redfish:
            shown["system_id"] = self.system_id or "(the single system)"
        else:
            shown["port"] = self.ipmi_port
        return shown

    def label(self):
        if self.is_redfish:
            return "Redfish %s%s" % (self.address, self.system_id or "")
        return "IPMI %s:%d" % (self.address, self.ipmi_port)


@dataclass(frozen=True)
class BmcInventory:
    entries: dict = field(default_factory=dict)   # host -> BmcEntry
    problems: dict = field(default_factory=dict)  # host (or "") -> why it was left out

    def get(self, host):
        return self.entries.get(host)

    def __contains__(self, host):
        return host in self.entries

    def __len__(self):
        return len(self.entries)


EMPTY = BmcInventory()


def _text(value):
    return value.strip() if isinstance(value, str) else value


def _redfish_address(raw):
    address = raw if "://" in raw else "https://" + raw
    parts = parse.urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("address must be http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("address is the BMC's base URL (no path); give the system in "
                         "system_id")
    if parts.username or parts.password:
        raise ValueError("credentials go in username and password, not in the address")
    return "%s://%s" % (parts.scheme, parts.netloc)


def _system_id(raw):
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise ValueError("system_id must be a string")
    raw = raw.strip()
    if "://" in raw:
        raise ValueError("system_id is a path (/redfish/v1/Systems/<id>) or an id")
    if not raw.startswith("/"):
        raw = "/redfish/v1/Systems/" + raw
    return raw.rstrip("/")


def _verify(raw):
    if raw in (None, True, "true", "True", "yes"):
        return True
    if raw in (False, "false", "False", "no"):
        return False
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    raise ValueError("verify_tls must be true, false or the path of a CA bundle")


def parse_entry(host, raw, defaults=None):
    """A ``BmcEntry`` from one host's mapping (with ``defaults`` under it); ValueError with
    a message naming the field, never its value, when it does not validate."""
    if not isinstance(raw, dict):
        raise ValueError("the entry must be a mapping")
    merged = dict(defaults or {})
    merged.update(raw)
    unknown = sorted(set(merged) - _KNOWN_KEYS)
    if unknown:
        raise ValueError("unknown key(s): %s" % ", ".join(str(k) for k in unknown))
    agent = str(_text(merged.get("agent")) or "").lower()
    if agent not in AGENTS:
        raise ValueError("agent must be one of: %s" % ", ".join(AGENTS))
    address = _text(merged.get("address"))
    if not address or not isinstance(address, str):
        raise ValueError("address is required")
    username = _text(merged.get("username"))
    if not username or not isinstance(username, str):
        raise ValueError("username is required")
    password, password_file = merged.get("password"), _text(merged.get("password_file"))
    if password not in (None, "") and password_file:
        raise ValueError("give password or password_file, not both")
    if password in (None, "") and not password_file:
        raise ValueError("password or password_file is required")
    if password not in (None, "") and not isinstance(password, str):
        raise ValueError("password must be a string")
    if password_file and not (isinstance(password_file, str) and password_file.startswith("/")):
        raise ValueError("password_file must be an absolute path")
    port = merged.get("port")
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError("port must be a number from 1 to 65535")
    auth = str(_text(merged.get("auth")) or "basic").lower()
    if auth not in REDFISH_AUTH:
        raise ValueError("auth must be one of: %s" % ", ".join(REDFISH_AUTH))
    if agent == REDFISH:
        if port is not None:
            raise ValueError("a Redfish port belongs in the address (https://host:port)")
        address = _redfish_address(address)
        system_id = _system_id(merged.get("system_id"))
    else:
        if "://" in address or "/" in address:
            raise ValueError("an IPMI address is a host name or IP address")
        if merged.get("system_id"):
            raise ValueError("system_id is for Redfish only")
        system_id = None
    return BmcEntry(host=host, agent=agent, address=address, username=username,
                    password=password or None, password_file=password_file or None,
                    port=port, system_id=system_id, verify_tls=_verify(merged.get("verify_tls")),
                    auth=auth)


def parse_inventory(document):
    """A ``BmcInventory`` from the decoded file. Raises ``BmcConfigError`` when the document
    as a whole is unusable; a bad host entry is only left out (``problems``)."""
    if document is None:
        return EMPTY
    if not isinstance(document, dict):
        raise BmcConfigError("the BMC file must hold a mapping with a 'hosts' key")
    hosts = document.get("hosts")
    if not isinstance(hosts, dict):
        raise BmcConfigError("the BMC file has no 'hosts' mapping")
    defaults = document.get("defaults")
    defaults = {} if defaults is None else defaults
    if not isinstance(defaults, dict):
        raise BmcConfigError("'defaults' must be a mapping")
    entries, problems = {}, {}
    for host, raw in hosts.items():
        name = str(host).strip()
        try:
            entries[name] = parse_entry(name, raw, defaults)
        except ValueError as error:
            problems[name] = str(error)
    extra = sorted(set(document) - {"hosts", "defaults"})
    if extra:
        problems[""] = "unknown top-level key(s) ignored: %s" % ", ".join(map(str, extra))
    return BmcInventory(entries=entries, problems=problems)
