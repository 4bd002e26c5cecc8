"""Benchmark of the progress page's polls (a script, not a test): prints ``name=value``.

For 10, 100, 500 and 1000 instances, against the fake Nova of the unit tests (real HTTP,
evacuations played forward) and the real views:

* ``poll_first_bytes_N``: a poll without a known version (every row, as after a cache
  miss), ``poll_unchanged_bytes_N``: a poll where nothing changed, ``poll_one_row_bytes_N``:
  a poll where one row changed (uncompressed bytes; ``..._gzip_bytes_N`` compressed);
* ``server_ms_first_N`` / ``server_ms_unchanged_N`` / ``server_ms_one_row_N``: median
  time of the view per poll (Django test client; the fake Nova answers in-process);
* ``browser_ms_unchanged_N`` / ``browser_ms_one_row_N`` / ``browser_ms_full_N``: median
  time of the page script's DOM update per poll in Debian headless chromium
  (``horizon.evacProgress.lastUpdateMs``: performance.now() around the update).

Usage: ``.venv/bin/python tools/bench_progress_page.py [--sizes 10,100] [--repeats 5]``.
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = (10, 100, 500, 1000)
REPEATS = 5
RESULTS = []


def _options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    return parser.parse_args()


def emit(name, value):
    line = "%s=%s" % (name, value)
    RESULTS.append(line)


def _case():
    """The benchmark as a Django live-server test case (built after Django's setup)."""

    from django.test import override_settings
    from selenium.webdriver.support.ui import WebDriverWait

    from evac_dashboard import models
    from evac_dashboard.operations import submission
    from evac_dashboard.rules import request as evac_request
    from evac_dashboard.store import batches
    from tests.browser import chromium
    from tests.unit.fakes.nova import fake_request
    from tests.unit.factories import ADMIN, servers_on
    from tests.unit.fakes.evacuating_nova import serve_progress_page

    options = _options()
    sizes = [int(s) for s in options.sizes.split(",") if s]
    repeats = options.repeats
    ajax = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}

    @override_settings(EVAC_NOVA_MICROVERSION=None, EVAC_PROGRESS_CACHE_SECONDS=0,
                       EVAC_PROGRESS_POLL_SECONDS=3600, DEBUG=False)
    class ProgressPageBench(chromium.admin_test_case()):
        window_height = 1000

        def setUp(self):
            super().setUp()
            self.nova = serve_progress_page(self)

        def _batch(self, count, host):
            servers = servers_on(host, count, prefix="b")
            self.nova.add_servers(servers)
            batch = batches.create_batch(
                kind=models.EvacuationBatch.KIND_HOST, source_host=host, servers=servers,
                options=evac_request.EvacuateOptions(), microversion="2.94",
                initiator=ADMIN)
            submission.start(batch, submission.Credentials.from_request(
                fake_request(self.nova.endpoint)), executor=submission.InlineExecutor())
            return batch

        def _poll(self, batch, since=None):
            path = "/admin/evac_batches/%s/progress.json" % batch.pk
            began = time.perf_counter()
            res = self.client.get(path, {"since": since} if since else {}, **ajax)
            took = (time.perf_counter() - began) * 1000
            assert res.status_code == 200, res.content[:300]
            return res.content, json.loads(res.content), took

        def _sizes(self, name, count, content):
            emit("poll_%s_bytes_%d" % (name, count), len(content))
            emit("poll_%s_gzip_bytes_%d" % (name, count), len(gzip.compress(content)))

        def _server(self, batch, count, ids):
            first, data, _took = self._poll(batch)
            times = {"first": [], "unchanged": [], "one_row": []}
            for _repeat in range(repeats):
                times["first"].append(self._poll(batch)[2])
            unchanged, same, _took = self._poll(batch, data["version"])
            for _repeat in range(repeats):
                times["unchanged"].append(self._poll(batch, data["version"])[2])
            version = same["version"]
            one = None
            for repeat in range(repeats):
                self.nova.step(ids[repeat % len(ids)], to=3 + repeat % 2)
                content, answer, took = self._poll(batch, version)
                assert len(answer["rows"]) == 1, len(answer["rows"])
                one = one or content
                times["one_row"].append(took)
                version = answer["version"]
            self._sizes("first", count, first)
            self._sizes("unchanged", count, unchanged)
            self._sizes("one_row", count, one)
            for name, values in times.items():
                emit("server_ms_%s_%d" % (name, count), "%.1f" % statistics.median(values))

        def _browser_poll(self, version_js=None):
            driver = self.selenium
            polls = int(driver.find_element("id", "evac-progress").get_attribute(
                "data-polls") or 0)
            driver.execute_script(
                "var m = horizon.evacProgress; if (arguments[0] !== null) {"
                " m.state.version = arguments[0]; } m.pollNow();", version_js)
            WebDriverWait(driver, 120).until(lambda d: int(d.find_element(
                "id", "evac-progress").get_attribute("data-polls") or 0) > polls)
            return driver.execute_script("return horizon.evacProgress.lastUpdateMs;")

        def _browser(self, batch, count, ids):
            self.selenium.get(self.live_server_url + "/admin/evac_batches/%s/" % batch.pk)
            WebDriverWait(self.selenium, 300).until(lambda d: d.execute_script(
                "return !!(window.horizon && horizon.evacProgress &&"
                " horizon.evacProgress.state);"))
            times = {"unchanged": [], "one_row": [], "full": []}
            for _repeat in range(repeats):
                times["unchanged"].append(self._browser_poll())
            for repeat in range(repeats):
                self.nova.step(ids[repeat % len(ids)], to=2 + repeat % 2)
                times["one_row"].append(self._browser_poll())
            for _repeat in range(repeats):
                times["full"].append(self._browser_poll(""))  # an unknown version
            for name, values in times.items():
                emit("browser_ms_%s_%d" % (name, count), "%.1f" % statistics.median(values))

        def test_bench(self):
            for index, count in enumerate(sizes):
                batch = self._batch(count, "bench%d" % index)
                self.nova.step_all(to=2)
                ids = [i.instance_id for i in batch.items.order_by("position")[:repeats]]
                self._server(batch, count, ids)
                self._browser(batch, count, ids)
            print("\n".join([""] + RESULTS), flush=True)

    return ProgressPageBench


def main():
    sys.path.insert(0, REPO)
    os.chdir(REPO)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings
    from django.test.utils import get_runner

    django.setup()
    runner = get_runner(settings)(verbosity=0, interactive=False)
    runner.setup_test_environment()
    old = runner.setup_databases()
    try:
        import unittest
        result = unittest.TextTestRunner(verbosity=0).run(
            unittest.defaultTestLoader.loadTestsFromTestCase(_case()))
    finally:
        runner.teardown_databases(old)
        runner.teardown_test_environment()
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
