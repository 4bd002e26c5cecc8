"""The one guard of the plugin's table views against a table action they do not have.

Horizon reads a POSTed ``action`` field (and a GET ``table`` + ``action`` pair) as
``<table>__<action>[__<row id>]`` and routes it to the action, without checking it: an empty
value, one without ``__``, a filter's or a link's name raise TypeError, IndexError or
AttributeError in ``horizon/tables/base.py`` (a 500). Every table view of the plugin mixes
in ``GuardedTableMixin`` first: an action that is not one of the view's tables' own actions,
for this method, is answered with a message and a redirect to the page, before Horizon
parses it.
"""
from django import shortcuts
from django.utils.translation import gettext_lazy as _

from horizon import messages
from horizon.tables import actions as table_actions

SEPARATOR = "__"
BAD_ACTION = _("That table action does not exist on this page; nothing was done.")


def requested_action(request):
    """``(table, action, object_id)`` the request asks for, ``None`` when it asks for no
    action, or ``False`` when its ``action`` field cannot be one."""
    if request.method == "POST" and "action" in request.POST:
        bits = request.POST["action"].split(SEPARATOR)
        if len(bits) < 2:
            return False
        return bits[0], bits[1], SEPARATOR.join(bits[2:]) or None
    if "table" in request.GET and "action" in request.GET:
        return request.GET["table"], request.GET["action"], request.GET.get("obj_id")
    return None


def is_handled(table, action_name, method):
    """``action_name`` is an action of ``table`` Horizon can run for ``method``: a row or
    batch action (``tables.Action``) of that method, or the row's AJAX update when the
    table's rows have one."""
    action = table.base_actions.get(action_name)
    if action is not None:
        return isinstance(action, table_actions.Action) and action.method == method
    row = table._meta.row_class
    return method == "GET" and bool(getattr(row, "ajax", False)) \
        and action_name == row.ajax_action_name


def bad_action(request, tables):
    """True when the request names a table action that none of ``tables`` (name ->
    DataTable) handles."""
    wanted = requested_action(request)
    if wanted is None:
        return False
    if wanted is False:
        return True
    table_name, action_name, _object_id = wanted
    table = tables.get(table_name)
    return table is None or not is_handled(table, action_name, request.method)


class GuardedTableMixin:
    """Mixed in first by every table view of the plugin (``tables.DataTableView``)."""

    def dispatch(self, request, *args, **kwargs):
        # ``http_method_not_allowed`` and the permission checks stay Horizon's and Django's.
        if request.method in ("GET", "POST") and bad_action(request, self.get_tables()):
            messages.error(request, BAD_ACTION)
            return shortcuts.redirect(request.path)
        return super().dispatch(request, *args, **kwargs)
