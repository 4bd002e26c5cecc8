"""The deploy scenarios drive the bench's own functions: every option those read must be set."""
import re
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[3] / "tools"
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS / "deploy"))
import bench_evacuate  # noqa: E402
import scenarios  # noqa: E402


def test_the_scenarios_set_every_option_the_bench_reads():
    read = set(re.findall(r"\bargs\.(\w+)", (TOOLS / "bench_evacuate.py").read_text()))
    args = scenarios.bench_args(6)
    missing = sorted(name for name in read if not hasattr(args, name))
    assert not missing, missing
    assert (args.source, args.prefix, args.servers) == (scenarios.SOURCE, scenarios.PREFIX, 6)


def test_the_scenarios_wait_less_for_a_quiet_machine_than_a_benchmark():
    assert scenarios.bench_args(6).quiet_timeout < bench_evacuate.parse_args([]).quiet_timeout
