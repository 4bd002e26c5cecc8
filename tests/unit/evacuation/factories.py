"""Nova-shaped dicts for the evacuation tests (as GET /servers/detail and /os-services return)."""

SOURCE = "cmp1"


def server(name="vm1", id=None, status="ACTIVE", vm_state="active", task_state=None,
           host=SOURCE, image=None, launched_at="2026-11-20T10:00:00.000000", metadata=None,
           fault=None):
    data = {
        "id": id or "uuid-" + name,
        "name": name,
        "status": status,
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:task_state": task_state,
        "OS-EXT-SRV-ATTR:host": host,
        "OS-SRV-USG:launched_at": launched_at,
        "image": {"id": "img-1", "links": []} if image is None else image,
        "flavor": {"vcpus": 2, "ram": 2048, "disk": 20, "ephemeral": 0, "swap": 0},
        "metadata": metadata or {},
        "tenant_id": "project-1",
    }
    if fault is not None:
        data["fault"] = fault
    return data


def service(host, state="up", status="enabled", forced_down=False,
            updated_at="2026-11-23T03:05:00.000000", disabled_reason=None):
    return {"id": "svc-" + host, "binary": "nova-compute", "host": host, "zone": "nova",
            "state": state, "status": status, "forced_down": forced_down,
            "updated_at": updated_at, "disabled_reason": disabled_reason}


def migration(status, instance_uuid="uuid-vm1", source=SOURCE, dest="cmp2",
              created_at="2026-11-23T03:10:00.000000"):
    return {"id": 7, "uuid": "mig-" + status, "instance_uuid": instance_uuid,
            "migration_type": "evacuation", "status": status, "source_compute": source,
            "dest_compute": dest, "created_at": created_at, "updated_at": created_at}
