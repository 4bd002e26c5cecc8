import pytest

from evac_dashboard.rules import progress
from evac_dashboard.rules.progress import Progress, derive, stages_seen, summarize

from tests.unit.factories import SOURCE, rule_migration as migration, rule_server as server

SUBMITTED = "submitted"
FAULT = {"code": 500, "created": "2026-11-23T03:10:05Z",
         "message": "No valid host was found. There are not enough hosts available."}


def rebuild(task, host=SOURCE):
    return server(status="REBUILD", task_state=task, host=host)


# --- batch-side states -------------------------------------------------------------------------

@pytest.mark.parametrize("submission, state", [
    ("pending", "pending"), ("cancelled", "cancelled"), ("submit_failed", "failed")])
def test_submission_states_before_nova_is_involved(submission, state):
    # Nova's data is ignored: a pending item is not "done" because of an older evacuation.
    result = derive(server(host="cmp2"), migration("completed"), submission, SOURCE)
    assert result.state == state


def test_submitted_but_nothing_visible_yet():
    assert derive(server(), None, SUBMITTED, SOURCE).state == "submitted"


def test_submitting_without_nova_data_is_still_pending():
    assert derive(server(), None, "submitting", SOURCE).state == "pending"


def test_submitting_but_nova_already_shows_the_rebuild():
    result = derive(rebuild("rebuilding"), migration("accepted"), "submitting", SOURCE)
    assert (result.state, result.stage) == ("rebuilding", "rebuilding")


# --- rebuilding stages --------------------------------------------------------------------

@pytest.mark.parametrize("task, migration_status", [
    ("rebuilding", "accepted"), ("rebuilding", "pre-migrating"),
    ("rebuild_block_device_mapping", "pre-migrating"), ("rebuild_spawning", "pre-migrating")])
def test_rebuild_task_states_are_stages(task, migration_status):
    result = derive(rebuild(task), migration(migration_status), SUBMITTED, SOURCE)
    assert (result.state, result.stage, result.migration_status) == (
        "rebuilding", task, migration_status)
    assert result.label == task and not result.is_final


def test_rebuild_stage_without_migration_record():
    assert derive(rebuild("rebuild_spawning"), None, SUBMITTED, SOURCE).stage == "rebuild_spawning"


def test_powering_off_after_spawn_when_left_stopped():
    result = derive(server(task_state="powering-off"), migration("pre-migrating"), SUBMITTED,
                    SOURCE)
    assert (result.state, result.stage) == ("rebuilding", "powering-off")


def test_old_powering_off_task_while_still_sending_is_not_ours():
    assert derive(server(task_state="powering-off"), None, "submitting", SOURCE).state == "pending"


def test_active_with_no_task_but_host_not_switched_is_still_rebuilding():
    """Spawn finished (ACTIVE, task None) ~30-90 ms before Nova switches the host."""
    result = derive(server(status="ACTIVE", task_state=None, host=SOURCE),
                    migration("pre-migrating"), SUBMITTED, SOURCE)
    assert (result.state, result.stage) == ("rebuilding", "finishing")


def test_done_migration_is_not_done_while_host_is_still_the_source():
    # e.g. the source restarted early and flipped an in-flight record to completed
    result = derive(server(host=SOURCE), migration("completed"), SUBMITTED, SOURCE)
    assert result.state == "rebuilding"


# --- done ---------------------------------------------------------------------------------

def test_done_needs_migration_done_and_new_host():
    result = derive(server(host="cmp2"), migration("done"), SUBMITTED, SOURCE)
    assert (result.state, result.cleaned_up, result.host) == ("done", False, "cmp2")
    assert result.detail == "running on cmp2"


def test_completed_means_source_cleaned_up():
    result = derive(server(host="cmp2"), migration("completed"), SUBMITTED, SOURCE)
    assert (result.state, result.cleaned_up) == ("done", True)


def test_done_and_left_stopped():
    result = derive(server(status="SHUTOFF", vm_state="stopped", host="cmp2"),
                    migration("done"), SUBMITTED, SOURCE)
    assert (result.state, result.detail) == ("done", "on cmp2 (SHUTOFF)")


def test_source_taken_from_the_migration_when_not_given():
    assert derive(server(host="cmp2"), migration("done"), SUBMITTED).state == "done"


def test_host_changed_without_migration_record_is_not_done():
    assert derive(server(host="cmp2"), None, SUBMITTED, SOURCE).state != "done"


def test_older_evacuation_from_another_host_is_ignored():
    # The server was evacuated cmp0 -> cmp1 last month; now cmp1 failed.
    old = migration("completed", source="cmp0", dest=SOURCE)
    result = derive(server(host=SOURCE), old, SUBMITTED, SOURCE)
    assert result.state == "submitted" and result.migration_status is None


# --- failed -------------------------------------------------------------------------------

@pytest.mark.parametrize("status, where", [("error", "during scheduling"),
                                           ("failed", "on the target host")])
def test_failed_migration(status, where):
    result = derive(server(status="ERROR", vm_state="error", fault=FAULT), migration(status),
                    SUBMITTED, SOURCE, submitted_at="2026-11-23T03:10:00Z")
    assert result.state == "failed" and where in result.detail
    assert result.fault_message == FAULT["message"]


def test_claim_failure_restores_state_without_fault():
    result = derive(server(status="ACTIVE"), migration("failed"), SUBMITTED, SOURCE)
    assert (result.state, result.fault_message) == ("failed", None)


def test_error_with_fault_after_submission_is_failed():
    result = derive(server(status="ERROR", vm_state="error", fault=FAULT), None, SUBMITTED,
                    SOURCE)
    assert result.state == "failed" and result.fault_message == FAULT["message"]


def test_fault_older_than_the_request_is_not_blamed():
    old_fault = dict(FAULT, created="2026-11-22T08:00:00Z", message="old disk error")
    result = derive(server(status="ERROR", vm_state="error", fault=old_fault),
                    migration("failed"), SUBMITTED, SOURCE,
                    submitted_at="2026-11-23T03:10:00Z")
    assert result.state == "failed" and result.fault_message is None


def test_error_server_being_sent_is_not_failed_yet():
    # ERROR servers can be evacuated; until Nova answers, ERROR is their old state.
    result = derive(server(status="ERROR", vm_state="error", fault=FAULT), None, "submitting",
                    SOURCE)
    assert result.state == "pending"


def test_error_server_that_was_evacuated_comes_back_done():
    result = derive(server(status="ACTIVE", host="cmp2"), migration("done"), SUBMITTED, SOURCE)
    assert result.state == "done"


def test_deleted_server():
    assert derive(None, migration("accepted"), SUBMITTED, SOURCE).state == "failed"


# --- summary --------------------------------------------------------------------------------

def test_summary_counts_and_percent():
    items = [Progress("done"), Progress("failed"), Progress("rebuilding", "rebuild_spawning"),
             "pending"]
    summary = summarize(items)
    assert summary.counts["done"] == 1 and summary.counts["rebuilding"] == 1
    assert summary.counts["cancelled"] == 0
    assert (summary.total, summary.percent, summary.is_final) == (4, 50, False)


def test_summary_final_when_all_finished():
    summary = summarize(["done", "cancelled", "failed"])
    assert (summary.percent, summary.is_final) == (100, True)


def test_empty_summary_is_final():
    assert summarize([]).is_final


# --- stages seen ---------------------------------------------------------------------------

def test_stages_accumulate_in_order_without_duplicates():
    seen = []
    for observed in ["pending", "submitted", "submitted", "rebuilding",
                     "rebuild_block_device_mapping", "rebuild_spawning", "finishing", "done"]:
        seen = stages_seen(seen, observed)
    assert seen == ["pending", "submitted", "rebuilding", "rebuild_block_device_mapping",
                    "rebuild_spawning", "finishing", "done"]


def test_missed_mandatory_stages_are_filled_in():
    assert stages_seen(["pending", "submitted"], "rebuild_spawning") == [
        "pending", "submitted", "rebuilding", "rebuild_block_device_mapping", "rebuild_spawning"]
    # powering-off and finishing are only recorded when seen
    assert stages_seen(["rebuild_spawning"], "done") == ["rebuild_spawning", "done"]


def test_stale_observation_does_not_go_backwards():
    assert stages_seen(["submitted", "rebuild_spawning"], "rebuilding") == [
        "submitted", "rebuild_spawning"]


def test_failure_is_appended_and_final():
    seen = stages_seen(["submitted", "rebuilding"], "failed")
    assert seen == ["submitted", "rebuilding", "failed"]
    assert stages_seen(seen, "done") == seen


def test_stages_seen_accepts_progress():
    current = Progress("rebuilding", stage="powering-off")
    assert stages_seen(["rebuild_spawning"], current) == ["rebuild_spawning", "powering-off"]
    assert stages_seen([], Progress("done", cleaned_up=True))[-1] == "done"


def test_stage_order_starts_with_pending_and_ends_with_done():
    assert progress.STAGE_ORDER[0] == "pending" and progress.STAGE_ORDER[-1] == "done"


def test_fault_in_the_same_second_as_the_send_is_not_taken_for_an_old_one():
    from evac_dashboard.rules import progress as progress_rules

    server = {"id": "s1", "status": "ERROR", "OS-EXT-STS:vm_state": "error",
              "OS-EXT-SRV-ATTR:host": "cmp1",
              "fault": {"code": 500, "message": "No valid host was found. ",
                        "created": "2026-11-23T10:00:05Z"}}
    found = progress_rules.derive(server, {"status": "error", "source_compute": "cmp1"},
                                  "submitted", source_host="cmp1",
                                  submitted_at="2026-11-23T10:00:05.700000+00:00")
    assert found.state == "failed"
    assert found.fault_message == "No valid host was found. "


@pytest.mark.parametrize("status, state, stage", [
    ("accepted", progress.REBUILDING, "rebuilding"),
    ("pre-migrating", progress.REBUILDING, "rebuilding"),  # never "finishing" on a record
    ("done", progress.DONE, None),
    ("error", progress.FAILED, None),
])
def test_a_record_alone_is_never_read_finer_than_it_says(status, state, stage):
    record = migration(status)
    prog = progress.derive_from_record(record, progress.SUBMISSION_SUBMITTED, SOURCE)
    assert (prog.state, prog.stage, prog.fault_message) == (state, stage, None)
    if state == progress.DONE:
        assert prog.host == record["dest_compute"]


def test_without_a_record_the_send_state_is_shown():
    assert progress.derive_from_record(None, progress.SUBMISSION_SUBMITTING).state == \
        progress.PENDING
    assert progress.derive_from_record(None, progress.SUBMISSION_SUBMITTED).state == \
        progress.SUBMITTED
    other = dict(migration("error"), source_compute="elsewhere")
    assert progress.derive_from_record(other, progress.SUBMISSION_SUBMITTED,
                                       SOURCE).state == progress.SUBMITTED


# --------------------------------------------------------------- answers lost (unknown)

def test_a_lost_answer_is_unknown_until_nova_shows_it():
    shown = derive(server(), None, "unknown", SOURCE)
    assert (shown.state, shown.detail, shown.is_final) == ("unknown", progress.ANSWER_LOST,
                                                           False)
    assert progress.derive_from_record(None, "unknown", SOURCE).state == "unknown"
    assert derive(server(), migration("accepted"), "unknown", SOURCE).state == "rebuilding"
    assert progress.derive_from_record(migration("done"), "unknown", SOURCE).state == "done"
    rebuilding = server(status="REBUILD", task_state="rebuilding")
    assert derive(rebuilding, None, "unknown", SOURCE).state == "rebuilding"
    assert derive(None, None, "unknown", SOURCE).state == "failed"  # deleted


def test_a_lost_answer_is_offered_for_a_retry_that_asks_nova_first():
    assert progress.can_retry("unknown", False, "unknown")
    assert progress.can_retry("failed", False, "unknown")
    assert not progress.can_retry("rebuilding", False, "unknown")
    assert not progress.can_retry("unknown", True, "unknown")
    summary = progress.summarize(["unknown", "done"])
    assert summary.counts["unknown"] == 1 and not summary.is_final
