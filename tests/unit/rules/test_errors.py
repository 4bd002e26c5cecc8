import pytest

from evac_dashboard.rules import errors
from evac_dashboard.rules.errors import advise, advise_fault, nova_message

# (status, Nova's message as in nova-evacuate.md §1.4/§5.2, expected code, retryable,
#  words the advice must contain)
API_ERRORS = [
    (400, "Compute service of cmp1 is still in use.", "source_still_up", True,
     ["Fence cmp1", "Force Down", "service_down_time"]),
    (400, "{'currently': 61, 'expected': 62}", "compute_too_old_to_leave_stopped", True,
     ["2023.1", "servers come back running", "Force down"]),
    (400, "The target host can't be the same one.", "target_is_source", False,
     ["another target host"]),
    (404, "Compute host cmp9 not found.", "target_not_found", False,
     ["named cmp9", "not the hypervisor hostname"]),
    (404, "Compute host cmp9 could not be found.", "target_not_found", False, ["cmp9"]),
    (404, "Instance 5a1d0c3e-aaaa-bbbb-cccc-000000000001 could not be found.",
     "server_not_found", False, ["nothing was evacuated"]),
    (403, "Policy doesn't allow os_compute_api:os-evacuate to be performed.", "policy_refused",
     False, ["os_compute_api:os-evacuate", "admin"]),
    (409, "Cannot 'evacuate' instance 5a1d0c3e while it is in vm_state paused",
     "state_not_evacuable", True, ["this one is paused", "reset its state to error"]),
    (409, "Cannot 'evacuate' instance 5a1d0c3e while it is in launched_at None",
     "never_launched", False, ["never finished booting"]),
    (409, "Cannot 'evacuate' instance 5a1d0c3e while it is in task_state powering-off",
     "task_in_progress", True, ["powering-off", "older than Zed"]),
    (400, "Can't force to a non-provided destination", "force_without_host", False,
     ["untick force"]),
    (400, "admin password can't be changed on existing disk", "password_with_shared_storage",
     False, ["Clear the password"]),
    (400, "Unable to force up host cmp1 as `done` evacuation migration records remain "
          "associated with the host. Ensure the compute service has been restarted, allowing "
          "these records to move to `completed` before retrying this request.",
     "force_up_blocked", True, ["Start nova-compute on the repaired cmp1", "completed"]),
    (409, "Feature not supported with instances that have shares.", "shares_unsupported",
     False, ["Manila shares"]),
    (400, "Operation 'evacuate' not supported for vTPM-enabled instance (5a1d0c3e).",
     "vtpm_unsupported", False, ["virtual TPM"]),
    (400, "Feature not supported with instances that have accelerators.",
     "accelerators_unsupported", False, ["accelerators"]),
    (400, "Feature not supported with Ports that have accelerators.",
     "accelerators_unsupported", False, ["accelerators"]),
    (400, "The port-resource-request-groups neutron API extension is not supported by old "
          "nova compute service. Upgrade your compute services to Xena (24.0.0) or later.",
     "old_computes_for_port_resources", True, ["older than Xena"]),
    (400, "Invalid input for field/attribute evacuate. Value: {'force': True}. Additional "
          "properties are not allowed ('force' was unexpected)",
     "request_format", False, ["dashboard bug"]),
    (409, "Unsupported RPC version for service nova-compute", "rpc_version", True, ["RPC"]),
    (400, "No valid host was found. There are not enough hosts available.", "no_valid_host",
     True, ["capacity", "availability zone", "server group", "another target"]),
]


@pytest.mark.parametrize("status, message, code, retryable, words", API_ERRORS)
def test_api_errors(status, message, code, retryable, words):
    advice = advise(status, message)
    assert advice.code == code
    assert advice.retryable is retryable
    assert advice.nova_message == message
    for word in words:
        assert word in advice.advice


def test_2_95_message_in_other_key_order_or_formatted():
    advice = advise(400, "{'expected': 62, 'currently': 59}")
    assert advice.code == "compute_too_old_to_leave_stopped"
    assert advice.nova_message == "{'expected': 62, 'currently': 59}"
    formatted = ("Starting with microversion 2.95, evacuate API will stop instance on "
                 "destination. Required version for compute 62, current version 61")
    advice = advise(400, formatted)
    assert advice.code == "compute_too_old_to_leave_stopped"
    assert "{" not in advice.advice  # placeholders filled with defaults


def test_novaclient_exception_text_is_cleaned():
    text = ("Compute service of cmp1 is still in use. (HTTP 400) "
            "(Request-ID: req-8a4c3f54-0d6c-4d5b-9a1a-3f2c7b1e9d00)")
    advice = advise(400, text)
    assert advice.code == "source_still_up"
    assert advice.nova_message == "Compute service of cmp1 is still in use."


def test_error_body_dict():
    body = {"badRequest": {"code": 400, "message": "The target host can't be the same one."}}
    assert advise(400, body).code == "target_is_source"
    assert nova_message({"message": "x"}) == "x"


def test_status_must_match_the_rule():
    # Same words with an unexpected status fall through to the generic advice.
    assert advise(404, "Compute service of cmp1 is still in use.").code == "nova_error"
    # Nova answers 400 (nova/api/openstack/compute/evacuate.py); 409 is read the same way.
    assert advise(409, "Compute service of cmp1 is still in use.").code == "source_still_up"


@pytest.mark.parametrize("status", [400, 409])
def test_still_in_use_names_a_host_to_fence_only_when_it_is_the_failed_host(status):
    """Nova names the server's *current* host. After an earlier evacuation was accepted
    (its answer lost) the server is on the destination, which is up and healthy."""
    message = "Compute service of cmp2 is still in use."
    moved = advise(status, message, source_host="cmp1")
    assert moved.code == "server_not_on_source" and moved.retryable is False
    assert "cmp1" in moved.title and "do not fence it or force it down" in moved.advice
    assert "already left cmp1" in moved.advice
    assert "Fence cmp2" not in moved.advice and "Force Down its" not in moved.advice
    assert moved.nova_message == message
    failed_host = advise(status, "Compute service of cmp1 is still in use.", source_host="cmp1")
    assert failed_host.code == "source_still_up" and "Fence cmp1" in failed_host.advice
    assert errors.refines("source_still_up", "server_not_on_source")


def test_lost_answer_advice_never_says_failed_or_retryable_before_nova_says():
    lost = errors.answer_lost("no answer within 30 s")
    assert (lost.code, lost.retryable) == ("answer_lost", False)
    assert "checking Nova" in lost.title and "no answer within 30 s" in lost.advice
    absent = errors.not_received("HTTP 502")
    assert (absent.code, absent.retryable) == ("not_received", True)
    assert 502 in errors.MAYBE_ACCEPTED_STATUSES and 504 in errors.MAYBE_ACCEPTED_STATUSES
    assert 500 in errors.MAYBE_ACCEPTED_STATUSES and 409 not in errors.MAYBE_ACCEPTED_STATUSES


@pytest.mark.parametrize("exception_name, code", [
    ("ConnectFailure", "nova_unreachable"),
    ("ConnectTimeout", "nova_unreachable"),
    ("ReadTimeout", "nova_unreachable"),
    ("ConnectionRefusedError", "nova_unreachable"),
    ("EndpointNotFound", "endpoint_not_found"),
    ("SSLError", "tls_failed"),
])
def test_transport_errors(exception_name, code):
    advice = advise(None, "Unable to establish connection to http://ctl:8774/v2.1", exception_name)
    assert advice.code == code
    assert advice.retryable


def test_unreachable_warns_that_the_request_may_have_been_accepted():
    advice = advise(None, "Request to http://ctl:8774 timed out", "ConnectTimeout")
    assert "may or may not have reached Nova" in advice.advice
    assert "check the server's status" in advice.advice


def test_endpoint_not_found_says_nothing_was_sent():
    assert "Nothing was sent" in advise(None, "", "EndpointNotFound").advice


@pytest.mark.parametrize("status, code, retryable", [
    (401, "session_expired", True),
    (403, "not_allowed", False),
    (500, "nova_internal_error", False),
    (503, "nova_unavailable", True),
    (504, "nova_unreachable", True),
])
def test_status_only_rules(status, code, retryable):
    advice = advise(status, "Something unexpected")
    assert (advice.code, advice.retryable) == (code, retryable)


def test_internal_error_mentions_stuck_rebuild():
    assert "REBUILD" in advise(500, "Unexpected API Error.").advice


def test_unknown_error_keeps_novas_message():
    advice = advise(400, "Something Nova has never said before.")
    assert advice.code == "nova_error" and not advice.retryable
    assert advice.nova_message == "Something Nova has never said before."


def test_rules_have_unique_codes():
    codes = [r.code for r in errors.RULES]
    assert len(codes) == len(set(codes))


# --- faults seen after the 200 ------------------------------------------------------------

@pytest.mark.parametrize("message, code", [
    ("No valid host was found. There are not enough hosts available.", "no_valid_host"),
    ("Insufficient compute resources: Free memory 1024.00 MB < requested 4096 MB.",
     "claim_failed"),
    ("Build of instance 5a1d was re-scheduled: Anti-affinity instance group policy was "
     "violated.", "group_policy_violated"),
    ("Invalid state of instance files on shared storage", "shared_storage_mismatch"),
    ("Instance evacuate is not supported.", "driver_cannot_evacuate"),
    ("Instance instance-0000002a already exists.", "guest_already_exists"),
    ("Compute host cmp9 could not be found.", "target_not_found"),
])
def test_faults(message, code):
    advice = advise_fault({"code": 500, "created": "2026-11-23T03:10:00Z", "message": message})
    assert advice.code == code
    assert advice.nova_message == message


def test_unknown_fault_still_explains_what_to_do():
    advice = advise_fault({"code": 500, "message": "Volume attachment failed"})
    assert advice.code == "evacuation_failed"
    assert "reset its state to error" in advice.advice
    assert advice.nova_message == "Volume attachment failed"


@pytest.mark.parametrize("status, code", [("failed", "target_refused"),
                                          ("error", "scheduling_failed")])
def test_migration_failure_without_fault(status, code):
    advice = advise_fault(None, migration_status=status)
    assert advice.code == code and advice.nova_message == ""
