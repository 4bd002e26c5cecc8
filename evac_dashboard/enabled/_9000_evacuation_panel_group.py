# The "Evacuation" panel group in the Admin dashboard.
PANEL_GROUP = 'evacuation'
PANEL_GROUP_NAME = 'Evacuation'
PANEL_GROUP_DASHBOARD = 'admin'
