# Admin > Evacuation > History (the audit log: panel actions and evacuations made elsewhere).
PANEL = 'evac_history'
PANEL_DASHBOARD = 'admin'
PANEL_GROUP = 'evacuation'
ADD_PANEL = 'evac_dashboard.content.history.panel.History'
