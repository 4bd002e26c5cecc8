"""The item calls of a submission run (``operations.submission``): one evacuate per item,
each written before its call and as soon as Nova answers, and the lost answers settled from
Nova's records. ``ItemCalls`` is mixed into ``Submission``, which gives it the batch, the
login, the password held in memory and the lease.
"""
import logging
import threading

from django.utils import timezone

from evac_dashboard.api import actions
from evac_dashboard.operations import lost_answers
from evac_dashboard.operations.submission_runtime import returned_passwords
from evac_dashboard.rules import errors
from evac_dashboard.rules import request as evac_request
from evac_dashboard.rules import services as svc
from evac_dashboard.rules.external import CLOCK_SKEW_MARGIN
from evac_dashboard.store import batches

LOG = logging.getLogger("evac_dashboard.operations.submission")


class ItemCalls:
    """The evacuate calls and their records (mixed into ``Submission``)."""

    def _in_flight_absent(self, item):
        """A call a dead run had in flight (resume): True when Nova proves it never acted on
        it (then it is sent). Otherwise the item is recorded as Nova has it, or as a lost
        answer this run settles before it ends."""
        try:
            finding = lost_answers.check(self._credentials, item)
        except Exception as error:  # noqa: BLE001 - Nova unreadable: settled later
            finding = lost_answers.rules.Finding(lost_answers.WAIT, reason=str(error))
        if finding.verdict == lost_answers.ABSENT:
            return True
        if finding.verdict == lost_answers.FOUND:
            batches.mark_found(item.pk, finding.found_id, from_states=batches.Item.OPEN_STATES)
            return False
        what = "the dashboard stopped while the call was in flight"
        batches.mark_answer_lost(item.pk, errors.answer_lost(what), what)
        self._lost.append(item.pk)
        self._in_flight.add(item.pk)
        return False

    def _settle_lost_answers(self):
        """Before the run ends: ask Nova about every answer lost in it, once the requests
        can no longer be inside nova-api (``lost_answers.deadline``)."""
        if not self._lost or self._login_expired.is_set():
            return  # with an expired login Nova cannot be asked; Resume settles them
        try:
            lost = batches.answer_lost_items(self.batch_id, self._lost)
            if not lost:
                return
            wait = (max(lost_answers.deadline(item) for item in lost) - timezone.now())
            wait = min(wait.total_seconds(), lost_answers.settle_seconds())
            if wait > 0 and self._lease.still_held():
                threading.Event().wait(wait)
            lost_answers.resolve_all(self._credentials,
                                     [i for i in lost if i.pk not in self._in_flight])
            for item in (i for i in lost if i.pk in self._in_flight):
                self._send_if_never_received(item)
        except Exception:  # they stay unknown: a retry or a resume asks Nova again
            LOG.exception("Evacuation batch %s: lost answers not settled", self.batch_id)

    def _send_if_never_received(self, item):
        """A dead run's call Nova proves it never got is this resume's to send."""
        if (lost_answers.resolve_or_free(self._credentials, item).verdict == lost_answers.ABSENT
                and self._lease.still_held() and batches.mark_to_send_again(item.pk)):
            self._send(item)

    def _evacuated_since_batch_began(self, items):
        """``{instance_id: migration id}`` for the items Nova already has an evacuation of,
        created since the batch began (two list calls, whatever the number of items: the
        records updated since, and the just accepted ones that list skips)."""
        since = self._batch.created_at - CLOCK_SKEW_MARGIN
        wanted = {item.instance_id for item in items}
        found = {}
        for migration in actions.evacuations_since_with_accepted(
                self._credentials, self._batch.source_host, since):
            instance_id = migration.get("instance_uuid")
            created = svc.parse_time(migration.get("created_at"))
            if instance_id in wanted and (created is None or created >= since):
                found.setdefault(instance_id, str(migration.get("uuid") or migration.get("id")))
        return found

    def _send(self, item):
        """One evacuate call and its records; True when Nova accepted it."""
        if not self._lease.still_held():
            LOG.warning("Evacuation batch %s: lease lost; %s is left for the process that "
                        "holds it now", self.batch_id, item.instance_id)
            return
        left = self._credentials.expires_in()
        if left is not None and left <= 0:
            self._stop_for_login()  # Nova would answer 401: do not even ask
        if self._login_expired.is_set():
            return  # stays pending for a resume after logging in again
        if not batches.mark_submitting(item.pk):
            return  # cancelled (or answered) since it was queued
        try:
            evacuate_request = self._request_for(item)
        except evac_request.OptionError as error:
            batches.mark_submit_failed(item.pk, errors.Advice(
                "invalid_options", "The options cannot be sent for this instance", str(error),
                "", False))
            return
        try:
            result = actions.evacuate(self._credentials, item.instance_id, evacuate_request)
        except Exception as error:  # every refusal or transport failure is the item's outcome
            self._failed(item, error)
            return
        if result.admin_pass:
            returned_passwords.put(self.batch_id, item.instance_id, result.admin_pass,
                                   owner=self._credentials.user.id)
        batches.mark_submitted(item.pk, result.request_id)
        return True  # Nova accepted it (the pacing counts it until its record is final)

    def _failed(self, item, error):
        """Record a failed evacuate call as what it means (``actions.failure_kind``)."""
        kind = actions.failure_kind(error)
        if kind == actions.LOGIN_EXPIRED:
            batches.mark_pending_again(item.pk)  # refused before Nova saw it
            self._stop_for_login()
            return
        status, request_id = actions.error_status(error), actions.error_request_id(error)
        if kind == actions.ANSWER_LOST:
            what = actions.lost_answer_text(error)
            LOG.warning("Evacuation batch %s: the answer to the evacuate of %s was lost (%s); "
                        "asking Nova", self.batch_id, item.instance_id, what)
            batches.mark_answer_lost(item.pk, errors.answer_lost(what), what, status,
                                     request_id)
            with self._lock:
                self._lost.append(item.pk)
            # Accepted and then the answer lost: its record is there already (one request).
            for lost in batches.answer_lost_items(self.batch_id, [item.pk]):
                lost_answers.resolve(self._credentials, lost, quick=True)
            return
        advice = actions.advice_for(error, self._batch.source_host)
        LOG.warning("Evacuation batch %s: evacuate of %s failed (%s)",
                    self.batch_id, item.instance_id, advice.code)
        batches.mark_submit_failed(item.pk, advice, status, request_id)

    def _request_for(self, item):
        """The evacuate request for one item, at the batch's microversion.

        ``build_request`` at the microversion it chose itself chooses it again, so the body
        is the one the operator's options gave when the batch was created, plus the
        password held in memory.
        """
        stored = self._batch.options or {}
        options = evac_request.EvacuateOptions(
            target_host=item.requested_target,
            admin_password=self._password,
            on_shared_storage=stored.get("on_shared_storage"),
            force=bool(stored.get("force")),
            keep_running=self._batch.keep_running)
        return evac_request.build_request(options, self._batch.microversion)
