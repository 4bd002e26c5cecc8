"""Idempotent seed data: projects and users, flavors, a tiny image, servers on chosen hosts."""
import concurrent.futures
import os
import re
import time
import urllib.parse

from . import cloudjson, config, identity, rest
from .procs import CloudError, say

PRIORITY_KEY = "evac:restart_priority"
FLAVORS = (("m1.tiny", 1, 512, 1), ("m1.small", 1, 2048, 20), ("m1.medium", 2, 4096, 40))
IMAGE_NAME = "evac-tiny"
BOOT_TIMEOUT = 900


def _image_bytes():
    # A made-up 1 MiB "raw disk"; the fake virt driver never reads it.
    head = b"evac-dashboard local cloud fake disk image\n"
    return head + bytes(1024 * 1024 - len(head))


def ensure_flavors(s):
    have = {f["name"]: f for f in s.get("compute", "/flavors/detail?is_public=None")["flavors"]}
    out = {}
    for name, vcpus, ram, disk in FLAVORS:
        f = have.get(name) or s.post("compute", "/flavors", {"flavor": {
            "name": name, "vcpus": vcpus, "ram": ram, "disk": disk}})["flavor"]
        out[name] = f["id"]
    return out


def ensure_image(s):
    for img in s.get("image", "/v2/images?name=%s" % IMAGE_NAME)["images"]:
        if img["status"] == "active":
            return img["id"]
        s.delete("image", "/v2/images/%s" % img["id"])  # a half-created leftover
    img = s.post("image", "/v2/images", {"name": IMAGE_NAME, "disk_format": "raw",
                                         "container_format": "bare", "visibility": "public"})
    s.put("image", "/v2/images/%s/file" % img["id"], _image_bytes(), raw=True)
    return img["id"]


def default_plan(cloud, count):
    """``count`` servers alternating over the seed projects and the compute hosts."""
    hosts, plan = cloud.compute_hosts, []
    flavors = ("m1.tiny", "m1.small", "m1.tiny", "m1.medium")
    priorities = ("100", None, "50", "10", None, "1")
    for i in range(count):
        project = config.SEED_PROJECTS[i % len(config.SEED_PROJECTS)]
        name = "%s-vm-%02d" % (project, i // len(config.SEED_PROJECTS) + 1)
        plan.append({"name": name, "project": project, "host": hosts[i % len(hosts)],
                     "flavor": flavors[i % len(flavors)], "priority": priorities[i % len(priorities)]})
    return plan


def pinned_plan(cloud, host, count, prefix, project, flavor):
    """``count`` servers on one host (benchmarks); every third has a restart priority."""
    if host not in cloud.compute_hosts:
        raise CloudError("unknown host %r (hosts: %s)" % (host, ", ".join(cloud.compute_hosts)))
    return [{"name": "%s-%03d" % (prefix, k), "project": project, "host": host, "flavor": flavor,
             "priority": str((k % 5 + 1) * 10) if k % 3 == 0 else None}
            for k in range(1, count + 1)]


def _list_servers(s, names=None, query=""):
    """Servers of all projects (detail), optionally only those named in ``names``."""
    servers, marker = [], None
    while True:
        path = "/servers/detail?all_tenants=1&limit=1000" + query
        if marker:
            path += "&marker=" + marker
        page = s.get("compute", path)["servers"]
        servers += page
        if len(page) < 1000:
            break
        marker = page[-1]["id"]
    if names is not None:
        servers = [x for x in servers if x["name"] in names]
    return servers


def _name_query(names):
    """A Nova ``name`` regex filter matching the common prefix of ``names`` (cheap lists)."""
    prefix = os.path.commonprefix(sorted(names)) if names else ""
    return "&name=" + urllib.parse.quote("^" + re.escape(prefix)) if prefix else ""


def _boot(cloud, sessions, item, image_id, flavor_ids):
    body = {"name": item["name"], "imageRef": image_id, "flavorRef": flavor_ids[item["flavor"]],
            "networks": "none", "host": item["host"]}
    if item["priority"] is not None:
        body["metadata"] = {PRIORITY_KEY: item["priority"]}
    for attempt in range(3):
        try:
            return sessions[item["project"]].post("compute", "/servers", {"server": body})
        except rest.HTTPError as e:
            if e.status < 500 or attempt == 2:
                raise
            time.sleep(2)


def boot(cloud, plan, project_ids):
    admin = rest.Session(cloud)
    flavor_ids = ensure_flavors(admin)
    image_id = ensure_image(admin)
    names = {p["name"] for p in plan}
    existing = {x["name"] for x in _list_servers(admin, names, _name_query(names))}
    todo = [p for p in plan if p["name"] not in existing]
    sessions = {p: rest.Session(cloud, project=p) for p in {i["project"] for i in todo}}
    t0 = time.monotonic()
    if todo:
        say("booting %d server(s) (%d already exist)" % (len(todo), len(plan) - len(todo)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            for f in [pool.submit(_boot, cloud, sessions, i, image_id, flavor_ids) for i in todo]:
                f.result()
    else:
        say("all %d planned servers exist" % len(plan))
    servers = _wait_active(admin, names, {p["name"] for p in todo})
    return {"flavors": flavor_ids, "image": {"name": IMAGE_NAME, "id": image_id},
            "boot_seconds": round(time.monotonic() - t0, 1), "servers": servers,
            "project_ids": project_ids}


def _wait_active(s, names, new_names):
    """Wait until the servers booted now are ACTIVE; pre-existing ones are taken as they are.

    Polls only the servers still in BUILD (GET /servers/detail costs nova-api time per
    server returned, and nova-api shares the 2 cores with the computes doing the work).
    """
    t0, last = time.monotonic(), None
    query = _name_query(names)
    while new_names:
        building = _list_servers(s, new_names, query + "&status=BUILD")
        errors = _list_servers(s, new_names, query + "&status=ERROR")
        if errors:
            x = errors[0]
            raise CloudError("%d server(s) in ERROR, e.g. %s: %s" % (
                len(errors), x["name"], (x.get("fault") or {}).get("message", "?")))
        if not building:
            break
        msg = "%d/%d still building" % (len(building), len(new_names))
        if msg != last:
            say("  waiting for servers: %s (%.0f s)" % (msg, time.monotonic() - t0))
            last = msg
        if time.monotonic() - t0 > BOOT_TIMEOUT:
            raise CloudError("servers not ACTIVE after %d s: %s" % (BOOT_TIMEOUT, msg))
        time.sleep(3)
    servers = _list_servers(s, names, query)
    odd = [x for x in servers if x["name"] in new_names and x["status"] != "ACTIVE"]
    if odd:
        raise CloudError("new servers not ACTIVE: %s" % ", ".join(
            "%s %s" % (x["name"], x["status"]) for x in odd[:10]))
    return servers


def delete_all_servers(s, timeout=300, prefix=None):
    """Delete every server (or those named ``<prefix>-...``) and wait until they are gone."""
    def matching():
        if not prefix:
            return _list_servers(s)
        found = _list_servers(s, query="&name=" + urllib.parse.quote("^" + re.escape(prefix + "-")))
        return [x for x in found if x["name"].startswith(prefix + "-")]

    servers = matching()
    if not servers:
        say("  no servers to delete")
        return
    say("  deleting %d server(s)" % len(servers))
    for x in servers:
        try:
            s.delete("compute", "/servers/%s" % x["id"])
        except rest.HTTPError as e:
            if e.status != 404:
                raise
    t0 = time.monotonic()
    while matching():
        if time.monotonic() - t0 > timeout:
            raise CloudError("servers not deleted after %d s" % timeout)
        time.sleep(2.0)


def forget_server_sets(cloud, prefix=None):
    """Drop deleted server sets (``prefix``, or all) from cloud.json's seed section."""
    data = cloudjson.read(cloud) or {}
    seed_info = data.get("seed")
    if not seed_info:
        return
    sets = seed_info.get("server_sets") or {}
    if prefix is None:
        sets = {}
    else:
        sets.pop(prefix, None)
    seed_info["server_sets"] = sets
    cloudjson.write(cloud, seed_info)


def _summary(servers, project_names):
    rows = sorted(servers, key=lambda x: x["name"])
    out = []
    for x in rows:
        out.append({"name": x["name"], "id": x["id"],
                    "project": project_names.get(x["tenant_id"], x["tenant_id"]),
                    "host": x.get("OS-EXT-SRV-ATTR:host"), "status": x["status"],
                    "restart_priority": (x.get("metadata") or {}).get(PRIORITY_KEY)})
    return out


def seed(cloud, count=12, on=None, prefix=None, project="demo", flavor="m1.tiny"):
    t0 = time.monotonic()
    admin = rest.Session(cloud)
    project_ids = identity.seed_users(admin)
    say("projects %s; users %s (admin in both), %s (member in both)" % (
        ", ".join(sorted(project_ids)), config.ADMIN_USER, config.MEMBER_USER))
    if on:
        if project not in project_ids:
            raise CloudError("project must be one of %s" % ", ".join(project_ids))
        plan = pinned_plan(cloud, on, count, prefix or "bench", project, flavor)
    else:
        plan = default_plan(cloud, count)
    result = boot(cloud, plan, project_ids)
    names = {v: k for k, v in project_ids.items()}
    rows = _summary(result["servers"], names)
    say("%-12s %-6s %-6s %-7s %-8s %s" % ("server", "proj", "host", "status", "priority", "id"))
    for r in rows:
        say("%-12s %-6s %-6s %-7s %-8s %s" % (r["name"], r["project"], r["host"], r["status"],
                                              r["restart_priority"] or "-", r["id"]))
    say("flavors: %s; image %s (%s)" % (", ".join(sorted(result["flavors"])), IMAGE_NAME,
                                       result["image"]["id"]))
    old = (cloudjson.read(cloud) or {}).get("seed") or {}
    sets = dict(old.get("server_sets") or {})
    sets[(prefix or "bench") if on else "default"] = {
        "count": count, "host": on, "project": project if on else None,
        "servers": [{k: r[k] for k in ("name", "id", "project")} for r in rows]}
    seed_info = {"projects": project_ids, "flavors": result["flavors"], "image": result["image"],
                 "priority_metadata_key": PRIORITY_KEY, "server_sets": sets}
    cloudjson.write(cloud, seed_info)
    elapsed = time.monotonic() - t0
    say("seed done in %.1f s (%d servers ACTIVE)" % (elapsed, len(rows)))
    return elapsed
