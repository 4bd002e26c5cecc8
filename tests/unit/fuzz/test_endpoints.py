"""Property-based requests to every URL of the plugin (``endpoints.ENDPOINTS``), as admin,
member and anonymous, checked by ``oracle``: one test per URL, so a failure names it."""
import os

from hypothesis import given

from tests.unit.fuzz import cloud
from tests.unit.fuzz import endpoints
from tests.unit.fuzz import traffic

EXAMPLES = int(os.environ.get("EVAC_FUZZ_EXAMPLES", "110"))
FUZZ = cloud.fuzz_settings(EXAMPLES)


def _test_for(endpoint):
    @FUZZ
    @given(drawn=traffic.request_for(endpoint))
    def test(self, drawn):
        self.send(traffic.Resolver(self).request(drawn))
    test.__name__ = "test_" + endpoint.name.replace(":", "__")
    test.__doc__ = "Fuzzed requests to %s." % endpoint.name
    return test


class EndpointFuzzTests(cloud.FuzzCase):
    pass


for _endpoint in endpoints.ENDPOINTS:
    _test = _test_for(_endpoint)
    setattr(EndpointFuzzTests, _test.__name__, _test)
