"""How Nova's scheduler ranks the hosts that can take one server (its default weighers).

Read from Nova 34 (``nova/weights.py``, ``nova/scheduler/weights/*.py``, ``nova/conf/scheduler.py``):
every weigher gives each candidate host a raw value, the values are normalised across the
candidates to 0..1 (``minval`` 0 for RAM, CPU and disk: ``value / max``; all equal gives 0),
multiplied by the weigher's multiplier and summed. With ``host_subset_size = 1`` and
``shuffle_best_same_weighed_hosts = False`` (the defaults) the highest sum wins. After each
placement the scheduler consumes the server's resources from its copy of the host.

Modelled, with their default multipliers: RAMWeigher (``free_ram_mb``: total − reserved −
used, *without* the allocation ratio), CPUWeigher (``vcpus × cpu_allocation_ratio −
vcpus_used``), DiskWeigher (free disk, without the ratio) and HypervisorVersionWeigher.
Not modelled, because the dashboard does not know their inputs: IoOpsWeigher (−1.0 × the
builds and rebuilds in flight on the host: concurrent evacuations spread more than this),
BuildFailureWeigher, the server-group soft (anti-)affinity weighers, PCIWeigher (equal on
hosts without PCI devices), MetricsWeigher (no ``weight_setting`` by default),
CrossCellWeigher (0 within one cell); NumInstances and ImageProperties default to 0.0.
Ties go to the host whose name sorts first (Nova keeps Placement's order, which varies).
"""

DEFAULT_MULTIPLIERS = {"ram": 1.0, "cpu": 1.0, "disk": 1.0, "hypervisor_version": 1.0}
_ZERO_FLOOR = {"ram", "cpu", "disk"}   # weighers with minval = 0


def raw_values(host, placed=None):
    """What each weigher reads for ``host`` (a ``capacity.Host``) after ``placed`` amounts."""
    placed = placed or {}

    def free(resource_class, with_ratio, subtract_reserved):
        data = host.inventories.get(resource_class)
        if data is None:
            return 0
        total = data.get("total", 0) - (data.get("reserved", 0) if subtract_reserved else 0)
        if with_ratio:
            total *= data.get("allocation_ratio", 1.0)
        used = host.usages.get(resource_class, 0) + placed.get(resource_class, 0)
        return total - used

    return {"ram": free("MEMORY_MB", False, True),
            "cpu": free("VCPU", True, False),
            "disk": free("DISK_GB", False, True),
            "hypervisor_version": host.hypervisor_version or 0}


def normalize(values, minval=None):
    """Nova's ``weights.normalize``: to 0..1 between ``minval`` (or the lowest) and the highest."""
    if not values:
        return []
    if minval is not None:
        values = [max(value, minval) for value in values]
    low = min(values) if minval is None else minval
    high = max(values)
    if low == high:
        return [0.0] * len(values)
    return [(value - low) / float(high - low) for value in values]


def rank(candidates, multipliers=None):
    """``[(name, weight), ...]`` best first for ``[(name, raw_values dict), ...]``."""
    multipliers = DEFAULT_MULTIPLIERS if multipliers is None else multipliers
    totals = {name: 0.0 for name, _values in candidates}
    if len(candidates) > 1:
        for weigher, multiplier in multipliers.items():
            column = normalize([values.get(weigher, 0) for _name, values in candidates],
                               0 if weigher in _ZERO_FLOOR else None)
            for (name, _values), weight in zip(candidates, column):
                totals[name] += multiplier * weight
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))
