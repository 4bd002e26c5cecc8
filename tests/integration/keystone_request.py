"""A stand-in for a Horizon request carrying a real Keystone token and catalog.

The API layer reads only ``request.user.token.id``, ``service_catalog`` and
``services_region``; this builds them from a keystoneauth1 session so the API layer can be
driven against the local cloud without a web server.
"""
from types import SimpleNamespace


def keystone_request(session, region):
    access = session.auth.get_access(session)
    user = SimpleNamespace(
        token=SimpleNamespace(id=access.auth_token, expires=access.expires),
        service_catalog=access.service_catalog.catalog,
        services_region=region, id=access.user_id, username=access.username,
        tenant_id=access.project_id, project_id=access.project_id,
        project_name=access.project_name)
    return SimpleNamespace(user=user)
