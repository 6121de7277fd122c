# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from hypothesis import given, settings, strategies as st
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import (
    TriageError,
    api_status,
    http_status,
    retry_after_seconds,
    scrub,
    translate_api_exception,
    translate_exception,
)

SECRET = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.sig"
TARGET = "context 'kwok-a' (https://127.0.0.1:32768)"


def api_error(status, reason="", message="", body_reason=None, details=None, headers=None):
    exc = ApiException(status=status, reason=reason)
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": body_reason or reason, "code": status}
    if details is not None:
        body["details"] = details
    exc.body = json.dumps(body)
    exc.headers = headers if headers is not None else {"Authorization": "Bearer " + SECRET}
    return exc


def everything(error):
    return error.msg + " " + json.dumps(error.details)


def test_401_says_check_credentials():
    error = translate_api_exception(api_error(401, "Unauthorized", "Unauthorized"), "get", "pods", "shop",
                                    target=TARGET)
    assert error.msg.startswith("Unauthorized: the API server on %s rejected the credentials" % TARGET)
    assert "token" in error.msg and "certificate" in error.msg
    assert error.details["status"] == 401 and error.details["error_type"] == "unauthorized"


def test_403_names_verb_resource_namespace_and_user():
    message = ('pods "web-1" is forbidden: User "system:serviceaccount:x:y" cannot patch resource "pods" '
               'in API group "" in the namespace "shop"')
    error = translate_api_exception(api_error(403, "Forbidden", message), "patch", "pods", "shop", "web-1")
    assert error.msg.startswith('Forbidden: cannot patch pods in namespace "shop" '
                                '(user "system:serviceaccount:x:y"): grant the "patch" verb on "pods" '
                                'to this identity')
    assert message in error.msg
    assert error.details["user"] == "system:serviceaccount:x:y"


def test_403_on_impersonation_asks_for_the_verb_the_server_checked():
    message = 'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" ' \
              'at the cluster scope'
    error = translate_api_exception(api_error(403, "Forbidden", message), "get", "pods", "shop", "web-1")
    assert 'cannot get pods in namespace "shop" (user "alice")' in error.msg
    assert 'grant the "impersonate" verb on "users"' in error.msg


def test_403_without_parsable_message():
    error = translate_api_exception(api_error(403, "Forbidden", ""), "delete", "networkpolicies", "shop")
    assert error.msg == ('Forbidden: cannot delete networkpolicies in namespace "shop": grant the "delete" '
                         'verb on "networkpolicies" to this identity')
    assert translate_exception(api_error(403, "Forbidden", "nope"), None, None).msg == \
        "Forbidden: cannot access this object. API server said: nope"


def test_404_names_the_missing_object():
    exc = api_error(404, "Not Found", 'pods "web-1" not found', "NotFound", {"name": "web-1", "kind": "pods"})
    error = translate_api_exception(exc, "get", "pods", "shop", "web-1")
    assert error.msg == 'pod "web-1" not found in namespace "shop"'
    assert error.details["error_type"] == "not_found"


def test_404_namespace():
    exc = api_error(404, "Not Found", 'namespaces "shop" not found', "NotFound", {"name": "shop", "kind": "namespaces"})
    error = translate_api_exception(exc, "create", "networkpolicies", "shop", "q-web-1", target=TARGET)
    assert error.msg == 'namespace "shop" not found on %s' % TARGET


def test_404_on_list_and_singular_forms():
    error = translate_api_exception(api_error(404, "Not Found", "the server could not find the requested resource"),
                                    "list", "networkpolicies", "shop")
    assert error.msg.startswith('networkpolicies in namespace "shop" not found')
    error = translate_api_exception(api_error(404, "Not Found", ""), "get", "networkpolicies", "shop", "q")
    assert error.msg == 'networkpolicy "q" not found in namespace "shop"'


def test_409_conflict_and_already_exists():
    message = 'Operation cannot be fulfilled on pods "web-1": the object has been modified'
    error = translate_api_exception(api_error(409, "Conflict", message, "Conflict"), "update", "pods", "shop", "web-1")
    assert error.msg.startswith('Conflict: pod "web-1" in namespace "shop" changed since it was read')
    assert message in error.msg
    error = translate_api_exception(api_error(409, "Conflict", "", "AlreadyExists"), "create", "networkpolicies",
                                    "shop", "q-web-1")
    assert error.msg == 'networkpolicy "q-web-1" already exists in namespace "shop"'


def test_422_lists_causes():
    details = {"name": "web-1", "kind": "pods", "causes": [
        {"reason": "FieldValueInvalid", "message": "Invalid value: \"Bad!\": must be a valid label",
         "field": "metadata.labels"},
        {"reason": "FieldValueForbidden", "message": "Forbidden: pod updates may not change fields",
         "field": "spec"}]}
    error = translate_api_exception(api_error(422, "Unprocessable Entity", "Pod is invalid", "Invalid", details),
                                    "patch", "pods", "shop", "web-1")
    assert error.msg.startswith('Invalid: the API server rejected patch pod "web-1" in namespace "shop": ')
    assert 'metadata.labels: Invalid value: "Bad!": must be a valid label' in error.msg
    assert "spec: Forbidden: pod updates may not change fields" in error.msg
    assert [c["field"] for c in error.details["causes"]] == ["metadata.labels", "spec"]


def test_429_and_5xx():
    error = translate_api_exception(api_error(429, "Too Many Requests", headers={"Retry-After": "3"}), "list", "pods")
    assert error.msg.startswith("Throttled") and "retry after 3 seconds" in error.msg
    for code in (500, 502, 503, 504):
        error = translate_api_exception(api_error(code, "Service Unavailable", "etcd is down"), "get", "pods",
                                        "shop", "web-1")
        assert error.msg.startswith("API server error %d" % code) and "etcd is down" in error.msg
        assert error.details["error_type"] == "server_error"


def test_retry_after_sources():
    assert retry_after_seconds(api_error(429, headers={"Retry-After": "1.5"})) == 1.5
    body = api_error(429)
    body.body = json.dumps({"details": {"retryAfterSeconds": 4}})
    assert retry_after_seconds(body) == 4.0
    assert retry_after_seconds(api_error(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_seconds(api_error(429, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(api_error(429)) is None


def test_429_message_uses_the_same_parser():
    body = api_error(429, "Too Many Requests", details={"retryAfterSeconds": 4})
    assert "retry after 4 seconds" in translate_api_exception(body, "list", "pods").msg
    half = api_error(429, headers={"Retry-After": "1.5"})
    assert "retry after 1.5 seconds" in translate_api_exception(half, "list", "pods").msg
    past = api_error(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert "retry after 0 seconds" in translate_api_exception(past, "list", "pods").msg
    vague = api_error(429, headers={"Retry-After": "soon"})
    assert translate_api_exception(vague, "list", "pods").msg.endswith("; retry later")


def test_other_status():
    error = translate_api_exception(api_error(400, "Bad Request", "bad selector"), "list", "pods", "shop")
    assert error.msg == 'cannot list pods in namespace "shop": 400 Bad Request: bad selector'


def test_config_exception_and_unexpected_and_passthrough():
    error = translate_exception(ConfigException("Invalid kube-config file. No configuration found."), "get", "pods")
    assert error.msg.startswith("Kubernetes client configuration problem") and error.details["error_type"] == "config"
    error = translate_exception(ValueError("bad thing"), "get", "pods", "shop", "web-1")
    assert error.msg == 'unexpected ValueError while trying to get pod "web-1" in namespace "shop": bad thing'
    original = TriageError("already clear")
    assert translate_exception(original, "get", "pods") is original


def test_token_never_appears():
    message = 'pods is forbidden: User "u" cannot list resource "pods"; token Bearer %s; Authorization: Basic ' \
              'YWRtaW46cHc=' % SECRET
    for code in (401, 403, 404, 409, 422, 429, 500, 418, 0):
        exc = api_error(code, "Whatever Bearer " + SECRET, message,
                        details={"causes": [{"field": "f", "message": "Bearer " + SECRET}]})
        error = translate_exception(exc, "list", "pods", "shop")
        assert SECRET not in everything(error), code
        assert "YWRtaW46cHc=" not in everything(error), code
    assert SECRET not in translate_exception(RuntimeError("Authorization: Bearer " + SECRET), "get", "pods").msg


def test_status_helpers():
    exc = api_error(404, "Not Found", "gone", "NotFound", {"kind": "pods"})
    assert api_status(exc)["reason"] == "NotFound" and http_status(exc) == 404
    exc.body = "<html>proxy error</html>"
    assert api_status(exc) == {}
    assert http_status(ValueError()) is None
    assert scrub("Bearer abc.def and basic Zm9v") == "Bearer <redacted> and basic <redacted>"


@settings(max_examples=60, deadline=None)
@given(code=st.integers(min_value=0, max_value=599), reason=st.text(max_size=20), message=st.text(max_size=80),
       body_is_json=st.booleans())
def test_any_api_exception_becomes_a_secret_free_triage_error(code, reason, message, body_is_json):
    exc = ApiException(status=code, reason=reason)
    exc.body = json.dumps({"message": message + " Bearer " + SECRET}) if body_is_json else message
    exc.headers = {"Authorization": "Bearer " + SECRET}
    error = translate_exception(exc, "get", "pods", "shop", "web-1")
    assert isinstance(error, TriageError) and error.msg
    assert SECRET not in everything(error)


# -- module.run_module: the only path from an exception to the user ---------------------

def run(fn, capsys):
    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import run_module

    with patch_module_args({"host": "https://h:6443", "api_key": SECRET}):
        module = AnsibleModule(argument_spec={"host": {}, "api_key": {"no_log": True}})
        with pytest.raises(SystemExit):
            run_module(module, fn)
    return json.loads(capsys.readouterr().out)


def test_run_module_exits_with_result(capsys):
    assert run(lambda module: {"changed": True, "pod": "web-1"}, capsys)["pod"] == "web-1"


def test_run_module_turns_triage_error_into_fail_json(capsys):
    def fn(module):
        raise TriageError("pod is gone", {"status": 404, "msg": "ignored"})
    result = run(fn, capsys)
    assert result["failed"] is True and result["msg"] == "pod is gone" and result["status"] == 404


def test_run_module_translates_api_exception_without_traceback(capsys):
    def fn(module):
        raise api_error(403, "Forbidden", 'User "u" cannot patch resource "pods" in API group "" in the namespace "s"')
    result = run(fn, capsys)
    assert result["msg"].startswith('Forbidden: cannot patch pods in namespace "s" (user "u"): grant')
    assert "exception" not in result and SECRET not in json.dumps(result)


def test_run_module_reports_unexpected_errors(capsys):
    def fn(module):
        raise KeyError("spec")
    result = run(fn, capsys)
    assert result["msg"] == "unexpected KeyError while trying to access objects on https://h:6443: 'spec'"


def test_refused_exec_websocket_names_verb_and_resource():
    # kubernetes.stream reports a refused websocket as status 0 with the handshake text, headers included.
    exc = ApiException(status=0, reason="Handshake status 403 Forbidden -+-+- {'audit-id': 'x', 'content-type': "
                                        "'application/json'} -+-+- b'{\"kind\":\"Status\",\"message\":\"pods \\\"web-1\\\" is forbidden\"}'")
    err = translate_exception(exc, "create", "pods/exec", namespace="shop", name="web-1")
    assert err.details["status"] == 403 and err.details["error_type"] == "forbidden"
    assert 'cannot create pods/exec in namespace "shop"' in err.msg
    assert 'grant the "create" and "get" verbs on "pods/exec"' in err.msg
    assert "audit-id" not in err.msg
    assert err.msg.endswith('API server said: pods "web-1" is forbidden')


def test_an_admission_denial_is_not_worded_as_rbac():
    import json
    from kubernetes.client.exceptions import ApiException
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import translate_exception as translate

    exc = ApiException(status=403, reason="Forbidden")
    exc.body = json.dumps({"kind": "Status", "code": 403, "reason": "Forbidden", "message":
                           "pods \"web-1\" is forbidden: ValidatingAdmissionPolicy 'keep-pods' with binding 'keep' "
                           "denied request: pods in this namespace are kept"})
    error = translate(exc, "delete", "pods", namespace="shop", name="web-1")
    assert error.msg.startswith("Forbidden: an admission check of the API server refused to delete pods")
    assert "grant the" not in error.msg and "keep-pods" in error.msg
