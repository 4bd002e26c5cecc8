"""The benchmark's observer accounting (tools/bench_observers.py): which Nova calls count."""
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[3] / "tools"
sys.path.insert(0, str(TOOLS))
import bench_observers  # noqa: E402

OBSERVER = "0b5e7e2f8c1d4a6b9e3f2a1c0d9e8f7a"
ADMIN = "bf792e9b88434154aad7e4b3a75ce692"


def line(user, request, status=200):
    return ("2026-11-23 06:35:04.408 18225 INFO nova.api.openstack.requestlog [None req-1 %s "
            "2b9421c1165f41e896624d8d6f36287f - - default default] 127.0.0.1 \"%s\" status: %d "
            "len: 2057 microversion: 2.96 time: 0.02\n" % (user, request, status))


def test_counts_only_the_observers_requests_written_after_start(tmp_path):
    log = tmp_path / "nova-api.log"
    log.write_text(line(OBSERVER, "GET /v2.1/os-migrations?source_compute=cmp1"))
    counter = bench_observers.NovaLogCounter(log, OBSERVER)
    counter.start()
    with open(log, "a") as handle:
        handle.write(line(OBSERVER, "GET /v2.1/servers/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"))
        handle.write(line(OBSERVER, "GET /v2.1/servers/1f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"))
        handle.write(line(ADMIN, "POST /v2.1/servers/1f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9/"
                                 "action"))
        handle.write(line(OBSERVER, "GET /v2.1/servers/detail?all_tenants=1&changes-since=x"))
        handle.write("2026-11-23 06:35:05.000 18225 DEBUG nova.api something %s\n" % OBSERVER)
    calls, kinds = counter.count()
    assert calls == 3
    assert kinds == {"GET /v2.1/servers/{id}": 2, "GET /v2.1/servers/detail": 1}


def test_a_missing_log_counts_from_its_start(tmp_path):
    counter = bench_observers.NovaLogCounter(tmp_path / "nova-api.log", OBSERVER)
    counter.start()
    (tmp_path / "nova-api.log").write_text(line(OBSERVER, "GET /v2.1/os-migrations"))
    assert counter.count() == (1, {"GET /v2.1/os-migrations": 1})


def test_methods_plan_alternates_every_way_each_round():
    import bench_evacuate

    args = bench_evacuate.parse_args(["--plan", "methods", "--repeats", "3"])
    args.concurrency = 8
    plan = bench_evacuate.build_plan(args)
    one_round = [("horizon", 1), ("bare", 8), ("bare", 1), ("panel", None)]
    assert plan == one_round * 3  # Horizon's loop 3 times too, not once


def test_best_fixed_way_is_the_fastest_median():
    import bench_evacuate

    rows = ([{"method": "horizon", "concurrency": 1, "done": d} for d in (14.0, 15.0, 30.0)]
            + [{"method": "bare", "concurrency": 8, "done": d} for d in (20.0, 21.0, 22.0)]
            + [{"method": "bare", "concurrency": 1, "done": d} for d in (19.0, 18.0, 40.0)]
            + [{"method": "panel", "concurrency": 8, "done": 99.0}])
    assert bench_evacuate.best_fixed(rows, 8) == ("Horizon's loop", 15.0)
    assert bench_evacuate.best_fixed([], 8) == (None, None)


def test_pacing_ab_runs_the_panel_paced_and_unpaced_every_round():
    import bench_evacuate

    args = bench_evacuate.parse_args(["--plan", "methods", "--repeats", "2", "--pacing-ab"])
    args.concurrency = 8
    one_round = [("horizon", 1), ("bare", 8), ("bare", 1), ("panel", None),
                 ("panel-paced", None)]
    assert bench_evacuate.build_plan(args) == one_round * 2


def test_pacing_ab_prints_both_panels_against_the_fastest_fixed_way(monkeypatch, capsys):
    import bench_evacuate

    args = bench_evacuate.parse_args(["--plan", "methods", "--pacing-ab"])
    args.concurrency = 8
    monkeypatch.setattr(bench_evacuate, "say", print)

    def row(method, done, concurrency=None):
        return {"run": 1, "method": method, "concurrency": concurrency, "done": done,
                "submitted": 1.0, "request": 0.2, "review": 0.1, "failed_count": 0,
                "polls": 1, "servers": 30}

    rows = ([row("bare", d, 1) for d in (20.0, 21.0, 22.0)]
            + [row("bare", d, 8) for d in (23.0, 24.0, 25.0)]
            + [row("panel", d, 8) for d in (24.0, 25.0, 26.0)]
            + [row("panel-paced", d, 8) for d in (19.0, 20.0, 21.0)])
    monkeypatch.setattr(bench_evacuate, "row_text", lambda r: "")
    bench_evacuate.report(args, rows, 60)
    out = capsys.readouterr().out
    assert "unpaced_done_seconds=25.00" in out
    assert "paced_done_seconds=20.00" in out
    assert "paced_done_vs_best_ratio=0.952" in out
    assert "paced_vs_unpaced_ratio=0.800" in out


def test_the_dev_site_takes_pacing_from_the_environment():
    import subprocess
    import sys

    code = ("import django; django.setup(); from evac_dashboard import conf; "
            "print(conf.pacing())")
    answers = {}
    for value in ("0", "1"):
        env = dict(__import__("os").environ, EVAC_PACING=value,
                   DJANGO_SETTINGS_MODULE="evac_dashboard.devsite.settings")
        answers[value] = subprocess.run([sys.executable, "-c", code], env=env,
                                        capture_output=True, text=True,
                                        timeout=120).stdout.split()[-1]
    assert answers == {"0": "False", "1": "True"}


def test_ab_env_runs_a_second_panel_with_those_settings_and_compares_it(monkeypatch, capsys):
    import bench_evacuate

    args = bench_evacuate.parse_args(["--plan", "methods", "--repeats", "2", "--no-bare",
                                      "--no-horizon", "--ab-env",
                                      "EVAC_PACING_CHECK_SECONDS=0.5"])
    args.concurrency = 8
    assert bench_evacuate.build_plan(args) == [("panel", None), ("panel-variant", None)] * 2
    assert bench_evacuate.panel_settings(args, "panel") == {}
    assert bench_evacuate.panel_settings(args, "panel-variant") == {
        "EVAC_PACING_CHECK_SECONDS": "0.5"}
    monkeypatch.setattr(bench_evacuate, "say", print)
    monkeypatch.setattr(bench_evacuate, "row_text", lambda r: "")
    rows = [{"run": 1, "method": m, "concurrency": 8, "done": d, "submitted": 1.0,
             "request": 0.2, "review": 0.1, "failed_count": 0, "polls": 1, "servers": 30}
            for m, d in (("panel", 20.0), ("panel-variant", 18.0))]
    bench_evacuate.report(args, rows, 60)
    out = capsys.readouterr().out
    assert "variant_done_seconds=18.00" in out and "variant_vs_panel_ratio=0.900" in out


def test_the_dev_site_takes_the_pacing_numbers_from_the_environment():
    import subprocess
    import sys

    code = ("import django; django.setup(); from evac_dashboard import conf; "
            "print(conf.pacing_check_seconds(), conf.pacing_window())")
    env = dict(__import__("os").environ, EVAC_PACING_CHECK_SECONDS="0.25",
               EVAC_PACING_START_WINDOW="6", DJANGO_SETTINGS_MODULE="evac_dashboard.devsite.settings")
    answer = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120).stdout.strip().splitlines()[-1]
    assert answer == "0.25 (2, 6, 16)"
