"""What the per-host wizard knows about a failed host, its instances and the other hosts.

Read once per page (Nova: the host's service, all compute services, the host's servers and
the hypervisor list; Placement: inventories and usages of the candidate hosts), then used by
every step and by the capacity preview.
"""
from dataclasses import dataclass
import datetime


from evac_dashboard import conf
from evac_dashboard.api import nova
from evac_dashboard.api import placement
from evac_dashboard.rules import capacity
from evac_dashboard.rules import checks
from evac_dashboard.rules import priority
from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import services as svc

SCHEDULER = "scheduler"
ONE_HOST = "host"
PLAN = "plan"


def service_down_time():
    """Nova's ``[DEFAULT] service_down_time`` as configured for nova-api (``EVAC_SERVICE_DOWN_TIME``)."""
    return conf.service_down_time()


def source_findings(service, now=None):
    """``checks.check_source_service`` with the configured down time and the current time."""
    return checks.check_source_service(
        service, now=now or datetime.datetime.now(datetime.timezone.utc),
        service_down_time=service_down_time())


@dataclass
class HostFacts:
    service: dict
    services: list
    servers: list           # every server on the host
    eligible: list          # those Nova would accept to evacuate
    excluded: list          # checks.Finding for the others
    negotiated: tuple
    capacity_hosts: list    # capacity.Host for every other compute service
    capacity_error: str = ""

    @property
    def host(self):
        return self.service["host"]

    @property
    def record_updated(self):
        """``updated_at``: a heartbeat *or* an admin change (force down, disable…)."""
        return svc.parse_time(self.service.get("updated_at"))

    def source_findings(self, now=None):
        """Can Nova evacuate from this host now? (The wizard's Host step.)"""
        return source_findings(self.service, now)

    def target_findings(self):
        """An error finding when no other host could take a server (Host and Targets steps)."""
        return checks.check_targets_available(self.services, self.host)

    @property
    def is_down(self):
        return svc.is_down(self.service)

    def servers_by_id(self):
        return {server["id"]: server for server in self.eligible}

    def needs(self, server_ids):
        """In submission order (``eligible`` is), whatever the order of ``server_ids``."""
        wanted = set(server_ids)
        return [capacity.Need.for_server(s, capacity.needs_from_flavor(
            s.get("flavor") or {}, srv.is_volume_backed(s)))
            for s in self.eligible if s["id"] in wanted]

    def plan(self, server_ids, mode=SCHEDULER, target=None):
        """The capacity estimate for the selection, the way ``mode`` will send it.

        Scheduler and one host: in submission order, as Nova receives them. Plan (pinned
        afterwards): largest first, the best chance that everything fits.
        """
        pinned = target if mode == ONE_HOST and target else None
        order = capacity.BY_SIZE if mode == PLAN else capacity.AS_GIVEN
        return capacity.plan(self.needs(server_ids), self.capacity_hosts, pinned=pinned,
                             source_host=self.host, order=order)

    def usable_targets(self):
        return sorted(s["host"] for s in self.services
                      if s["host"] != self.host and not svc.target_problems(s))


def _hypervisor_versions(hypervisors):
    """{service host: hypervisor_version} (the HypervisorVersionWeigher prefers newer)."""
    return {(h.get("service") or {}).get("host"): h.get("hypervisor_version")
            for h in hypervisors if (h.get("service") or {}).get("host")}


def _provider_ids(hypervisors):
    """{service host: [provider uuid, ...]}: the hypervisor id is the provider UUID (2.53+)."""
    found = {}
    for hypervisor in hypervisors:
        host = (hypervisor.get("service") or {}).get("host")
        if host:
            found.setdefault(host, []).append(str(hypervisor["id"]))
    return found


def _capacity_hosts(request, services, source_host):
    hypervisors, _listed = nova.hypervisor_list(request)
    providers = _provider_ids(hypervisors)
    versions = _hypervisor_versions(hypervisors)
    candidates = [s for s in services if s["host"] != source_host]
    read = placement.provider_capacity(
        request, [uuid for s in candidates for uuid in providers.get(s["host"], [])])
    hosts = []
    for service in candidates:
        inventories, usages = {}, {}
        for uuid in providers.get(service["host"], []):
            data = read.get(uuid, {})
            for rc, inventory in data.get("inventories", {}).items():
                inventories[rc] = inventory  # one node per host in practice
            for rc, used in data.get("usages", {}).items():
                usages[rc] = usages.get(rc, 0) + used
        hosts.append(capacity.Host.from_service(service, inventories, usages,
                                                versions.get(service["host"])))
    return hosts


def load(request, host):
    """HostFacts for ``host``, or None when Nova has no compute service of that name."""
    service = nova.service_get(request, host)
    if service is None:
        return None
    services = nova.service_list(request)
    servers = priority.submission_order(nova.servers_on_host(request, host))
    findings = checks.check_instance_states(servers, host)
    excluded_ids = {i for f in findings if f.level == checks.ERROR for i in f.ids}
    error = ""
    try:
        hosts = _capacity_hosts(request, services, host)
    except Exception as failure:  # Placement down: the wizard still works, without estimate
        hosts, error = [], str(failure)
    return HostFacts(service=service, services=services, servers=servers,
                     eligible=[s for s in servers if s["id"] not in excluded_ids],
                     excluded=[f for f in findings if f.level == checks.ERROR],
                     negotiated=nova.negotiated_version(request), capacity_hosts=hosts,
                     capacity_error=error)
