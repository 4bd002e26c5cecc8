"""Nova times at the calendar's edge and absurd Placement inventories: unknown, never raised."""
import math
import unittest

from evac_dashboard.rules import capacity
from evac_dashboard.rules import services


class EdgeValueTests(unittest.TestCase):
    def test_a_time_before_year_1_in_utc_is_unknown(self):
        self.assertIsNone(services.parse_time("0001-01-01T00:00:00+05:00"))

    def test_a_heartbeat_at_the_end_of_year_9999_is_unknown(self):
        self.assertIsNone(services.looks_down_by({"updated_at": "9999-12-31T23:59:59"}))

    def test_non_finite_allocation_ratios_leave_no_capacity(self):
        for ratio in (1e308, math.inf, math.nan):
            inventories = {"VCPU": {"total": 8, "allocation_ratio": ratio}}
            self.assertEqual({"VCPU": 0}, capacity.free_capacity(inventories, {}))
