"""A hostile cloud: what a broken or malicious Nova (or a tenant, through server metadata and
names) can make the fake Nova answer. ``world()`` draws one; ``install(nova, world)`` serves
it. Types stay what Nova's API has (a tenant sets strings; Nova sends its own numbers), the
contents are anything."""
import datetime

from hypothesis import strategies as st

from tests.unit import factories
from tests.unit.fakes import evacuating_nova
from tests.unit.fuzz import strategies as hs

text = hs.hostile_text()
# Nova's own tracebacks (fault details) are not the plugin's: no fault here holds the
# oracle's traceback markers.
maybe_text = st.one_of(st.none(), text)
HTML_FAULTS = ("<script>alert('fault')</script>", "{{ request.session }}", "{% csrf_token %}",
               "%s %d %(x)s", "</td></tr></table><h1>owned</h1>", "No valid host was found. "
               * 400, "\u202eemordnilap", "<!-- -->&lt;&amp;",
               "x" * 70000)
PRIORITIES = ("10", "-1", str(10 ** 20), str(-10 ** 20), "abc", "١٢", "１２", "1e3", "",
              " 7 ", "+3", "9" * 400, "💩", "2147483647", "2147483648", "-2147483648",
              "-2147483649", "0x10", "None")
NUMBERS = st.one_of(st.integers(-2, 128), st.sampled_from((0, -1, 10 ** 20, 2 ** 63, -2 ** 31)))
STAMPS = st.one_of(st.sampled_from((
    "9999-12-31T23:59:59.000000", "0001-01-01T00:00:00.000000", "2026-11-23T10:00:00Z",
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
    "2026-11-23T10:00:00+05:00", "garbage", "", "2026-02-30T00:00:00")),
    st.integers(0, 10 ** 6).map(lambda s: factories.stamp(s)), st.none())


def server_id():
    return st.one_of(st.uuids().map(str), st.uuids().map(str), st.sampled_from((
        "../../os-services", "<b>id</b>", "id with spaces", "%2e%2e", "ｉｄ", "a" * 300)))


@st.composite
def server(draw, host):
    priority = draw(st.one_of(st.none(), st.sampled_from(PRIORITIES), text,
                              st.sampled_from((10 ** 20, -1, 5))))
    fault = draw(st.one_of(st.none(), st.builds(
        lambda message, code, created: {"message": message, "code": code,
                                        "created": created or factories.stamp(5),
                                        "details": message},
        st.one_of(st.sampled_from(HTML_FAULTS), text), st.sampled_from((500, 400, 0)),
        STAMPS)))
    made = factories.server(
        draw(text), host, project=draw(st.one_of(st.just("p1"), text)),
        status=draw(st.one_of(st.sampled_from(("ACTIVE", "SHUTOFF", "ERROR", "PAUSED")), text)),
        task_state=draw(maybe_text), volume_backed=draw(st.booleans()),
        metadata={} if priority is None else {"evac:restart_priority": priority},
        vcpus=draw(NUMBERS), ram=draw(NUMBERS), id=draw(server_id()),
        flavor={"original_name": draw(text), "vcpus": draw(NUMBERS), "ram": draw(NUMBERS),
                "disk": draw(NUMBERS)}, fault=fault)
    return made


@st.composite
def world(draw):
    source = draw(st.one_of(st.just("cmp1"), hs.hostile_host().filter(bool)))
    others = draw(st.lists(st.one_of(st.just("cmp2"), hs.hostile_host().filter(bool)),
                           min_size=1, max_size=2, unique=True))
    hosts = list(dict.fromkeys([source] + others))
    services = []
    for index, host in enumerate(hosts):
        # Mostly states the checks accept (a fenced source, healthy targets), so the
        # evacuation goes through and its pages show the hostile names; sometimes anything.
        odd = draw(st.integers(0, 4)) == 0
        state = "down" if index == 0 else draw(st.sampled_from(("up", "up", "down")))
        services.append(factories.service(
            host, state=draw(text) if odd else state,
            status=draw(text) if odd else ("enabled" if index else draw(st.sampled_from(
                ("enabled", "disabled")))),
            forced_down=index == 0 if not odd else draw(st.booleans()),
            reason=draw(maybe_text), zone=draw(text), id=draw(st.one_of(
                st.uuids().map(str), st.integers(1, 10 ** 20))),
            updated_at=(draw(STAMPS) if odd else None) or factories.stamp(
                600 if state == "down" else 2)))
    servers = draw(st.lists(server(source), min_size=1, max_size=4,
                            unique_by=lambda s: s["id"]))
    hypervisors = []
    for host in hosts:
        item = factories.hypervisor(host, servers=len(servers) if host == source else 0,
                                    node=draw(st.one_of(st.none(), text.filter(bool))),
                                    vcpus=draw(NUMBERS), vcpus_used=draw(NUMBERS),
                                    memory_mb=draw(NUMBERS), memory_mb_used=draw(NUMBERS))
        hypervisors.append(item)
    migrations = []
    for made in servers:
        if draw(st.booleans()):
            when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
                minutes=draw(st.integers(1, 600)))
            migration = factories.migration(
                made["id"], source=draw(st.one_of(st.just(source), text)),
                status=draw(st.one_of(st.sampled_from(("done", "error", "accepted",
                                                       "completed", "failed")), text)),
                dest=draw(maybe_text), created=when,
                user_id=draw(st.one_of(st.none(), text.filter(bool))))
            # Nova's own form, which the fake compares with ``changes-since``.
            migration["updated_at"] = evacuating_nova.nova_time(when)
            stamp = draw(STAMPS)
            if stamp is not None and draw(st.booleans()):
                migration["created_at"] = stamp
            migrations.append(migration)
    actions = {m["instance_uuid"]: [factories.action(
        m["instance_uuid"], request_id=draw(text), user_id=draw(text),
        project_id=draw(text))] for m in migrations}
    user_names = {m.get("user_id"): draw(text) for m in migrations if m.get("user_id")}
    return {"source": source, "services": services, "servers": servers,
            "hypervisors": hypervisors, "migrations": migrations, "actions": actions,
            "user_names": user_names,
            "providers": {h["id"]: provider(draw) for h in hypervisors},
            "fault": draw(st.one_of(st.sampled_from(HTML_FAULTS), text))}


def provider(draw):
    def inventory():
        total = draw(NUMBERS)
        return {"total": total, "reserved": draw(NUMBERS),
                "allocation_ratio": draw(st.sampled_from((1.0, 4.0, 0.0, -1.0, 1e308))),
                "min_unit": 1, "max_unit": draw(st.one_of(st.just(total), NUMBERS)),
                "step_size": draw(st.sampled_from((1, 0, -1)))}
    return {"inventories": {"VCPU": inventory(), "MEMORY_MB": inventory(),
                            "DISK_GB": inventory()},
            "usages": {"VCPU": draw(NUMBERS), "MEMORY_MB": draw(NUMBERS),
                       "DISK_GB": draw(NUMBERS)}}


def install(case, drawn):
    nova = case.nova
    with nova.lock:
        nova.services = drawn["services"]
        nova.hypervisors = drawn["hypervisors"]
        nova.servers = []
        nova.add_servers(drawn["servers"])
        nova.migrations = drawn["migrations"]
        nova.actions = drawn["actions"]
        nova.providers = drawn["providers"]
        nova.progress_of = {}
    case.user_names = drawn["user_names"]
