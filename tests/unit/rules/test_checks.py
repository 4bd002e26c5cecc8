from datetime import datetime, timezone

from evac_dashboard.rules import checks

from tests.unit.factories import SOURCE, rule_migration as migration, rule_server as server, rule_service as service

NOW = datetime(2026, 11, 23, 3, 5, 30, tzinfo=timezone.utc)


def codes(findings):
    return [f.code for f in findings]


# --- source service ------------------------------------------------------------------------

def test_source_up_is_an_error_that_says_how_to_get_it_down():
    [finding] = checks.check_source_service(service(SOURCE), now=NOW)
    assert (finding.level, finding.code, finding.ids) == ("error", "source_up", (SOURCE,))
    assert "Fence" in finding.message and "Force Down" in finding.message
    assert "service_down_time (60 s)" in finding.message
    # updated_at 03:05:00 + 60 s: down by 03:06:00 if the heartbeat stopped
    assert "03:06:00 UTC" in finding.message


def test_source_up_with_old_record_suggests_it_still_heartbeats():
    old = service(SOURCE, updated_at="2026-11-23T02:00:00Z")
    [finding] = checks.check_source_service(old, now=NOW, service_down_time=120)
    assert "still sending heartbeats" in finding.message
    assert "service_down_time (120 s)" in finding.message


def test_source_forced_down_is_fine():
    assert checks.check_source_service(service(SOURCE, state="down", forced_down=True)) == []


def test_source_forced_down_counts_even_if_state_field_lags():
    assert checks.check_source_service(service(SOURCE, state="up", forced_down=True)) == []


def test_source_down_by_heartbeat_only_warns_to_fence():
    [finding] = checks.check_source_service(service(SOURCE, state="down"))
    assert (finding.level, finding.code) == ("warning", "source_not_forced_down")
    assert "fenced" in finding.message


def test_missing_source_service():
    [finding] = checks.check_source_service(None, host="cmp9")
    assert finding.code == "source_service_missing" and "cmp9" in finding.message


def test_source_in_unreachable_cell():
    unknown = {"binary": "nova-compute", "host": SOURCE, "status": "UNKNOWN"}
    assert codes(checks.check_source_service(unknown)) == ["source_cell_unreachable"]


# --- target host -----------------------------------------------------------------------------

SERVICES = [service(SOURCE, state="down", forced_down=True), service("cmp2"),
            service("cmp10"), service("cmp3", state="down"),
            service("cmp4", status="disabled", disabled_reason="maintenance"),
            service("cmp5", state="down", forced_down=True)]


def test_no_target_needs_no_check():
    assert checks.check_target_host(None, SOURCE, SERVICES) == []


def test_healthy_target():
    assert checks.check_target_host("cmp2", SOURCE, SERVICES) == []


def test_target_is_source():
    assert codes(checks.check_target_host(SOURCE, SOURCE, SERVICES)) == ["target_is_source"]


def test_target_not_found_uses_exact_names():
    # "cmp1" is a prefix of "cmp10": must not count as found (cmp1 is the source here).
    assert codes(checks.check_target_host("cmp", SOURCE, SERVICES)) == ["target_not_found"]
    assert checks.check_target_host("cmp10", SOURCE, SERVICES) == []


def test_target_ignores_other_binaries():
    conductor = [{"binary": "nova-conductor", "host": "ctl1", "state": "up",
                  "status": "enabled"}]
    assert codes(checks.check_target_host("ctl1", SOURCE, conductor)) == ["target_not_found"]


def test_target_down():
    [finding] = checks.check_target_host("cmp3", SOURCE, SERVICES)
    assert finding.code == "target_unusable" and "is down" in finding.message


def test_target_disabled_names_the_reason():
    [finding] = checks.check_target_host("cmp4", SOURCE, SERVICES)
    assert "disabled (maintenance)" in finding.message


def test_target_forced_down():
    [finding] = checks.check_target_host("cmp5", SOURCE, SERVICES)
    assert "forced down" in finding.message


# --- instance states -----------------------------------------------------------------------

def test_evacuable_states_pass():
    servers = [server("a"), server("b", status="SHUTOFF", vm_state="stopped"),
               server("c", status="ERROR", vm_state="error")]
    assert checks.check_instance_states(servers, SOURCE) == []


def test_other_vm_states_are_refused():
    servers = [server("a"), server("p", status="PAUSED", vm_state="paused"),
               server("s", status="SHELVED", vm_state="shelved")]
    [finding] = checks.check_instance_states(servers, SOURCE)
    assert finding.code == "state_not_evacuable"
    assert finding.items == ("p", "s") and finding.ids == ("uuid-p", "uuid-s")
    assert "p (paused)" in finding.message and "reset their state to error" in finding.message


def test_vm_state_falls_back_to_status():
    paused = server("p", status="PAUSED")
    del paused["OS-EXT-STS:vm_state"]
    assert codes(checks.check_instance_states([paused])) == ["state_not_evacuable"]


def test_never_launched():
    servers = [server("a"), server("b", launched_at=None)]
    [finding] = checks.check_instance_states(servers)
    assert finding.code == "never_launched" and finding.items == ("b",)


def test_launched_at_under_extended_attribute_key():
    never = server("b")
    del never["OS-SRV-USG:launched_at"]
    never["OS-EXT-SRV-ATTR:launched_at"] = None
    assert codes(checks.check_instance_states([never])) == ["never_launched"]


def test_other_task_state_is_a_warning():
    [finding] = checks.check_instance_states([server("a", task_state="powering-off")])
    assert (finding.level, finding.code) == ("warning", "task_in_progress")
    assert "a (powering-off)" in finding.message


def test_server_no_longer_on_source():
    [finding] = checks.check_instance_states([server("a", host="cmp2")], SOURCE)
    assert finding.code == "not_on_source" and finding.items == ("a",)


# --- in progress ------------------------------------------------------------------------------

def test_rebuilding_server_is_already_evacuating():
    servers = [server("a", status="REBUILD", task_state="rebuild_spawning"), server("b")]
    [finding] = checks.check_in_progress(servers)
    assert finding.code == "already_evacuating" and finding.items == ("a",)
    assert "reset the server's state to error" in finding.message


def test_in_flight_migration_is_already_evacuating():
    servers = [server("a"), server("b")]
    migrations = [migration("pre-migrating", instance_uuid="uuid-b"),
                  migration("done", instance_uuid="uuid-a")]
    [finding] = checks.check_in_progress(servers, migrations)
    assert finding.ids == ("uuid-b",)


def test_finished_migrations_are_not_in_progress():
    migrations = [migration(s) for s in ("done", "completed", "failed", "error")]
    assert checks.check_in_progress([server("vm1")], migrations) == []


# --- root disks -------------------------------------------------------------------------------

def test_local_root_disks_warn_about_data_loss():
    servers = [server("local"), server("bfv", image=""), server("bfv2", image={})]
    [finding] = checks.check_root_disks(servers)
    assert (finding.level, finding.code, finding.items) == ("warning", "local_root_disk",
                                                            ("local",))
    assert "1 server boots from a local disk" in finding.message  # a plural form each
    assert "rebuilds it from its image" in finding.message
    assert "2 servers boot from a volume" in finding.message


def test_only_volume_backed_servers_need_no_warning():
    assert checks.check_root_disks([server("bfv", image="")]) == []


# --- preflight ----------------------------------------------------------------------------------

def test_preflight_collects_everything_in_order():
    findings = checks.preflight(
        service(SOURCE), [server("p", status="PAUSED", vm_state="paused")],
        target_host="cmp3", services=SERVICES, now=NOW)
    assert codes(findings) == ["source_up", "target_unusable", "state_not_evacuable",
                               "local_root_disk"]
    assert checks.has_errors(findings)


def test_preflight_ready_to_go():
    findings = checks.preflight(service(SOURCE, state="down", forced_down=True),
                                [server("a", image="")], target_host="cmp2", services=SERVICES)
    assert findings == [] and not checks.has_errors(findings)


def test_warnings_alone_do_not_block():
    findings = checks.preflight(service(SOURCE, state="down", forced_down=True), [server("a")])
    assert codes(findings) == ["local_root_disk"] and not checks.has_errors(findings)


# --- is there anywhere to go? --------------------------------------------------------------------

def test_no_usable_target_is_an_error_naming_each_host_and_why():
    services = [service(SOURCE, state="down", forced_down=True), service("cmp2", state="down"),
                service("cmp3", status="disabled", disabled_reason="RMA"),
                service("cmp4", state="down", forced_down=True),
                dict(service("cmp9"), binary="nova-conductor")]  # not a compute: ignored
    [finding] = checks.check_targets_available(services, SOURCE)
    assert (finding.level, finding.code, finding.ids) == ("error", "no_target_host",
                                                           ("cmp2", "cmp3", "cmp4"))
    assert "No valid host was found" in finding.message
    assert "cmp2 is down; cmp3 is disabled (RMA); cmp4 is forced down" in finding.message


def test_one_usable_target_is_enough():
    assert checks.check_targets_available(SERVICES, SOURCE) == []


def test_a_lone_host_has_nowhere_to_go():
    [finding] = checks.check_targets_available([service(SOURCE, state="down")], SOURCE)
    assert "no compute host other than cmp1" in finding.message


def test_preflight_reports_no_target_when_the_scheduler_chooses():
    services = [service(SOURCE, state="down", forced_down=True), service("cmp2", state="down")]
    findings = checks.preflight(services[0], [server("a", image="")], services=services)
    assert codes(findings) == ["no_target_host"]
