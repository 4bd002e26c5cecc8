"""Thin Nova (and Keystone) reads for the history page.

Like ``api.nova`` each function makes a fixed, small number of requests (plus one per page of
a paged list) and returns plain data. The callers (``operations.external_sync``) decide how
many times they are called: the instance actions of a server cost one request per migration, so
they are read once per migration and only for migrations someone looks at.
"""
from urllib import parse

from openstack_dashboard.contrib.developer.profiler import api as profiler

from evac_dashboard import conf
from evac_dashboard.api import client
from evac_dashboard.api import nova
from evac_dashboard.rules import external
from evac_dashboard.rules import microversions
from evac_dashboard.rules import services

NOVA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
EVACUATE_ACTION = "evacuate"
# Upper bound on pages followed for one server's actions (1000 a page): a server with more
# than this many actions since the evacuation is not worth more requests.
MAX_ACTION_PAGES = 2


def _version_at_least(version, wanted):
    return tuple(version) >= wanted


@profiler.trace
def evacuation_migrations(request, changes_since=None):
    """Every evacuation migration Nova has, from any host, newest first; all pages.

    ``changes_since`` (aware datetime): on clouds with 2.59+ Nova returns only the records
    updated since then (``updated_at >= changes_since``); older clouds return every record
    (and have no paging). At 2.80+ each record names its initiator (``user_id``,
    ``project_id``). Returns ``(migrations, microversion string)``.
    """
    version = client.negotiated_version(request)
    nova_client = client.novaclient(request, version=version)
    params = {"migration_type": "evacuation"}
    if microversions.supports("migration_paging", version):
        params["limit"] = nova.PAGE_SIZE
        if changes_since is not None:
            params["changes-since"] = changes_since.strftime(NOVA_TIME_FORMAT)
    migrations = nova._get_paged(nova_client, "/os-migrations", "migrations", params)
    return ([m for m in migrations if m.get("migration_type", "evacuation") == "evacuation"],
            microversions.to_string(version))


@profiler.trace
def instance_actions(request, server_id, changes_since=None):
    """The instance actions of one server (``GET /servers/{id}/os-instance-actions``).

    Works for deleted servers from 2.21. From 2.58 the list is paged and ``changes_since``
    narrows it to actions updated since then (an evacuate action is updated by each of its
    events, so asking from just before the migration was created finds it). One request,
    at most ``MAX_ACTION_PAGES``.
    """
    version = client.negotiated_version(request)
    nova_client = client.novaclient(request, version=version)
    path = "/servers/%s/os-instance-actions" % parse.quote(server_id, safe="")
    params = {}
    if _version_at_least(version, (2, 58)):
        params["limit"] = nova.PAGE_SIZE
        if changes_since is not None:
            params["changes-since"] = changes_since.strftime(NOVA_TIME_FORMAT)
    actions, query = [], dict(params)
    for _page in range(MAX_ACTION_PAGES):
        url = path + ("?" + parse.urlencode(query) if query else "")
        _resp, body = nova_client.client.get(url)
        page = body.get("instanceActions", [])
        actions.extend(page)
        marker = nova._next_marker(body.get("links", []))
        if not marker or not page:
            break
        query["marker"] = marker
    return actions


def evacuate_action(request, server_id, created_at):
    """The ``evacuate`` instance action of ``server_id`` nearest to ``created_at`` (a
    migration's creation time), or None. One ``instance_actions`` call."""
    since = created_at - external.CLOCK_SKEW_MARGIN if created_at is not None else None
    found = [a for a in instance_actions(request, server_id, since)
             if a.get("action") == EVACUATE_ACTION]
    if not found:
        return None
    if created_at is None:
        return found[0]

    def distance(action):
        started = services.parse_time(action.get("start_time"))
        return abs((started - created_at).total_seconds()) if started else float("inf")

    return min(found, key=distance)


def known_microversion(request):
    """The negotiated compute microversion as ``"2.N"`` if it is already cached for this
    request's cloud, else None. Never makes a request (for audit records, which must not
    fail or wait because version discovery does)."""
    try:
        endpoint = client.compute_endpoint(request)
        with client._version_lock:
            cached = client._version_cache.get(endpoint)
        if not cached:
            return None
        minimum, maximum = cached[1]
        return microversions.to_string(microversions.negotiate(
            minimum, maximum, client.novaclient_max_version(),
            conf.nova_microversion()))
    except Exception:
        return None


@profiler.trace
def user_name(request, user_id):
    """The Keystone name of ``user_id`` (one request), or "" when it cannot be read."""
    from openstack_dashboard.api import keystone  # late: keeps module import light

    try:
        user = keystone.user_get(request, user_id, admin=False)
    except Exception:
        return ""
    return getattr(user, "name", "") or ""


@profiler.trace
def project_names(request):
    """Project id -> name for every project the admin can see (one Keystone request), or {}
    when it cannot be read."""
    try:
        return nova.project_names(request)
    except Exception:
        return {}
