"""Nova-shaped JSON for tests: services, hypervisors, servers."""
import datetime
import uuid

def stamp(seconds_ago=0):
    """A Nova timestamp (naive UTC) ``seconds_ago`` before the real now."""
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return when.replace(tzinfo=None).isoformat(timespec="microseconds")


def service(host, state="up", status="enabled", forced_down=False, reason=None,
            seconds_ago=3, zone="nova"):
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, "svc-" + host)), "binary": "nova-compute",
            "host": host, "zone": zone, "status": status, "state": state,
            "updated_at": stamp(seconds_ago), "disabled_reason": reason,
            "forced_down": forced_down}


def hypervisor(host, servers=0, node=None, vcpus=32, vcpus_used=None, memory_mb=131072,
               memory_mb_used=None, with_usage=True):
    item = {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, "hv-" + (node or host))),
            "hypervisor_hostname": node or host + ".example.org",
            "state": "up", "status": "enabled",
            "service": {"host": host, "id": "x", "disabled_reason": None},
            "servers": [{"name": "vm%d" % i, "uuid": str(uuid.uuid4())} for i in range(servers)]}
    if with_usage:
        item.update(vcpus=vcpus, vcpus_used=servers if vcpus_used is None else vcpus_used,
                    memory_mb=memory_mb,
                    memory_mb_used=512 * servers if memory_mb_used is None else memory_mb_used)
    return item


def server(name, host, project="p1", status="ACTIVE", task_state=None, volume_backed=False,
           metadata=None, vm_state=None, vcpus=1, ram=512):
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, "srv-" + name)), "name": name,
            "status": status, "tenant_id": project,
            "OS-EXT-STS:vm_state": vm_state or {"ACTIVE": "active", "SHUTOFF": "stopped",
                                                "ERROR": "error"}.get(status, "active"),
            "OS-EXT-STS:task_state": task_state, "OS-EXT-SRV-ATTR:host": host,
            "OS-SRV-USG:launched_at": "2026-11-20T10:00:00.000000",
            "image": "" if volume_backed else {"id": "img-1", "links": []},
            "flavor": {"original_name": "m1.small", "vcpus": vcpus, "ram": ram, "disk": 10},
            "metadata": metadata or {}}
