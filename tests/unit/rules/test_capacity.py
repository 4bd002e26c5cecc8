from evac_dashboard.rules import capacity
from evac_dashboard.rules import weighing
from evac_dashboard.rules.capacity import Host, Need, free_capacity, plan

from tests.unit.factories import rule_server as server


def inventory(total, reserved=0, ratio=1.0, min_unit=1, max_unit=None, step_size=1):
    return {"total": total, "reserved": reserved, "allocation_ratio": ratio,
            "min_unit": min_unit, "max_unit": total if max_unit is None else max_unit,
            "step_size": step_size}


def host(name, vcpu=16, ram=65536, disk=1000, used=None, **service):
    inventories = {"VCPU": inventory(vcpu, ratio=4.0), "MEMORY_MB": inventory(ram),
                   "DISK_GB": inventory(disk)}
    return Host(name, inventories, used or {}, **service)


def need(name, vcpu=2, ram=2048, disk=20, priority=0):
    return Need("uuid-" + name, name, {"VCPU": vcpu, "MEMORY_MB": ram, "DISK_GB": disk},
                priority)


# --- free capacity ---------------------------------------------------------------------------

def test_free_capacity_applies_reserved_before_the_ratio():
    inventories = {"VCPU": inventory(16, reserved=2, ratio=4.0),
                   "MEMORY_MB": inventory(65536, reserved=4096, ratio=1.5),
                   "DISK_GB": inventory(1000, reserved=100)}
    usages = {"VCPU": 10, "MEMORY_MB": 32768, "DISK_GB": 0}
    assert free_capacity(inventories, usages) == {
        "VCPU": (16 - 2) * 4 - 10,                 # 46
        "MEMORY_MB": (65536 - 4096) * 1.5 - 32768,  # 59392
        "DISK_GB": 900,
    }


def test_free_capacity_floors_fractions_and_never_goes_negative():
    inventories = {"VCPU": inventory(7, ratio=1.5), "MEMORY_MB": inventory(1000)}
    free = free_capacity(inventories, {"VCPU": 3, "MEMORY_MB": 1200})
    assert free == {"VCPU": 7, "MEMORY_MB": 0}  # 10.5 - 3 = 7.5 -> 7; overcommitted -> 0


def test_free_capacity_without_usages():
    assert free_capacity({"VCPU": inventory(4)}, {}) == {"VCPU": 4}


# --- single request limits --------------------------------------------------------------------

def test_max_unit_everywhere_is_reported_as_too_large():
    hosts = [host("cmp2", vcpu=8), host("cmp3", vcpu=8)]  # max_unit = total = 8
    [assignment] = plan([need("big", vcpu=12)], hosts).assignments
    assert not assignment.fits
    assert assignment.reason.startswith("too large for any single host")
    assert "cmp2: needs 12 vCPU, at most 8 in one allocation (max_unit)" in assignment.reason
    assert "cmp3" in assignment.reason


def test_max_unit_respected_even_when_ratio_gives_room():
    # 8 pCPU * 4.0 = 32 schedulable vCPU, but one server may not take more than max_unit.
    [assignment] = plan([need("big", vcpu=10)], [host("cmp2", vcpu=8)]).assignments
    assert assignment.shortfalls[0].kind == "max_unit"


def test_step_size_and_min_unit():
    inventories = {"MEMORY_MB": inventory(65536, min_unit=1024, step_size=512)}
    hosts = [Host("cmp2", inventories)]
    odd = Need("o", "odd", {"MEMORY_MB": 1536 + 100})
    tiny = Need("t", "tiny", {"MEMORY_MB": 512})
    fine = Need("f", "fine", {"MEMORY_MB": 1536})
    result = plan([odd, tiny, fine], hosts).by_instance()
    assert "not a multiple of 512 (step_size)" in result["o"].reason
    assert "at least 1024 in one allocation (min_unit)" in result["t"].reason
    assert result["f"].host == "cmp2"


def test_missing_resource_class_on_host():
    pinned_cpu = Need("p", "pinned", {"PCPU": 4, "MEMORY_MB": 1024})
    [assignment] = plan([pinned_cpu], [host("cmp2")]).assignments
    assert assignment.reason == ("too large for any single host: "
                                 "cmp2: needs 4 dedicated CPU, has none")


# --- plan --------------------------------------------------------------------------------------

def test_short_message_names_host_class_and_free_amount():
    inventories = {"VCPU": inventory(8, ratio=4.0, max_unit=64)}
    cmp2 = Host("cmp2", inventories, {"VCPU": 12})  # 8 * 4.0 - 12 = 20 free
    [assignment] = plan([Need("a", "a", {"VCPU": 36})], [cmp2]).assignments
    assert assignment.reason == "cmp2: needs 36 vCPU, 20 free"
    [shortfall] = assignment.shortfalls
    assert (shortfall.host, shortfall.resource_class, shortfall.needed,
            shortfall.available) == ("cmp2", "VCPU", 36, 20)


def test_first_fit_decreasing_places_the_largest_first():
    # In input order, 2+2 GiB would fill cmp2 to 1 GiB, 3 GiB go to cmp3, and the second
    # 3 GiB server would not fit anywhere. Largest first, everything fits.
    hosts = [host("cmp2", ram=5120), host("cmp3", ram=5120)]
    instances = [need("a", ram=2048), need("b", ram=2048), need("c", ram=3072),
                 need("d", ram=3072)]
    result = plan(instances, hosts)
    assert result.all_fit
    placed = {a.need.name: a.host for a in result.assignments}
    assert placed == {"c": "cmp2", "d": "cmp3", "a": "cmp2", "b": "cmp3"}
    assert [a.need.name for a in result.assignments] == ["a", "b", "c", "d"]  # input order


def test_ties_are_broken_by_priority_then_name():
    keys = sorted([need("b"), need("a"), need("c", priority=5)], key=capacity.size_key)
    assert [n.name for n in keys] == ["c", "a", "b"]


def test_priority_wins_the_last_slot():
    hosts = [host("cmp2", ram=2048)]
    result = plan([need("low"), need("high", priority=10)], hosts).by_instance()
    assert result["uuid-high"].host == "cmp2"
    assert result["uuid-low"].reason == "cmp2: needs 2048 MiB RAM, 0 free"


def test_host_totals_before_and_after():
    result = plan([need("a", vcpu=4, ram=4096, disk=40)],
                  [host("cmp2", vcpu=4, ram=8192, disk=100, used={"MEMORY_MB": 1024})])
    [use] = result.hosts
    assert use.capacity == {"VCPU": 16, "MEMORY_MB": 8192, "DISK_GB": 100}
    assert use.free_before == {"VCPU": 16, "MEMORY_MB": 7168, "DISK_GB": 100}
    assert use.free_after == {"VCPU": 12, "MEMORY_MB": 3072, "DISK_GB": 60}
    assert use.servers == ["a"]
    assert use.explain() == ("cmp2: takes 1 server; GiB disk free 100 -> 60, "
                             "MiB RAM free 7168 -> 3072, vCPU free 16 -> 12")


def test_excluded_hosts_are_listed_with_why():
    hosts = [host("cmp1"), host("cmp3", state="down"),
             host("cmp4", status="disabled", disabled_reason="RMA"),
             host("cmp5", state="down", forced_down=True), host("cmp2")]
    result = plan([need("a")], hosts, source_host="cmp1")
    assert [(e.name, e.reasons) for e in result.excluded] == [
        ("cmp1", ("the failed host",)), ("cmp3", ("down",)), ("cmp4", ("disabled (RMA)",)),
        ("cmp5", ("forced down",))]
    assert [h.name for h in result.hosts] == ["cmp2"]
    assert result.assignments[0].host == "cmp2"


def test_no_eligible_host():
    result = plan([need("a")], [host("cmp1")], source_host="cmp1")
    assert result.unplaced[0].reason == "no host is eligible as a target"


def test_one_target_for_all():
    hosts = [host("cmp2"), host("cmp3", ram=4096)]
    result = plan([need("a", ram=2048), need("b", ram=2048), need("c", ram=2048)], hosts,
                  pinned="cmp3")
    placed = [a.host for a in result.assignments]
    assert placed.count("cmp3") == 2 and placed.count(None) == 1
    assert result.unplaced[0].reason == "cmp3: needs 2048 MiB RAM, 0 free"


def test_per_instance_pins_and_free_choice():
    hosts = [host("cmp2", ram=4096), host("cmp3", ram=4096)]
    result = plan([need("a", ram=4096), need("b", ram=4096)], hosts,
                  pinned={"uuid-a": "cmp3"}).by_instance()
    assert (result["uuid-a"].host, result["uuid-b"].host) == ("cmp3", "cmp2")


def test_pinned_to_excluded_or_unknown_host():
    hosts = [host("cmp2"), host("cmp3", state="down")]
    result = plan([need("a"), need("b")], hosts,
                  pinned={"uuid-a": "cmp3", "uuid-b": "cmp9"}).by_instance()
    assert result["uuid-a"].reason == "cmp3: not a target (down)"
    assert result["uuid-b"].reason == "cmp9 is not a known compute host"


def test_plan_explains_itself():
    hosts = [host("cmp1"), host("cmp2", ram=2048)]
    lines = plan([need("a"), need("b")], hosts, source_host="cmp1").explain()
    assert lines[0].startswith("cmp2: takes 1 server;")
    assert "cmp1: not a target (the failed host)" in lines
    assert "b does not fit: cmp2: needs 2048 MiB RAM, 0 free" in lines


def test_zero_amounts_are_ignored():
    result = plan([Need("x", "x", {"VCPU": 1, "DISK_GB": 0, "PCPU": 0})], [host("cmp2")])
    assert result.all_fit


# --- needs ---------------------------------------------------------------------------------

def test_needs_from_flavor_counts_root_disk_only_when_local():
    flavor = {"vcpus": 4, "ram": 8192, "disk": 40, "ephemeral": 10, "swap": 1500}
    assert capacity.needs_from_flavor(flavor) == {"VCPU": 4, "MEMORY_MB": 8192, "DISK_GB": 52}
    assert capacity.needs_from_flavor(flavor, volume_backed=True)["DISK_GB"] == 12


def test_needs_from_flavor_extra_spec_overrides():
    flavor = {"vcpus": 4, "ram": 4096, "disk": 0, "ephemeral": 0, "swap": "",
              "extra_specs": {"resources:VCPU": "0", "resources:PCPU": "4",
                              "resources:CUSTOM_X": "oops", "hw:cpu_policy": "dedicated"}}
    assert capacity.needs_from_flavor(flavor) == {"PCPU": 4, "MEMORY_MB": 4096}


def test_needs_from_allocations_filters_providers():
    allocations = {"allocations": {
        "rp-source": {"resources": {"VCPU": 2, "MEMORY_MB": 2048}},
        "rp-source-child": {"resources": {"CUSTOM_VGPU": 1}},
        "rp-dest": {"resources": {"VCPU": 2, "MEMORY_MB": 2048}},
    }}
    assert capacity.needs_from_allocations(allocations, {"rp-source", "rp-source-child"}) == {
        "VCPU": 2, "MEMORY_MB": 2048, "CUSTOM_VGPU": 1}
    assert capacity.needs_from_allocations(allocations)["VCPU"] == 4


def test_need_for_server_takes_priority_from_metadata():
    vm = server("web", metadata={"evac:restart_priority": "7"})
    built = Need.for_server(vm, {"VCPU": 1})
    assert (built.id, built.name, built.priority) == ("uuid-web", "web", 7)


def test_host_from_service():
    service = {"host": "cmp2", "state": "up", "status": "disabled", "forced_down": False,
               "disabled_reason": None}
    built = Host.from_service(service, {"VCPU": inventory(4)}, {})
    assert built.problems() == ["disabled"]


# --- where the scheduler would put them (Nova's default weighers) ------------------------------

def test_scheduler_choice_goes_to_the_emptiest_host_not_the_first_listed():
    # cmp2 is listed first and fuller; Nova's RAM/CPU/disk weighers prefer cmp3.
    hosts = [host("cmp2", used={"VCPU": 40, "MEMORY_MB": 49152, "DISK_GB": 600}), host("cmp3")]
    result = plan([need("a"), need("b"), need("c")], hosts, order=capacity.AS_GIVEN)
    assert [a.host for a in result.assignments] == ["cmp3", "cmp3", "cmp3"]
    assert result.assignments[0].ranking[0][0] == "cmp3"


def test_each_placement_is_subtracted_before_the_next_so_equal_hosts_alternate():
    result = plan([need(n) for n in "abcd"], [host("cmp2"), host("cmp3")],
                  order=capacity.AS_GIVEN)
    assert [a.host for a in result.assignments] == ["cmp2", "cmp3", "cmp2", "cmp3"]


def test_the_cpu_weigher_counts_as_much_as_the_ram_weigher():
    # x: RAM 10000 free, 10 vCPU; y: RAM 5000, 40 vCPU; disk equal.
    # Normalised (÷ max): x = 1 + 0.25 + 1 = 2.25, y = 0.5 + 1 + 1 = 2.5: y wins.
    x = Host("x", {"VCPU": inventory(10), "MEMORY_MB": inventory(10000),
                   "DISK_GB": inventory(100)})
    y = Host("y", {"VCPU": inventory(40), "MEMORY_MB": inventory(5000),
                   "DISK_GB": inventory(100)})
    [assignment] = plan([Need("n", "n", {"VCPU": 1, "MEMORY_MB": 1})], [x, y]).assignments
    assert assignment.host == "y"
    assert [(name, round(weight, 4)) for name, weight in assignment.ranking] == [
        ("y", 2.5), ("x", 2.25)]


def test_the_ram_weigher_reads_free_ram_without_the_allocation_ratio():
    # Placement gives x more room (ratio 2.0), but Nova's free_ram_mb is physical: y has more.
    x = Host("x", {"MEMORY_MB": inventory(65536, ratio=2.0)}, {"MEMORY_MB": 40960})
    y = Host("y", {"MEMORY_MB": inventory(65536)}, {"MEMORY_MB": 32768})
    [assignment] = plan([Need("n", "n", {"MEMORY_MB": 1024})], [x, y]).assignments
    assert assignment.host == "y"


def test_newer_hypervisor_wins_a_tie():
    hosts = [host("cmp2", hypervisor_version=9000000), host("cmp3", hypervisor_version=10000000)]
    [assignment] = plan([need("a")], hosts).assignments
    assert assignment.host == "cmp3"


def test_normalize_like_nova():
    assert weighing.normalize([0, 50, 100], minval=0) == [0.0, 0.5, 1.0]
    assert weighing.normalize([50, 100], minval=0) == [0.5, 1.0]      # ÷ max, not min..max
    assert weighing.normalize([7, 7], minval=0) == [1.0, 1.0]
    assert weighing.normalize([-5, 10], minval=0) == [0.0, 1.0]       # clamped at minval
    assert weighing.normalize([3, 3]) == [0.0, 0.0]                   # all equal: 0
    assert weighing.normalize([1, 2, 3]) == [0.0, 0.5, 1.0]


def test_pinned_to_one_host_ignores_the_weights():
    hosts = [host("cmp2", used={"MEMORY_MB": 49152}), host("cmp3")]
    result = plan([need("a"), need("b")], hosts, pinned="cmp2", order=capacity.AS_GIVEN)
    assert [a.host for a in result.assignments] == ["cmp2", "cmp2"]


def test_plan_says_how_it_was_made():
    made = plan([need("a")], [host("cmp2")], order=capacity.AS_GIVEN)
    assert (made.order, made.pinned) == (capacity.AS_GIVEN, None)
    assert plan([need("a")], [host("cmp2")], pinned="cmp2").pinned == "cmp2"
