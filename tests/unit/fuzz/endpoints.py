"""Every URL of the plugin, as data: its path, its methods, its query parameters and form
fields, each with the strategy of what may be sent there.

To cover a new URL, add an ``Endpoint`` here (``test_coverage.py`` fails until every URL
pattern of the plugin has one). Values starting with ``REAL`` are placeholders the test
replaces with something that exists in its cloud (a batch id, a signed instance list...),
so the fuzz reaches the code behind the "not found" answers too.
"""
from dataclasses import dataclass, field
from urllib import parse

from hypothesis import strategies as st

from tests.unit.fuzz import strategies as hs

REAL = "\x01real:"
HOSTS, BATCHES, HISTORY = "/admin/evac_hosts/", "/admin/evac_batches/", "/admin/evac_history/"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND")


def real(name):
    return REAL + name


def segment(value):
    """A path segment as a browser sends it (percent-encoded, so ``/`` stays inside)."""
    return parse.quote(value, safe="")


# --- URL arguments -----------------------------------------------------------------------
host = st.one_of(st.sampled_from(("cmp1", "cmp1", "cmp2", "cmp3")), hs.hostile_host())
instance = st.one_of(st.sampled_from((real("server:web-1"), real("server:db-1"),
                                      real("server:paused-1"), real("server:app-1"))),
                     hs.ident())
batch = st.one_of(st.sampled_from((real("batch:finished"), real("batch:interrupted"),
                                   real("batch:finished:hex"), real("batch:finished:urn"))),
                  hs.ident())
record = st.one_of(st.just(real("record")),
                   st.sampled_from(("0", "1", "007", "999999", str(2 ** 63 - 1), str(2 ** 63),
                                    str(10 ** 30), "1" * 400)),
                   st.integers(0, 10 ** 40).map(str), hs.ident())
item = st.one_of(st.sampled_from((real("item:0"), real("item:1"), real("item:2"),
                                  real("item:3"), real("item:5"))), hs.number(), hs.ident())

# --- form values --------------------------------------------------------------------------
text = hs.hostile_text()
boolean = hs.boolean_field()
target = st.one_of(st.sampled_from(("", "cmp2", "cmp3", "cmp1")), text)
power = hs.choice("running", "stopped", "")
reviewed = st.one_of(st.sampled_from((
    real("reviewed:right"), real("reviewed:right"), real("reviewed:other-host"),
    real("reviewed:tampered"), real("reviewed:expired"), real("reviewed:other-salt"),
    real("reviewed:hostile-content"))), text)
instance_choice = st.one_of(instance, st.just(real("server:late-1")))

EVACUATE_FIELDS = {
    "host": st.one_of(st.just("cmp1"), text), "target_host": target, "power_state": power,
    "on_shared_storage?": boolean, "force?": boolean, "admin_pass": hs.password(),
    "confirm_admin_pass": hs.password(), "acknowledge_local_disks": boolean,
    "reviewed": reviewed}
WIZARD_FIELDS = {
    "fenced": boolean, "instances": instance_choice,
    "mode": hs.choice("scheduler", "plan", "one_host"), "target_host": target,
    "accept_shortfall?": boolean, "power_state": power, "on_shared_storage?": boolean,
    "force?": boolean, "admin_pass": hs.password(), "confirm_admin_pass": hs.password(),
    "concurrency": st.one_of(st.sampled_from(("1", "4", "64")), hs.number()),
    "acknowledge_local_disks": boolean, "confirm": boolean, "next?": text}
HISTORY_QUERY = {"host?": host, "user?": text, "action?": hs.choice(
    "evacuate", "host_evacuate", "force_down", "retry", "cancel"), "outcome?": text,
    "origin?": hs.choice("panel", "external"), "since?": hs.date(), "until?": hs.date(),
    "marker?": record, "prev_marker?": record}
TABLE_FILTER = {"action": hs.choice("history__filter", "compute_hosts__filter",
                                    "host_instances__filter", "batches__filter"),
                "history__filter__q": text, "history__filter__q_field?": hs.choice(
                    "host", "user", "action", "outcome", "origin", "since"),
                "compute_hosts__filter__q?": text}
FENCE_FIELDS = {"host": host, "disable?": boolean, "reason": text,
                "override_host": st.one_of(st.just(""), host)}
ACTION_FIELDS = {"item?": item, "password?": hs.password()}


@dataclass(frozen=True)
class Endpoint:
    name: str                   # "<panel slug>:<url name>"
    path: object                # {kwarg: value} -> path
    kwargs: dict = field(default_factory=dict)   # kwarg -> strategy
    methods: tuple = ("GET",)   # what the view answers (others must be refused)
    kind: str = "page"          # page | modal | json | csv | action
    query: dict = field(default_factory=dict)    # GET parameter -> strategy
    fields: dict = field(default_factory=dict)   # POST field -> strategy

    @property
    def password_fields(self):
        return [n.rstrip("?") for n in self.fields if "pass" in n]


def _at(prefix, *parts):
    def build(kw):
        return prefix + "".join(segment(kw[p]) + "/" if not p.startswith("/") else p[1:]
                                for p in parts)
    return build


ENDPOINTS = (
    # Compute Hosts
    Endpoint("evac_hosts:index", lambda kw: HOSTS, methods=("GET", "POST"),
             fields=TABLE_FILTER),
    Endpoint("evac_hosts:detail", _at(HOSTS, "host"), {"host": host},
             methods=("GET", "POST"), fields=TABLE_FILTER),
    Endpoint("evac_hosts:force_down", _at(HOSTS, "host", "/force-down/"), {"host": host},
             ("GET", "POST"), "modal",
             fields={"host": host, "confirm_host": host, "disable?": boolean,
                     "reason": text}),
    Endpoint("evac_hosts:power_states", lambda kw: HOSTS + "power-states/", kind="json",
             query={"host?": host, "fresh?": hs.choice("1", "0", "true")}),
    Endpoint("evac_hosts:fence", _at(HOSTS, "host", "/fence/"), {"host": host},
             ("GET", "POST"), "modal", fields=FENCE_FIELDS),
    Endpoint("evac_hosts:fence_evacuate", _at(HOSTS, "host", "/fence-evacuate/"),
             {"host": host}, ("GET", "POST"), "modal",
             fields=dict(FENCE_FIELDS, power_state=power, acknowledge_local_disks=boolean,
                         reviewed=reviewed)),
    Endpoint("evac_hosts:power_on", _at(HOSTS, "host", "/power-on/"), {"host": host},
             ("GET", "POST"), "modal", fields={"host": host}),
    Endpoint("evac_hosts:unset_force_down", _at(HOSTS, "host", "/unset-force-down/"),
             {"host": host}, ("GET", "POST"), "modal", fields={"host": host}),
    Endpoint("evac_hosts:disable", _at(HOSTS, "host", "/disable/"), {"host": host},
             ("GET", "POST"), "modal", fields={"host": host, "reason": text}),
    Endpoint("evac_hosts:enable", _at(HOSTS, "host", "/enable/"), {"host": host},
             ("GET", "POST"), "modal", fields={"host": host}),
    Endpoint("evac_hosts:evacuate_host", _at(HOSTS, "host", "/evacuate/"), {"host": host},
             ("GET", "POST"), "modal", fields=EVACUATE_FIELDS),
    Endpoint("evac_hosts:evacuate_instance",
             _at(HOSTS, "host", "/instances/", "instance_id", "/evacuate/"),
             {"host": host, "instance_id": instance}, ("GET", "POST"), "modal",
             fields=EVACUATE_FIELDS),
    Endpoint("evac_hosts:wizard", _at(HOSTS, "host", "/wizard/"), {"host": host},
             ("GET", "POST"), "page", fields=WIZARD_FIELDS),
    Endpoint("evac_hosts:wizard_capacity", _at(HOSTS, "host", "/wizard/capacity/"),
             {"host": host}, kind="json",
             query={"instances": instance_choice, "mode?": hs.choice(
                 "scheduler", "plan", "one_host"), "target?": target}),
    # Evacuations
    Endpoint("evac_batches:index", lambda kw: BATCHES, methods=("GET", "POST"),
             fields=TABLE_FILTER),
    Endpoint("evac_batches:detail", _at(BATCHES, "batch_id"), {"batch_id": batch}),
    Endpoint("evac_batches:progress", _at(BATCHES, "batch_id", "/progress.json"),
             {"batch_id": batch}, kind="json",
             query={"since?": st.one_of(st.just(real("version")), hs.ident(), text)}),
    Endpoint("evac_batches:retry", _at(BATCHES, "batch_id", "/retry/"), {"batch_id": batch},
             ("POST",), "action", fields=ACTION_FIELDS),
    Endpoint("evac_batches:cancel", _at(BATCHES, "batch_id", "/cancel/"), {"batch_id": batch},
             ("POST",), "action", fields=ACTION_FIELDS),
    Endpoint("evac_batches:resume", _at(BATCHES, "batch_id", "/resume/"), {"batch_id": batch},
             ("POST",), "action", fields=ACTION_FIELDS),
    Endpoint("evac_batches:timeline", _at(BATCHES, "batch_id", "/timeline/"),
             {"batch_id": batch}),
    Endpoint("evac_batches:timeline_csv", _at(BATCHES, "batch_id", "/timeline.csv"),
             {"batch_id": batch}, kind="csv"),
    Endpoint("evac_batches:timeline_json", _at(BATCHES, "batch_id", "/timeline.json"),
             {"batch_id": batch}, kind="json"),
    # History
    Endpoint("evac_history:index", lambda kw: HISTORY, methods=("GET", "POST"),
             query=HISTORY_QUERY, fields=TABLE_FILTER),
    Endpoint("evac_history:export", lambda kw: HISTORY + "export.csv", kind="csv",
             query=HISTORY_QUERY),
    Endpoint("evac_history:detail", lambda kw: HISTORY + kw["record_id"] + "/",
             {"record_id": record}),
    # Any other path under a panel: the plugin's own 404 (content/unrouted.py).
    Endpoint("evac_hosts:unrouted", lambda kw: HOSTS + "x/y" + segment(kw["rest"]) + "/",
             {"rest": text}, methods=("GET", "POST"), fields={"item?": text}),
    Endpoint("evac_batches:unrouted", lambda kw: BATCHES + "x/y" + segment(kw["rest"]) + "/",
             {"rest": text}, methods=("GET", "POST"), fields={"item?": text}),
    Endpoint("evac_history:unrouted", lambda kw: HISTORY + "x" + segment(kw["rest"]) + "/",
             {"rest": text}, methods=("GET", "POST"), fields={"item?": text}),
)
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
