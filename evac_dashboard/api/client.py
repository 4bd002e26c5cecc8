"""One place that builds python-novaclient clients for a Horizon request.

Clients are built from the user's Keystone token and the service catalog, like Horizon's
own ``openstack_dashboard.api.nova``. Two differences that matter for evacuation:

* The microversion is negotiated with the cloud (highest that the cloud, novaclient and
  ``microversions.KNOWN_MAXIMUM`` allow, or the ``EVAC_NOVA_MICROVERSION`` setting) and the
  answer is cached per endpoint for ``EVAC_VERSION_CACHE_SECONDS``, so a page render does
  not pay a version discovery round trip each time.
* Reads retry a failed connection (``EVAC_NOVA_CONNECT_RETRIES``); writes never do, since
  retrying a POST such as evacuate could submit it twice.
"""
import threading
import time

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
import novaclient as novaclient_package
from novaclient import client as nova_client
from novaclient import exceptions as nova_exceptions

from horizon.utils import memoized
from openstack_dashboard.api import base

from evac_dashboard import conf
from evac_dashboard.rules import microversions




class ConfigurationError(nova_exceptions.ClientException):
    """The dashboard's settings do not fit the cloud (e.g. an impossible microversion).

    A novaclient exception so Horizon's error handling shows it as a message, not a 500.
    """

    def __init__(self, message):
        super().__init__(code=0, message=message)


_version_cache = {}
_version_lock = threading.Lock()


def compute_endpoint(request):
    return base.url_for(request, "compute")


def _verify():
    if conf.value("OPENSTACK_SSL_NO_VERIFY", False):
        return False
    return conf.value("OPENSTACK_SSL_CACERT", None) or True


@memoized.memoized
def _cached_client(token_id, endpoint, version, verify, connect_retries, timeout):
    session = ks_session.Session(
        auth=token_endpoint.Token(endpoint, token_id), verify=verify, timeout=timeout)
    client = nova_client.Client(version, session=session, endpoint_override=endpoint)
    client.client.connect_retries = connect_retries
    return client


def novaclient(request, version=None, write=False):
    """A novaclient for this request's token at ``version`` (default: negotiated)."""
    if version is None:
        version = negotiated_version(request)
    retries = 0 if write else conf.nova_connect_retries()
    return _cached_client(request.user.token.id, compute_endpoint(request),
                          microversions.to_string(version), _verify(), retries,
                          conf.nova_timeout())


def server_version_range(request):
    """(minimum, maximum) compute microversions of the cloud, cached per endpoint."""
    endpoint = compute_endpoint(request)
    ttl = conf.version_cache_seconds()
    now = time.monotonic()
    with _version_lock:
        cached = _version_cache.get(endpoint)
        if cached and cached[0] > now:
            return cached[1]
    current = novaclient(request, version=(2, 1)).versions.get_current()
    if current is None or not getattr(current, "version", None):
        found = ((2, 1), (2, 1))
    else:
        found = (microversions.parse(current.min_version), microversions.parse(current.version))
    with _version_lock:
        _version_cache[endpoint] = (now + ttl, found)
    return found


def forget_versions():
    """Drop cached version ranges (tests, or after a cloud upgrade)."""
    with _version_lock:
        _version_cache.clear()


def negotiated_version(request):
    """The compute microversion this dashboard uses with the request's cloud."""
    minimum, maximum = server_version_range(request)
    try:
        return microversions.negotiate(minimum, maximum, novaclient_max_version(),
                                       conf.nova_microversion())
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def novaclient_max_version():
    return microversions.parse(novaclient_package.API_MAX_VERSION)
