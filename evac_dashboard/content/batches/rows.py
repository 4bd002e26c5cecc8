"""The progress rows as HTML, and which of them a browser already has.

Rows are rendered by one template (``_item_row.html``) for the page and for its polls.
Each row gets a short fingerprint of what it shows; the map ``{item id: fingerprint}`` of
every answer is kept in Django's cache under a version derived from it (the same rows give
the same version, so observers and Horizon nodes sharing memcached agree). A poll sends
the version it has (``?since=``) and gets only the rows whose fingerprint differs; an
unknown version (expired, or another node with a local cache) gets every row: always
correct, just bigger.
"""
import hashlib
import json

from django.core.cache import cache
from django.template.loader import get_template
from django.utils import translation

from evac_dashboard.content.batches import presenters

TEMPLATE = "evac_dashboard/batches/_item_row.html"
# Part of every fingerprint: bump it when the row template changes what it renders.
RENDER_VERSION = "2"
VERSION_SECONDS = 600
_KEY = "evac-progress-rows:%s:%s"


def fingerprint(context):
    text = json.dumps(context, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha1((RENDER_VERSION + translation.get_language() + text)
                          .encode("utf-8"))
    return digest.hexdigest()[:12]


def contexts(data):
    return [presenters.row_context(row) for row in data["items"]]


def render_all(row_contexts, names):
    """The rows' HTML; ``names``: a callable giving ``{project id: name}``, called only
    when there is a row to render (an unchanged poll asks Keystone nothing)."""
    if not row_contexts:
        return []
    template = get_template(TEMPLATE)
    projects = names()
    return [(c["id"], template.render({"row": c, "project": projects.get(c["project_id"])
                                       or c["project_id"] or "-"}))
            for c in row_contexts]


def version_of(prints):
    text = ",".join("%s:%s" % pair for pair in sorted(prints.items()))
    return hashlib.sha1(text.encode("ascii")).hexdigest()[:16]


def remember(batch_id, prints):
    """Store the map and return its version."""
    version = version_of(prints)
    cache.set(_KEY % (batch_id, version), prints, VERSION_SECONDS)
    return version


def known(batch_id, version):
    """The map a browser that holds ``version`` has, or None."""
    if not version or len(version) > 32 or not version.isalnum():
        return None
    return cache.get(_KEY % (batch_id, version))


def changes(batch_id, row_contexts, since, names):
    """``(version, full, [(id, html)], [removed ids])`` for a browser holding ``since``."""
    prints = {str(c["id"]): fingerprint(c) for c in row_contexts}
    version = remember(batch_id, prints)
    before = known(batch_id, since)
    if before is None:
        return version, True, render_all(row_contexts, names), []
    changed = [c for c in row_contexts if before.get(str(c["id"])) != prints[str(c["id"])]]
    removed = sorted(int(i) for i in set(before) - set(prints))
    return version, False, render_all(changed, names), removed
