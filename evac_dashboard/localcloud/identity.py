"""Keystone: bootstrap (keystone-manage), service users, catalog, seed projects and users."""
from . import config, procs


def bootstrap(cloud):
    """db_sync, fernet/credential keys and ``bootstrap`` (admin user, RegionOne, identity
    endpoints). Needs no running keystone."""
    if cloud.done("keystone-bootstrap"):
        return
    env = procs.child_env(cloud)
    conf = str(cloud.etc / "keystone" / "keystone.conf")
    km = [cloud.venv_bin("keystone-manage"), "--config-file", conf]
    log = cloud.logs / "setup-keystone.log"
    for d in ("fernet-keys", "credential-keys"):
        cloud.path("keystone", d).mkdir(parents=True, exist_ok=True, mode=0o700)
    procs.run(km + ["db_sync"], log, env, "keystone-manage db_sync")
    procs.run(km + ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"],
              log, env, "keystone-manage fernet_setup")
    procs.run(km + ["credential_setup", "--keystone-user", "root", "--keystone-group", "root"],
              log, env, "keystone-manage credential_setup")
    url = cloud.url("keystone", "/v3")
    procs.run(km + ["bootstrap", "--bootstrap-password", config.ADMIN_PASSWORD,
                    "--bootstrap-username", config.ADMIN_USER,
                    "--bootstrap-project-name", config.ADMIN_PROJECT,
                    "--bootstrap-admin-url", url, "--bootstrap-internal-url", url,
                    "--bootstrap-public-url", url, "--bootstrap-region-id", config.REGION],
              log, env, "keystone-manage bootstrap")
    cloud.mark_done("keystone-bootstrap")


class Identity:
    """Idempotent helpers over the Keystone v3 API (admin session)."""

    def __init__(self, session):
        self.s = session

    def _find(self, collection, name, **filters):
        query = "name=%s" % name + "".join("&%s=%s" % kv for kv in filters.items())
        items = self.s.get("identity", "/%s?%s" % (collection, query))[collection]
        return items[0] if items else None

    def role(self, name):
        found = self._find("roles", name)
        return found or self.s.post("identity", "/roles", {"role": {"name": name}})["role"]

    def project(self, name, description=""):
        found = self._find("projects", name)
        if found:
            return found
        return self.s.post("identity", "/projects", {"project": {
            "name": name, "domain_id": "default", "description": description}})["project"]

    def user(self, name, password, default_project=None):
        found = self._find("users", name)
        body = {"name": name, "password": password, "domain_id": "default", "enabled": True}
        if default_project:
            body["default_project_id"] = default_project["id"]
        if found:
            # keep the documented password even if someone changed it
            self.s.call("identity", "PATCH", "/users/%s" % found["id"],
                        {"user": {"password": password, "enabled": True}})
            return found
        return self.s.post("identity", "/users", {"user": body})["user"]

    def grant(self, project, user, role):
        self.s.put("identity", "/projects/%s/users/%s/roles/%s"
                   % (project["id"], user["id"], role["id"]))

    def service(self, stype, name):
        for svc in self.s.get("identity", "/services?type=%s" % stype)["services"]:
            if svc.get("name") == name:
                return svc
        return self.s.post("identity", "/services", {"service": {
            "type": stype, "name": name, "enabled": True}})["service"]

    def endpoints(self, service, url):
        existing = self.s.get("identity", "/endpoints?service_id=%s" % service["id"])["endpoints"]
        have = {e["interface"]: e for e in existing}
        for interface in ("public", "internal", "admin"):
            ep = have.get(interface)
            if ep and ep["url"] == url:
                continue
            if ep:
                self.s.call("identity", "PATCH", "/endpoints/%s" % ep["id"],
                            {"endpoint": {"url": url}})
            else:
                self.s.post("identity", "/endpoints", {"endpoint": {
                    "service_id": service["id"], "interface": interface, "url": url,
                    "region_id": config.REGION}})


CATALOG = (("compute", "nova"), ("placement", "placement"), ("image", "glance"),
           ("network", "neutron"))


def register_services(cloud, session):
    """Service project/users (admin + service roles) and catalog entries (idempotent)."""
    idm = Identity(session)
    project = idm.project("service", "OpenStack service users")
    admin, service_role = idm.role("admin"), idm.role("service")
    for name in config.SERVICE_USERS:
        user = idm.user(name, config.SERVICE_PASSWORD)
        idm.grant(project, user, admin)
        idm.grant(project, user, service_role)
    urls = cloud.endpoints()
    for stype, name in CATALOG:
        idm.endpoints(idm.service(stype, name), urls[stype])


def seed_users(session):
    """Projects ``demo`` and ``ops``; admin has ``admin`` there, the member user ``member``.
    Returns {project name: id}."""
    idm = Identity(session)
    admin_role, member_role = idm.role("admin"), idm.role("member")
    admin = idm._find("users", config.ADMIN_USER)
    projects = [idm.project(n, "evac-dashboard local cloud seed project") for n in config.SEED_PROJECTS]
    member = idm.user(config.MEMBER_USER, config.MEMBER_PASSWORD, default_project=projects[0])
    for p in projects:
        idm.grant(p, admin, admin_role)
        idm.grant(p, member, member_role)
    return {p["name"]: p["id"] for p in projects}
