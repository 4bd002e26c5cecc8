"""What the plugin's modal forms and its wizard do with Horizon's "add to field" request.

A Horizon modal opened from a form field's "+" button is posted with the
``X-Horizon-Add-To-Field`` header, and Horizon answers a successful POST with the created
object's ``[id, name]`` for that field (``ModalFormView.form_valid``,
``WorkflowView.post``). Nothing the plugin's modals do creates an object a field could
hold: their forms return ``True`` or a batch (no ``id``/``name``, a UUID ``json`` cannot
encode), so Horizon's answer was a 500 after Nova had been called. ``PlainModalMixin``
makes these views ignore the header: the answer is the one without it (the redirect to the
hosts page or the batch's progress page, or the form shown again).
"""
from horizon.forms.views import ADD_TO_FIELD_HEADER


class PlainModalMixin:
    """Mixed in first by the plugin's ``ModalFormView`` and ``WorkflowView`` classes."""

    def dispatch(self, request, *args, **kwargs):
        request.META.pop(ADD_TO_FIELD_HEADER, None)
        return super().dispatch(request, *args, **kwargs)
