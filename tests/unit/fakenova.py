"""A fake Nova API on 127.0.0.1 for testing the API layer through real HTTP.

novaclient and keystoneauth run unmodified against it, so tests see the real requests
(paths, query strings, microversion headers) and can count them. Collections are served
with Nova's paging (``limit``/``marker`` and ``<key>_links``).
"""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import threading
from types import SimpleNamespace
from urllib import parse


class FakeNova:
    def __init__(self, max_version="2.100", min_version="2.1", max_limit=1000):
        self.max_version = max_version
        self.min_version = min_version
        self.max_limit = max_limit
        self.services = []
        self.hypervisors = []
        self.servers = []
        self.providers = {}   # Placement: uuid -> {"inventories": ..., "usages": ...}
        self.requests = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d/v2.1" % self._server.server_address[1]

    @property
    def placement_endpoint(self):
        return "http://127.0.0.1:%d/placement" % self._server.server_address[1]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def calls(self, path_prefix=""):
        return [r for r in self.requests if r.path.startswith("/v2.1" + path_prefix)
                or (not path_prefix and r.path.startswith("/"))]

    # --- answers -------------------------------------------------------------------
    def answer(self, method, path, query, headers):
        if path in ("/v2.1", "/v2.1/"):
            return 200, {"version": {"id": "v2.1", "status": "CURRENT",
                                     "min_version": self.min_version,
                                     "version": self.max_version}}
        if path == "/v2.1/os-services":
            items = [s for s in self.services
                     if all(s.get(k) == v[0] for k, v in query.items() if k in ("host", "binary"))]
            return 200, {"services": items}
        if path == "/v2.1/os-hypervisors/detail":
            with_servers = query.get("with_servers", ["false"])[0] == "true"
            items = []
            for hypervisor in self.hypervisors:
                item = dict(hypervisor)
                if not with_servers:
                    item.pop("servers", None)
                items.append(item)
            return 200, self._page("hypervisors", items, query, "os-hypervisors/detail")
        if path.startswith("/placement/resource_providers/"):
            _, _, _, uuid, what = path.split("/")
            provider = self.providers.get(uuid)
            if provider is None:
                return 404, {"errors": [{"status": 404, "detail": "No provider %s" % uuid}]}
            if what == "inventories":
                return 200, {"inventories": provider["inventories"],
                             "resource_provider_generation": 1}
            return 200, {"usages": provider["usages"], "resource_provider_generation": 1}
        if path == "/v2.1/servers/detail":
            items = self.servers
            if "host" in query:
                items = [s for s in items if s.get("OS-EXT-SRV-ATTR:host") == query["host"][0]]
            return 200, self._page("servers", items, query, "servers/detail")
        return 404, {"itemNotFound": {"code": 404, "message": "no route %s" % path}}

    def _page(self, key, items, query, path):
        limit = min(int(query.get("limit", [self.max_limit])[0]), self.max_limit)
        start = 0
        if "marker" in query:
            ids = [str(item["id"]) for item in items]
            start = ids.index(query["marker"][0]) + 1
        page = items[start:start + limit]
        body = {key: page}
        if page and len(page) == limit:  # Nova links a next page whenever a page is full
            next_query = dict((k, v[0]) for k, v in query.items())
            next_query["marker"] = str(page[-1]["id"])
            body[key + "_links"] = [{"rel": "next", "href": "%s/%s?%s" % (
                self.endpoint, path, parse.urlencode(next_query))}]
        return body

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = parse.urlparse(self.path)
                query = parse.parse_qs(url.query)
                fake.requests.append(SimpleNamespace(
                    method="GET", path=url.path, query=query,
                    microversion=self.headers.get("OpenStack-API-Version"),
                    legacy_microversion=self.headers.get("X-OpenStack-Nova-API-Version")))
                status, body = fake.answer("GET", url.path, query, self.headers)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


def fake_request(endpoint, token="token-1", region="RegionOne", placement=None):
    """The parts of a Horizon request the API layer reads: token and service catalog."""
    catalog = [{"type": "compute", "name": "nova", "endpoints": [
        {"interface": "public", "region": region, "region_id": region, "url": endpoint}]}]
    if placement:
        catalog.append({"type": "placement", "name": "placement", "endpoints": [
            {"interface": "public", "region": region, "region_id": region, "url": placement}]})
    user = SimpleNamespace(token=SimpleNamespace(id=token), service_catalog=catalog,
                           services_region=region, id="admin-id", username="admin")
    return SimpleNamespace(user=user)
