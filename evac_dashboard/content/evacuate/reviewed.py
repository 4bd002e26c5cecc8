"""The instances the operator reviewed in the evacuate form, carried to its POST signed.

The form lists the host's instances when it opens (one paged servers list, which can take a
couple of seconds on a big host). Submitting then evacuates exactly what was shown, without
listing again, so the POST answers at once whatever the host holds. The list travels in a
hidden field signed with the site's SECRET_KEY and bound to the host, so it cannot be
altered or replayed against another host, and it expires.
"""
from django.core import signing
from django.utils.translation import gettext as _

from evac_dashboard.rules import priority
from evac_dashboard.rules import servers as srv

MAX_AGE_SECONDS = 3600
_KEPT_KEYS = ("id", "name", "tenant_id", "status", srv.VM_STATE, srv.TASK_STATE, srv.HOST)


def _salt(host):
    return "evac_dashboard.reviewed:" + host


def summary(server):
    """What a batch needs to know of a server (no addresses, no secrets)."""
    kept = {key: server.get(key) for key in _KEPT_KEYS}
    value = srv.metadata(server).get(priority.METADATA_KEY)
    kept["metadata"] = {priority.METADATA_KEY: value} if value is not None else {}
    kept["image"] = "" if srv.is_volume_backed(server) else {"id": "image"}
    return kept


def sign(host, servers):
    return signing.dumps([summary(server) for server in servers], salt=_salt(host),
                         compress=True)


def unsign(host, token):
    """The reviewed server summaries, or ValueError when the token is bad or too old."""
    try:
        return signing.loads(token, salt=_salt(host), max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise ValueError(_("The instance list is more than an hour old. Open the form again "
                           "to review the current instances.")) from None
    except signing.BadSignature:
        raise ValueError(_("The instance list was altered or belongs to another host. Open "
                           "the form again.")) from None
