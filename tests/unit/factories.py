"""Nova-shaped JSON for tests: services, hypervisors, servers, migrations, instance actions.

Two families, one builder each:

* ``service``, ``hypervisor``, ``server``, ``servers_on``, ``migration``, ``action``: what the
  fake Novas of ``tests.unit.fakes`` serve (ids derived from the name, stamps near now);
* ``rule_service``, ``rule_server``, ``rule_migration``: fixed ids and stamps for the pure rules
  tests (``tests.unit.rules``), which import them under the short names.
"""
import datetime
import itertools
import uuid

from evac_dashboard.store import batches

SOURCE = "cmp1"

# Who starts the batches the tests create.
ADMIN = batches.Initiator("u-1", "admin", "p-1", "admin-project")

_migration_ids = itertools.count(1)


def nova_time(when=None):
    """A Nova timestamp (naive UTC, microseconds) of ``when`` (an aware datetime; now)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat(
        timespec="microseconds")


def stamp(seconds_ago=0):
    """A Nova timestamp (naive UTC) ``seconds_ago`` before the real now."""
    return nova_time(datetime.datetime.now(datetime.timezone.utc)
                     - datetime.timedelta(seconds=seconds_ago))


# --- services ------------------------------------------------------------------------

def service(host, state="up", status="enabled", forced_down=False, reason=None,
            seconds_ago=3, zone="nova", id=None, updated_at=None):
    return {"id": id or str(uuid.uuid5(uuid.NAMESPACE_DNS, "svc-" + host)),
            "binary": "nova-compute", "host": host, "zone": zone, "status": status,
            "state": state, "updated_at": updated_at or stamp(seconds_ago),
            "disabled_reason": reason, "forced_down": forced_down}


def rule_service(host, state="up", status="enabled", forced_down=False,
                 updated_at="2026-11-23T03:05:00.000000", disabled_reason=None):
    return service(host, state, status, forced_down, reason=disabled_reason,
                   id="svc-" + host, updated_at=updated_at)


# --- hypervisors ---------------------------------------------------------------------

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


# --- servers -------------------------------------------------------------------------

def server(name, host, project="p1", status="ACTIVE", task_state=None, volume_backed=False,
           metadata=None, vm_state=None, vcpus=1, ram=512, id=None, image=None,
           launched_at="2026-11-20T10:00:00.000000", flavor=None, fault=None):
    data = {"id": id or str(uuid.uuid5(uuid.NAMESPACE_DNS, "srv-" + name)), "name": name,
            "status": status, "tenant_id": project,
            "OS-EXT-STS:vm_state": vm_state or {"ACTIVE": "active", "SHUTOFF": "stopped",
                                                "ERROR": "error"}.get(status, "active"),
            "OS-EXT-STS:task_state": task_state, "OS-EXT-SRV-ATTR:host": host,
            "OS-SRV-USG:launched_at": launched_at,
            "image": image if image is not None else (
                "" if volume_backed else {"id": "img-1", "links": []}),
            "flavor": flavor or {"original_name": "m1.small", "vcpus": vcpus, "ram": ram,
                                 "disk": 10},
            "metadata": metadata or {}}
    if fault is not None:
        data["fault"] = fault
    return data


def servers_on(host, count, prefix="vm", **kwargs):
    return [server("%s-%s%03d" % (host, prefix, i), host, **kwargs) for i in range(count)]


def rule_server(name="vm1", id=None, status="ACTIVE", vm_state="active", task_state=None,
                host=SOURCE, image=None, launched_at="2026-11-20T10:00:00.000000",
                metadata=None, fault=None):
    return server(name, host, project="project-1", status=status, task_state=task_state,
                  metadata=metadata, vm_state=vm_state, id=id or "uuid-" + name,
                  image=image, launched_at=launched_at, fault=fault,
                  flavor={"vcpus": 2, "ram": 2048, "disk": 20, "ephemeral": 0, "swap": 0})


# --- migrations and instance actions -------------------------------------------------

def migration(instance_id, source=SOURCE, created_at=None, status="done", dest="cmp2",
              created=None, user_id=None, project_id=None, id=None, uuid_=None):
    """An evacuation record as ``GET /os-migrations`` answers; ``created_at`` a Nova stamp or
    ``created`` a datetime (default: now). ``user_id`` adds who asked (from 2.80)."""
    when = created_at or nova_time(created)
    item = {"id": next(_migration_ids) if id is None else id,
            "uuid": uuid_ or str(uuid.uuid4()), "instance_uuid": instance_id,
            "migration_type": "evacuation", "status": status, "source_compute": source,
            "dest_compute": dest, "created_at": when, "updated_at": when}
    if user_id:
        item.update(user_id=user_id, project_id=project_id or "proj-ops")
    return item


def rule_migration(status, instance_uuid="uuid-vm1", source=SOURCE, dest="cmp2",
                   created_at="2026-11-23T03:10:00.000000"):
    return migration(instance_uuid, source, created_at, status, dest, id=7,
                     uuid_="mig-" + status)


def action(instance_id, request_id=None, user_id="cli-user", created=None,
           project_id="proj-ops"):
    """An ``evacuate`` instance action as ``GET /servers/{id}/os-instance-actions`` lists it."""
    when = nova_time(created)
    return {"action": "evacuate", "instance_uuid": instance_id,
            "request_id": request_id or "req-" + str(uuid.uuid4()), "user_id": user_id,
            "project_id": project_id, "start_time": when, "updated_at": when,
            "message": None}
