"""The sending lease on a real memcached (tooz's memcached driver, as production Horizon
with its cache on memcached uses it): taken for real, never "degraded" by a driver that
refuses an argument, seen as held by others, free once it expires."""
import shutil
import socket
import subprocess
import time

import pytest

from evac_dashboard.operations import leases

pytestmark = pytest.mark.skipif(shutil.which("memcached") is None,
                                reason="memcached is installed by tools/system-packages.sh")


@pytest.fixture
def memcached(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0",
                                "-u", "nobody", "-m", "16"])
    for _ in range(50):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    settings.EVAC_COORDINATION_URL = "memcached://127.0.0.1:%d?timeout=2" % port
    leases.forget()
    yield port
    leases.forget()
    process.terminate()
    process.wait(10)


def test_the_lease_is_really_taken_and_others_see_it_held(memcached):
    lease = leases.Lease("batch-1")
    assert lease.acquire()
    assert not lease.degraded  # a refused acquire() would send without a lease
    assert lease.still_held()
    assert leases.state_of("batch-1") == leases.HELD
    lease.release()
    assert leases.state_of("batch-1") == leases.FREE


def test_a_dead_holder_s_lease_expires(memcached):
    lease = leases.Lease("batch-2")
    assert lease.acquire() and not lease.degraded
    # The process dies: no heartbeat refreshes the lock any more.
    dead = leases._coordinator
    dead._acquired_locks.clear()
    leases._coordinator = None
    try:
        time.sleep(3.5)
        assert leases.state_of("batch-2") == leases.FREE
    finally:
        dead.stop()  # its heartbeat thread, which would outlive memcached
