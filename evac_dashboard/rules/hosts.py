"""Compute hosts as an operator sees them: one row per nova-compute service.

Joins Nova's ``/os-services`` and ``/os-hypervisors/detail`` answers (plain dicts) by the
service host name — the name evacuate and ``servers?host=`` use — never by a substring
of ``hypervisor_hostname``. A host with several nodes (e.g. ironic) gets their sums.
"""
from dataclasses import dataclass, field
import datetime

from evac_dashboard.rules import servers
from evac_dashboard.rules import services as service_rules


@dataclass
class ComputeHost:
    host: str
    zone: str = ""
    status: str = "enabled"          # enabled / disabled (the service, set by admins)
    state: str = "down"              # up / down (as Nova's API computes it)
    forced_down: bool = False
    disabled_reason: str = ""
    updated_at: datetime.datetime = None
    service_id: str = ""
    hypervisor_ids: list = field(default_factory=list)
    hypervisor_hostnames: list = field(default_factory=list)
    instance_count: int = None       # None when Nova did not say
    vcpus: int = None
    vcpus_used: int = None
    memory_mb: int = None
    memory_mb_used: int = None
    seconds_since_update: float = None

    @property
    def id(self):
        """Row id for Horizon tables: the service host name is unique per cell set."""
        return self.host

    @property
    def is_down(self):
        return self.state != "up"

    @property
    def is_evacuable(self):
        """Nova accepts evacuations off this host only while it looks down."""
        return self.is_down

    @property
    def record_may_be_admin_change(self):
        """``updated_at`` of a forced-down or disabled service may be that change, not a report.

        Force Down, Disable and Enable all rewrite the row, so a dead host forced down a
        moment ago shows a record updated "0 s ago".
        """
        return self.forced_down or self.status != "enabled"

    @property
    def hypervisor_hostname(self):
        return ", ".join(self.hypervisor_hostnames)

    @property
    def attention_rank(self):
        """Lower sorts first: forced down, then down, then disabled, then healthy."""
        if self.forced_down:
            return 0
        if self.is_down:
            return 1
        if self.status != "enabled":
            return 2
        return 3


def _add(total, value):
    if value is None:
        return total
    return (total or 0) + value


def build_hosts(services, hypervisors, servers_listed=False, now=None):
    """ComputeHost rows from service and hypervisor dicts, most urgent first.

    ``servers_listed`` says the hypervisors were fetched with ``with_servers``: before 2.75
    Nova then omits the ``servers`` key of an empty hypervisor, which means zero.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    hosts = {}
    for service in services:
        if service.get("binary", service_rules.COMPUTE_BINARY) != service_rules.COMPUTE_BINARY:
            continue
        updated = service_rules.parse_time(service.get("updated_at"))
        hosts[service["host"]] = ComputeHost(
            host=service["host"],
            zone=service.get("zone") or "",
            status=service.get("status") or "",
            state=service.get("state") or "down",
            forced_down=bool(service.get("forced_down")),
            disabled_reason=service.get("disabled_reason") or "",
            updated_at=updated,
            service_id=str(service.get("id", "")),
            seconds_since_update=(now - updated).total_seconds() if updated else None,
        )
    for hypervisor in hypervisors:
        service_host = (hypervisor.get("service") or {}).get("host")
        row = hosts.get(service_host)
        if row is None:
            continue  # a compute node whose service is gone: nothing to evacuate from here
        row.hypervisor_ids.append(str(hypervisor.get("id")))
        row.hypervisor_hostnames.append(hypervisor.get("hypervisor_hostname") or "")
        if servers_listed or "servers" in hypervisor:
            row.instance_count = _add(row.instance_count, len(hypervisor.get("servers") or []))
        elif "running_vms" in hypervisor:
            row.instance_count = _add(row.instance_count, hypervisor["running_vms"])
        row.vcpus = _add(row.vcpus, hypervisor.get("vcpus"))
        row.vcpus_used = _add(row.vcpus_used, hypervisor.get("vcpus_used"))
        row.memory_mb = _add(row.memory_mb, hypervisor.get("memory_mb"))
        row.memory_mb_used = _add(row.memory_mb_used, hypervisor.get("memory_mb_used"))
    return sorted(hosts.values(), key=lambda row: (row.attention_rank, row.host))


@dataclass
class HostInstance:
    """One server on a host, reduced to what the host page and checks need."""

    id: str
    name: str
    project_id: str
    project_name: str
    status: str
    task_state: str
    vm_state: str
    flavor_name: str
    vcpus: int
    ram_mb: int
    root_disk: str                  # "volume" or "local"
    image_id: str
    metadata: dict
    launched_at: str


def root_disk_kind(server):
    return "volume" if servers.is_volume_backed(server) else "local"


def build_instances(server_dicts, project_names=None):
    project_names = project_names or {}
    rows = []
    for server in server_dicts:
        flavor = server.get("flavor") or {}
        image = server.get("image") if isinstance(server.get("image"), dict) else {}
        rows.append(HostInstance(
            id=server["id"],
            name=server.get("name") or server["id"],
            project_id=server.get("tenant_id", ""),
            project_name=project_names.get(server.get("tenant_id"), server.get("tenant_id", "")),
            status=server.get("status", ""),
            task_state=server.get("OS-EXT-STS:task_state") or "",
            vm_state=server.get("OS-EXT-STS:vm_state") or "",
            flavor_name=flavor.get("original_name") or flavor.get("id") or "",
            vcpus=flavor.get("vcpus"),
            ram_mb=flavor.get("ram"),
            root_disk=root_disk_kind(server),
            image_id=image.get("id", ""),
            metadata=server.get("metadata") or {},
            launched_at=server.get("OS-SRV-USG:launched_at") or "",
        ))
    return sorted(rows, key=lambda row: (row.name.lower(), row.id))
