"""Unit-test settings: Horizon's test settings plus the plugin; no Keystone needed."""
import os

import openstack_dashboard.enabled as _horizon_enabled

from evac_dashboard import devsite

devsite.add_enabled_files(_horizon_enabled)

from openstack_dashboard.test.settings import *  # noqa: E402,F401,F403

_templates, _static = devsite.checkout_asset_dirs()
# openstack_dashboard/templates as a stock Horizon has it first (its horizon/_script_i18n.html
# loads JS_CATALOG, plugins included; Horizon's test settings would load 'horizon' only).
TEMPLATES[0]["DIRS"] = list(TEMPLATES[0]["DIRS"]) + [  # noqa: F405
    os.path.join(os.path.dirname(_horizon_enabled.__file__), os.pardir, "templates")
] + _templates
STATICFILES_DIRS = list(STATICFILES_DIRS) + _static  # noqa: F405

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
if os.environ.get("EVAC_TEST_DATABASE") == "mysql":
    import pymysql

    pymysql.install_as_MySQLdb()
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": os.environ.get("EVAC_TEST_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("EVAC_TEST_DB_PORT", "3306"),
        "NAME": os.environ.get("EVAC_TEST_DB_NAME", "evac_dashboard"),
        "USER": os.environ.get("EVAC_TEST_DB_USER", "evac"),
        "PASSWORD": os.environ.get("EVAC_TEST_DB_PASSWORD", ""),
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"NAME": "test_evac_dashboard", "CHARSET": "utf8mb4"},
    }}

# The plugin's own settings, pinned so tests do not depend on defaults changing.
EVAC_VERSION_CACHE_SECONDS = 300
# Each test reads the project names it mocks (the reuse has its own test).
EVAC_PROJECT_NAMES_SECONDS = 0
# No periodic takeover thread in unit tests (tests call operations.takeover directly).
EVAC_TAKEOVER_CHECK_SECONDS = 0

# Compile SCSS as a real Horizon does, so browser screenshots show the real page (Horizon's
# own test settings pass SCSS through untouched), into a folder of ours rather than /tmp.
COMPRESS_PRECOMPILERS = (("text/scss", "horizon.utils.scss_filter.ScssFilter"),)
COMPRESS_FILTERS = {"css": ("compressor.filters.css_default.CssAbsoluteFilter",),
                    "js": ("compressor.filters.jsmin.rJSMinFilter",)}
COMPRESS_ROOT = os.path.join(devsite.REPO_ROOT, ".artifacts", "compress")
STATICFILES_DIRS += theme_settings.get_theme_static_dirs(  # noqa: F405
    AVAILABLE_THEMES, THEME_COLLECTION_DIR, ROOT_PATH)  # noqa: F405
# The full URL map (Horizon's test map has no header/ route, which live pages call).
ROOT_URLCONF = "openstack_dashboard.urls"
