"""Which evacuation-related Nova capability exists at which compute microversion.

Plain Python (no novaclient, no Django) so the rules can be tested on their own. Versions
are handled as ``(major, minor)`` tuples; ``parse`` accepts ``"2.53"``-style strings.
The table is the single place that knows these numbers: views and forms ask
``supports(feature, version)`` and never compare version strings themselves.
Source of the ranges: ``shared/reference/nova-evacuate.md`` (Nova's API history).
"""
from dataclasses import dataclass

Version = tuple


def parse(value):
    """Turn ``"2.53"``, ``(2, 53)`` or a novaclient ``APIVersion`` into ``(2, 53)``."""
    if isinstance(value, tuple):
        return value
    if hasattr(value, "ver_major") and hasattr(value, "ver_minor"):
        return (value.ver_major, value.ver_minor)
    text = str(value).strip()
    try:
        major, minor = text.split(".")
        return (int(major), int(minor))
    except ValueError:
        raise ValueError("not a microversion: %r" % (value,)) from None


def to_string(version):
    major, minor = parse(version)
    return "%d.%d" % (major, minor)


@dataclass(frozen=True)
class Feature:
    """A capability available from ``minimum`` up to ``maximum`` (inclusive; None = open)."""

    name: str
    minimum: Version
    maximum: Version = None
    description: str = ""

    def available_at(self, version):
        version = parse(version)
        if version < self.minimum:
            return False
        return self.maximum is None or version <= self.maximum


def _feature(name, minimum, maximum=None, description=""):
    return Feature(name, parse(minimum), parse(maximum) if maximum else None, description)


FEATURES = {f.name: f for f in (
    _feature("evacuate_shared_storage_flag", "2.1", "2.13",
             "evacuate takes the required onSharedStorage flag"),
    _feature("evacuate_returns_password", "2.1", "2.13",
             "evacuate answers with the admin password"),
    _feature("service_force_down", "2.11",
             description="services can be forced down (fencing)"),
    _feature("host_status", "2.16",
             description="servers show host_status (UP/DOWN/MAINTENANCE/UNKNOWN)"),
    _feature("migration_type_field", "2.23",
             description="migrations report their migration_type"),
    _feature("evacuate_force", "2.29", "2.67",
             description="evacuate can force a target host past the scheduler"),
    _feature("scheduler_checks_target_host", "2.29",
             description="a requested target host is validated by the scheduler"),
    _feature("hypervisor_paging", "2.33",
             description="hypervisor lists are paged (limit/marker)"),
    _feature("server_flavor_embedded", "2.47",
             description="servers embed their flavor (name, vCPUs, RAM, disk)"),
    _feature("service_uuid_ids", "2.53",
             description="services and hypervisors are addressed by UUID"),
    _feature("hypervisor_with_servers", "2.53",
             description="hypervisor lists can include their servers"),
    _feature("migration_paging", "2.59",
             description="migrations are paged and filterable by changes-since"),
    _feature("boot_on_host", "2.74",
             description="admins can boot a server on a named host"),
    _feature("migration_initiator", "2.80",
             description="migrations report the user and project that started them"),
    _feature("hypervisor_usage_fields", "2.1", "2.87",
             "hypervisor details include vCPU/RAM/disk totals and use"),
    _feature("evacuate_leaves_stopped", "2.95",
             description="evacuated servers end SHUTOFF instead of their previous state"),
)}

# The newest microversion this code knows the meaning of. Negotiation never goes past the
# smaller of this, novaclient's maximum and the cloud's maximum: a newer microversion could
# change evacuate's semantics again (as 2.95 did).
KNOWN_MAXIMUM = (2, 96)


def supports(feature, version):
    """True when ``feature`` exists at microversion ``version``."""
    try:
        return FEATURES[feature].available_at(version)
    except KeyError:
        raise KeyError("unknown microversion feature: %s" % feature) from None


def best_version(ceiling, features=(), floor=(2, 1)):
    """Highest microversion in ``[floor, ceiling]`` at which every feature exists, or None.

    Used for calls that need a capability a newer microversion removed (for example the
    hypervisor usage fields, gone at 2.88) or that must not get a newer meaning.
    """
    ceiling, floor = parse(ceiling), parse(floor)
    high = ceiling
    low = floor
    for name in features:
        feature = FEATURES[name]
        low = max(low, feature.minimum)
        if feature.maximum is not None:
            high = min(high, feature.maximum)
    if low > high or high[0] != low[0]:
        return None
    return high


def negotiate(server_minimum, server_maximum, client_maximum, override=None):
    """The microversion to use with a cloud.

    The highest version that the cloud, the client library and this code all know, unless
    ``override`` (a setting) asks for a lower one. An override outside what the cloud
    accepts is refused with ValueError so a misconfiguration is loud, not silent.
    """
    server_minimum, server_maximum = parse(server_minimum), parse(server_maximum)
    ceiling = min(server_maximum, parse(client_maximum), KNOWN_MAXIMUM)
    if override:
        wanted = parse(override)
        if not server_minimum <= wanted <= server_maximum:
            raise ValueError(
                "EVAC_NOVA_MICROVERSION %s is outside what the cloud accepts (%s to %s)"
                % (to_string(wanted), to_string(server_minimum), to_string(server_maximum)))
        return min(wanted, ceiling)
    if ceiling < server_minimum:
        raise ValueError("no common compute microversion (cloud %s to %s, client up to %s)"
                         % (to_string(server_minimum), to_string(server_maximum),
                            to_string(client_maximum)))
    return ceiling

