"""Readers for Nova server dicts (``GET /servers/detail`` JSON).

Keeps the extension-prefixed key names and their fallbacks in one place.
"""

VM_STATE = "OS-EXT-STS:vm_state"
TASK_STATE = "OS-EXT-STS:task_state"
HOST = "OS-EXT-SRV-ATTR:host"
# The usage extension key is the one Nova returns; the other is accepted for callers that
# copied launched_at next to the other extended attributes.
LAUNCHED_AT_KEYS = ("OS-SRV-USG:launched_at", "OS-EXT-SRV-ATTR:launched_at")

# The vm_states Nova accepts for evacuate (compute/api.py check_instance_state).
EVACUABLE_VM_STATES = ("active", "stopped", "error")

# task_states of an evacuation (a rebuild with recreate=True), in the order Nova sets them.
REBUILD_TASK_STATES = ("rebuilding", "rebuild_block_device_mapping", "rebuild_spawning")

# Used only when the caller cannot see OS-EXT-STS:vm_state (non-admin policy).
_STATUS_TO_VM_STATE = {
    "ACTIVE": "active",
    "SHUTOFF": "stopped",
    "ERROR": "error",
    "PAUSED": "paused",
    "SUSPENDED": "suspended",
    "RESCUE": "rescued",
    "VERIFY_RESIZE": "resized",
    "SHELVED": "shelved",
    "SHELVED_OFFLOADED": "shelved_offloaded",
    "BUILD": "building",
    "SOFT_DELETED": "soft-delete",
    "DELETED": "deleted",
}


def label(server):
    """The server's name, or its ID when it has no name."""
    return server.get("name") or server.get("id") or "?"


def host(server):
    return server.get(HOST)


def status(server):
    return (server.get("status") or "").upper()


def vm_state(server):
    """``OS-EXT-STS:vm_state``, else guessed from ``status`` (None when unknown, e.g. REBUILD)."""
    value = server.get(VM_STATE)
    if value:
        return value
    return _STATUS_TO_VM_STATE.get(status(server))


def task_state(server):
    return server.get(TASK_STATE) or None


def has_launched(server):
    """True/False from ``launched_at``; None when no launched_at key is present at all."""
    present = [key for key in LAUNCHED_AT_KEYS if key in server]
    if not present:
        return None
    return any(server.get(key) for key in present)


def is_volume_backed(server):
    """Boot-from-volume servers show ``image`` as "" (or no image at all)."""
    image = server.get("image")
    if isinstance(image, dict):
        return not image.get("id")
    return not image


def is_rebuilding(server):
    """Status REBUILD or a rebuild task_state: an evacuation or rebuild is under way."""
    return status(server) == "REBUILD" or task_state(server) in REBUILD_TASK_STATES


def fault(server):
    """The instance fault dict (Nova only shows it for ERROR/DELETED servers), or None."""
    value = server.get("fault")
    return value if isinstance(value, dict) and value else None


def metadata(server):
    value = server.get("metadata")
    return value if isinstance(value, dict) else {}
