"""`pip install .` into a fresh virtualenv holding only Horizon, activated the way the README
tells operators to (enabled files copied into Horizon's local/enabled), finds the plugin's
templates and static files. Runs outside the checkout so nothing leaks in from the tree."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.packaging

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HORIZON = "horizon==27.0.0"
DJANGO = "Django>=5.2,<5.3"

CHECK = textwrap.dedent("""
    import os, sys
    import django
    os.environ["DJANGO_SETTINGS_MODULE"] = "openstack_dashboard.settings"
    django.setup()
    import evac_dashboard
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.template.loader import get_template
    assert "/site-packages/" in evac_dashboard.__file__, evac_dashboard.__file__
    assert "evac_dashboard" in settings.INSTALLED_APPS
    print("template", get_template("evac_dashboard/hosts/index.html").origin.name)
    print("static", finders.find("evac_dashboard/scss/evac.scss"))
    assert "evac_dashboard/scss/evac.scss" in settings.HORIZON_CONFIG["scss_files"]
    from django.urls import reverse
    import horizon
    print("url", reverse("horizon:admin:evac_hosts:index"))
""")


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, "%s\n%s\n%s" % (command, result.stdout[-3000:],
                                                    result.stderr[-3000:])
    return result.stdout


def test_wheel_install_into_stock_horizon(tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    run(pip + [HORIZON, DJANGO])
    run(pip + [REPO])  # a plain, non-editable install from the checkout
    python = str(venv / "bin" / "python")
    site = run([python, "-c", "import openstack_dashboard, os; "
                "print(os.path.dirname(openstack_dashboard.__file__))"]).strip()
    package = run([python, "-c", "import evac_dashboard, os; "
                   "print(os.path.dirname(evac_dashboard.__file__))"], cwd=tmp_path).strip()
    # The operator's activation step from the README.
    for name in os.listdir(os.path.join(package, "enabled")):
        if name.startswith("_9") and name.endswith(".py"):
            shutil.copy(os.path.join(package, "enabled", name),
                        os.path.join(site, "local", "enabled", name))
    out = run([python, "-c", CHECK], cwd=tmp_path)
    assert "template %s/templates/evac_dashboard/hosts/index.html" % package in out
    assert "static %s/static/evac_dashboard/scss/evac.scss" % package in out
    assert "url /admin/evac_hosts/" in out
    collected = tmp_path / "collected"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="openstack_dashboard.settings")
    env.pop("PYTHONPATH", None)
    run([python, "-c", "import django, sys; from django.conf import settings; "
         "django.setup(); settings.STATIC_ROOT = sys.argv[1]; "
         "from django.core.management import call_command; "
         "call_command('collectstatic', interactive=False, verbosity=0)", str(collected)],
        cwd=tmp_path, env=env)
    assert (collected / "evac_dashboard" / "scss" / "evac.scss").is_file()
