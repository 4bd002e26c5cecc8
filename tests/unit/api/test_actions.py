"""The Nova write calls against a fake Nova over real HTTP: paths, bodies, microversions."""
from datetime import datetime, timezone

from novaclient import exceptions as nova_exceptions
import pytest

from evac_dashboard.api import actions
from evac_dashboard.rules import request as evac_request
from tests.unit import factories
from tests.unit.fakes import nova
from tests.unit.fakes.nova import fake_request
from tests.unit.factories import migration

SERVER_ID = "0b0a8b6e-3a4c-4a7e-9f53-2f1c4c9b7d11"


@pytest.fixture
def fake_nova(settings):
    """This module's fake Nova: ``WritableFakeNova`` (the history tests' is ``AuditFakeNova``)."""
    yield from nova.running(settings, nova.WritableFakeNova())


@pytest.mark.parametrize("cloud_max, options", [
    ("2.100", evac_request.EvacuateOptions()),
    ("2.100", evac_request.EvacuateOptions(keep_running=False, target_host="cmp2")),
    ("2.60", evac_request.EvacuateOptions(target_host="cmp2", force=True,
                                          admin_password="pw-1")),
    ("2.20", evac_request.EvacuateOptions(target_host="cmp2")),
    ("2.12", evac_request.EvacuateOptions(on_shared_storage=False, admin_password="pw-2")),
])
def test_evacuate_sends_request_py_body_at_its_microversion(fake_nova, cloud_max, options):
    fake_nova.max_version = cloud_max
    request = fake_request(fake_nova.endpoint)
    built = evac_request.build_request(options, actions.client.negotiated_version(request))

    result = actions.evacuate(request, SERVER_ID, built)

    (sent,) = fake_nova.evacuations()
    assert sent.path == "/v2.1/servers/%s/action" % SERVER_ID
    assert sent.version == built.microversion
    assert sent.body == {"evacuate": built.body}
    assert result.request_id and result.request_id.startswith("req-")


def test_evacuate_at_the_power_state_preserving_microversion(fake_nova):
    built = evac_request.build_request(evac_request.EvacuateOptions(keep_running=True), "2.96")
    actions.evacuate(fake_request(fake_nova.endpoint), SERVER_ID, built)
    assert fake_nova.evacuations()[0].microversion == "compute 2.94"


def test_evacuate_returns_the_password_only_below_2_14(fake_nova):
    request = fake_request(fake_nova.endpoint)
    old = evac_request.build_request(
        evac_request.EvacuateOptions(on_shared_storage=False), "2.13")
    new = evac_request.build_request(evac_request.EvacuateOptions(), "2.14")
    assert actions.evacuate(request, SERVER_ID, old).admin_pass == "generated-pw"
    assert actions.evacuate(request, SERVER_ID, new).admin_pass is None


def test_evacuate_refusal_is_a_novaclient_error_with_advice(fake_nova):
    fake_nova.refusals[SERVER_ID] = (400, "Compute service of cmp1 is still in use.")
    built = evac_request.build_request(evac_request.EvacuateOptions(), "2.94")
    with pytest.raises(nova_exceptions.BadRequest) as caught:
        actions.evacuate(fake_request(fake_nova.endpoint), SERVER_ID, built)
    advice = actions.advice_for(caught.value)
    assert advice.code == "source_still_up"
    assert advice.nova_message == "Compute service of cmp1 is still in use."
    assert actions.error_request_id(caught.value).startswith("req-")


def test_connection_failure_gets_transport_advice(fake_nova):
    endpoint = fake_nova.endpoint
    fake_nova.stop()
    built = evac_request.build_request(evac_request.EvacuateOptions(), "2.94")
    with pytest.raises(Exception) as caught:
        actions.evacuate(fake_request(endpoint), SERVER_ID, built)
    assert actions.advice_for(caught.value).code == "nova_unreachable"


def test_evacuate_never_logs_the_password(fake_nova, caplog):
    caplog.set_level("DEBUG")
    built = evac_request.build_request(
        evac_request.EvacuateOptions(admin_password="Very-Secret-42"), "2.94")
    actions.evacuate(fake_request(fake_nova.endpoint), SERVER_ID, built)
    assert fake_nova.evacuations()[0].body["evacuate"]["adminPass"] == "Very-Secret-42"
    assert caplog.records  # the call was logged, just not the password
    assert "Very-Secret-42" not in caplog.text


# --------------------------------------------------------------------------- services

def _service(fake_nova):
    fake_nova.services = [factories.service("cmp1", state="down")]
    return fake_nova.services[0]


def test_force_down_by_service_uuid_from_2_53(fake_nova):
    service = _service(fake_nova)
    answer = actions.force_down(fake_request(fake_nova.endpoint), service)
    (put,) = [r for r in fake_nova.requests if r.method == "PUT"]
    assert put.path == "/v2.1/os-services/%s" % service["id"]
    assert put.body == {"forced_down": True}
    assert put.version == "2.96"
    assert answer["forced_down"] is True


@pytest.mark.parametrize("cloud_max, sent", [("2.52", "2.52"), ("2.11", "2.11")])
def test_force_down_by_host_and_binary_below_2_53(fake_nova, cloud_max, sent):
    fake_nova.max_version = cloud_max
    service = _service(fake_nova)
    service["id"] = 7  # integer IDs below 2.53
    actions.force_down(fake_request(fake_nova.endpoint), service)
    (put,) = [r for r in fake_nova.requests if r.method == "PUT"]
    assert put.path == "/v2.1/os-services/force-down"
    assert put.body == {"host": "cmp1", "binary": "nova-compute", "forced_down": True}
    assert put.version == sent


def test_service_read_without_uuid_uses_the_legacy_call_on_a_new_cloud(fake_nova):
    service = dict(_service(fake_nova), id=7)
    actions.force_down(fake_request(fake_nova.endpoint), service)
    (put,) = [r for r in fake_nova.requests if r.method == "PUT"]
    assert put.path == "/v2.1/os-services/force-down" and put.version == "2.52"


@pytest.mark.parametrize("max_version, service_id", [("2.96", None), ("2.52", 7)])
def test_service_updates_hand_back_novas_request_id(fake_nova, max_version, service_id):
    fake_nova.max_version = max_version
    service = _service(fake_nova)
    if service_id:
        service["id"] = service_id
    seen = []
    actions.force_down(fake_request(fake_nova.endpoint), service, True, seen)
    actions.set_service_status(fake_request(fake_nova.endpoint), service, False, "fenced",
                               request_ids=seen)
    assert len(fake_nova.issued_request_ids) == 2
    assert seen == fake_nova.issued_request_ids


def test_force_down_needs_2_11(fake_nova):
    fake_nova.max_version = "2.10"
    with pytest.raises(actions.UnsupportedAction, match="2.11"):
        actions.force_down(fake_request(fake_nova.endpoint), _service(fake_nova))
    assert not [r for r in fake_nova.requests if r.method == "PUT"]


def test_unset_force_down_refusal_is_reported(fake_nova):
    fake_nova.force_up_refused = True
    with pytest.raises(nova_exceptions.BadRequest) as caught:
        actions.force_down(fake_request(fake_nova.endpoint), _service(fake_nova), forced=False)
    (put,) = [r for r in fake_nova.requests if r.method == "PUT"]
    assert put.body == {"forced_down": False}
    advice = actions.advice_for(caught.value)
    assert advice.code == "force_up_blocked" and "cmp1" in advice.advice


def test_disable_with_reason_and_enable_from_2_53(fake_nova):
    service = _service(fake_nova)
    request = fake_request(fake_nova.endpoint)
    actions.set_service_status(request, service, enabled=False, reason=" fenced, PDU off ")
    actions.set_service_status(request, service, enabled=True, reason="ignored")
    disable, enable = [r for r in fake_nova.requests if r.method == "PUT"]
    assert disable.path == enable.path == "/v2.1/os-services/%s" % service["id"]
    assert disable.body == {"status": "disabled", "disabled_reason": "fenced, PDU off"}
    assert enable.body == {"status": "enabled"}


def test_disable_and_enable_below_2_53(fake_nova):
    fake_nova.max_version = "2.40"
    service = dict(_service(fake_nova), id=7)
    request = fake_request(fake_nova.endpoint)
    actions.set_service_status(request, service, enabled=False, reason="fenced")
    actions.set_service_status(request, service, enabled=False)
    actions.set_service_status(request, service, enabled=True)
    puts = [r for r in fake_nova.requests if r.method == "PUT"]
    assert [p.path.rsplit("/", 1)[-1] for p in puts] == ["disable-log-reason", "disable",
                                                         "enable"]
    assert puts[0].body == {"host": "cmp1", "binary": "nova-compute",
                            "disabled_reason": "fenced"}
    assert puts[2].body == {"host": "cmp1", "binary": "nova-compute"}


# ------------------------------------------------------------------------- migrations

def test_evacuation_migrations_query_with_changes_since_from_2_59(fake_nova):
    fake_nova.migrations = [migration("a", "cmp1", "2026-11-23T10:00:00.000000"),
                            migration("b", "cmp2", "2026-11-23T10:00:00.000000")]
    since = datetime(2026, 11, 23, 9, 58, tzinfo=timezone.utc)
    found = actions.evacuation_migrations(fake_request(fake_nova.endpoint), "cmp1", since)
    assert [m["instance_uuid"] for m in found] == ["a"]
    (call,) = fake_nova.calls("/os-migrations")
    assert call.query["source_compute"] == ["cmp1"]
    assert call.query["migration_type"] == ["evacuation"]
    assert call.query["changes-since"] == ["2026-11-23T09:58:00Z"]


def test_evacuation_migrations_on_an_old_cloud_send_no_paging_parameters(fake_nova):
    fake_nova.max_version = "2.50"
    since = datetime(2026, 11, 23, 9, 58, tzinfo=timezone.utc)
    actions.evacuation_migrations(fake_request(fake_nova.endpoint), "cmp1", since)
    (call,) = fake_nova.calls("/os-migrations")
    assert "changes-since" not in call.query and "limit" not in call.query


# ------------------------------------------------------------------- lost answers

def _evacuate_error(fake_nova, endpoint=None):
    built = evac_request.build_request(evac_request.EvacuateOptions(), "2.94")
    with pytest.raises(Exception) as caught:
        actions.evacuate(fake_request(endpoint or fake_nova.endpoint), SERVER_ID, built)
    return caught.value


@pytest.mark.parametrize("fate, kind", [
    (nova.DROP_BEFORE, actions.ANSWER_LOST),   # written, then the connection closed
    (nova.DROP_AFTER, actions.ANSWER_LOST),
    (("delay", 1.5), actions.ANSWER_LOST),     # answered after EVAC_NOVA_TIMEOUT
    (("status", 502), actions.ANSWER_LOST),
    (("status", 504), actions.ANSWER_LOST),
    (("status", 503), actions.ANSWER_LOST),
])
def test_an_answer_lost_after_the_request_was_written_may_be_accepted(fake_nova, settings,
                                                                     fate, kind):
    settings.EVAC_NOVA_TIMEOUT = 0.3
    fake_nova.fates[SERVER_ID] = [fate]
    error = _evacuate_error(fake_nova)
    assert actions.failure_kind(error) == kind, (type(error), error)
    assert len(fake_nova.evacuations()) == 1  # the transport never sends a write twice


def test_clean_answers_and_unmade_connections_are_not_lost_answers(fake_nova, settings):
    fake_nova.refusals[SERVER_ID] = (400, "Compute service of cmp1 is still in use.")
    assert actions.failure_kind(_evacuate_error(fake_nova)) == actions.REFUSED
    fake_nova.refusals[SERVER_ID] = (500, "Unexpected API Error.")  # Nova may have acted
    assert actions.failure_kind(_evacuate_error(fake_nova)) == actions.ANSWER_LOST
    del fake_nova.refusals[SERVER_ID]
    fake_nova.unauthorized_after = 0
    assert actions.failure_kind(_evacuate_error(fake_nova)) == actions.LOGIN_EXPIRED
    endpoint = fake_nova.endpoint
    fake_nova.stop()  # nothing listens: the connection is refused, nothing was sent
    assert actions.failure_kind(_evacuate_error(fake_nova, endpoint)) == actions.NOT_SENT


def test_instance_evacuations_asks_for_one_server(fake_nova):
    fake_nova.migrations = [migration(SERVER_ID, "cmp1"), migration("other", "cmp1")]
    found = actions.instance_evacuations(fake_request(fake_nova.endpoint), SERVER_ID)
    assert [m["instance_uuid"] for m in found] == [SERVER_ID]
    (call,) = fake_nova.calls("/os-migrations")
    assert call.query["instance_uuid"] == [SERVER_ID]
    assert call.query["migration_type"] == ["evacuation"]


def test_still_in_use_advice_knows_the_failed_host(fake_nova):
    fake_nova.refusals[SERVER_ID] = nova.still_in_use("cmp2")
    error = _evacuate_error(fake_nova)
    assert actions.advice_for(error).code == "source_still_up"
    assert actions.advice_for(error, source_host="cmp1").code == "server_not_on_source"
