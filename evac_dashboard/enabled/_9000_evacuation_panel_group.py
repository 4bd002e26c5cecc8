# The "Evacuation" panel group in the Admin dashboard.
from django.utils.translation import gettext_lazy as _

PANEL_GROUP = 'evacuation'
PANEL_GROUP_NAME = _('Evacuation')
PANEL_GROUP_DASHBOARD = 'admin'
