"""The servers of a batch, kept current with small ``changes-since`` reads.

Why: on a busy nova-api, ``GET /servers/detail?all_tenants=1&changes-since=<batch start>``
costs about a second once a host's worth of servers has changed (``make bench``, 100
servers), and every poll of the progress page paid it again although only the servers that
moved in the last few seconds are news. So a poll asks only for servers changed since the
newest ``updated`` it has seen, minus an overlap, and merges the answer into what it knew.

The watermark is taken on Nova's clock (the servers' own ``updated``), never on ours, so
clock skew between the dashboard and Nova does not lose changes. The overlap covers a
change whose ``updated_at`` was stamped before the newest one we saw but committed after
our read (several conductors, each with its own clock and transactions). A full read
(``changes-since`` the batch start) replaces the merged view when there is none, and
every ``full_read_seconds`` in case something slipped past both.

Servers absent from every answer have not changed since the batch began, exactly as with a
full read. Plain Python: no Django, no HTTP.
"""
from dataclasses import dataclass
from dataclasses import field
import datetime

from evac_dashboard.rules import services as svc

# Servers changed this long before the newest ``updated`` seen are asked for again.
DEFAULT_OVERLAP = datetime.timedelta(seconds=10)
# A merged view older than this (since its last full read) is replaced by a full read.
DEFAULT_FULL_READ_SECONDS = 120


def newest_update(servers):
    """The latest ``updated`` among ``servers`` (aware UTC), or None."""
    stamps = [svc.parse_time(server.get("updated")) for server in servers]
    stamps = [stamp for stamp in stamps if stamp is not None]
    return max(stamps) if stamps else None


@dataclass(frozen=True)
class ServerChanges:
    """What the reads so far showed of a batch's servers.

    ``servers``: wanted server id -> newest server document seen. ``newest``: the latest
    ``updated`` of any server in any answer (Nova's clock). ``full_read_at`` and
    ``read_at``: when (``time.time()``, comparable across dashboard nodes) the last full
    read and the last read ran.
    Frozen: a poll builds a new one, so readers sharing the old one never see it change.
    """

    servers: dict = field(default_factory=dict)
    newest: datetime.datetime | None = None
    full_read_at: float = 0.0
    read_at: float = 0.0

    def since(self, floor, overlap=DEFAULT_OVERLAP):
        """``changes-since`` for the next incremental read: the newest change seen minus
        ``overlap``, never before ``floor`` (the batch's own start)."""
        if self.newest is None:
            return floor
        return max(floor, self.newest - overlap)

    def needs_full_read(self, now, full_read_seconds=DEFAULT_FULL_READ_SECONDS):
        return now - self.full_read_at >= full_read_seconds


def full(servers, wanted, now):
    """The view from a full read: every wanted server that changed since the batch began."""
    servers = list(servers)
    return ServerChanges(servers={s["id"]: s for s in servers if s.get("id") in wanted},
                         newest=newest_update(servers), full_read_at=now, read_at=now)


def merged(known, servers, wanted, now):
    """``known`` updated with an incremental read's ``servers``: a server in the answer
    replaces what was known of it (deleted ones included, as Nova reports them)."""
    servers = list(servers)
    current = dict(known.servers)
    current.update((s["id"], s) for s in servers if s.get("id") in wanted)
    stamps = [stamp for stamp in (known.newest, newest_update(servers)) if stamp is not None]
    return ServerChanges(servers=current, newest=max(stamps) if stamps else None,
                         full_read_at=known.full_read_at, read_at=now)
