"""Every URL pattern of the plugin has an entry in ``endpoints.ENDPOINTS`` (so the fuzz sends
requests to it), and every entry builds paths that reach the view it names."""
import importlib
import pkgutil

from django.test import SimpleTestCase
from django.urls import get_resolver
from django.urls import resolve
from django.urls import URLPattern
from django.urls import URLResolver

import horizon

import evac_dashboard.content
from tests.unit.fuzz import endpoints

SAMPLE = {"host": "cmp1", "instance_id": "6fb4ea22-d834-5e20-b353-1548dce3472d",
          "batch_id": "0b4b2a4e-8f6c-4c87-9a36-4c3a9d1f2f10", "record_id": "7",
          "rest": "no-such-page"}


def served_patterns(resolver=None, namespace=()):
    """``{"<panel slug>:<url name>": view}`` for every URL of the site whose view is the
    plugin's (wherever it is included)."""
    found = {}
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            found.update(served_patterns(entry, namespace + ((entry.namespace,)
                                                             if entry.namespace else ())))
        elif isinstance(entry, URLPattern) and entry.lookup_str.startswith("evac_dashboard."):
            found["%s:%s" % (namespace[-1] if namespace else "", entry.name)] = \
                entry.lookup_str
    return found


def module_patterns():
    """The same names, read from every ``urls`` module under ``evac_dashboard.content``
    (the panel of the package names it)."""
    found = set()
    for info in pkgutil.walk_packages(evac_dashboard.content.__path__,
                                      evac_dashboard.content.__name__ + "."):
        if not info.name.endswith(".urls"):
            continue
        panel_module = importlib.import_module(info.name.rsplit(".", 1)[0] + ".panel")
        slug, = [value.slug for value in vars(panel_module).values()
                 if isinstance(value, type) and issubclass(value, horizon.Panel)
                 and value is not horizon.Panel]
        for pattern in importlib.import_module(info.name).urlpatterns:
            found.add("%s:%s" % (slug, pattern.name))
    return found


class CoverageTests(SimpleTestCase):
    def test_every_url_of_the_plugin_is_fuzzed(self):
        served = served_patterns()
        self.assertGreaterEqual(len(served), 19)
        missing = sorted(set(served) - set(endpoints.BY_NAME))
        self.assertEqual([], missing, "URLs with no entry in tests/unit/fuzz/endpoints.py")
        self.assertEqual(sorted(endpoints.BY_NAME), sorted(served),
                         "entries of endpoints.py that are no URL of the plugin")

    def test_every_urls_module_is_served(self):
        self.assertEqual(sorted(module_patterns()), sorted(served_patterns()))

    def test_each_entry_reaches_its_view(self):
        served = served_patterns()
        for endpoint in endpoints.ENDPOINTS:
            path = endpoint.path({k: SAMPLE[k] for k in endpoint.kwargs})
            match = resolve(path)
            self.assertEqual(endpoint.name, "%s:%s" % (match.namespaces[-1], match.url_name),
                             path)
            self.assertEqual(served[endpoint.name], match._func_path, path)
