"""The last URL pattern of a panel: any path under the panel that no other pattern takes.

Without it such a path is answered by the site's 404 handler, and Django's
(``django.views.defaults.page_not_found``, ``requires_csrf_token``) reads the request body
again: a POST whose body Django refuses (multipart/form-data without a boundary, more than
DATA_UPLOAD_MAX_NUMBER_FIELDS fields, a body over DATA_UPLOAD_MAX_MEMORY_SIZE) raises inside
the handler, and the 404 becomes a 500 (``get_exception_response``). The handler is the
site's (Horizon's), not the plugin's; what the plugin can do is route every path under its
panels to a view of its own. A routed POST goes through the CSRF middleware first, which
answers such a body with Django's 400 (as on any other URL of the panel), and an accepted
one reaches ``not_found``, whose 404 no longer needs to read it.
"""
from django import http
from django.conf import settings
from django.urls import Resolver404
from django.urls import re_path
from django.urls import resolve
from django.utils.translation import gettext_lazy as _

NAME = "unrouted"


def _with_slash_routed(request):
    """``request``'s path with a slash appended is a real page (what Django's APPEND_SLASH
    redirect would have found before this pattern took every path)."""
    if request.path_info.endswith("/"):
        return False
    try:
        match = resolve(request.path_info + "/")
    except Resolver404:
        return False
    return match.url_name != NAME


def not_found(request, *args, **kwargs):
    if request.method in ("GET", "HEAD") and getattr(settings, "APPEND_SLASH", True) \
            and _with_slash_routed(request):
        query = request.META.get("QUERY_STRING", "")
        return http.HttpResponsePermanentRedirect(
            request.path + "/" + ("?" + query if query else ""))
    return http.HttpResponseNotFound(
        str(_("There is no such page.")), content_type="text/plain; charset=utf-8")


def catch_all():
    """The pattern to put last in a panel's ``urlpatterns``."""
    return re_path(r"^[\s\S]*$", not_found, name=NAME)  # "." would miss a newline
