"""Will the failed host's servers fit on the remaining hosts, and where would they go?

The same rules Placement applies to one allocation:
``used + amount <= (total - reserved) * allocation_ratio`` and
``min_unit <= amount <= max_unit`` and ``amount % step_size == 0``. Among the hosts where a
server fits, ``plan`` picks the one Nova's default weighers rank first (``weighing``: spread
by free RAM, vCPU and disk) and subtracts the server from that host before placing the next.

The result is an *estimate and an upper bound*: the scheduler also applies filters Placement
does not model (NUMA, PCI, server-group anti-affinity, aggregates, image properties), some
weighers read what the dashboard cannot see, and evacuations run concurrently. Inputs are
plain dicts: the ``inventories`` and ``usages`` objects of
``GET /resource_providers/{uuid}/inventories`` and ``.../usages``, and per-instance resource
amounts from ``GET /allocations/{uuid}`` (preferred) or from the flavor.
"""
import math
from dataclasses import dataclass, field

from evac_dashboard.rules.i18n import gettext as _
from evac_dashboard.rules.i18n import ngettext
from evac_dashboard.rules.i18n import gettext_noop
from evac_dashboard.rules import priority as prio
from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import services as svc
from evac_dashboard.rules import weighing

BY_SIZE = "size"        # largest first: the best chance that everything fits (a plan to pin)
AS_GIVEN = "given"      # in the order given: the submission order Nova receives them in

_UNITS = {"VCPU": gettext_noop("vCPU"), "PCPU": gettext_noop("dedicated CPU"),
          "MEMORY_MB": gettext_noop("MiB RAM"), "DISK_GB": gettext_noop("GiB disk")}


def describe(resource_class, amount):
    """``36 vCPU``, ``4096 MiB RAM``, ``2 CUSTOM_FOO``."""
    return "%d %s" % (amount, _(_UNITS.get(resource_class, resource_class)))


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Inventory:
    total: int
    reserved: int = 0
    allocation_ratio: float = 1.0
    min_unit: int = 1
    max_unit: int | None = None
    step_size: int = 1

    @classmethod
    def from_dict(cls, data):
        return cls(total=data.get("total", 0), reserved=data.get("reserved", 0),
                   allocation_ratio=data.get("allocation_ratio", 1.0),
                   min_unit=data.get("min_unit", 1), max_unit=data.get("max_unit"),
                   step_size=data.get("step_size", 1) or 1)

    @property
    def capacity(self):
        """What can be allocated in total, before usage (may be fractional); 0 for an
        absurd inventory (allocation_ratio 1e308, inf, nan: unusable, not a crash)."""
        capacity = _finite(lambda: (self.total - self.reserved) * self.allocation_ratio)
        return 0.0 if capacity is None else capacity


def _finite(compute):
    """``compute()`` as a finite float, or None when it overflows or is inf/nan/absurd."""
    try:
        value = float(compute())
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def free_capacity(inventories, usages):
    """Free amount per resource class: ``floor((total - reserved) * ratio - used)``, never < 0."""
    free = {}
    for resource_class, data in inventories.items():
        inventory = Inventory.from_dict(data)
        used = usages.get(resource_class, 0)
        left = _finite(lambda: inventory.capacity - used)
        # An absurd inventory (allocation_ratio 1e308, inf, nan) is unusable, not a crash.
        free[resource_class] = 0 if left is None else max(0, math.floor(left))
    return free


@dataclass
class Host:
    """A candidate target: its Placement data and how Nova sees its compute service."""

    name: str
    inventories: dict
    usages: dict = field(default_factory=dict)
    state: str = "up"
    status: str = "enabled"
    forced_down: bool = False
    disabled_reason: str | None = None
    hypervisor_version: int | None = None

    @classmethod
    def from_service(cls, service, inventories, usages, hypervisor_version=None):
        """From an ``/os-services`` dict plus the host's Placement inventories and usages."""
        return cls(service["host"], inventories, usages, service.get("state", "up"),
                   service.get("status", "enabled"), bool(service.get("forced_down")),
                   service.get("disabled_reason"), hypervisor_version)

    def problems(self):
        return svc.target_problems({"state": self.state, "status": self.status,
                                    "forced_down": self.forced_down,
                                    "disabled_reason": self.disabled_reason})


@dataclass(frozen=True)
class Need:
    """What one server needs on its new host, per resource class."""

    id: str
    name: str
    resources: dict
    priority: int = 0

    @classmethod
    def for_server(cls, server, resources):
        return cls(server.get("id"), srv.label(server), dict(resources),
                   prio.restart_priority(server).value)


def needs_from_flavor(flavor, volume_backed=False):
    """Resources from a server's embedded flavor (microversion 2.47+), the way Nova computes them.

    Root disk counts only when the server is not volume-backed; swap (MiB) is rounded up to
    GiB; ``resources:<CLASS>`` extra specs override (0 removes the class). Flavor arithmetic
    misses nested/custom resources: prefer ``needs_from_allocations`` when available.
    """
    swap_mb = flavor.get("swap") or 0
    disk = ((0 if volume_backed else flavor.get("disk", 0)) + flavor.get("ephemeral", 0)
            + math.ceil(swap_mb / 1024))
    resources = {"VCPU": flavor.get("vcpus", 0), "MEMORY_MB": flavor.get("ram", 0),
                 "DISK_GB": disk}
    for key, value in (flavor.get("extra_specs") or {}).items():
        if key.startswith("resources:"):
            try:
                amount = int(value)
            except (TypeError, ValueError):
                continue
            resources[key.split(":", 1)[1]] = amount
    return {rc: amount for rc, amount in resources.items() if amount}


def needs_from_allocations(allocations, provider_uuids=None):
    """Sum a server's allocations (``GET /allocations/{uuid}``), optionally only on some providers.

    Pass the failed host's provider tree as ``provider_uuids``: after scheduling, an evacuating
    server holds allocations on both the source and the destination.
    """
    allocations = allocations.get("allocations", allocations)
    total = {}
    for provider, data in allocations.items():
        if provider_uuids is not None and provider not in provider_uuids:
            continue
        for resource_class, amount in data.get("resources", {}).items():
            total[resource_class] = total.get(resource_class, 0) + amount
    return total


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class Shortfall:
    """Why one resource class does not fit on one host."""

    host: str
    resource_class: str
    needed: int
    available: int | None = None
    kind: str = "short"  # short | max_unit | min_unit | step_size | no_inventory

    @property
    def depends_on_usage(self):
        """False when the host can never take this amount in one allocation."""
        return self.kind == "short"

    def __str__(self):
        need = describe(self.resource_class, self.needed)
        if self.kind == "short":
            return _("%(host)s: needs %(need)s, %(available)d free") % {
                "host": self.host, "need": need, "available": self.available}
        if self.kind == "max_unit":
            return _("%(host)s: needs %(need)s, at most %(available)d in one allocation "
                     "(max_unit)") % {"host": self.host, "need": need, "available": self.available}
        if self.kind == "min_unit":
            return _("%(host)s: needs %(need)s, at least %(available)d in one allocation "
                     "(min_unit)") % {"host": self.host, "need": need, "available": self.available}
        if self.kind == "step_size":
            return _("%(host)s: needs %(need)s, not a multiple of %(available)d (step_size)") % {
                "host": self.host, "need": need, "available": self.available}
        return _("%(host)s: needs %(need)s, has none") % {"host": self.host, "need": need}


def shortfalls(need, host_name, inventories, free):
    """Every reason ``need`` cannot be allocated on this host now; empty when it fits."""
    found = []
    for resource_class, amount in sorted(need.resources.items()):
        if not amount:
            continue
        if resource_class not in inventories:
            found.append(Shortfall(host_name, resource_class, amount, kind="no_inventory"))
            continue
        inventory = Inventory.from_dict(inventories[resource_class])
        if inventory.max_unit is not None and amount > inventory.max_unit:
            found.append(Shortfall(host_name, resource_class, amount, inventory.max_unit,
                                   "max_unit"))
        elif amount < inventory.min_unit:
            found.append(Shortfall(host_name, resource_class, amount, inventory.min_unit,
                                   "min_unit"))
        elif amount % inventory.step_size:
            found.append(Shortfall(host_name, resource_class, amount, inventory.step_size,
                                   "step_size"))
        elif amount > free.get(resource_class, 0):
            found.append(Shortfall(host_name, resource_class, amount,
                                   free.get(resource_class, 0)))
    return found


# --------------------------------------------------------------------------- planning


def size_key(need):
    """First-fit-decreasing order: RAM, then CPUs (VCPU + PCPU), then disk, largest first;
    ties by restart priority (highest first), then name.

    RAM leads because it is normally not overcommitted, so it decides most fits.
    """
    resources = need.resources
    return (-resources.get("MEMORY_MB", 0),
            -(resources.get("VCPU", 0) + resources.get("PCPU", 0)),
            -resources.get("DISK_GB", 0),
            -need.priority, (need.name or "").casefold(), need.id or "")


@dataclass(frozen=True)
class Assignment:
    """``ranking``: ``(host, weight)`` of the hosts it fitted on, best first (empty if pinned)."""

    need: Need
    host: str | None
    reason: str = ""
    shortfalls: tuple = ()
    ranking: tuple = ()

    @property
    def fits(self):
        return self.host is not None

    def explain(self):
        if self.fits:
            return "%s -> %s" % (self.need.name, self.host)
        return _("%(name)s does not fit: %(reason)s") % {"name": self.need.name,
                                                         "reason": self.reason}


@dataclass
class HostUse:
    name: str
    capacity: dict
    free_before: dict
    free_after: dict
    servers: list = field(default_factory=list)

    def placed(self):
        """What the plan has put on this host so far, per resource class."""
        return {rc: self.free_before[rc] - self.free_after[rc] for rc in self.free_before}

    def explain(self):
        parts = [_("%(unit)s free %(before)d -> %(after)d") % {
            "unit": _(_UNITS.get(rc, rc)), "before": self.free_before[rc],
            "after": self.free_after[rc]} for rc in sorted(self.free_before)]
        return ngettext("%(host)s: takes %(count)d server; %(use)s",
                        "%(host)s: takes %(count)d servers; %(use)s", len(self.servers)) % {
            "host": self.name, "count": len(self.servers), "use": ", ".join(parts)}


@dataclass(frozen=True)
class ExcludedHost:
    name: str
    reasons: tuple

    def explain(self):
        return _("%(host)s: not a target (%(reasons)s)") % {"host": self.name,
                                                            "reasons": ", ".join(self.reasons)}


@dataclass
class Plan:
    """``order`` and ``pinned`` say how it was made, so a page can say so."""

    assignments: list
    hosts: list
    excluded: list
    order: str = BY_SIZE
    pinned: object = None

    @property
    def unplaced(self):
        return [a for a in self.assignments if not a.fits]

    @property
    def all_fit(self):
        return not self.unplaced

    def by_instance(self):
        return {a.need.id: a for a in self.assignments}

    def explain(self):
        """One line per host, excluded host and server that does not fit."""
        return ([h.explain() for h in self.hosts] + [e.explain() for e in self.excluded]
                + [a.explain() for a in self.unplaced])


def plan(instances, hosts, pinned=None, source_host=None, order=BY_SIZE, multipliers=None):
    """Simulate placing ``instances`` (``Need``) on ``hosts`` (``Host``) one after the other.

    ``order`` is ``BY_SIZE`` (largest first) or ``AS_GIVEN``. ``pinned`` is None (each
    instance goes to the best-weighed host it fits on, as Nova's scheduler would choose), one
    host name for all instances, or a dict ``{instance_id: host name}`` for per-instance
    targets. Hosts that are down, disabled, forced down or the source are excluded and listed
    with the reason. ``multipliers`` overrides ``weighing.DEFAULT_MULTIPLIERS``.
    """
    excluded, usable = _split_hosts(hosts, source_host)
    uses = {h.name: _host_use(h) for h in usable}
    by_name = {h.name: h for h in usable}
    excluded_by_name = {e.name: e for e in excluded}

    assignments = []
    for need in (sorted(instances, key=size_key) if order == BY_SIZE else list(instances)):
        target = pinned.get(need.id) if isinstance(pinned, dict) else pinned
        if target and target not in uses:
            reason = (excluded_by_name[target].explain() if target in excluded_by_name
                      else _("%s is not a known compute host") % target)
            assignments.append(Assignment(need, None, reason))
            continue
        candidates = [target] if target else sorted(uses)
        assignments.append(_place(need, candidates, uses, by_name, multipliers))
    given = {need.id: index for index, need in enumerate(instances)}
    assignments.sort(key=lambda a: given.get(a.need.id, 0))
    return Plan(assignments, list(uses.values()), excluded, order, pinned)


def _split_hosts(hosts, source_host):
    excluded, usable = [], []
    for host in hosts:
        reasons = ([_("the failed host")] if host.name == source_host else []) + host.problems()
        if reasons:
            excluded.append(ExcludedHost(host.name, tuple(reasons)))
        else:
            usable.append(host)
    return excluded, usable


def _host_use(host):
    free = free_capacity(host.inventories, host.usages)
    capacity = {rc: math.floor(Inventory.from_dict(data).capacity)
                for rc, data in host.inventories.items()}
    return HostUse(host.name, capacity, dict(free), dict(free))


def _place(need, candidates, uses, hosts, multipliers):
    if not candidates:
        return Assignment(need, None, _("no host is eligible as a target"))
    found, fitting = [], []
    for name in candidates:
        problems = shortfalls(need, name, hosts[name].inventories, uses[name].free_after)
        if problems:
            found.extend(problems)
        else:
            fitting.append(name)
    if fitting:
        ranking = weighing.rank([(name, weighing.raw_values(hosts[name], uses[name].placed()))
                                 for name in fitting], multipliers)
        use = uses[ranking[0][0]]
        for resource_class, amount in need.resources.items():
            if amount:
                use.free_after[resource_class] = use.free_after.get(resource_class, 0) - amount
        use.servers.append(need.name)
        return Assignment(need, use.name, ranking=tuple(ranking) if len(candidates) > 1 else ())
    hosts_never_fit = {s.host for s in found if not s.depends_on_usage}
    if hosts_never_fit == set(candidates):
        reason = _("too large for any single host: ") + "; ".join(
            str(s) for s in found if not s.depends_on_usage)
    else:
        reason = "; ".join(str(s) for s in found)
    return Assignment(need, None, reason, tuple(found))
