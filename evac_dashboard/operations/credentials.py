"""The user's login as a background sender holds it: what the API layer needs of a Horizon
request, copied when a run starts, and whether the token lasts long enough to start.

A run starts only when the token stays valid at least ``LOGIN_MARGIN_SECONDS`` (60 s); a
token that expires during the run is answered with 401 and stops the sending
(``submission``): nothing is lost, the rest waits for a Resume after logging in again.
"""
import copy
import datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from evac_dashboard.rules import services as svc


class LoginExpiring(Exception):
    """The user's Keystone token expires too soon to start sending (message for them)."""


# A token must stay valid at least this long for a run to start. Not a guess of how long
# the batch takes (Nova's speed varies tenfold and lost answers add waits): an expiry during
# the run loses nothing (a 401 leaves the rest pending for a Resume after logging in again),
# so this only refuses a token that would expire before the first calls are even out.
LOGIN_MARGIN_SECONDS = 60
# Stored in English as the batch's error message (liveness matches it); the page translates it.
LOGIN_EXPIRED_MESSAGE = gettext_noop("Your login expired: log in again and resume.")


# ------------------------------------------------------------------------ credentials

class _Token:
    __slots__ = ("id", "expires")

    def __init__(self, token_id, expires=None):
        self.id = token_id
        self.expires = expires

    def __repr__(self):
        return "<token>"


def _aware(expires):
    """Horizon's ``token.expires`` as an aware datetime (naive means UTC, as Keystone's);
    None when there is none."""
    if isinstance(expires, str):
        expires = svc.parse_time(expires)
    if not isinstance(expires, datetime.datetime):
        return None
    if timezone.is_naive(expires):
        expires = expires.replace(tzinfo=datetime.timezone.utc)
    return expires


class _User:
    def __init__(self, token_id, service_catalog, services_region, user_id, username):
        self.token = _Token(token_id)
        self.service_catalog = service_catalog
        self.services_region = services_region
        self.id = user_id
        self.username = username


class Credentials:
    """The parts of a Horizon request the API layer needs, copied at submit time so worker
    threads can call Nova after the request has ended. The Keystone token stays valid until
    ``expires`` (an hour by default): ``check_login`` before a run, a 401 during it."""

    def __init__(self, token_id, service_catalog, services_region, user_id=None,
                 username=None, expires=None):
        self.user = _User(token_id, copy.deepcopy(service_catalog), services_region,
                          user_id, username)
        self.user.token.expires = _aware(expires)

    @classmethod
    def from_request(cls, request):
        user = request.user
        return cls(user.token.id, user.service_catalog, user.services_region,
                   getattr(user, "id", None), getattr(user, "username", None),
                   getattr(user.token, "expires", None))

    def expires_in(self, now=None):
        """Seconds the token stays valid (negative: expired); None when unknown."""
        expires = self.user.token.expires
        if expires is None:
            return None
        return (expires - (now or timezone.now())).total_seconds()

    def __repr__(self):
        return "<Credentials of %s>" % (self.user.username or self.user.id or "?")


def check_login(credentials, now=None):
    """Raise ``LoginExpiring`` when the token expires within ``LOGIN_MARGIN_SECONDS``."""
    left = credentials.expires_in(now)
    if left is None or left >= LOGIN_MARGIN_SECONDS:
        return
    if left <= 0:
        raise LoginExpiring(_("Your login has expired. Log in again, then try again; nothing "
                              "was sent."))
    raise LoginExpiring(_("Your login expires in %(seconds)d s, too soon to send evacuations "
                          "safely. Log out and log in again, then try again; nothing was sent.")
                        % {"seconds": left})


# ------------------------------------------------------- the login, kept for a takeover
# Another dashboard process can take over a batch whose sender died
# (``operations.takeover``); it sends with the login the run started with, kept in Horizon's
# cache (memcached in production, where Horizon keeps the session and its token too) until
# the token expires. Never for a batch started with an admin password.
_KEY = "evac-sender-login:%s"


def remember_login(batch, credentials):
    """Keep ``credentials`` where every node finds them, until the token expires."""
    left = credentials.expires_in()
    if batch.password_set or left is None or left <= 0:
        return
    user = credentials.user
    cache.set(_KEY % batch.pk, {
        "token": user.token.id, "catalog": user.service_catalog,
        "region": user.services_region, "user_id": user.id, "username": user.username,
        "expires": user.token.expires.isoformat()}, int(left))


def forget_login(batch_id):
    cache.delete(_KEY % batch_id)


def remembered_login(batch_id):
    """The ``Credentials`` a takeover of ``batch_id`` sends with, or None."""
    kept = cache.get(_KEY % batch_id)
    if not kept:
        return None
    credentials = Credentials(kept["token"], kept["catalog"], kept["region"],
                              kept["user_id"], kept["username"], kept["expires"])
    left = credentials.expires_in()
    return credentials if left is not None and left > 0 else None


