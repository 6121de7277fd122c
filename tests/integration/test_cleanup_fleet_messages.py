"""The last line of a fleet run names why each cluster failed (issue 10, item 7): the cleanup and
crashloop_scan playbooks run as identities that may not list pods (docs/rbac with that verb
taken away), and the final failure says "Forbidden: cannot list pods", not only "see the table"."""

import os

import pytest

from k8s_helpers import bearer_token_env

PLAYBOOKS = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks")


@pytest.mark.parametrize("job, playbook, opening", [
    ("cleanup", "cleanup.yml", "cleanup failed on 1 of 1 cluster(s): "),
    ("scan", "crashloop_scan.yml", "the scan failed on 1 of 1 cluster(s): "),
])
def test_the_last_line_names_the_verb_and_resource(api, namespace, ansible, identities, tmp_path, job, playbook,
                                                   opening):
    identity = identities(job, namespace, without=("pods", "list"))
    token = identity.token()
    env = bearer_token_env(api, token, str(tmp_path))
    proc = ansible.playbook(os.path.join(PLAYBOOKS, playbook), env=env,
                            extra_vars={"namespaces": namespace, "report_dir": str(tmp_path / "reports")})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    last = [line for line in out.splitlines() if opening in line][-1]
    assert 'Forbidden: cannot list pods in namespace \\"%s\\"' % namespace in last, last
    assert "see the table above" in last or "crashloop-fleet.md" in last
    assert token not in out and "Traceback" not in out
