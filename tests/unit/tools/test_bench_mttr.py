"""The time-to-recovery benchmark's pure parts (tools/bench_mttr.py): done-ness from Nova's
records, the medians, ratios and name=value lines, Masakari's wait and phases. No cloud."""
import argparse
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[3] / "tools"
sys.path.insert(0, str(TOOLS))
import bench_mttr  # noqa: E402

SOURCE = "cmp1"
A, B = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"


def mig(uid, status, created="2026-12-03T13:30:00.000000", mid=1, source=SOURCE):
    return {"id": mid, "instance_uuid": uid, "status": status, "created_at": created,
            "source_compute": source, "migration_type": "evacuation"}


def server(uid, status="ACTIVE", host="cmp2"):
    return {"id": uid, "status": status, "OS-EXT-SRV-ATTR:host": host}


def test_recovered_needs_record_done_active_and_another_host():
    state = bench_mttr.recovery_state([server(A), server(B)],
                                      [mig(A, "done"), mig(B, "completed", mid=2)], [A, B],
                                      SOURCE)
    assert state["done"] and state["recovered"] == sorted([A, B]) and not state["failed"]


def test_record_done_but_server_not_active_yet_is_not_recovered():
    state = bench_mttr.recovery_state([server(A, status="REBUILD"), server(B)],
                                      [mig(A, "done"), mig(B, "done", mid=2)], [A, B], SOURCE)
    assert not state["done"]
    assert state["recovered"] == [B]
    assert state["counts"] == {"done, server REBUILD on cmp2": 1}


def test_server_still_on_source_is_not_recovered():
    state = bench_mttr.recovery_state([server(A, host=SOURCE)], [mig(A, "done")], [A], SOURCE)
    assert not state["done"] and not state["recovered"]


def test_active_elsewhere_without_a_done_record_is_not_recovered():
    state = bench_mttr.recovery_state([server(A)], [mig(A, "pre-migrating")], [A], SOURCE)
    assert not state["done"] and state["counts"] == {"pre-migrating": 1}
    state = bench_mttr.recovery_state([server(A)], [], [A], SOURCE)
    assert state["counts"] == {"not started": 1} and not state["records_final"]


def test_servers_not_read_yet_nothing_recovered_but_records_final():
    state = bench_mttr.recovery_state(None, [mig(A, "done")], [A], SOURCE)
    assert state["records_final"] and not state["done"] and state["counts"] == {"done": 1}


def test_newest_record_counts_and_other_sources_and_servers_are_ignored():
    migrations = [mig(A, "error", created="2026-12-03T13:30:00", mid=1),
                  mig(A, "done", created="2026-12-03T13:31:00", mid=2),
                  mig(A, "error", created="2026-12-03T13:32:00", mid=3, source="cmp3"),
                  mig("other", "error", mid=4)]
    state = bench_mttr.recovery_state([server(A), server("other", status="ERROR")],
                                      migrations, [A], SOURCE)
    assert state["done"] and state["recovered"] == [A] and not state["failed"]


def test_failed_record_or_error_server_ends_the_wait_as_failed():
    state = bench_mttr.recovery_state([server(A), server(B, status="ERROR", host=SOURCE)],
                                      [mig(A, "failed"), mig(B, "done", mid=2)], [A, B],
                                      SOURCE)
    assert state["done"] and state["failed"] == sorted([A, B]) and not state["recovered"]


def rows():
    return [
        {"method": "panel", "mttr": 12.0, "fenced_off": 4.0, "forced_down": 4.5},
        {"method": "masakari", "mttr": 200.0},
        {"method": "horizon", "mttr": 40.0},
        {"method": "floor", "mttr": 10.0},
        {"method": "panel", "mttr": 14.0, "fenced_off": 5.0, "forced_down": 5.5},
        {"method": "masakari", "mttr": 210.0},
        {"method": "horizon", "mttr": 44.0},
        {"method": "floor", "mttr": 11.0},
        {"method": "panel", "mttr": 13.0, "fenced_off": 4.2, "forced_down": 4.9},
        {"method": "masakari", "mttr": 1.0, "error": "notification error"},  # not counted
        {"method": "floor", "mttr": 9.0, "failed_count": 1},                # not counted
    ]


def test_summary_medians_and_ratios():
    summary = bench_mttr.summarize(rows())
    assert summary["panel"] == 13.0
    assert summary["masakari"] == 205.0
    assert summary["horizon"] == 42.0
    assert summary["floor"] == 10.5
    assert summary["runs"]["masakari"] == [200.0, 210.0]
    assert summary["panel_fenced_off"] == 4.2 and summary["panel_forced_down"] == 4.9
    assert abs(summary["ratio"] - 13.0 / 205.0) < 1e-9
    assert abs(summary["floor_ratio"] - 13.0 / 10.5) < 1e-9


def test_final_lines_names_order_and_nan():
    lines = bench_mttr.final_lines(bench_mttr.summarize(rows()))
    assert lines == ["mttr_panel_seconds=13.00", "mttr_masakari_seconds=205.00",
                     "mttr_horizon_seconds=42.00", "mttr_floor_seconds=10.50",
                     "mttr_ratio=0.063", "mttr_floor_ratio=1.238",
                     "mttr_panel_fenced_off_seconds=4.20",
                     "mttr_panel_forced_down_seconds=4.90",
                     "mttr_floor_many_seconds=10.50", "mttr_floor_one_seconds=nan"]
    only_panel = bench_mttr.final_lines(bench_mttr.summarize(rows()[:1]))
    assert "mttr_masakari_seconds=nan" in only_panel and "mttr_ratio=nan" in only_panel
    assert "mttr_panel_seconds=12.00" in only_panel


def test_targets():
    lines = bench_mttr.target_lines(bench_mttr.summarize(rows()))
    assert lines[0].startswith("target: mttr_ratio (panel / Masakari) <= 0.50: met")
    assert lines[1].startswith("target: mttr_floor_ratio (panel / floor) <= 1.15: NOT met")
    assert "not measured" in bench_mttr.target_lines(bench_mttr.summarize([]))[0]


def test_plan_alternates():
    assert bench_mttr.build_plan(["panel", "masakari"], 2) == [
        "panel", "masakari", "panel", "masakari"]


def test_masakari_wait_period_default_or_configured():
    assert bench_mttr.masakari_wait_period("[DEFAULT]\nhost = x\n")[0] == 180
    assert bench_mttr.masakari_wait_period("")[0] == 180
    value, source = bench_mttr.masakari_wait_period(
        "[DEFAULT]\nwait_period_after_service_update = 30\n[database]\nconnection = x\n")
    assert value == 30 and "masakari.conf" in source


def test_masakari_phases_from_workflow_details():
    t0 = bench_mttr.parse_stamp("2026-12-03T13:30:00Z")
    notification = {"status": "finished", "recovery_workflow_details": [
        {"name": "DisableComputeServiceTask", "progress_details": [
            {"timestamp": "2026-12-03 13:30:01.500000",
             "message": "Disabling compute service on host: 'cmp1'", "progress": 0.0},
            {"timestamp": "2026-12-03 13:33:01.600000",
             "message": "Disabled compute service on host: 'cmp1'", "progress": 1.0}]},
        {"name": "EvacuateInstancesTask", "progress_details": [
            {"timestamp": "2026-12-03T13:33:02.000000",
             "message": "Start evacuation of instances from failed host 'cmp1'"}]}]}
    phases = bench_mttr.masakari_phases(notification, t0)
    assert phases["status"] == "finished"
    assert abs(phases["disable_started"] - 1.5) < 1e-6
    assert abs(phases["wait_over"] - 181.6) < 1e-6
    assert abs(phases["evacuation_started"] - 182.0) < 1e-6
    assert bench_mttr.masakari_phases({}, t0) == {
        "status": None, "disable_started": None, "wait_over": None,
        "evacuation_started": None}


def test_fence_times_from_audit_records():
    t0 = 1000.0
    records = [("fence", 1001.0, 1004.2, "succeeded"),
               ("force_down", 1004.3, 1004.6, "succeeded"),
               ("disable", 1004.6, 1004.8, "succeeded"),
               ("host_evacuate", 1004.9, None, "pending")]
    times = bench_mttr.fence_times(records, t0)
    assert abs(times["fenced_off"] - 4.2) < 1e-9 and abs(times["forced_down"] - 4.6) < 1e-9
    assert bench_mttr.fence_times([("fence", 1001.0, 1010.0, "failed")], t0) == {
        "fenced_off": None, "forced_down": None}


def test_options_reach_bench_evacuates_parser():
    import bench_evacuate

    args = bench_evacuate.parse_args(["--plan", "mttr", "--servers", "10",
                                      "--mttr-methods", "panel", "floor"])
    assert args.plan == "mttr" and args.mttr_methods == ["panel", "floor"]
    assert bench_evacuate.parse_args([]).mttr_methods == list(bench_mttr.METHODS)
    parser = argparse.ArgumentParser()
    bench_mttr.add_arguments(parser)
    assert parser.parse_args([]).masakari_timeout == 900


def test_the_floor_is_the_faster_median_of_many_callers_and_one():
    runs = [{"method": "panel", "mttr": 26.0}, {"method": "floor", "mttr": 24.0},
            {"method": "floor", "mttr": 25.0}, {"method": "floor-1", "mttr": 21.0},
            {"method": "floor-1", "mttr": 23.0}]
    summary = bench_mttr.summarize(runs)
    assert (summary["floor_many"], summary["floor_one"], summary["floor"]) == (24.5, 22.0, 22.0)
    assert abs(summary["floor_ratio"] - 26.0 / 22.0) < 1e-9
    assert bench_mttr.build_plan(bench_mttr.METHODS, 1)[-2:] == ["floor", "floor-1"]
