# Admin > Evacuation > Compute Hosts.
PANEL = 'evac_hosts'
PANEL_DASHBOARD = 'admin'
PANEL_GROUP = 'evacuation'
ADD_PANEL = 'evac_dashboard.content.hosts.panel.ComputeHosts'
ADD_INSTALLED_APPS = ['evac_dashboard']
ADD_SCSS_FILES = ['evac_dashboard/scss/evac.scss']
AUTO_DISCOVER_STATIC_FILES = False
ADD_JS_FILES = ['evac_dashboard/js/evac.wizard.js']
