"""evac-dashboard: a Horizon plugin for evacuating instances off failed compute hosts.

Kept free of imports so that ``python3 -m evac_dashboard.localcloud`` runs with a bare
interpreter (no Django, no Horizon).
"""
