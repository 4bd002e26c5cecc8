"""The operator's BMC file (``EVAC_BMC_FILE``): read, checked and remembered until it changes.

The file holds BMC passwords, so it should be readable by the dashboard's user only: a file
(or a ``password_file``) that its group or others may read is used, with a warning in the log
each time it changes. A file that cannot be read or parsed fences nothing: every host keeps
the typed confirmation, and ``problem()`` says why (shown to admins, without any value).
"""
import json
import logging
import os
import stat
import threading

from evac_dashboard import conf
from evac_dashboard.rules import bmc_config

LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_cache = {}  # "key": (path, mtime_ns, size), "inventory", "problem"


class PasswordUnavailable(Exception):
    """The entry's password_file cannot be read (the message names the file, nothing more)."""


def _warn_if_shared(path, mode, what):
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        LOG.warning("%s %s can be read by its group or others (mode %04o): it holds BMC "
                    "passwords; make it readable by the dashboard's user only (chmod 600)",
                    what, path, stat.S_IMODE(mode))


def _decode(path, text):
    if path.endswith(".json"):
        return json.loads(text)
    import yaml
    return yaml.safe_load(text)


def _load(path):
    with open(path, encoding="utf-8") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        text = handle.read()
    _warn_if_shared(path, mode, "BMC file")
    inventory = bmc_config.parse_inventory(_decode(path, text))
    for host, why in sorted(inventory.problems.items()):
        LOG.warning("BMC file %s: %s%s", path, "%s: " % host if host else "", why)
    for entry in inventory.entries.values():
        if entry.password_file:
            try:
                _warn_if_shared(entry.password_file, os.stat(entry.password_file).st_mode,
                                "BMC password file")
            except OSError:
                LOG.warning("BMC file %s: %s: password_file %s cannot be read", path,
                            entry.host, entry.password_file)
    LOG.info("BMC file %s: %d host(s) fenced through their BMC", path, len(inventory))
    return inventory


def _current():
    path = conf.bmc_file()
    if not path:
        return None, bmc_config.EMPTY, ""
    path = str(path)
    try:
        info = os.stat(path)
        key = (path, info.st_mtime_ns, info.st_size)
    except OSError as error:
        key = (path, None, error.errno)
    with _lock:
        if _cache.get("key") == key:
            return key, _cache["inventory"], _cache["problem"]
        try:
            inventory, problem = _load(path), ""
        except OSError as error:
            inventory = bmc_config.EMPTY
            problem = "the BMC file %s cannot be read (%s)" % (path, error.strerror or error)
        except (ValueError, bmc_config.BmcConfigError) as error:
            inventory = bmc_config.EMPTY
            problem = "the BMC file %s is not valid: %s" % (path, _short(error))
        except Exception as error:  # a YAML syntax error and the like
            inventory = bmc_config.EMPTY
            problem = "the BMC file %s is not valid: %s" % (path, type(error).__name__)
        if problem:
            LOG.error("No host is fenced through a BMC: %s", problem)
        _cache.update(key=key, inventory=inventory, problem=problem)
        return key, inventory, problem


def _short(error):
    # A parser's message may quote a line of the file, and that line may be a password.
    text = str(error)
    return text if isinstance(error, bmc_config.BmcConfigError) else type(error).__name__


def inventory():
    """The ``BmcInventory`` now (empty when there is no file or it is unusable)."""
    return _current()[1]


def problem():
    """Why the BMC file is not used at all (empty when it is, or when there is none)."""
    return _current()[2]


def host_problem(host):
    """Why ``host``'s entry was left out of the file, or ''."""
    return inventory().problems.get(host, "")


def entry_for(host):
    return inventory().get(host)


def password_of(entry):
    """The entry's password, from the file or from its password_file (first line, read now
    so a rotated password is used at once)."""
    if entry.password:
        return entry.password
    try:
        with open(entry.password_file, encoding="utf-8") as handle:
            return handle.readline().strip()
    except OSError as error:
        raise PasswordUnavailable("the password file %s of %s's BMC cannot be read (%s)"
                                  % (entry.password_file, entry.host,
                                     error.strerror or type(error).__name__)) from None


def forget():
    """Tests: read the file again on next use."""
    with _lock:
        _cache.clear()
