"""The bad-input table: every row is one call that must fail with a clear message and change
nothing. tests/integration/test_bad_inputs.py runs each module's rows in one ansible-playbook run
and the inventory rows in one ansible-inventory run. Add a row when a new bad input is found.

A row is a dict:
    what     what the row tries, for the failure report
    module   pod_quarantine, pod_evidence, crashloop_info, quarantine_info, quarantine_cleanup,
             or inventory (args is then the inventory source's YAML, as a dict)
    args     the module arguments; kubeconfig and context default to the test cluster's
    expect   substrings the message must contain (compared case-insensitively)
    once     substrings the message must contain exactly once (optional)
    absent   substrings that must appear nowhere in the result (optional; "Traceback" and
             "KeyError" never may)

Placeholders, replaced in every string of args: {ns} (a namespace with the Deployment "web" and
its Service), {pod} (a Ready pod of web), {victim_ns} (another namespace: the pod "victim", its
Service, and "victim-expired", a quarantined pod past its expiry with evidence, so a cleanup that
escaped into it would delete it), {tmp} (a scratch directory), {kubeconfig}, {context}.
"""

import copy

POD_RULE = "must be a lowercase RFC 1123 subdomain"
NS_RULE = "must be a lowercase RFC 1123 label"
NOTHING_DONE = "nothing was read or written"
BOGUS_TOKEN = "bogus-token-4f1d9c0b7e"  # a token this cluster never issued

# Names that must never reach a URL as they are: (what, value) or (what, value, how the message
# shows it); by default the message shows the value as given, in double quotes (names.py shortens
# one longer than 80 characters).
TRAVERSAL_NAMES = [
    ("dot segments into another namespace's pod", "../../{victim_ns}/pods/victim"),
    ("dot segments onto a Namespace object", "../../{victim_ns}"),
    ("one dot segment", "../victim"),
    ("a slash", "a/b"),
    ("a single dot", "."),
    ("two dots", ".."),
    ("percent-encoded dots", "%2e%2e"),
    ("percent-encoded traversal", "%2e%2e%2f%2e%2e%2f{victim_ns}%2fpods%2fvictim"),
    ("a query string", "victim?dryRun=All"),
    ("a fragment", "victim#x"),
    ("a space", "web 1"),
    ("uppercase", "Victim"),
    ("a backslash", "..\\victim"),
    ("a newline", "victim\nx", '"victim'),
    ("a leading dash", "-victim"),
    ("a trailing dot", "victim."),
    ("a homoglyph (Cyrillic i)", "v\u0456ctim"),
    ("too long for a subdomain (254)", "a" * 254, '"%s... (254 characters)"' % ("a" * 60)),
]
NAMESPACE_NAMES = [
    ("dot segments", "../{victim_ns}"),
    ("two dots", ".."),
    ("a single dot", "."),
    ("a slash", "{victim_ns}/pods"),
    ("percent-encoded dots", "%2e%2e"),
    ("a query string", "{victim_ns}?watch=1"),
    ("a fragment", "ns#x"),
    ("a space", "my ns"),
    ("uppercase", "Shop"),
    ("a dot (labels have none)", "a.b"),
    ("too long for a label (64)", "n" * 64),
]


def _shown(entry):
    return entry[2] if len(entry) > 2 else '"%s"' % entry[1]


def _pod_name_rows(module, base, option="name", kind="pod"):
    return [dict(what="%s %s with %s" % (module, option, entry[0]), module=module,
                 args=dict(base, **{option: entry[1]}), expect=['invalid %s name %s' % (kind, _shown(entry)), POD_RULE])
            for entry in TRAVERSAL_NAMES]


def _namespace_rows(module, base, option="namespace", as_list=False, names=None):
    rows = []
    for entry in names or NAMESPACE_NAMES:
        args = dict(base, **{option: ["{ns}", entry[1]] if as_list else entry[1]})
        rows.append(dict(what="%s %s with %s" % (module, option, entry[0]), module=module, args=args,
                         expect=['invalid namespace %s' % _shown(entry), NS_RULE]))
    return rows


def _some(names, *whats):
    return [row for row in names if row[0] in whats]


# -- pod_quarantine ---------------------------------------------------------------------------
Q = "pod_quarantine"
ROWS = []
ROWS += _pod_name_rows(Q, {"namespace": "{ns}"})
ROWS += _namespace_rows(Q, {"name": "{pod}"})
ROWS += [dict(what="release with " + r["what"], module=Q, args=dict(r["args"], state="released"), expect=r["expect"])
         for r in _pod_name_rows(Q, {"namespace": "{ns}"})[:4]]
ROWS += [dict(what="network isolation with " + r["what"], module=Q,
              args=dict(r["args"], network_isolation=True), expect=r["expect"])
         for r in _pod_name_rows(Q, {"namespace": "{ns}"})[:2]]
ROWS += [
    dict(what="missing pod", module=Q, args={"name": "ghost", "namespace": "{ns}"},
         expect=['pod "ghost" not found in namespace "{ns}"']),
    dict(what="missing namespace", module=Q, args={"name": "{pod}", "namespace": "nowhere-3a1b"},
         expect=['namespace "nowhere-3a1b" not found', "check namespace and context"]),
    dict(what="a pod that exists only in another namespace", module=Q,
         args={"name": "victim", "namespace": "{ns}"}, expect=['pod "victim" not found in namespace "{ns}"']),
    dict(what="wrong context", module=Q, args={"name": "{pod}", "namespace": "{ns}", "context": "kwok-nope"},
         expect=["context 'kwok-nope' not found", "{context}"]),
    dict(what="kubeconfig that does not exist", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "kubeconfig": "{tmp}/no-such-kubeconfig"},
         expect=["kubeconfig {tmp}/no-such-kubeconfig does not exist"]),
    dict(what="invalid ttl", module=Q, args={"name": "{pod}", "namespace": "{ns}", "ttl": "1 day"},
         expect=["ttl: invalid duration '1 day'"]),
    dict(what="zero ttl", module=Q, args={"name": "{pod}", "namespace": "{ns}", "ttl": "0s"},
         expect=["must be greater than zero"]),
    dict(what="negative ttl", module=Q, args={"name": "{pod}", "namespace": "{ns}", "ttl": "-5m"},
         expect=["ttl: invalid duration '-5m'"]),
    dict(what="ttl of the wrong type", module=Q, args={"name": "{pod}", "namespace": "{ns}", "ttl": ["1h"]},
         expect=["ttl"]),
    dict(what="labels without strategy labels", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "labels": {"enabled": "false"}},
         expect=["labels is only used with strategy: labels"]),
    dict(what="strategy labels without labels", module=Q, args={"name": "{pod}", "namespace": "{ns}", "strategy": "labels"},
         expect=["strategy is labels but all of the following are missing: labels"]),
    dict(what="invalid label key", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "strategy": "labels", "labels": {"bad key!": "x"}},
         expect=["label key 'bad key!' is invalid"]),
    dict(what="invalid label value", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "strategy": "labels", "labels": {"app": "-web"}},
         expect=["label value '-web' is invalid"]),
    dict(what="label value too long", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "strategy": "labels", "labels": {"app": "x" * 64}},
         expect=["the limit is 63"]),
    dict(what="labels of the wrong type", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "strategy": "labels", "labels": 5},
         expect=["labels"]),
    dict(what="network_allow without network_isolation", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "network_allow": {"cidrs": ["192.0.2.0/24"]}},
         expect=["network_allow only applies with network_isolation: true"]),
    dict(what="zero wait_timeout", module=Q, args={"name": "{pod}", "namespace": "{ns}", "wait_timeout": 0},
         expect=["wait_timeout must be a positive number"]),
    dict(what="wait_timeout not a number", module=Q, args={"name": "{pod}", "namespace": "{ns}", "wait_timeout": "soon"},
         expect=["wait_timeout", "int"]),
    dict(what="unknown state", module=Q, args={"name": "{pod}", "namespace": "{ns}", "state": "isolated"},
         expect=["state", "quarantined, released"]),
    dict(what="unknown option", module=Q, args={"name": "{pod}", "namespace": "{ns}", "namespaces": ["{ns}"]},
         expect=["Unsupported parameters", "namespaces"]),
    dict(what="missing name", module=Q, args={"namespace": "{ns}"}, expect=["missing required arguments: name"]),
    dict(what="empty name", module=Q, args={"name": "", "namespace": "{ns}"},
         expect=['invalid pod name ""', "must not be empty"]),
    dict(what="empty namespace", module=Q, args={"name": "{pod}", "namespace": ""},
         expect=['invalid namespace ""', "must not be empty"]),
    dict(what="a 300 KB reason", module=Q, args={"name": "{pod}", "namespace": "{ns}", "reason": "r" * 300000},
         expect=["reason is 300000 characters long"], once=["300000"]),
    dict(what="a kubeconfig dict with a token the cluster never issued", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "context": "bogus",
               "kubeconfig": {"apiVersion": "v1", "kind": "Config", "current-context": "bogus",
                              "clusters": [{"name": "bogus", "cluster": {"server": "{server}",
                                                                         "insecure-skip-tls-verify": True}}],
                              "users": [{"name": "bogus", "user": {"token": BOGUS_TOKEN}}],
                              "contexts": [{"name": "bogus", "context": {"cluster": "bogus", "user": "bogus"}}]}},
         expect=["Unauthorized"], absent=[BOGUS_TOKEN]),
    dict(what="a proxy URL with a password in front of a closed port", module=Q,
         args={"name": "{pod}", "namespace": "{ns}", "proxy": "http://u:pr0xy-pw-77@127.0.0.1:9"},
         expect=["proxy", "127.0.0.1:9"], absent=["pr0xy-pw-77"]),
]

# -- pod_evidence -----------------------------------------------------------------------------
E = "pod_evidence"
EB = {"dest": "{tmp}/evidence"}
ROWS += _pod_name_rows(E, dict(EB, namespace="{ns}"))
ROWS += _namespace_rows(E, dict(EB, name="{pod}"))
ROWS += [
    dict(what="evidence of a missing pod", module=E, args=dict(EB, name="ghost", namespace="{ns}"),
         expect=['pod "ghost" not found in namespace "{ns}"']),
    dict(what="evidence in a missing namespace", module=E, args=dict(EB, name="{pod}", namespace="nowhere-3a1b"),
         expect=['namespace "nowhere-3a1b" not found']),
    dict(what="evidence on a wrong context", module=E, args=dict(EB, name="{pod}", namespace="{ns}", context="kwok-nope"),
         expect=["context 'kwok-nope' not found"]),
    dict(what="exec in a container with a traversal name", module=E,
         args=dict(EB, name="{pod}", namespace="{ns}", exec=[{"command": ["true"], "container": "../x"}]),
         expect=["container", "'../x'"]),
    dict(what="exec in a container with a query string", module=E,
         args=dict(EB, name="{pod}", namespace="{ns}", exec=[{"command": ["true"], "container": "app&command=sh"}]),
         expect=["container", "app&command=sh"]),
    dict(what="copy_from a container with a slash", module=E,
         args=dict(EB, name="{pod}", namespace="{ns}", copy_from=[{"path": "/etc/hostname", "container": "a/b"}]),
         expect=["container", "a/b"]),
    dict(what="an unknown item", module=E, args=dict(EB, name="{pod}", namespace="{ns}", include=["secrets"]),
         expect=["include", "secrets"]),
    dict(what="negative tail_lines", module=E, args=dict(EB, name="{pod}", namespace="{ns}", tail_lines=-1),
         expect=["tail_lines"]),
    dict(what="zero workers", module=E, args=dict(EB, name="{pod}", namespace="{ns}", workers=0),
         expect=["workers"]),
    dict(what="an invalid redact pattern", module=E, args=dict(EB, name="{pod}", namespace="{ns}", redact_patterns=["(unclosed"]),
         expect=["redact_patterns", "(unclosed"]),
    dict(what="exec without a command", module=E, args=dict(EB, name="{pod}", namespace="{ns}", exec=[{"container": "app"}]),
         expect=["command"]),
]

# -- crashloop_info ---------------------------------------------------------------------------
C = "crashloop_info"
ROWS += _pod_name_rows(C, {"namespace": "{ns}"})[:8]
ROWS += _namespace_rows(C, {})
ROWS += _namespace_rows(C, {}, option="namespaces", as_list=True,
                        names=_some(NAMESPACE_NAMES, "dot segments", "two dots", "a slash", "uppercase", "a dot (labels have none)"))
ROWS += [dict(what="crashloop_info owner name with %s" % entry[0], module=C,
              args={"namespace": "{ns}", "owner": "Deployment/" + entry[1]},
              expect=['invalid deployment name %s' % _shown(entry), POD_RULE])
         for entry in TRAVERSAL_NAMES[:6]]
ROWS += [
    dict(what="owner StatefulSet with dot segments", module=C, args={"namespace": "{ns}", "owner": "StatefulSet/../x"},
         expect=['invalid statefulSet name "../x"']),
    dict(what="name and owner together", module=C, args={"namespace": "{ns}", "name": "{pod}", "owner": "Deployment/web"},
         expect=["mutually exclusive", "name", "owner"]),
    dict(what="name without namespace", module=C, args={"name": "{pod}"}, expect=["name", "namespace"]),
    dict(what="missing namespace", module=C, args={"namespace": "nowhere-3a1b"},
         expect=['namespace "nowhere-3a1b" not found']),
    dict(what="missing namespaces", module=C, args={"namespaces": ["{ns}", "nope-a", "nope-b"]},
         expect=['namespaces "nope-a", "nope-b" not found']),
    dict(what="missing pod", module=C, args={"namespace": "{ns}", "name": "ghost"}, expect=['"ghost"', "not found"]),
    dict(what="missing owner", module=C, args={"namespace": "{ns}", "owner": "Deployment/absent"},
         expect=['Deployment "absent" not found in namespace "{ns}"']),
    dict(what="wrong context", module=C, args={"namespace": "{ns}", "context": "kwok-nope"},
         expect=["context 'kwok-nope' not found"]),
    dict(what="invalid window", module=C, args={"namespace": "{ns}", "window": "ten minutes"},
         expect=["window: invalid duration 'ten minutes'"]),
    dict(what="invalid grace_period", module=C, args={"namespace": "{ns}", "grace_period": "2 m"},
         expect=["grace_period: invalid duration '2 m'"]),
    dict(what="invalid settle", module=C, args={"namespace": "{ns}", "settle": "soon"},
         expect=["settle: invalid duration 'soon'"]),
    dict(what="unbalanced label selector", module=C, args={"namespace": "{ns}", "label_selectors": ["app in (web"]},
         expect=["label_selectors[0]", "missing ')'"]),
    dict(what="label selector without key", module=C, args={"namespace": "{ns}", "label_selectors": ["=web"]},
         expect=["label_selectors[0]", "expected a label key"]),
    dict(what="invalid label key in selector", module=C, args={"namespace": "{ns}", "label_selectors": ["Bad Key!=x"]},
         expect=["label_selectors[0]", "invalid"]),
    dict(what="field selector without operator", module=C, args={"namespace": "{ns}", "field_selectors": ["status.phase"]},
         expect=["field_selectors[0]", "has no operator"]),
    dict(what="field the API server does not support", module=C, args={"namespace": "{ns}", "field_selectors": ["spec.image=x"]},
         expect=["spec.image"]),
    dict(what="zero wait_timeout", module=C, args={"namespace": "{ns}", "wait_timeout": 0},
         expect=["wait_timeout must be a positive number of seconds, got 0"]),
    dict(what="restart_threshold not a number", module=C, args={"namespace": "{ns}", "restart_threshold": "many"},
         expect=["restart_threshold", "int"]),
    dict(what="unknown owner kind", module=C, args={"namespace": "{ns}", "owner": "CronJob/nightly"},
         expect=["owner 'CronJob/nightly'"]),
    dict(what="owner without a name", module=C, args={"namespace": "{ns}", "owner": "Deployment/"}, expect=["give KIND/NAME"]),
    dict(what="invalid JMESPath query", module=C, args={"namespace": "{ns}", "query": "pods[?class=='crash_loop'"},
         expect=["is not a valid JMESPath"]),
    dict(what="zero page_size", module=C, args={"namespace": "{ns}", "page_size": 0}, expect=["page_size must be at least 1"]),
]

# -- quarantine_info and quarantine_cleanup ---------------------------------------------------
I, K = "quarantine_info", "quarantine_cleanup"
ROWS += _namespace_rows(I, {}, option="namespaces", as_list=True)
ROWS += _namespace_rows(K, {"grace_period": 0}, option="namespaces", as_list=True)
ROWS += [
    dict(what="quarantine_info in a missing namespace", module=I, args={"namespaces": ["nowhere-3a1b"]},
         expect=['namespace "nowhere-3a1b" not found']),
    dict(what="quarantine_info on a wrong context", module=I, args={"context": "kwok-nope"},
         expect=["context 'kwok-nope' not found"]),
    dict(what="quarantine_info namespaces of the wrong type", module=I, args={"namespaces": {"a": 1}},
         expect=["namespaces"]),
    dict(what="cleanup in a missing namespace", module=K, args={"namespaces": ["nowhere-3a1b"], "grace_period": 0},
         expect=['namespace "nowhere-3a1b" not found']),
    dict(what="cleanup on a wrong context", module=K, args={"context": "kwok-nope", "namespaces": ["{victim_ns}"]},
         expect=["context 'kwok-nope' not found"]),
    dict(what="cleanup with an invalid older_than", module=K, args={"namespaces": ["{victim_ns}"], "older_than": "two weeks"},
         expect=["older_than: invalid duration 'two weeks'"]),
    dict(what="cleanup with an invalid rule", module=K,
         args={"namespaces": ["{victim_ns}"], "rules": [{"match": "metadata.labels.team ==", "ttl": "1h"}]},
         expect=["invalid JMESPath expression 'metadata.labels.team =='"]),
    dict(what="cleanup with a zero rule ttl", module=K,
         args={"namespaces": ["{victim_ns}"], "rules": [{"match": "`true`", "ttl": "0"}]},
         expect=["rules[0].ttl: invalid duration '0'"]),
    dict(what="cleanup with a rule without ttl", module=K, args={"namespaces": ["{victim_ns}"], "rules": [{"match": "`true`"}]},
         expect=["ttl"]),
    dict(what="cleanup with negative max_deletions", module=K, args={"namespaces": ["{victim_ns}"], "max_deletions": -1},
         expect=["max_deletions must be 0 or more"]),
    dict(what="cleanup with a namespace both included and excluded", module=K,
         args={"namespaces": ["{victim_ns}"], "exclude_namespaces": ["{victim_ns}"]},
         expect=["are both in namespaces and in exclude_namespaces"]),
    dict(what="cleanup with max_deletions not a number", module=K, args={"namespaces": ["{victim_ns}"], "max_deletions": "all"},
         expect=["max_deletions", "int"]),
]

# -- the inventory plugin ---------------------------------------------------------------------
V = "inventory"
ROWS += [
    dict(what="inventory: a kubeconfig that does not exist", module=V,
         args={"kubeconfig": ["{tmp}/missing-kubeconfig"]}, expect=["{tmp}/missing-kubeconfig", "does not exist"]),
    dict(what="inventory: an invalid regular expression", module=V,
         args={"kubeconfig": ["{kubeconfig}"], "include_contexts": ["~(unclosed"]}, expect=["include_contexts", "(unclosed"]),
    dict(what="inventory: a kubeconfig that is not YAML, a token on the broken line", module=V,
         args={"kubeconfig": ["{tmp}/broken-kubeconfig"]}, expect=["{tmp}/broken-kubeconfig", "is not valid YAML"],
         absent=["inv-token-51c"], files={"broken-kubeconfig": "users:\n- name: u\n  user: {token: inv-token-51c: x}\n"}),
    dict(what="inventory: a kubeconfig without contexts", module=V,
         args={"kubeconfig": ["{tmp}/empty-kubeconfig"]}, expect=["{tmp}/empty-kubeconfig", "contexts"],
         files={"empty-kubeconfig": "apiVersion: v1\nkind: Config\nclusters: []\n"}),
    dict(what="inventory: a context naming an undefined cluster", module=V,
         args={"kubeconfig": ["{tmp}/dangling-kubeconfig"]}, expect=["names cluster 'gone'"],
         files={"dangling-kubeconfig": "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                                       "contexts: [{name: x, context: {cluster: gone}}]\n"}),
    dict(what="inventory: a kubeconfig option of the wrong type", module=V,
         args={"kubeconfig": {"a": 1}}, expect=["kubeconfig"]),
]


def render(value, values):
    """A deep copy of value with every {placeholder} of values replaced in its strings."""
    if isinstance(value, str):
        for key, replacement in values.items():
            value = value.replace("{%s}" % key, replacement)
        return value
    if isinstance(value, dict):
        return dict((render(k, values), render(v, values)) for k, v in value.items())
    if isinstance(value, list):
        return [render(v, values) for v in value]
    return copy.deepcopy(value)


def rows_for(module):
    return [row for row in ROWS if row["module"] == module]
