"""The plugin's Django application: starts the takeover check in processes that serve."""
from django.apps import AppConfig
from django.core.signals import request_started


class EvacDashboardConfig(AppConfig):
    name = "evac_dashboard"
    verbose_name = "Evacuation"

    def ready(self):
        # The rules' texts (advice, checks, stages) are translated in the request's language.
        from django.utils.translation import gettext, ngettext

        from evac_dashboard.rules import i18n

        i18n.set_translator(gettext, ngettext)
        # A process that serves requests looks for orphaned batches every few seconds
        # (operations.takeover); management commands (migrate, compress) never do.
        from evac_dashboard.operations import takeover

        request_started.connect(takeover.ensure_watcher, dispatch_uid="evac-takeover")
