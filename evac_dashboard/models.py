"""What the dashboard remembers about evacuations: batches and their items.

Every evacuation, of one instance or of a whole host, is an ``EvacuationBatch`` with one
``EvacuationItem`` per instance. Items are written as each Nova call returns, so after a
dashboard crash the database says exactly what was sent.

One active batch per source host is enforced by the database, portably (sqlite, MySQL,
MariaDB): ``active_source_host`` holds the host name while the batch is active and NULL
afterwards, under a UNIQUE constraint. Both engines allow any number of NULLs in a unique
column, so finished batches never collide, and two Horizon nodes racing to start a batch for
the same host cannot both win.

Passwords are never stored: ``options`` only says whether one was set (``password_set``).

Field sizes: indexed text columns stay within 255 characters, which fits InnoDB's index
limit with utf8mb4.
"""
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Longest value Nova uses for an ID we store (UUIDs are 36, request IDs 40), with room.
ID_LENGTH = 64
NAME_LENGTH = 255


class EvacuationBatch(models.Model):
    KIND_INSTANCE = "instance"
    KIND_HOST = "host"
    KINDS = ((KIND_INSTANCE, _("One instance")), (KIND_HOST, _("Whole host")))

    # pending -> submitting -> finished. "finished" means the dashboard has nothing left to
    # send (every item is submitted, submit_failed or cancelled); how each evacuation then
    # goes is read from Nova (evacuation.progress). "interrupted": submission stopped before
    # every item was sent (reason in error_message) and can be resumed.
    PENDING = "pending"
    SUBMITTING = "submitting"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"
    STATES = ((PENDING, _("Pending")), (SUBMITTING, _("Submitting")), (FINISHED, _("Finished")),
              (INTERRUPTED, _("Interrupted")), (CANCELLED, _("Cancelled")))
    ACTIVE_STATES = (PENDING, SUBMITTING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=KINDS)
    source_host = models.CharField(max_length=NAME_LENGTH, db_index=True)
    # The source host while the batch is active, NULL once it ended (see module docstring).
    active_source_host = models.CharField(max_length=NAME_LENGTH, null=True, blank=True,
                                          unique=True)
    state = models.CharField(max_length=16, choices=STATES, default=PENDING, db_index=True)

    user_id = models.CharField(max_length=ID_LENGTH)
    user_name = models.CharField(max_length=NAME_LENGTH, blank=True)
    project_id = models.CharField(max_length=ID_LENGTH)
    project_name = models.CharField(max_length=NAME_LENGTH, blank=True)

    # The compute microversion the evacuate requests are sent with ("2.94").
    microversion = models.CharField(max_length=16)
    # EvacuateOptions without the password: target_host, on_shared_storage, force,
    # keep_running and password_set.
    options = models.JSONField(default=dict)
    # None: the scheduler chooses.
    target_host = models.CharField(max_length=NAME_LENGTH, null=True, blank=True)
    keep_running = models.BooleanField(default=True)
    concurrency = models.PositiveSmallIntegerField(default=8)
    # The sender's window while it paces the batch (``rules.pacing``), as it last wrote it:
    # {"window", "in_flight", "minimum", "maximum"}; None when the batch is not paced.
    pacing = models.JSONField(null=True, blank=True, default=None)

    # "hostname:pid" of the dashboard process that last ran the submission.
    worker = models.CharField(max_length=NAME_LENGTH, blank=True)
    error_message = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("evacuation batch")
        verbose_name_plural = _("evacuation batches")

    def __str__(self):
        return "%s evacuation of %s (%s)" % (self.kind, self.source_host, self.state)

    @property
    def is_active(self):
        return self.state in self.ACTIVE_STATES

    @property
    def password_set(self):
        return bool((self.options or {}).get("password_set"))


class EvacuationItem(models.Model):
    # Same values as evacuation.progress.SUBMISSION_*.
    PENDING = "pending"
    SUBMITTING = "submitting"  # the call is in flight (or was, when the dashboard died)
    SUBMITTED = "submitted"    # Nova answered 200
    SUBMIT_FAILED = "submit_failed"
    CANCELLED = "cancelled"
    # Sent, but the answer was lost (a timeout, a dropped connection, a proxy's 502/503/504,
    # a 500): Nova may have accepted it. Never sent again as it is: resolved from Nova's
    # records first (``operations.lost_answers``) into submitted (Nova has it) or
    # submit_failed (Nova never acted on it; retryable).
    UNKNOWN = "unknown"
    STATES = ((PENDING, _("Pending")), (SUBMITTING, _("Submitting")), (SUBMITTED, _("Submitted")),
              (SUBMIT_FAILED, _("Submit failed")), (CANCELLED, _("Cancelled")),
              (UNKNOWN, _("Answer lost")))
    OPEN_STATES = (PENDING, SUBMITTING)

    # Explicit, so the schema does not depend on the deployment's DEFAULT_AUTO_FIELD.
    id = models.BigAutoField(primary_key=True)
    batch = models.ForeignKey(EvacuationBatch, on_delete=models.CASCADE, related_name="items")
    instance_id = models.CharField(max_length=ID_LENGTH)
    instance_name = models.CharField(max_length=NAME_LENGTH, blank=True)
    project_id = models.CharField(max_length=ID_LENGTH, blank=True)
    requested_target = models.CharField(max_length=NAME_LENGTH, null=True, blank=True)
    priority = models.IntegerField(default=0)
    position = models.PositiveIntegerField()  # submission order within the batch, from 0

    submit_state = models.CharField(max_length=16, choices=STATES, default=PENDING)
    attempt = models.PositiveSmallIntegerField(default=1)
    request_id = models.CharField(max_length=NAME_LENGTH, null=True, blank=True)
    # Why the last attempt was refused: Nova's HTTP status (None for a connection
    # failure), its message, and the evacuation.errors advice code.
    error_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    advice_code = models.CharField(max_length=ID_LENGTH, blank=True)
    retryable = models.BooleanField(null=True, blank=True)
    # Set when a resumed batch found that Nova already had an evacuation of this instance
    # (created since the batch began), so it was not sent again.
    found_migration_id = models.CharField(max_length=ID_LENGTH, null=True, blank=True)
    # When the answer of the current attempt was lost (state unknown), and when Nova was
    # last asked about it.
    answer_lost_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    # The stages the progress page saw ``stages_attempt`` pass through (Nova shows only the
    # current one; polls can miss short ones), so every page and every reload shows the same.
    stages = models.JSONField(default=list, blank=True)
    stages_attempt = models.PositiveSmallIntegerField(default=0)
    # How attempt ``outcome_attempt`` ended, recorded when first seen final: later moves of
    # the server (another batch, a migration) are later facts, not this evacuation's.
    # ``outcome_at`` is on the dashboard's clock (Nova's stamps are shifted onto it).
    outcome_attempt = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome_state = models.CharField(max_length=16, blank=True)
    outcome_detail = models.CharField(max_length=NAME_LENGTH, blank=True)
    outcome_host = models.CharField(max_length=NAME_LENGTH, blank=True)
    outcome_status = models.CharField(max_length=16, blank=True)
    outcome_migration_id = models.CharField(max_length=ID_LENGTH, blank=True)
    outcome_migration_status = models.CharField(max_length=32, blank=True)
    outcome_fault = models.TextField(blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    submitting_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("batch", "position")
        constraints = [
            models.UniqueConstraint(fields=("batch", "instance_id"),
                                    name="evac_item_unique_instance_per_batch"),
        ]
        indexes = [
            models.Index(fields=("batch", "submit_state"), name="evac_item_batch_state"),
            models.Index(fields=("instance_id",), name="evac_item_instance"),
        ]

    def __str__(self):
        return "%s (%s)" % (self.instance_name or self.instance_id, self.submit_state)

    @property
    def has_outcome(self):
        """Whether the current attempt's end is recorded."""
        return bool(self.outcome_state) and self.outcome_attempt == self.attempt


# ------------------------------------------------------------------------------ audit log
#
# Who did what, when, and did it work: one ``AuditRecord`` per action, written by
# ``evac_dashboard.store.audit`` *before* Nova is called and completed after, so a crash in
# between leaves a ``pending`` record rather than none. Records made by the panel have
# origin ``panel``; evacuations Nova knows about that the panel did not make (CLI, Masakari,
# scripts) are copied in with origin ``external`` (``operations.external_sync``, matched by ``rules.external``).
#
# Nothing in the UI edits or deletes a record. A record's own ``delete()`` refuses; the
# retention command (``manage.py evac_prune_audit``, setting EVAC_AUDIT_RETENTION_DAYS)
# deletes old rows in bulk. Options never hold a password, only ``password_set``.


class AuditRecord(models.Model):
    ORIGIN_PANEL = "panel"
    ORIGIN_EXTERNAL = "external"
    ORIGINS = ((ORIGIN_PANEL, _("This dashboard")), (ORIGIN_EXTERNAL, _("Outside the dashboard")))

    FORCE_DOWN = "force_down"
    UNSET_FORCE_DOWN = "unset_force_down"
    DISABLE = "disable"
    ENABLE = "enable"
    EVACUATE = "evacuate"
    HOST_EVACUATE = "host_evacuate"
    RETRY = "retry"
    CANCEL = "cancel"
    RESUME = "resume"
    TAKEOVER = "takeover"  # another dashboard process took over a batch whose sender died
    # Fencing through the host's BMC: power off and wait until it reports Off (FENCE), the
    # operator's typed host name standing in for a confirmed Off (FENCE_OVERRIDE), and
    # powering the host on again after repair (POWER_ON).
    FENCE = "fence"
    FENCE_OVERRIDE = "fence_override"
    POWER_ON = "power_on"
    ACTIONS = ((FORCE_DOWN, _("Force down")), (UNSET_FORCE_DOWN, _("Unset force down")),
               (DISABLE, _("Disable service")), (ENABLE, _("Enable service")),
               (EVACUATE, _("Evacuate instance")), (HOST_EVACUATE, _("Evacuate host")),
               (RETRY, _("Retry")), (CANCEL, _("Cancel")), (RESUME, _("Resume")),
               (TAKEOVER, _("Taken over automatically")),
               (FENCE, _("Fence (BMC power off)")),
               (FENCE_OVERRIDE, _("Fenced on the operator's word")),
               (POWER_ON, _("Power on (BMC)")))

    # pending: written, Nova not answered yet (or the dashboard stopped in between).
    # accepted: every evacuate request of the record was accepted by Nova (how each
    # evacuation then went is Nova's: see ``nova_summary``). partial: some were refused.
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    ACCEPTED = "accepted"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in_progress"
    OUTCOMES = ((PENDING, _("No outcome yet")), (SUCCEEDED, _("Succeeded")),
                (ACCEPTED, _("All sent to Nova")), (PARTIAL, _("Partly refused")),
                (FAILED, _("Failed")), (INTERRUPTED, _("Interrupted")), (CANCELLED, _("Cancelled")),
                (IN_PROGRESS, _("In progress")))

    id = models.BigAutoField(primary_key=True)
    origin = models.CharField(max_length=16, choices=ORIGINS, default=ORIGIN_PANEL)
    action = models.CharField(max_length=32, choices=ACTIONS)
    # When the action was taken: for the panel, when the record was written (before Nova
    # was called); for an external evacuation, Nova's migration ``created_at``.
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    user_id = models.CharField(max_length=ID_LENGTH, blank=True)
    user_name = models.CharField(max_length=NAME_LENGTH, blank=True)
    project_id = models.CharField(max_length=ID_LENGTH, blank=True)
    project_name = models.CharField(max_length=NAME_LENGTH, blank=True)

    source_host = models.CharField(max_length=NAME_LENGTH, blank=True, db_index=True)
    target_host = models.CharField(max_length=NAME_LENGTH, blank=True)
    # [{"id", "name", and once completed "state", "request_id", "error"}]
    instances = models.JSONField(default=list, blank=True)
    instance_count = models.PositiveIntegerField(default=0)
    # What the operator chose, without any password: ``password_set`` says whether one was.
    options = models.JSONField(default=dict, blank=True)
    microversion = models.CharField(max_length=16, blank=True)
    request_ids = models.JSONField(default=list, blank=True)

    outcome = models.CharField(max_length=16, choices=OUTCOMES, default=PENDING)
    detail = models.TextField(blank=True)
    # Evacuations: the batch (no foreign key, so a record outlives its batch).
    batch_id = models.UUIDField(null=True, blank=True, db_index=True)
    # External evacuations: Nova's migration (uuid, or "id-N" before 2.59). Unique, so a
    # migration is copied in once whichever Horizon node saw it first.
    migration_key = models.CharField(max_length=ID_LENGTH, null=True, blank=True, unique=True)
    # Evacuations: Nova's view of how they went, kept up to date from /os-migrations:
    # {"done": n, "failed": n, "running": n}.
    nova_summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("audit record")
        indexes = [
            models.Index(fields=("created_at", "id"), name="evac_audit_time"),
            models.Index(fields=("action", "created_at"), name="evac_audit_action"),
            models.Index(fields=("outcome", "created_at"), name="evac_audit_outcome"),
            models.Index(fields=("user_name",), name="evac_audit_user_name"),
            models.Index(fields=("user_id",), name="evac_audit_user_id"),
        ]

    def __str__(self):
        return "%s %s by %s (%s)" % (self.action, self.source_host,
                                     self.user_name or self.user_id or "?", self.outcome)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit records are not deleted one by one; retention is "
                              "applied by `manage.py evac_prune_audit`.")

    @property
    def is_external(self):
        return self.origin == self.ORIGIN_EXTERNAL

    @property
    def password_set(self):
        return bool((self.options or {}).get("password_set"))


class NovaEvacuation(models.Model):
    """Our copy of one of Nova's evacuation migrations, with its instance action once read.

    Nova forgets the migrations of deleted servers, so this copy is what the history keeps.
    The instance action (user, request id) costs one request per migration: it is read at
    most once (``action_read_at``), and only for migrations someone looks at.
    """

    id = models.BigAutoField(primary_key=True)
    migration_key = models.CharField(max_length=ID_LENGTH, unique=True)
    migration_id = models.BigIntegerField(null=True, blank=True)
    instance_id = models.CharField(max_length=ID_LENGTH, db_index=True)
    source_compute = models.CharField(max_length=NAME_LENGTH, blank=True)
    dest_compute = models.CharField(max_length=NAME_LENGTH, blank=True)
    status = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # From the migration itself at 2.80+ (the initiator), else from the instance action.
    user_id = models.CharField(max_length=ID_LENGTH, blank=True)
    project_id = models.CharField(max_length=ID_LENGTH, blank=True)

    request_id = models.CharField(max_length=NAME_LENGTH, blank=True, db_index=True)
    action_read_at = models.DateTimeField(null=True, blank=True)
    action_attempts = models.PositiveSmallIntegerField(default=0)
    action_error = models.CharField(max_length=NAME_LENGTH, blank=True)

    # Who made it: a panel item (the panel's own evacuation), or an external record.
    item_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    batch_id = models.UUIDField(null=True, blank=True, db_index=True)
    record = models.ForeignKey(AuditRecord, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="nova_evacuations")
    match_rule = models.CharField(max_length=32, blank=True)

    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("Nova evacuation")

    def __str__(self):
        return "evacuation %s of %s (%s)" % (self.migration_key, self.instance_id, self.status)
