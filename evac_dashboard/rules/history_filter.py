"""What the History page and its CSV export show: criteria read from a query string.

Plain values, no Django: the page, the export and the store's query share one reading of the
parameters, so a time the page refuses is refused by the export too.
"""
from dataclasses import dataclass, fields as dataclass_fields
from datetime import datetime, time as dt_time, timezone as dt_timezone

from evac_dashboard.rules.i18n import gettext as _

TIME_PARAMS = ("since", "until")


class TimeError(ValueError):
    """A time parameter that cannot be used; ``param`` says which one."""

    def __init__(self, param, message):
        super().__init__(message)
        self.param = param


def parse_when(value, end_of_day=False, param="time"):
    """``2026-11-23``, ``2026-11-23 10:00``, ``2026-11-23T10:00:00Z`` -> aware UTC datetime.

    Converted to UTC here: an offset that moves it outside years 1-9999 is the operator's
    typing error to report, not an OverflowError for the database to raise later.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt_timezone.utc)
    text = (value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return datetime.combine(day, dt_time.max if end_of_day else dt_time.min,
                                    tzinfo=dt_timezone.utc)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimeError(param, _("Not a date or time: %r (use YYYY-MM-DD or YYYY-MM-DD HH:MM, "
                                 "UTC)") % text) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt_timezone.utc)
    try:
        return parsed.astimezone(dt_timezone.utc)
    except OverflowError:
        raise TimeError(param, _("%r is outside the years 1 to 9999 once converted to UTC "
                                 "(use YYYY-MM-DD or YYYY-MM-DD HH:MM, UTC)") % text) from None


def codes_matching(text, labels):
    """Codes whose code or label contains ``text`` (case-insensitive)."""
    wanted = text.strip().lower().replace(" ", "_")
    plain = text.strip().lower()
    return [code for code, label in labels.items()
            if wanted in code or plain in str(label).lower()]


@dataclass(frozen=True)
class HistoryFilter:
    """Every field is optional; set fields combine (AND). ``host`` is exact (source or
    target; ``cmp1`` never matches ``cmp10``), ``user`` matches a user id exactly or a name
    partly, ``action``/``outcome``/``origin`` match codes or labels partly, ``since``/``until``
    bound the time (UTC)."""

    host: str = ""
    user: str = ""
    action: str = ""
    outcome: str = ""
    origin: str = ""
    since: object = None
    until: object = None

    PARAMS = ("host", "user", "action", "outcome", "origin", "since", "until")

    @classmethod
    def from_params(cls, params):
        """From a QueryDict or dict; raises ``TimeError`` for an unusable time."""
        values = {name: (params.get(name) or "").strip() for name in cls.PARAMS}
        return cls(host=values["host"], user=values["user"], action=values["action"],
                   outcome=values["outcome"], origin=values["origin"],
                   since=parse_when(values["since"], param="since"),
                   until=parse_when(values["until"], end_of_day=True, param="until"))

    @classmethod
    def lenient(cls, params):
        """``(filter, [(param, message)])``: the usable criteria, and why each time that
        is not usable was dropped (for the page to show by its form)."""
        kept, errors = dict(params.items()), []
        for name in TIME_PARAMS:
            try:
                parse_when(kept.get(name), end_of_day=name == "until", param=name)
            except TimeError as error:
                errors.append((name, str(error)))
                kept.pop(name, None)
        return cls.from_params(kept), errors

    def replace(self, **changes):
        current = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        current.update(changes)
        return HistoryFilter(**current)

    def to_params(self):
        """The non-empty fields as query parameters (times as ISO UTC)."""
        params = {}
        for name in self.PARAMS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if value:
                params[name] = value
        return params

    def describe(self):
        """``[(label, value)]`` of the fields in effect, for display."""
        return list(self.to_params().items())

    def __bool__(self):
        return bool(self.to_params())
