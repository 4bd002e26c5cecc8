"""Power states of the compute hosts, as their BMCs report them, for the Compute Hosts page.

Every BMC is asked at once (a bounded thread pool), each request bounded by
``EVAC_BMC_TIMEOUT`` and all of them together by ``EVAC_BMC_STATUS_SECONDS``: a BMC that has
not answered by then is shown as unreachable for now, and its answer, when it comes, is
cached for the next look. Readings are kept in Django's cache for
``EVAC_BMC_POWER_CACHE_SECONDS`` (state, label and a reason only: never a credential), so
people watching the page share one read, and one host's BMC is never asked twice at once.

The page itself makes no BMC call: it renders the column empty and its script asks
``content.hosts.views.PowerStatesView`` for ``read()``.
"""
import concurrent.futures
import hashlib
import logging
import threading
import time

from django.core.cache import cache
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from evac_dashboard import conf
from evac_dashboard.api import bmc
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.rules import power

LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_pool = None
_in_flight = {}  # cache key -> Future


def _executor():
    global _pool
    with _lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=conf.bmc_read_concurrency(), thread_name_prefix="evac-bmc-read")
        return _pool


def _key(entry):
    """Changes with the entry's target, so an edited file is never answered from the cache."""
    ident = "|".join((entry.host, entry.agent, entry.address, str(entry.port),
                      entry.system_id or "", entry.username))
    return "evac:bmc-power:" + hashlib.sha256(ident.encode()).hexdigest()[:32]


def _store(key, reading):
    seconds = conf.bmc_power_cache_seconds()
    if seconds > 0:
        cache.set(key, reading.as_json(), seconds)


def _from_cache(value):
    return power.Reading(value["host"], value["state"], value.get("detail", ""),
                         value.get("seconds", 0.0))


@sensitive_variables("password")
def _read_one(entry, key):
    try:
        try:
            password = bmc_inventory.password_of(entry)
        except bmc_inventory.PasswordUnavailable as error:
            reading = power.Reading(entry.host, power.ERROR, str(error))
        else:
            reading = bmc.read_power(entry, password, conf.bmc_timeout())
        _store(key, reading)
        return reading
    finally:
        with _lock:
            _in_flight.pop(key, None)


def _submit(entry, key):
    with _lock:
        future = _in_flight.get(key)
        if future is not None:
            return future
    future = _executor().submit(_read_one, entry, key)
    with _lock:
        if not future.done():
            _in_flight.setdefault(key, future)
    return future


def not_configured(host):
    why = bmc_inventory.host_problem(host)
    if why:
        return power.Reading(host, power.ERROR, "its entry in the BMC file is not valid: %s"
                             % why)
    return power.Reading(host, power.NOT_CONFIGURED)


def read(hosts, fresh=False, wait=None):
    """``{host: rules.power.Reading}`` for ``hosts``, within ``wait`` seconds (default
    ``EVAC_BMC_STATUS_SECONDS``). ``fresh`` skips the cache (after a fence or power on)."""
    inventory = bmc_inventory.inventory()
    wait = conf.bmc_status_seconds() if wait is None else wait
    readings, pending = {}, {}
    for host in hosts:
        entry = inventory.get(host)
        if entry is None:
            readings[host] = not_configured(host)
            continue
        key = _key(entry)
        cached = None if fresh else cache.get(key)
        if cached:
            readings[host] = _from_cache(cached)
        else:
            pending[host] = _submit(entry, key)
    if pending:
        started = time.monotonic()
        concurrent.futures.wait(list(pending.values()), timeout=wait)
        for host, future in pending.items():
            if future.done() and future.exception() is None:
                readings[host] = future.result()
            elif future.done():
                LOG.error("Power state of %s: %s", host, type(future.exception()).__name__)
                readings[host] = power.Reading(host, power.ERROR, _("the dashboard could not "
                                                                  "ask the BMC (see its log)"))
            else:
                readings[host] = power.Reading(
                    host, power.UNREACHABLE, _("no answer within %.0f s") % wait,
                    time.monotonic() - started)
    return readings


def configured_hosts(hosts):
    inventory = bmc_inventory.inventory()
    return [host for host in hosts if host in inventory]


def forget(host):
    """Drop ``host``'s cached reading (its power was just changed)."""
    entry = bmc_inventory.entry_for(host)
    if entry is not None:
        cache.delete(_key(entry))
