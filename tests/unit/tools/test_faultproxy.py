"""The integration tests' fault proxy does what its rules say, against a tiny upstream."""
import http.server
import json
import threading

import pytest
import requests

from tests.integration import faultproxy
from tests.integration.faultproxy import DROP, LATE, PASS, RESET, SLOW, STATUS, Fault, Rule


class _Upstream(http.server.BaseHTTPRequestHandler):
    seen = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        _Upstream.seen.append((self.command, self.path, body))
        payload = json.dumps({"path": self.path, "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy():
    _Upstream.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fault_proxy = faultproxy.FaultProxy("http://127.0.0.1:%d/v2.1" % server.server_port)
    yield fault_proxy
    fault_proxy.close()
    server.shutdown()


def test_no_rule_forwards_and_keeps_the_path(proxy):
    answer = requests.post(proxy.url + "/servers/x/action", json={"evacuate": {}}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["path"] == "/v2.1/servers/x/action"
    assert [s.action for s in proxy.log] == [PASS]


def test_a_status_fault_never_reaches_upstream_and_looks_like_nova(proxy):
    proxy.script([Rule(STATUS, method="POST", path=r"/action$", status=409)])
    answer = requests.post(proxy.url + "/servers/x/action", json={"evacuate": {}}, timeout=5)
    assert answer.status_code == 409
    assert "conflictingRequest" in answer.json()
    assert answer.headers["x-openstack-request-id"].startswith("req-")
    assert _Upstream.seen == []


def test_reset_before_and_drop_after_upstream_acted(proxy):
    proxy.script([Rule(method="POST", cycle=(Fault(RESET), Fault(DROP)))])
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            requests.post(proxy.url + "/servers/x/action", json={"n": 1}, timeout=5)
    assert len(_Upstream.seen) == 1  # the reset one never arrived, the dropped one did
    assert [s.action for s in proxy.log] == [RESET, DROP]


def test_slow_acts_at_once_and_late_acts_after_the_client_gave_up(proxy):
    proxy.script([Rule(method="POST", cycle=(Fault(SLOW, delay=1.0), Fault(LATE, delay=1.0)))])
    with pytest.raises(requests.Timeout):
        requests.post(proxy.url + "/a", json={}, timeout=0.3)
    assert [s[1] for s in _Upstream.seen] == ["/v2.1/a"]  # acted before the answer was held
    with pytest.raises(requests.Timeout):
        requests.post(proxy.url + "/b", json={}, timeout=0.3)
    assert [s[1] for s in _Upstream.seen] == ["/v2.1/a"]  # not yet: held before forwarding


def test_body_and_when_select_calls(proxy):
    proxy.script([Rule(STATUS, body='"evacuate"', when=faultproxy.every(2), status=503)])
    codes = [requests.post(proxy.url + "/s", json=body, timeout=5).status_code
             for body in ({"evacuate": {}}, {"evacuate": {}}, {"reboot": {}})]
    assert codes == [200, 503, 200]


def test_via_proxy_rewrites_only_the_compute_endpoints(proxy):
    catalog = [{"type": "compute", "endpoints": [{"url": "http://10.0.0.1:8774/v2.1"}]},
               {"type": "identity", "endpoints": [{"url": "http://10.0.0.1:5000/v3"}]}]
    rewritten = faultproxy.via_proxy(catalog, proxy.url)
    assert rewritten[0]["endpoints"][0]["url"] == "http://127.0.0.1:%d/v2.1" % proxy.port
    assert rewritten[1] == catalog[1]
    assert catalog[0]["endpoints"][0]["url"] == "http://10.0.0.1:8774/v2.1"
