"""Settings for ``make messages`` / ``make compilemessages`` only.

Django's makemessages writes to the first of ``LOCALE_PATHS`` for every file outside an app
that has its own ``locale/`` folder; run from the repository root, that sends the strings of
``templates/`` and ``static/`` (top-level folders, copied into the package when a wheel is
built) into the plugin's catalogs as well.
"""
import os

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SECRET_KEY = "i18n-only"
USE_I18N = True
INSTALLED_APPS = []
# EVAC_I18N_LOCALE_DIR: extract elsewhere (tests/unit/test_catalogs.py compares a fresh
# extraction with the committed catalogs).
LOCALE_PATHS = [os.environ.get("EVAC_I18N_LOCALE_DIR") or os.path.join(_PACKAGE, "locale")]
