"""gunicorn entry point for an OpenStack WSGI module (runs inside the cloud's virtualenv).

oslo.config parses the process's argv, so when gunicorn imports e.g. ``keystone.wsgi.api``
the service would see gunicorn's own flags and exit. Clear argv first, then import the
module named by ``EVAC_LC_WSGI_MODULE`` and re-export its ``application``.
"""
import importlib
import os
import sys

sys.argv = sys.argv[:1]
application = importlib.import_module(os.environ["EVAC_LC_WSGI_MODULE"]).application
