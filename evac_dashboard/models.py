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

# Longest value Nova uses for an ID we store (UUIDs are 36, request IDs 40), with room.
ID_LENGTH = 64
NAME_LENGTH = 255


class EvacuationBatch(models.Model):
    KIND_INSTANCE = "instance"
    KIND_HOST = "host"
    KINDS = ((KIND_INSTANCE, "One instance"), (KIND_HOST, "Whole host"))

    # pending -> submitting -> finished. "finished" means the dashboard has nothing left to
    # send (every item is submitted, submit_failed or cancelled); how each evacuation then
    # goes is read from Nova (evacuation.progress). "interrupted": submission stopped before
    # every item was sent (reason in error_message) and can be resumed.
    PENDING = "pending"
    SUBMITTING = "submitting"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"
    STATES = ((PENDING, "Pending"), (SUBMITTING, "Submitting"), (FINISHED, "Finished"),
              (INTERRUPTED, "Interrupted"), (CANCELLED, "Cancelled"))
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

    # "hostname:pid" of the dashboard process that last ran the submission.
    worker = models.CharField(max_length=NAME_LENGTH, blank=True)
    error_message = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "evacuation batch"
        verbose_name_plural = "evacuation batches"

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
    STATES = ((PENDING, "Pending"), (SUBMITTING, "Submitting"), (SUBMITTED, "Submitted"),
              (SUBMIT_FAILED, "Submit failed"), (CANCELLED, "Cancelled"))
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
