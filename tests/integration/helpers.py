"""Small helpers the local-cloud tests share."""
import contextlib
import time


def wait_for(predicate, timeout, interval=2.0):
    """``predicate()``'s first truthy value within ``timeout`` seconds (else its last)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@contextlib.contextmanager
def seeded_host(local_cloud, servers, prefix):
    """The first compute host with ``servers`` servers named ``prefix-…`` booted on it; after
    the test the host is revived, the cloud reset and those servers deleted."""
    host = local_cloud.compute_hosts[0]
    local_cloud.tool("seed", "--on", host, "--servers", str(servers), "--prefix", prefix)
    try:
        yield host
    finally:
        local_cloud.tool("revive-host", host, "--wait-up", check=False)
        local_cloud.tool("reset", check=False)
        local_cloud.tool("delete-servers", "--prefix", prefix, check=False)
