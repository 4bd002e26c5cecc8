import pytest

from evac_dashboard.rules.priority import (
    invalid_priorities, restart_priority, submission_order)

from tests.unit.factories import rule_server as server


def with_priority(name, value):
    return server(name, metadata={"evac:restart_priority": value})


@pytest.mark.parametrize("raw, value", [("10", 10), (" 3 ", 3), ("-2", -2), ("+4", 4), (7, 7)])
def test_valid_priorities(raw, value):
    priority = restart_priority(with_priority("a", raw))
    assert (priority.value, priority.valid, priority.problem) == (value, True, None)


def test_missing_priority_is_zero_and_valid():
    priority = restart_priority(server("a"))
    assert (priority.value, priority.raw, priority.valid) == (0, None, True)


@pytest.mark.parametrize("raw", ["high", "1.5", "", "1e3", True])
def test_invalid_priorities_count_as_zero_and_are_flagged(raw):
    priority = restart_priority(with_priority("a", raw))
    assert (priority.value, priority.valid) == (0, False)
    assert "not an integer" in priority.problem


def test_submission_order_priority_desc_then_name():
    servers = [server("db"), with_priority("Web", "5"), with_priority("api", "5"),
               with_priority("batch", "-1"), server("cache"), with_priority("bad", "x")]
    assert [s["name"] for s in submission_order(servers)] == [
        "api", "Web", "bad", "cache", "db", "batch"]


def test_invalid_priorities_lists_the_offenders():
    servers = [with_priority("ok", "1"), with_priority("bad", "urgent"), server("none")]
    [(offender, priority)] = invalid_priorities(servers)
    assert offender["name"] == "bad" and priority.raw == "urgent"


@pytest.mark.parametrize("raw", ["2147483648", "-2147483649", "100000000000000000000",
                                 "9" * 400, 2 ** 31, 10 ** 20])
def test_a_tenant_number_beyond_the_database_column_is_invalid_not_used(raw):
    found = restart_priority(server("vm", metadata={"evac:restart_priority": raw}))
    assert (found.value, found.valid) == (0, False)
    assert len(found.problem) < 200  # a 400-digit value is shortened in the message


@pytest.mark.parametrize("raw,value", [("2147483647", 2 ** 31 - 1), ("-2147483648", -(2 ** 31))])
def test_the_column_limits_themselves_are_valid(raw, value):
    assert restart_priority(server("vm", metadata={"evac:restart_priority": raw})).value == value
