"""Pages that need the plugin's database, when Horizon has none: a clear page (or modal, or
JSON error) saying which settings to add, never a 500 and never "Nova refused"."""
import functools

from django import http
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from evac_dashboard import conf

MESSAGE = _("The evacuation plugin keeps its batches and audit log in a database, and this "
            "Horizon has none configured. Add DATABASES to local_settings.py (a MySQL or "
            "MariaDB database every Horizon node shares; Kolla-Ansible: set "
            "horizon_backend_database: true), then run "
            "'DJANGO_SETTINGS_MODULE=openstack_dashboard.settings django-admin migrate' once. "
            "Until then Compute Hosts lists the hosts, read-only.")


def needs_database(view):
    """Wrap a view that reads or writes the plugin's records."""
    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if conf.database_configured():
            return view(request, *args, **kwargs)
        if "application/json" in request.headers.get("accept", "") or \
                request.path.endswith(".json"):
            return http.JsonResponse({"error": str(MESSAGE), "code": "no_database"},
                                     status=503)
        ajax = request.headers.get("x-requested-with") == "XMLHttpRequest"
        template = ("evac_dashboard/_no_database_modal.html" if ajax
                    else "evac_dashboard/no_database.html")
        return render(request, template, {"message": MESSAGE})
    return guarded
