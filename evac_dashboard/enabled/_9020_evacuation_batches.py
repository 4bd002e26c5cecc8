# Admin > Evacuation > Evacuations (batches and their progress).
PANEL = 'evac_batches'
PANEL_DASHBOARD = 'admin'
PANEL_GROUP = 'evacuation'
ADD_PANEL = 'evac_dashboard.content.batches.panel.Evacuations'
ADD_SCSS_FILES = ['evac_dashboard/scss/progress.scss']
