"""Secrets in a bundle, on the real control plane: a crash-looping pod whose current and previous
logs (served by KWOK), an Event message, its manifest (env, args, annotations, the owner's
last-applied-configuration), an exec command and its output, and a copied file carry every secret
shape of the shipped table. After one collection with an archive, no secret value appears in any
file of the bundle directory nor of the archive, and manifest.json records the redaction as
docs/evidence.md says."""

import datetime
import json
import os
import tarfile
import uuid

from kubernetes import client

from k8s_helpers import annotate_behavior, create, deployment_body, serve_exec, serve_logs, wait_list, wait_ready_pods


def _secrets():
    """{what: (line as it appears, secret value)}: unique values for this run (a marker inside each),
    so a hit can only be a leak."""
    m = uuid.uuid4().hex[:10]
    s = dict(
        redis_url=("connecting to redis://:Rp%s@redis:6379/0" % m, "Rp%s" % m),
        secret_key_base=("SECRET_KEY_BASE=Skb%s0123456789abcdef" % m, "Skb%s0123456789abcdef" % m),
        stripe_env=("STRIPE_SECRET_KEY=sk_live_%sAbCdEfGhIj" % m, "sk_live_%sAbCdEfGhIj" % m),
        stripe_bare=("charging card with sk_test_%sQwErTy" % m, "sk_test_%sQwErTy" % m),
        mysql_attached=("running mysql -h db -u root -pMy%s shop" % m, "My%s" % m),
        mysql_spaced=("mysqldump -u root -p Md%s --all-databases" % m, "Md%s" % m),
        pass_eq=("login user=app pass=Pa%s ok" % m, "Pa%s" % m),
        pwd_eq=("dsn host=db pwd=Pw%s;timeout=5" % m, "Pw%s" % m),
        postgres=("DATABASE_URL=postgres://app:Pg%s@db:5432/shop?sslmode=require" % m, "Pg%s" % m),
        mongodb=("mongodb+srv://reader:Mg%s@cluster0.example.net/db" % m, "Mg%s" % m),
        amqp=("broker amqp://guest:Am%s@rabbit:5672/" % m, "Am%s" % m),
        redis_userinfo=("cache rediss://Ru%s@cache:6380" % m, "Ru%s" % m),
        yaml_style=("DB_PASSWORD: Yp%s" % m, "Yp%s" % m),
        json_style=('{"level":"info","api_token":"Jt%s","msg":"ready"}' % m, "Jt%s" % m),
        api_key=("export PAYMENTS_API_KEY=Ak%s" % m, "Ak%s" % m),
        flag=("exec /app --db-password Fl%s --port 80" % m, "Fl%s" % m),
        curl=("curl -u admin:Cu%s https://internal/api" % m, "Cu%s" % m),
        header=("Authorization: Bearer Bt%s.x-y_z" % m, "Bt%s.x-y_z" % m),
        github=("cloning with ghp_%s%s" % (m, "A" * 26), "ghp_%s%s" % (m, "A" * 26)),
        slack=("posting with xoxb-%s-1234-abcd" % m, "xoxb-%s-1234-abcd" % m),
        aws=("aws key AKIA%s" % (m.upper() + "ABCDEF")[:16], "AKIA%s" % (m.upper() + "ABCDEF")[:16]),
        gitlab=("gitlab glpat-%s1234567890" % m, "glpat-%s1234567890" % m),
        jwt=("session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI%s.Sig%s" % (m, m), "eyJzdWIiOiI%s" % m),
        pem_inline=('{"tls_key": "-----BEGIN EC PRIVATE KEY-----\\nPi%s\\n-----END EC PRIVATE KEY-----"}' % m,
                    "Pi%s" % m),
    )
    pem_lines = ["Pm%s%02dAbCdEfGhIjKlMnOpQrStUvWxYz0123" % (m, i) for i in range(3)]
    return m, s, pem_lines


PEM = ["-----BEGIN RSA PRIVATE KEY-----", "{0}", "{1}", "{2}", "-----END RSA PRIVATE KEY-----"]


def _log_lines(secrets, pem_lines, tag):
    lines = ["%s: starting" % tag]
    lines += [line for line, _value in secrets.values()]
    lines += [p.format(*pem_lines) for p in PEM]
    lines += ["%s: ordinary line: keyboard layout us, passed 3 tests, listening -port 80" % tag]
    return lines


def _deployment(name, secrets, marker):
    body = deployment_body(name, 1, {"app": name})
    template = body["spec"]["template"]
    container = template["spec"]["containers"][0]
    container["env"] = [
        {"name": "DATABASE_URL", "value": secrets["postgres"][0].split("=", 1)[1]},
        {"name": "DB_PASSWORD", "value": "Env%s" % marker},
        {"name": "STARTUP_LINE", "value": secrets["mysql_attached"][0]},
    ]
    container["args"] = ["--password", "Arg%s" % marker, "--port", "80"]
    template["metadata"]["annotations"] = {"example.com/api-token": "Ann%s" % marker,
                                           "example.com/config": secrets["pass_eq"][0]}
    applied = json.loads(json.dumps(body))
    body["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)}
    return body, ["Env%s" % marker, "Arg%s" % marker, "Ann%s" % marker]


def _event(core, namespace, pod, message):
    now = datetime.datetime.now(datetime.timezone.utc)
    core.create_namespaced_event(namespace, client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name="secret-"),
        involved_object=client.V1ObjectReference(kind="Pod", name=pod.metadata.name, namespace=namespace,
                                                 uid=pod.metadata.uid, api_version="v1"),
        reason="ConfigDump", message=message, type="Warning", count=1, first_timestamp=now, last_timestamp=now,
        source=client.V1EventSource(component="secrets-test")))


def _contents(bundle, archive):
    """{name: bytes} of every file of the bundle directory and of every member of the archive."""
    out = {}
    for root, _dirs, files in os.walk(bundle):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                out["dir:" + os.path.relpath(path, bundle)] = handle.read()
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile():
                out["tar:" + member.name] = tar.extractfile(member).read()
    return out


def test_no_secret_of_any_shape_reaches_any_file(core, api, namespace, workdir, ansible, tmp_path):
    marker, secrets, pem_lines = _secrets()
    body, manifest_secrets = _deployment("vault", secrets, marker)
    create(api, namespace, body)
    pod = wait_ready_pods(core, namespace, 1, "app=vault")[0]
    name = pod.metadata.name
    serve_logs(api, namespace, name, workdir, {"app": (_log_lines(secrets, pem_lines, "current"),
                                                       _log_lines(secrets, pem_lines, "previous"))})
    serve_exec(api, namespace, name, workdir)
    with open(os.path.join(workdir, "dump.txt"), "w") as f:
        f.write("\n".join(_log_lines(secrets, pem_lines, "exec")) + "\n")
    os.makedirs(os.path.join(workdir, "conf"))
    with open(os.path.join(workdir, "conf", "app.env"), "w") as f:
        f.write("\n".join(line for line, _value in secrets.values()) + "\n")
    with open(os.path.join(workdir, "conf", "blob.bin"), "wb") as f:
        f.write(b"\x00\x01binary without secrets\n")
    # An Event message with many shapes, long enough that describe.txt shortens it.
    _event(core, namespace, pod, "x" * 90 + " " + " ".join(secrets[k][0] for k in (
        "redis_url", "secret_key_base", "stripe_env", "mysql_attached", "pass_eq", "header", "github")))
    _event(core, namespace, pod, "\n".join(p.format(*pem_lines) for p in PEM))
    annotate_behavior(core, namespace, name, "crashloop", exit_code=3)
    wait_list(core.list_namespaced_pod,
              lambda ps: ps and any((cs.restart_count or 0) >= 1 for cs in ps[0].status.container_statuses or []),
              timeout=60, what="a restart", namespace=namespace, field_selector="metadata.name=%s" % name)

    exec_secret = "Ex%s" % marker
    result = ansible.module("triage.k8s.pod_evidence", {
        "name": name, "namespace": namespace, "dest": str(tmp_path / "ev"), "archive": True,
        "exec": [{"command": ["cat", "dump.txt"]},
                 {"command": ["sh", "-c", "echo connecting with mysql -p%s" % exec_secret], "name": "mysql"}],
        "copy_from": [{"path": os.path.join(workdir, "conf")}],
        "notes": {"ticket": "INC-1", "db_password": "Note%s" % marker}})
    assert not result.get("failed"), result
    items = result["items"]
    for item in ("manifest", "describe", "events", "owners", "logs", "previous_logs", "exec", "copy_from"):
        assert items[item]["status"] == "ok", (item, items[item])

    values = [value for _line, value in secrets.values()] + pem_lines + manifest_secrets + [
        exec_secret, "Note%s" % marker]
    files = _contents(result["bundle"], result["archive"])
    assert any(k.startswith("tar:") for k in files) and any(k.endswith("logs/app.previous.log") for k in files)
    leaks = []
    for path, data in files.items():
        if path.endswith("conf/blob.bin"):
            continue  # binary: kept as it came (holds no secret), and listed below
        leaks += ["%s in %s" % (value, path) for value in values if value.encode() in data]
        if marker.encode() in data:
            leaks.append("the marker %s in %s" % (marker, path))
    assert not leaks, leaks

    bundle = result["bundle"]
    log = open(os.path.join(bundle, "logs", "app.previous.log")).read()
    assert "previous: ordinary line: keyboard layout us, passed 3 tests, listening -port 80" in log
    assert "redis://:<redacted>@redis:6379/0" in log and "-----BEGIN RSA PRIVATE KEY-----" in log
    describe = open(os.path.join(bundle, "describe.txt")).read()
    assert "ConfigDump" in describe and "<redacted>" in describe

    with open(os.path.join(bundle, "manifest.json")) as handle:
        manifest = json.load(handle)
    record = manifest["redaction"]
    assert record["enabled"] is True and record["rules"] == "triage.k8s/secret-shapes/v1"
    assert record["total"] == manifest["redactions"] == result["redactions"] == sum(record["by_shape"].values())
    expected = {"url_credentials", "url_userinfo", "assignment", "mysql_password_flag", "secret_flag", "curl_user",
                "authorization_header", "stripe_key", "github_token", "slack_token", "aws_access_key_id",
                "gitlab_token", "jwt", "pem_private_key", "pem_private_key_inline", "secret_env_name",
                "secret_key_value"}
    assert expected <= set(k for k, v in record["by_shape"].items() if v), record["by_shape"]
    assert set(record["shapes"]) >= expected
    assert record["not_redacted"] == [{"path": "copy/01-conf/conf/blob.bin",
                                       "reason": "binary (NUL bytes in its first 8192 bytes)"}]
    assert manifest["notes"] == {"ticket": "INC-1", "db_password": "<redacted>"}
