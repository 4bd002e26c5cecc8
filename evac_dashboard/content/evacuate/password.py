"""The admin password fields of the evacuate modals and the wizard, kept out of the places a
POST usually ends up in (issue 13).

* Horizon's operation log (``OPERATION_LOG_ENABLED``) masks the POST fields named in
  ``OPERATION_LOG_OPTIONS['mask_fields']``; the stock list has ``password`` and
  ``confirm_password``, so the fields carry those names (operators need change nothing).
* Django's error reports: the views are wrapped in ``sensitive_post_parameters`` for the two
  fields, and the functions that see the password in ``sensitive_variables()``, which blanks
  the local variables of their frame and of every frame they call.
* Caches: the views answer with ``Cache-Control: no-store`` (``never_cache``).
* The browser: the inputs ask for a new password (``autocomplete="new-password"``, so no saved
  Horizon login is filled in) and never render a value.

A form shown again after a failed submit therefore comes back without the password the
operator typed. It says so next to the empty field, and a hidden field (``password_retype``)
remembers that a password is owed: a submit (or the wizard's Next) without one is refused
until the operator types it again or ticks "Let Nova generate one" (shown only then), so the
batch never goes out silently without the password they typed.
"""
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.debug import sensitive_variables

from horizon import forms

PASSWORD = "password"
CONFIRM = "confirm_password"
RETYPE = "password_retype"
GENERATE = "generate_password"
SENSITIVE_POST_FIELDS = (PASSWORD, CONFIRM)

TYPE_AGAIN = _("Enter the admin password again, in both fields: a password typed before is "
               "not kept when the page is shown again. Or tick \"Let Nova generate one\".")
OWED = _("Enter the admin password again: the one you typed was not kept when the page was "
         "shown again. To let Nova generate one instead, tick \"Let Nova generate one\".")


def secret_variables(func):
    """``sensitive_variables()`` for every local variable of ``func`` and of what it calls."""
    return sensitive_variables()(func)


def protect_view(view_class):
    """Class decorator for a view showing or receiving the password fields: its POST
    parameters are hidden from error reports and no response is stored by a cache."""
    view_class = method_decorator(sensitive_post_parameters(*SENSITIVE_POST_FIELDS),
                                  name="dispatch")(view_class)
    return method_decorator(never_cache, name="dispatch")(view_class)


def password_field(label, help_text=None):
    return forms.CharField(
        label=label, required=False, help_text=help_text or "",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))


def retype_field():
    return forms.CharField(required=False, widget=forms.HiddenInput())


def generate_field():
    return forms.BooleanField(
        label=_("Let Nova generate one"), required=False,
        help_text=_("Only when both password fields are empty."))


class PasswordFormMixin:
    """For a form declaring ``PASSWORD``, ``CONFIRM``, ``RETYPE`` and ``GENERATE``: call
    ``setup_password`` at the end of ``__init__``, ``checked_password`` from ``clean``, and
    ``show_password_owed`` before the form is shown again after a failed submit."""

    password_owed = False
    password_owed_if_shown = False
    generate_chosen = False

    @secret_variables
    def setup_password(self):
        if not self.is_bound:
            del self.fields[GENERATE]
            return
        data = self.data
        typed = bool(data.get(PASSWORD) or data.get(CONFIRM))
        # This POST came from a page shown again after it had lost a typed password.
        self.password_owed = bool(data.get(RETYPE))
        self.generate_chosen = bool(self.fields[GENERATE].widget.value_from_datadict(
            data, self.files, GENERATE))
        # Shown again, this form owes the operator the password typed now, or the one still
        # owed from before unless they chose to let Nova generate one.
        self.password_owed_if_shown = typed or (self.password_owed and not self.generate_chosen)
        self.data = data.copy()
        self.data[RETYPE] = "1" if self.password_owed_if_shown else ""
        if not self.password_owed_if_shown:
            del self.fields[GENERATE]

    @secret_variables
    def checked_password(self, data):
        """The password to send (None: Nova generates one); a form error if it is owed."""
        password = data.get(PASSWORD) or ""
        if password != (data.get(CONFIRM) or ""):
            self.add_error(CONFIRM, _("The two passwords do not match."))
            return None
        if not password and self.password_owed and not self.generate_chosen:
            self.add_error(PASSWORD, OWED)
        return password or None

    def password_has_errors(self):
        return PASSWORD in self.errors or CONFIRM in self.errors

    def show_password_owed(self):
        """On a validated form about to be shown again: tell the operator, next to the
        empty password field, that the password they typed must be typed again."""
        if self.password_owed_if_shown and PASSWORD in self.fields \
                and PASSWORD not in self.errors:
            self.add_error(PASSWORD, TYPE_AGAIN)


def posted_without_password(data):
    """The raw POST data for the option checks (``Evacuation.posted``), without the password
    fields, so no copy of the password travels with the evacuation."""
    return {key: data.get(key) for key in data if key not in SENSITIVE_POST_FIELDS}
