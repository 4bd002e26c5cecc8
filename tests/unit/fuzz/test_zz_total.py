"""Last of the fuzz suite (files run in name order): the run made at least MINIMUM requests.

Only asserted when every fuzz test of the suite was selected, at the default sizes
(``EVAC_FUZZ_EXAMPLES``, ``EVAC_FUZZ_WORLDS``); otherwise the count is only reported.
"""
import os

import pytest

from tests.unit.fuzz import oracle

MINIMUM = 2000
FUZZ_FILES = ("test_endpoints.py", "test_nova_data.py")


def test_the_run_made_enough_requests(request, record_property):
    total = oracle.total_requests()
    record_property("fuzz_requests", total)
    print("fuzz_requests=%d" % total)
    selected = [item for item in request.session.items
                if item.path.name in FUZZ_FILES and item.path.parent == request.path.parent]
    resized = any(name in os.environ for name in ("EVAC_FUZZ_EXAMPLES", "EVAC_FUZZ_WORLDS"))
    from tests.unit.fuzz import test_endpoints, test_nova_data
    expected = (len([n for n in dir(test_endpoints.EndpointFuzzTests) if n.startswith("test_")])
                + len([n for n in dir(test_nova_data.HostileNovaTests)
                       if n.startswith("test_")]))
    if resized or len(selected) < expected:
        pytest.skip("fuzz_requests=%d (%d of %d fuzz tests selected%s)" % (
            total, len(selected), expected, ", sizes changed" if resized else ""))
    assert total >= MINIMUM, "fuzz_requests=%d, fewer than %d" % (total, MINIMUM)
