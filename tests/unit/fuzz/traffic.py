"""Whole requests to one endpoint: identity, method, URL arguments, query, body, headers,
CSRF. ``request_for(endpoint)`` is the strategy; ``Resolver`` turns its placeholders
(``endpoints.REAL...``) into things of the test's cloud."""
import time
from unittest import mock

from django.core import signing
from hypothesis import strategies as st

from evac_dashboard.content.evacuate import reviewed
from tests.unit import factories
from tests.unit.fuzz import cloud
from tests.unit.fuzz import endpoints
from tests.unit.fuzz import oracle
from tests.unit.fuzz import strategies as hs

IDENTITY = st.sampled_from((cloud.ADMIN,) * 6 + (cloud.MEMBER, cloud.ANONYMOUS))
CSRF = st.sampled_from((oracle.CSRF_OFF,) * 5 + (oracle.CSRF_VALID, oracle.CSRF_WRONG,
                                                  oracle.CSRF_MISSING))
AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}
HEADERS = st.fixed_dictionaries({}, optional={
    "HTTP_X_REQUESTED_WITH": st.sampled_from(("XMLHttpRequest", "xmlhttprequest", "x")),
    "HTTP_ACCEPT": st.sampled_from(("application/json", "text/html", "*/*", "text/csv",
                                    "application/json;q=0, text/html", "\x00")),
    "HTTP_ACCEPT_ENCODING": st.sampled_from(("gzip", "gzip, deflate, br", "identity", "x")),
    "HTTP_ACCEPT_LANGUAGE": st.sampled_from(("de", "fr-FR,fr;q=0.9", "zz", "en;q=abc",
                                             "a" * 300, "*")),
    "HTTP_REFERER": hs.hostile_text(),
    "HTTP_X_HORIZON_VALIDATE_STEP_START": hs.number(),
    "HTTP_X_HORIZON_VALIDATE_STEP_END": hs.number(),
    "HTTP_X_HORIZON_ADD_TO_FIELD": hs.hostile_text(),
    "HTTP_IF_NONE_MATCH": hs.hostile_text(),
})
RAW_BODIES = st.sampled_from((
    (b'{"item": [1, 2], "password": "PwFz000000000000"}', "application/json"),
    (b"item=%FF%FE&password=%C3%28", "application/x-www-form-urlencoded"),
    (b"&".join(b"f%d=1" % i for i in range(1100)), "application/x-www-form-urlencoded"),
    (b"--b\r\nContent-Disposition: form-data; name=\"item\"\r\n\r\n1\r\n--b--\r\n",
     "multipart/form-data; boundary=b"),
    (b"--b\r\nContent-Disposition: form-data; name=\"item\"\r\n\r\n1\r\n",
     "multipart/form-data; boundary=b"),
    (b"\x00\xff" * 50, "application/octet-stream"),
    (b"item=1", "text/plain"),
    (b"item=1", "multipart/form-data"),
))
SECRET_LOOKING = ("pass", "password")


@st.composite
def request_for(draw, endpoint):
    identity = draw(IDENTITY)
    if draw(st.integers(0, 5)) == 0:
        method = draw(st.sampled_from(endpoints.METHODS))
    else:
        method = draw(st.sampled_from(endpoint.methods))
    kwargs = {name: draw(strategy) for name, strategy in endpoint.kwargs.items()}
    query = draw(hs.form(endpoint.query)) if endpoint.query else []
    if not endpoint.query and draw(st.integers(0, 5)) == 0:
        query = draw(hs.form({"x?": hs.hostile_text()}))
    data, raw_body, content_type = [], None, "application/x-www-form-urlencoded"
    if method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
        if draw(st.integers(0, 9)) == 0:
            raw_body, content_type = draw(RAW_BODIES)
        else:
            data = draw(hs.form(endpoint.fields)) if endpoint.fields else []
    headers = draw(HEADERS)
    if endpoint.kind in ("json", "action") and draw(st.booleans()):
        headers.update(AJAX)
    csrf = draw(CSRF) if method not in ("GET", "HEAD", "OPTIONS", "TRACE") else oracle.CSRF_OFF
    if csrf == oracle.CSRF_WRONG and draw(st.booleans()):
        data.append(("csrfmiddlewaretoken", draw(hs.hostile_text())))
    return Drawn(endpoint=endpoint.name, identity=identity, method=method, kwargs=kwargs,
                 query=query, data=data, raw_body=raw_body, content_type=content_type,
                 headers=headers, csrf=csrf)


class Drawn(dict):
    """One drawn request, before its placeholders are resolved."""

    def __getattr__(self, name):
        return self[name]

    def __repr__(self):
        return "Drawn(%s)" % ", ".join("%s=%s" % (k, oracle.short(v)) for k, v in self.items()
                                       if v not in (None, [], {}))


class Resolver:
    """Replaces the placeholders of one drawn request with the case's real things."""

    def __init__(self, case, url_host="cmp1"):
        self.case = case
        self.url_host = url_host

    def server_id(self, name):
        found = [s["id"] for s in self.case.nova.servers if s["name"] == name]
        return found[0] if found else name

    def eligible(self, host):
        return [s for s in self.case.nova.servers if s["OS-EXT-SRV-ATTR:host"] == host
                and s["status"] != "PAUSED"]

    def value(self, value):
        if not isinstance(value, str) or not value.startswith(endpoints.REAL):
            return value
        kind, _, what = value[len(endpoints.REAL):].partition(":")
        case = self.case
        if kind == "server":
            return self.server_id(what)
        if kind == "batch":
            name, _, form = what.partition(":")
            pk = case.batches[name].pk
            return {"hex": pk.hex, "urn": pk.urn}.get(form, str(pk))
        if kind == "record":
            return str(case.record.pk)
        if kind == "item":
            index = int(what)
            return str(case.item_ids[index]) if index < len(case.item_ids) else "0"
        if kind == "version":
            return case.progress_version(case.batches["finished"])
        if kind == "reviewed":
            return self.reviewed(what)
        raise AssertionError(value)

    def reviewed(self, what):
        host = self.url_host
        servers = self.eligible(host)
        if what == "right":
            return reviewed.sign(host, servers)
        if what == "other-host":
            return reviewed.sign("cmp2" if host != "cmp2" else "cmp1", self.eligible("cmp1"))
        if what == "tampered":
            token = reviewed.sign(host, servers)
            head, _, tail = token.partition(":")
            return (head[:-1] + ("A" if head[-1:] != "A" else "B")) + ":" + tail
        if what == "expired":  # signed two hours ago (the list is good for one)
            with mock.patch("time.time", return_value=time.time() - 7200):
                return reviewed.sign(host, servers)
        if what == "other-salt":
            return signing.dumps([reviewed.summary(s) for s in servers], salt="other")
        if what == "hostile-content":
            return reviewed.sign(host, [factories.server(
                '<script>x</script>"', host, project="{{ x }}",
                metadata={"evac:restart_priority": str(10 ** 20)}, status="%s",
                task_state="\u202e")])
        raise AssertionError(what)

    def request(self, drawn):
        endpoint = endpoints.BY_NAME[drawn["endpoint"]]
        kwargs = {k: self.value(v) for k, v in drawn["kwargs"].items()}
        self.url_host = kwargs.get("host", "cmp1")
        pairs = lambda items: [(k, self.value(v)) for k, v in items]  # noqa: E731
        data = pairs(drawn["data"])
        return oracle.Request(
            endpoint=endpoint.name, identity=drawn["identity"], method=drawn["method"],
            path=endpoint.path(kwargs), query=pairs(drawn["query"]), data=data,
            raw_body=drawn["raw_body"], content_type=drawn["content_type"],
            headers=drawn["headers"], csrf=drawn["csrf"],
            passwords=tuple(v for k, v in data if any(s in k for s in SECRET_LOOKING)
                            and v.startswith("PwFz")))
