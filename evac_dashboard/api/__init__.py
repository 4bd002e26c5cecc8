"""Access to Nova (and later Placement) for the panels: client factory, microversion
table, thin calls. Views import ``evac_dashboard.api.nova`` and nothing from novaclient."""
