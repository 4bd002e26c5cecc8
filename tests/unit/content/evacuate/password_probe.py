"""Helpers for the tests that the admin password stays out of logs, error reports, caches and
re-rendered pages (issue 13), shared by the modal and the wizard tests.

The tests never hard-code the password fields' names: they read them from the page, so a test
run against a form whose fields have other names still types the password into them.
"""
import contextlib
import re
import sys

from django.core import signals
from django.test import modify_settings
from django.test import override_settings
from django.views import debug

SECRET = "Pw-7f3a9cZq81-secret"

_INPUT = re.compile(r"<input\b[^>]*>", re.S)
_ATTR = re.compile(r'([\w:-]+)(?:="([^"]*)")?')


def inputs(html):
    """Every ``<input>`` of ``html`` as a dict of its attributes."""
    found = []
    for tag in _INPUT.findall(html):
        found.append({name: value for name, value in _ATTR.findall(tag[len("<input"):-1])})
    return found


def password_inputs(html):
    return [i for i in inputs(html) if i.get("type") == "password"]


def password_names(html):
    names = [i["name"] for i in password_inputs(html)]
    assert len(names) == 2, names  # the password and its confirmation
    return names


def typed(html, password=SECRET):
    """POST data typing ``password`` into both password fields of ``html``."""
    return {name: password for name in password_names(html)}


def hidden_values(html):
    """The hidden inputs of ``html`` (name -> value) other than the CSRF token."""
    return {i["name"]: i.get("value", "") for i in inputs(html)
            if i.get("type") == "hidden" and i.get("name") != "csrfmiddlewaretoken"}


def leak(text, secret=SECRET):
    """Where ``secret`` shows in ``text`` (a short excerpt), or None."""
    at = text.find(secret)
    return None if at < 0 else text[max(0, at - 120):at + len(secret) + 20]


def operation_log_on(cls_or_func):
    """Horizon's operation log enabled with its stock options (OPERATION_LOG_OPTIONS as
    Horizon ships them, mask_fields included)."""
    cls_or_func = modify_settings(MIDDLEWARE={
        "append": "horizon.middleware.OperationLogMiddleware"})(cls_or_func)
    return override_settings(OPERATION_LOG_ENABLED=True)(cls_or_func)


@contextlib.contextmanager
def error_reports():
    """Collect, for every request that raises, what Django's error reporting would send:
    the text and HTML ``ExceptionReporter`` reports (mail_admins, error trackers) and the
    ``technical_500_response``, built with the site's exception reporter filter."""
    reports = []

    def report(sender, request=None, **kwargs):
        exc_info = sys.exc_info()
        reporter = debug.ExceptionReporter(request, *exc_info)
        reports.append(reporter.get_traceback_text())
        reports.append(reporter.get_traceback_html())
        reports.append(debug.technical_500_response(request, *exc_info).content.decode())

    signals.got_request_exception.connect(report, weak=False)
    try:
        yield reports
    finally:
        signals.got_request_exception.disconnect(report)
