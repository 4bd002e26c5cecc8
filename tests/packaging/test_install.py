"""`pip install .` into a fresh virtualenv holding only Horizon, activated the way the README
tells operators to (enabled files copied into Horizon's local/enabled), finds the plugin's
templates and static files, and carries the compiled translation catalogs (.mo): the hosts
panel speaks Chinese. Runs outside the checkout so nothing leaks in from the tree. The module's
tests share one built wheel and virtualenv."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import types

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


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """One fresh virtualenv for the module's tests: Horizon, then the plugin's wheel (a plain,
    non-editable ``pip install .`` builds it), activated as the README says."""
    tmp_path = tmp_path_factory.mktemp("install")
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
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="openstack_dashboard.settings")
    env.pop("PYTHONPATH", None)
    return types.SimpleNamespace(tmp_path=tmp_path, python=python, site=site,
                                 package=package, env=env)


def test_wheel_install_into_stock_horizon(installed):
    tmp_path, python, package = installed.tmp_path, installed.python, installed.package
    out = run([python, "-c", CHECK], cwd=tmp_path)
    assert "template %s/templates/evac_dashboard/hosts/index.html" % package in out
    assert "static %s/static/evac_dashboard/scss/evac.scss" % package in out
    assert "url /admin/evac_hosts/" in out
    collected = tmp_path / "collected"
    run([python, "-c", "import django, sys; from django.conf import settings; "
         "django.setup(); settings.STATIC_ROOT = sys.argv[1]; "
         "from django.core.management import call_command; "
         "call_command('collectstatic', interactive=False, verbosity=0)", str(collected)],
        cwd=tmp_path, env=installed.env)
    assert (collected / "evac_dashboard" / "scss" / "evac.scss").is_file()


# In the installed Horizon, Chinese: the Compute Hosts panel's and its group's names from
# Horizon's registry, the installed hosts template's title and main blocks rendered, and a
# message of the JavaScript catalog Horizon serves. Prints one JSON object.
CHINESE = textwrap.dedent("""
    import json, os
    import django
    os.environ["DJANGO_SETTINGS_MODULE"] = "openstack_dashboard.settings"
    django.setup()
    from django.conf import settings
    from django.template import Context
    from django.template.loader import get_template
    from django.template.loader_tags import BlockNode
    from django.test import RequestFactory
    from django.urls import resolve, reverse
    from django.utils import translation
    import horizon

    reverse("horizon:admin:evac_hosts:index")   # Horizon's registry, loaded with the URLs
    admin = horizon.get_dashboard("admin")
    out = {"languages": [code for code, _name in settings.LANGUAGES]}
    with translation.override("zh-hans"):
        out["panel"] = str(admin.get_panel("evac_hosts").name)
        out["group"] = str(admin.get_panel_group("evacuation").name)
        template = get_template("evac_dashboard/hosts/index.html")
        out["origin"] = template.origin.name
        template = template.template
        blocks = {node.name: node for node in template.nodelist.get_nodes_by_type(BlockNode)}
        context = Context({"down_count": 0, "microversion": "2.96", "table": ""})
        with context.bind_template(template):
            out["title"] = blocks["title"].nodelist.render(context).strip()
            out["main"] = blocks["main"].nodelist.render(context)
    # The view Horizon serves its JavaScript catalog with, called directly (a stock Horizon
    # keeps sessions in memcached, which this virtualenv has not).
    settings.ALLOWED_HOSTS = ["*"]
    path = settings.WEBROOT.rstrip("/") + "/i18n/js/horizon+openstack_dashboard+evac_dashboard/"
    match = resolve(path)
    with translation.override("zh-hans"):
        answer = match.func(RequestFactory().get(path), *match.args, **match.kwargs)
    out["js_status"] = answer.status_code
    out["js"] = answer.content.decode("utf-8")
    print(json.dumps(out))
""")


def chinese(msgid, domain="django"):
    """msgid's translation in the checkout's zh_Hans catalog (what the wheel must carry)."""
    from babel.messages.pofile import read_po

    path = os.path.join(REPO, "evac_dashboard", "locale", "zh_Hans", "LC_MESSAGES",
                        domain + ".po")
    with open(path, "rb") as handle:
        message = read_po(handle).get(msgid)
    assert message is not None, "%r is not in %s" % (msgid, path)
    assert message.string and message.string != msgid, (
        "%s has no Chinese for %r yet (translators fill the catalogs)" % (path, msgid))
    return message.string


def test_wheel_carries_compiled_catalogs_and_speaks_chinese(installed):
    package = installed.package
    # The compiled catalogs are in the wheel (its RECORD) and installed next to the .po.
    record = run([installed.python, "-c", "import importlib.metadata as m; "
                  "print('\\n'.join(str(f) for f in m.files('evac-dashboard')))"],
                 cwd=installed.tmp_path)
    for lang in ("zh_Hans", "vi"):
        for domain in ("django", "djangojs"):
            name = "evac_dashboard/locale/%s/LC_MESSAGES/%s.mo" % (lang, domain)
            assert name in record.split(), "%s is not in the wheel" % name
            assert os.path.getsize(os.path.join(os.path.dirname(package), name)) > 0, name
    out = json.loads(run([installed.python, "-c", CHINESE], cwd=installed.tmp_path,
                         env=installed.env).strip().splitlines()[-1])
    assert "zh-hans" in out["languages"]
    assert out["origin"] == "%s/templates/evac_dashboard/hosts/index.html" % package
    assert out["panel"] == chinese("Compute Hosts")
    assert out["group"] == chinese("Evacuation")
    assert out["title"] == chinese("Compute Hosts")
    assert chinese("Every compute host is up.") in out["main"], out["main"]
    microversion = chinese("Nova compute API microversion in use: %(microversion)s")
    assert microversion.replace("%(microversion)s", "2.96") in out["main"], out["main"]
    assert "Every compute host is up." not in out["main"]
    # The pages' scripts: Horizon's JavaScript catalog carries the plugin's djangojs.
    assert out["js_status"] == 200, out["js"][:500]
    message = "The capacity estimate could not be computed."
    assert json.dumps(chinese(message, "djangojs"))[1:-1] in out["js"] or \
        chinese(message, "djangojs") in out["js"], out["js"][:500]
