"""Every ``EVAC_*`` setting of the plugin, read in this one module, with its default.

It sits beside ``models``, just above the rules (the API layer needs its timeouts, the
store its retention, the operations their intervals), and reads Django's settings at call
time, so a test's ``settings`` fixture or an operator's ``local_settings`` change is seen at
once. The ``rules`` package never reads settings: it is given these values.
"""
from django.conf import settings

from evac_dashboard.rules import server_changes
from evac_dashboard.rules import services

# --- Nova and the other OpenStack APIs ----------------------------------------------------
DEFAULT_NOVA_TIMEOUT = 30
DEFAULT_CONNECT_RETRIES = 2
DEFAULT_VERSION_CACHE_SECONDS = 300
# --- submission ---------------------------------------------------------------------------
DEFAULT_SUBMIT_CONCURRENCY = 8
DEFAULT_PACING = True  # measured: docs/benchmark.md, "Pacing off and on"
DEFAULT_PACING_MIN_WINDOW = 2
DEFAULT_PACING_START_WINDOW = 4
DEFAULT_PACING_MAX_WINDOW = 16
DEFAULT_PACING_CHECK_SECONDS = 0.5  # a freed slot waits 0.25 s on average (docs/benchmark.md)
DEFAULT_PACING_STALL_SECONDS = 300
# --- Nova's own configuration the plugin reasons about -----------------------------------
DEFAULT_SERVICE_DOWN_TIME = services.DEFAULT_SERVICE_DOWN_TIME  # Nova's own default
# --- the progress page --------------------------------------------------------------------
DEFAULT_POLL_SECONDS = 3
DEFAULT_MAX_POLL_SECONDS = 30
DEFAULT_PROGRESS_CACHE_SECONDS = 2
DEFAULT_PROJECT_NAMES_SECONDS = 60
DEFAULT_SUBMITTING_SERVERS_SECONDS = 10
DEFAULT_CHANGES_OVERLAP_SECONDS = int(server_changes.DEFAULT_OVERLAP.total_seconds())
DEFAULT_FULL_READ_SECONDS = server_changes.DEFAULT_FULL_READ_SECONDS
DEFAULT_RESUME_STALE_SECONDS = 90
# --- the audit log ------------------------------------------------------------------------
DEFAULT_AUDIT_RETENTION_DAYS = 365
DEFAULT_AUDIT_SYNC_SECONDS = 30
DEFAULT_AUDIT_ACTION_READS = 25


def value(name, default=None):
    """``settings.<name>`` or ``default``."""
    return getattr(settings, name, default)


def _number(name, default, kind=float, minimum=None):
    raw = value(name, default)
    if raw in (None, ""):
        return default
    number = kind(raw)
    return number if minimum is None else max(minimum, number)


def nova_timeout():
    """Seconds an HTTP call to Nova or Placement may take (EVAC_NOVA_TIMEOUT)."""
    return _number("EVAC_NOVA_TIMEOUT", DEFAULT_NOVA_TIMEOUT)


def nova_connect_retries():
    """Connection retries of reads; writes never retry (EVAC_NOVA_CONNECT_RETRIES)."""
    return _number("EVAC_NOVA_CONNECT_RETRIES", DEFAULT_CONNECT_RETRIES, int, 0)


def version_cache_seconds():
    """How long a cloud's microversion range is remembered (EVAC_VERSION_CACHE_SECONDS)."""
    return _number("EVAC_VERSION_CACHE_SECONDS", DEFAULT_VERSION_CACHE_SECONDS)


def nova_microversion():
    """The operator's microversion override, or None (EVAC_NOVA_MICROVERSION)."""
    return value("EVAC_NOVA_MICROVERSION") or None


def submit_concurrency():
    """Evacuate calls a batch may have in flight at once (EVAC_SUBMIT_CONCURRENCY)."""
    return _number("EVAC_SUBMIT_CONCURRENCY", DEFAULT_SUBMIT_CONCURRENCY, int, 1)


def pacing():
    """Whether a batch's sender keeps a window of rebuilds in flight, adapted to how fast
    Nova completes them (EVAC_PACING; False: only EVAC_SUBMIT_CONCURRENCY calls bound it)."""
    raw = value("EVAC_PACING", DEFAULT_PACING)
    if isinstance(raw, str):
        return raw.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(raw)


def pacing_window():
    """``(minimum, start, maximum)`` of the window (EVAC_PACING_MIN_WINDOW,
    EVAC_PACING_START_WINDOW, EVAC_PACING_MAX_WINDOW)."""
    minimum = _number("EVAC_PACING_MIN_WINDOW", DEFAULT_PACING_MIN_WINDOW, int, 1)
    maximum = max(minimum, _number("EVAC_PACING_MAX_WINDOW", DEFAULT_PACING_MAX_WINDOW,
                                   int, 1))
    start = _number("EVAC_PACING_START_WINDOW", DEFAULT_PACING_START_WINDOW, int, 1)
    return minimum, min(maximum, max(minimum, start)), maximum


def pacing_check_seconds():
    """How often a waiting sender reads the batch's evacuation records, one Nova call each
    time (EVAC_PACING_CHECK_SECONDS)."""
    return _number("EVAC_PACING_CHECK_SECONDS", DEFAULT_PACING_CHECK_SECONDS, float, 0.05)


def pacing_stall_seconds():
    """A rebuild unfinished this long after it was first seen stops holding a place in the
    window (EVAC_PACING_STALL_SECONDS)."""
    return _number("EVAC_PACING_STALL_SECONDS", DEFAULT_PACING_STALL_SECONDS, float, 1)


def service_down_time():
    """Nova's service_down_time: seconds without a heartbeat before a compute service looks
    down to nova-api (EVAC_SERVICE_DOWN_TIME; set it to the cloud's value)."""
    return _number("EVAC_SERVICE_DOWN_TIME", DEFAULT_SERVICE_DOWN_TIME, int, 1)


def poll_seconds():
    """Seconds between progress polls while something changes (EVAC_PROGRESS_POLL_SECONDS)."""
    return _number("EVAC_PROGRESS_POLL_SECONDS", DEFAULT_POLL_SECONDS, int, 1)


def max_poll_seconds():
    """The longest wait after polls that changed nothing (EVAC_PROGRESS_MAX_POLL_SECONDS)."""
    return max(poll_seconds(), _number("EVAC_PROGRESS_MAX_POLL_SECONDS",
                                       DEFAULT_MAX_POLL_SECONDS, int))


def project_names_seconds():
    """How long a user's project names are reused (EVAC_PROJECT_NAMES_SECONDS; 0: read every
    time): a name is a nicety, a Keystone project list per progress poll is not."""
    return _number("EVAC_PROJECT_NAMES_SECONDS", DEFAULT_PROJECT_NAMES_SECONDS)


def progress_cache_seconds():
    """Polls of one batch within this time share one Nova read (EVAC_PROGRESS_CACHE_SECONDS;
    0 turns sharing off)."""
    return _number("EVAC_PROGRESS_CACHE_SECONDS", DEFAULT_PROGRESS_CACHE_SECONDS)


def submitting_servers_seconds():
    """While a batch is being sent, servers are re-read at most this often
    (EVAC_PROGRESS_SUBMITTING_SERVERS_SECONDS; 0 reads them on every poll)."""
    return _number("EVAC_PROGRESS_SUBMITTING_SERVERS_SECONDS",
                   DEFAULT_SUBMITTING_SERVERS_SECONDS)


def changes_overlap_seconds():
    """Overlap of incremental servers reads (EVAC_PROGRESS_CHANGES_OVERLAP_SECONDS)."""
    return _number("EVAC_PROGRESS_CHANGES_OVERLAP_SECONDS", DEFAULT_CHANGES_OVERLAP_SECONDS)


def full_read_seconds():
    """A full servers read at least this often (EVAC_PROGRESS_FULL_READ_SECONDS; 0: always)."""
    return _number("EVAC_PROGRESS_FULL_READ_SECONDS", DEFAULT_FULL_READ_SECONDS)


def resume_stale_seconds():
    """A batch whose sender wrote nothing for this long may be resumed elsewhere
    (EVAC_RESUME_STALE_SECONDS)."""
    return _number("EVAC_RESUME_STALE_SECONDS", DEFAULT_RESUME_STALE_SECONDS)


def audit_retention_days():
    """Days audit records are kept (EVAC_AUDIT_RETENTION_DAYS; None or 0 keeps them)."""
    days = value("EVAC_AUDIT_RETENTION_DAYS", DEFAULT_AUDIT_RETENTION_DAYS)
    if days in (None, "", 0, "0"):
        return None
    days = int(days)
    if days < 0:
        raise ValueError("EVAC_AUDIT_RETENTION_DAYS must be positive (or 0/None: keep)")
    return days


def audit_sync_seconds():
    """Evacuations made elsewhere are copied in at most this often per process
    (EVAC_AUDIT_SYNC_SECONDS)."""
    return _number("EVAC_AUDIT_SYNC_SECONDS", DEFAULT_AUDIT_SYNC_SECONDS)


def audit_action_reads():
    """Instance-action reads per history page at most (EVAC_AUDIT_ACTION_READS)."""
    return _number("EVAC_AUDIT_ACTION_READS", DEFAULT_AUDIT_ACTION_READS, int, 0)


# --- coordination (who sends a batch) -----------------------------------------------------
DEFAULT_LEASE_SECONDS = 15


def coordination_url():
    """The tooz backend of the sending leases (EVAC_COORDINATION_URL), or None for the
    default (see ``operations.leases``)."""
    return value("EVAC_COORDINATION_URL") or None


def lease_seconds():
    """How long a sender's lease outlives its last heartbeat (EVAC_LEASE_SECONDS)."""
    return _number("EVAC_LEASE_SECONDS", DEFAULT_LEASE_SECONDS, int, 2)


def database_configured():
    """Whether Django has a database for the plugin's records: stock Horizon has none
    unless the deployment gives it one (Kolla-Ansible: horizon_backend_database)."""
    engine = str(((value("DATABASES") or {}).get("default") or {}).get("ENGINE") or "")
    return bool(engine) and not engine.endswith(".dummy")


DEFAULT_TAKEOVER_CHECK_SECONDS = 3


def takeover_check_seconds():
    """How often each dashboard process looks for batches whose sender is gone
    (EVAC_TAKEOVER_CHECK_SECONDS; 0: never, only polls of a batch's page trigger it)."""
    return _number("EVAC_TAKEOVER_CHECK_SECONDS", DEFAULT_TAKEOVER_CHECK_SECONDS, float, 0)


def memcached_location():
    """``host:port`` of Horizon's default cache when it is memcached, else None."""
    cache = (value("CACHES") or {}).get("default") or {}
    if "memcache" not in str(cache.get("BACKEND", "")).lower():
        return None
    location = cache.get("LOCATION")
    if isinstance(location, (list, tuple)):
        location = location[0] if location else None
    if not location or str(location).startswith("unix:"):
        return None
    return str(location)


# --- BMCs: fencing through Redfish or IPMI (operations.bmc_inventory, operations.fencing) --
DEFAULT_BMC_TIMEOUT = 5
DEFAULT_BMC_STATUS_SECONDS = 4
DEFAULT_BMC_POWER_CACHE_SECONDS = 10
DEFAULT_BMC_FENCE_TIMEOUT = 60
DEFAULT_BMC_READ_CONCURRENCY = 16


def bmc_file():
    """The file mapping compute hosts to their BMCs (EVAC_BMC_FILE, YAML or JSON), or None:
    no host is fenced through a BMC and Force Down keeps the typed confirmation."""
    return value("EVAC_BMC_FILE") or None


def bmc_timeout():
    """Seconds one request to a BMC may take (EVAC_BMC_TIMEOUT)."""
    return _number("EVAC_BMC_TIMEOUT", DEFAULT_BMC_TIMEOUT, float, 0.5)


def bmc_status_seconds():
    """How long the Compute Hosts page's power column waits for all BMCs together
    (EVAC_BMC_STATUS_SECONDS); a BMC slower than that shows as unreachable."""
    return _number("EVAC_BMC_STATUS_SECONDS", DEFAULT_BMC_STATUS_SECONDS, float, 0.5)


def bmc_power_cache_seconds():
    """Power states read within this time are shown again without asking the BMCs
    (EVAC_BMC_POWER_CACHE_SECONDS; 0 asks every time)."""
    return _number("EVAC_BMC_POWER_CACHE_SECONDS", DEFAULT_BMC_POWER_CACHE_SECONDS, float, 0)


def bmc_fence_timeout():
    """How long a fence waits for the BMC to report the host Off before it stops
    (EVAC_BMC_FENCE_TIMEOUT)."""
    return _number("EVAC_BMC_FENCE_TIMEOUT", DEFAULT_BMC_FENCE_TIMEOUT, float, 1)


def bmc_read_concurrency():
    """BMCs asked at once for the power column (EVAC_BMC_READ_CONCURRENCY)."""
    return _number("EVAC_BMC_READ_CONCURRENCY", DEFAULT_BMC_READ_CONCURRENCY, int, 1)
