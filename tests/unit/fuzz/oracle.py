"""What every fuzzed request is checked against, and the run's tally.

A request fails the suite when:

* the view raised (the test client re-raises it: a 500 in production), or the answer is a
  5xx, or a streamed body raised while it was being sent;
* the body shows a Python traceback or Django's debug page;
* the body or a header holds a password posted in this example, the fixture batch's admin
  password or a BMC password of the BMC file;
* the plugin logged a traceback (``LOG.exception``) while answering;
* an anonymous or member request got a 2xx: anonymous must be sent to the login page (or
  get 401/403/404/405), a member is refused by the panel's permissions;
* a POST (or other unsafe method) with a wrong or missing CSRF token got less than 400;
* a redirect leaves the site;
* markup the strategies injected (``INJECTED_MARKUP``) shows unescaped in a page, or in
  the HTML fragments a JSON answer carries for the page's script;
* a JSON answer is not JSON.

A failure that matches a known defect (``KNOWN_DEFECTS``) is tallied instead: each has a
strict xfail reproduction in ``test_known_defects.py`` that flips when it is fixed.
Everything else (e.g. 200 with a form error for a bad value) is only tallied.
"""
import collections
from dataclasses import dataclass, field
import gzip
import html
import json
import logging
import traceback
from urllib import parse

CSRF_OFF, CSRF_VALID, CSRF_WRONG, CSRF_MISSING = "off", "valid", "wrong", "missing"
LOGIN_PATH = "/auth/login/"
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'id="traceback"',
                     "You're seeing this error because you have", "Exception Value:",
                     "Request Method:</th>")

# Markup the strategies inject (in host names, server names, faults, form fields): a page
# that shows one of these unescaped lets Nova's data or a tenant script the admin's browser.
INJECTED_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                   "<script>alert('fault')</script>", "<h1>owned</h1>", "<script>x</script>",
                   "<b>id</b>")
HTML_KEYS = ("html", "rows", "row_html")  # JSON members the page's script inserts as HTML
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")

REQUESTS = collections.Counter()      # endpoint -> requests sent
OUTCOMES = collections.Counter()      # (endpoint, identity, status) -> answers
KNOWN_SEEN = collections.Counter()    # defect id -> times the fuzz met it
NOTES = collections.Counter()         # things worth a look that do not fail the run
SECONDS = collections.defaultdict(list)  # endpoint -> seconds of each answer


def count_request(endpoint="?"):
    REQUESTS[endpoint] += 1


def total_requests():
    return sum(REQUESTS.values())


def short(value, limit=120):
    """``repr`` with long strings cut (a falsifying example stays readable)."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return "%r...(%d chars)" % (value[:limit // 2], len(value))
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%r: %s" % (k, short(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(short(v) for v in value)
    return repr(value)


@dataclass
class Request:
    endpoint: str            # "namespace:name" of the URL pattern ("" for none)
    identity: str
    method: str
    path: str
    query: list = field(default_factory=list)   # [(name, value)], repeats allowed
    data: list = field(default_factory=list)    # [(name, value)] posted form fields
    raw_body: bytes = None                      # instead of ``data``
    content_type: str = "application/x-www-form-urlencoded"
    headers: dict = field(default_factory=dict)  # WSGI META names (HTTP_...)
    csrf: str = CSRF_OFF
    passwords: tuple = ()

    def full_path(self):
        if not self.query:
            return self.path
        return self.path + "?" + parse.urlencode(self.query)

    def django_args(self):
        body = self.raw_body
        if body is None:
            body = parse.urlencode(self.data).encode() if self.data else b""
        return {"path": self.full_path(), "data": body, "content_type": self.content_type}

    def describe(self):
        return "%s %s as %s (csrf %s) data=%s headers=%s" % (
            self.method, short(self.full_path(), 300), self.identity, self.csrf,
            short(self.data if self.raw_body is None else self.raw_body), short(self.headers))


class Raised:
    """Stands for the answer when the view raised."""

    status_code = None

    def __init__(self, error):
        self.error = error
        self.text = "".join(traceback.format_exception(error))


@dataclass(frozen=True)
class Defect:
    """A known defect: a failure on one of ``endpoints`` with this ``status`` (None: the
    view raised) whose body or traceback holds every one of ``markers``."""

    id: str
    reason: str
    endpoints: tuple
    status: object = None       # a status, or a tuple of them; None: the view raised
    markers: tuple = ()
    any_of: tuple = ()          # and at least one of these, when given

    def matches(self, request, status, text):
        statuses = self.status if isinstance(self.status, tuple) else (self.status,)
        return (request.endpoint in self.endpoints and status in statuses
                and all(marker in text for marker in self.markers)
                and (not self.any_of or any(marker in text for marker in self.any_of)))


HOST_VIEWS = ("evac_hosts:index", "evac_hosts:detail", "evac_hosts:force_down",
              "evac_hosts:power_states", "evac_hosts:fence", "evac_hosts:fence_evacuate",
              "evac_hosts:power_on",
              "evac_hosts:unset_force_down", "evac_hosts:disable", "evac_hosts:enable",
              "evac_hosts:evacuate_host", "evac_hosts:evacuate_instance", "evac_hosts:wizard",
              "evac_hosts:wizard_capacity")
ALL_VIEWS = HOST_VIEWS + ("evac_batches:index", "evac_batches:detail",
                          "evac_batches:progress", "evac_batches:retry", "evac_batches:cancel",
                          "evac_batches:resume", "evac_history:index", "evac_history:export",
                          "evac_history:detail")
# Every defect the fuzz found is fixed; a new one is listed here (with a reproduction in
# test_known_defects.py) until it is.
KNOWN_DEFECTS = []


def defect(defect_id):
    return next(d for d in KNOWN_DEFECTS if d.id == defect_id)


class LogCatcher(logging.Handler):
    """Records with a traceback logged by the plugin while one request is answered."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        if record.exc_info and record.name.startswith("evac_dashboard"):
            self.records.append(record)


CATCHER = LogCatcher()
logging.getLogger("evac_dashboard").addHandler(CATCHER)


class FuzzFailure(AssertionError):
    pass


def body_of(response):
    """The decoded body and headers text of a response (streams read, gzip opened)."""
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    if response.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    headers = "\n".join("%s: %s" % item for item in response.items())
    return raw.decode("utf-8", "replace"), headers


def _echoes(secret, text):
    """``secret`` is in ``text``, as is or as HTML, JSON or a URL quote it. A fuzz password
    ("PwFz" and 12 hex digits, then perhaps markup) is found by that unique core, however
    the rest of it was escaped."""
    if secret.startswith("PwFz") and len(secret) >= 16:
        return secret[:16] in text
    forms = {secret, html.escape(secret), html.escape(secret, quote=False),
             json.dumps(secret)[1:-1], parse.quote(secret), parse.quote_plus(secret)}
    return any(form and form in text for form in forms)


def _html_members(value, inside=False):
    """The strings of a JSON document that its page inserts as HTML."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _html_members(item, inside or key in HTML_KEYS)
    elif isinstance(value, list):
        for item in value:
            yield from _html_members(item, inside)
    elif isinstance(value, str) and inside:
        yield value


def problems_of(request, response, secrets=(), logged=()):
    """``(status, text, [problem])`` for one answer; ``secrets`` besides the request's own
    passwords."""
    secrets = set(secrets) | set(request.passwords)
    if isinstance(response, Raised):
        return None, response.text, ["the view raised: %s" % response.text[-1500:]]
    status = response.status_code
    found = []
    try:
        body, headers = body_of(response)
    except Exception as error:  # a streamed body that fails half-way
        text = "".join(traceback.format_exception(error))
        return status, text, ["the body raised while streamed: %s" % text[-1500:]]
    text = body + "\n" + headers
    if status >= 500:
        found.append("status %d: %s" % (status, body[:800]))
    for marker in TRACEBACK_MARKERS:
        if marker in body:
            found.append("traceback or debug page in the body (%r)" % marker)
    for secret in secrets:
        if _echoes(secret, text):
            found.append("password %r echoed in the answer" % secret)
    for record in logged:
        found.append("logged a traceback: %s: %s" % (record.getMessage()[:300],
                                                     record.exc_info[1]))
    if request.identity != "admin" and 200 <= status < 300:
        found.append("%s got %d (must be sent to login or refused)" % (request.identity, status))
    if 300 <= status < 400 and response.get("Location"):
        location = parse.urlparse(response["Location"])
        if location.netloc not in ("", "testserver") or location.scheme not in (
                "", "http", "https"):
            found.append("redirect off the site: %r" % response["Location"])
        if request.identity == "anonymous" and not location.path.endswith(LOGIN_PATH):
            found.append("anonymous redirected to %r, not the login page"
                         % response["Location"])
    if request.csrf in (CSRF_WRONG, CSRF_MISSING) and request.method not in SAFE_METHODS \
            and status < 400:
            found.append("a %s with %s CSRF token got %d" % (request.method, request.csrf,
                                                            status))
    content_type = response.get("Content-Type", "")
    shown_as_html = body if "html" in content_type else ""
    if "json" in content_type and status != 304 and request.method != "HEAD":
        try:
            shown_as_html = "\n".join(_html_members(json.loads(body)))
        except ValueError:
            found.append("a JSON answer that is not JSON: %r" % body[:300])
    for markup in INJECTED_MARKUP:
        if markup in shown_as_html:
            found.append("injected markup shown unescaped: %r" % markup)
    return status, text, found


def check(request, response, secrets=(), logged=(), excuse=True):
    """Raise ``FuzzFailure`` for every problem of the answer no known defect explains
    (``excuse=False``: for every problem)."""
    status, text, found = problems_of(request, response, secrets, logged)
    OUTCOMES[(request.endpoint or "-", request.identity,
              status if status is not None else "raised")] += 1
    unexplained = []
    for problem in found:
        known = [d for d in KNOWN_DEFECTS if excuse
                 and d.matches(request, status, text + "\n" + problem)]
        if known:
            KNOWN_SEEN[known[0].id] += 1
        else:
            unexplained.append(problem)
    if unexplained:
        failure = FuzzFailure("%s\n  -> %s" % (request.describe(),
                                                "\n  -> ".join(unexplained)))
        failure.request, failure.status, failure.text = request, status, text
        failure.problems = unexplained
        raise failure


def note(what):
    NOTES[what] += 1


def summary():
    lines = ["fuzz_requests=%d" % total_requests()]
    for endpoint, count in sorted(REQUESTS.items()):
        statuses = collections.Counter()
        for (name, identity, status), seen in OUTCOMES.items():
            if name == endpoint:
                statuses["%s/%s" % (identity[:4], status)] += seen
        times = sorted(SECONDS.get(endpoint) or [0])
        lines.append("  %-30s %5d  %4.0f ms median %5.2f s max  %s" % (
            endpoint, count, 1000 * times[len(times) // 2], times[-1], " ".join(
                "%s=%d" % item for item in sorted(statuses.items()))))
    if KNOWN_SEEN:
        lines.append("  known defects met: " + ", ".join(
            "%s=%d" % item for item in sorted(KNOWN_SEEN.items())))
    if NOTES:
        lines.append("  notes: " + "; ".join("%s (%d)" % item for item in sorted(NOTES.items())))
    return lines
