"""The microversion feature table and negotiation rules."""
import pytest

from evac_dashboard.rules import microversions as mv


@pytest.mark.parametrize("feature, version, expected", [
    ("evacuate_shared_storage_flag", "2.1", True),
    ("evacuate_shared_storage_flag", "2.13", True),
    ("evacuate_shared_storage_flag", "2.14", False),
    ("evacuate_returns_password", "2.13", True),
    ("evacuate_returns_password", "2.14", False),
    ("service_force_down", "2.10", False),
    ("service_force_down", "2.11", True),
    ("evacuate_force", "2.28", False),
    ("evacuate_force", "2.29", True),
    ("evacuate_force", "2.67", True),
    ("evacuate_force", "2.68", False),
    ("service_uuid_ids", "2.52", False),
    ("service_uuid_ids", "2.53", True),
    ("migration_paging", "2.58", False),
    ("migration_paging", "2.59", True),
    ("hypervisor_usage_fields", "2.87", True),
    ("hypervisor_usage_fields", "2.88", False),
    ("evacuate_leaves_stopped", "2.94", False),
    ("evacuate_leaves_stopped", "2.95", True),
    ("evacuate_leaves_stopped", "2.96", True),
])
def test_feature_ranges(feature, version, expected):
    assert mv.supports(feature, version) is expected


def test_unknown_feature_is_an_error():
    with pytest.raises(KeyError):
        mv.supports("teleport", "2.1")


def test_parse_orders_numerically_not_as_text():
    assert mv.parse("2.100") > mv.parse("2.96") > mv.parse("2.9")
    with pytest.raises(ValueError):
        mv.parse("latest")


def test_negotiate_takes_lowest_ceiling():
    assert mv.negotiate("2.1", "2.100", "2.96") == (2, 96)
    assert mv.negotiate("2.1", "2.60", "2.96") == (2, 60)
    # A client newer than this code knows still stops at what the code understands.
    assert mv.negotiate("2.1", "2.120", "2.110") == mv.KNOWN_MAXIMUM


def test_negotiate_override_lower_is_honoured_and_outside_range_refused():
    assert mv.negotiate("2.1", "2.100", "2.96", override="2.53") == (2, 53)
    with pytest.raises(ValueError, match="outside"):
        mv.negotiate("2.1", "2.60", "2.96", override="2.70")
    with pytest.raises(ValueError, match="outside"):
        mv.negotiate("2.20", "2.60", "2.96", override="2.1")


def test_best_version_for_hypervisor_usage_with_servers():
    wanted = ("hypervisor_with_servers", "hypervisor_usage_fields")
    assert mv.best_version((2, 96), wanted) == (2, 87)
    assert mv.best_version((2, 60), wanted) == (2, 60)
    assert mv.best_version((2, 40), wanted) is None  # with_servers needs 2.53

