"""A minimal JSON-over-HTTP client for the cloud's APIs (stdlib only: urllib + Keystone v3)."""
import json
import time
import urllib.error
import urllib.request

from . import config

COMPUTE_MV = "2.74"   # host pinning at boot (2.74); os-services by uuid (2.53)


class HTTPError(Exception):
    def __init__(self, method, url, status, body):
        super().__init__("%s %s -> %s: %s" % (method, url, status, body[:400]))
        self.status = status
        self.body = body


def request(method, url, body=None, headers=None, timeout=60, raw=False):
    """Returns (status, headers, parsed JSON or None). Non-2xx raises HTTPError."""
    hdrs = {"Accept": "application/json"}
    data = None
    if body is not None:
        if raw:
            data = body
            hdrs["Content-Type"] = "application/octet-stream"
        else:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = resp.read()
            status, rheaders = resp.status, resp.headers
    except urllib.error.HTTPError as e:
        raise HTTPError(method, url, e.code, e.read().decode("utf-8", "replace")) from None
    parsed = None
    if payload:
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
    return status, rheaders, parsed


def answers(url, timeout=3):
    """True if something speaks HTTP at ``url`` (any status below 500)."""
    try:
        request("GET", url, timeout=timeout)
        return True
    except HTTPError as e:
        return e.status < 500
    except Exception:  # noqa: BLE001 - connection refused/reset, timeouts
        return False


class Session:
    """A Keystone-scoped token plus the endpoints of the local cloud."""

    def __init__(self, cloud, username=config.ADMIN_USER, password=config.ADMIN_PASSWORD,
                 project=config.ADMIN_PROJECT):
        self.cloud = cloud
        self.endpoints = cloud.endpoints()
        self._creds = (username, password, project)
        self._token, self._expires = None, 0.0

    def token(self):
        if not self._token or time.monotonic() > self._expires:
            username, password, project = self._creds
            body = {"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": username, "password": password, "domain": {"name": "Default"}}}},
                "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
            _, headers, _ = request("POST", self.endpoints["identity"] + "/auth/tokens", body)
            self._token = headers["X-Subject-Token"]
            self._expires = time.monotonic() + 3000
        return self._token

    def call(self, service, method, path, body=None, headers=None, mv=None, raw=False,
             timeout=120):
        hdrs = {"X-Auth-Token": self.token()}
        if service == "compute":
            hdrs["OpenStack-API-Version"] = "compute %s" % (mv or COMPUTE_MV)
        elif service == "placement":
            hdrs["OpenStack-API-Version"] = "placement %s" % (mv or "1.39")
        hdrs.update(headers or {})
        return request(method, self.endpoints[service] + path, body, hdrs, timeout, raw)[2]

    def get(self, service, path, **kw):
        return self.call(service, "GET", path, **kw)

    def post(self, service, path, body=None, **kw):
        return self.call(service, "POST", path, body, **kw)

    def put(self, service, path, body=None, **kw):
        return self.call(service, "PUT", path, body, **kw)

    def delete(self, service, path, **kw):
        return self.call(service, "DELETE", path, **kw)
