"""Nova's view of the compute hosts: services, hypervisors, heartbeats, force-down, migrations."""
from . import mariadb


def compute_services(session):
    """{host: os-services entry} for nova-compute (mv 2.74: has uuid ids)."""
    svcs = session.get("compute", "/os-services?binary=nova-compute")["services"]
    return {s["host"]: s for s in svcs}


def mapped_hosts(session):
    """Service hosts that appear as hypervisors (only mapped hosts are listed)."""
    hyps = session.get("compute", "/os-hypervisors/detail")["hypervisors"]
    return {h["service"]["host"] for h in hyps if h.get("service")}


def set_forced_down(session, service_id, value):
    session.put("compute", "/os-services/%s" % service_id, {"forced_down": bool(value)})


def set_enabled(session, service_id, enabled=True):
    session.put("compute", "/os-services/%s" % service_id,
                {"status": "enabled" if enabled else "disabled"})


def evacuations_from(session, host, status=None):
    path = "/os-migrations?source_compute=%s&migration_type=evacuation" % host
    if status:
        path += "&status=" + status
    return session.get("compute", path, mv="2.59")["migrations"]


def db_now(cloud):
    """The database's current UTC time ('YYYY-MM-DD HH:MM:SS'), Nova's heartbeat clock."""
    return mariadb.rows(cloud, "SELECT UTC_TIMESTAMP();")[0][0]


def heartbeats(cloud):
    """{host: last_seen_up as 'YYYY-MM-DD HH:MM:SS' or ''} straight from the cell database.

    The API hides the heartbeat of a forced-down service (state stays ``down``), but a
    revived compute keeps writing it - this is how we know it is running again.
    """
    out = {}
    query = ("SELECT host, IFNULL(last_seen_up, '') FROM nova_cell1.services "
             "WHERE `binary`='nova-compute' AND deleted=0;")
    for row in mariadb.rows(cloud, query):
        out[row[0]] = row[1] if len(row) > 1 else ""
    return out
