# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Connection and authentication options shared by every module of triage.k8s.
# Names, aliases and K8S_AUTH_* variables match kubernetes.core, so the same AWX/AAP
# credentials and module_defaults work. The argument spec is module_utils/auth.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, several paths joined with C(:) (C(;) on Windows), or the
        kubeconfig content itself given as a dictionary.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
      - When neither O(kubeconfig), O(context) nor O(host) is set, the in-cluster service account is
        used if E(KUBERNETES_SERVICE_HOST) is set, otherwise the files named by E(KUBECONFIG), otherwise
        C(~/.kube/config).
    type: raw
  context:
    description:
      - Name of the kubeconfig context to use. Defaults to the kubeconfig's current context.
      - An unknown name fails with the list of contexts that exist.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example C(https://api.example.com:6443).
      - Without O(kubeconfig) or O(context), no kubeconfig is read and no in-cluster configuration is
        used, so the credentials come from O(api_key), O(username)/O(password) or
        O(client_cert)/O(client_key). Together with a kubeconfig it overrides the server the context names.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token used to authenticate, for example a service account token.
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  username:
    description:
      - User name for HTTP basic authentication. Only useful on clusters that allow basic
        authentication, which current Kubernetes releases do not.
      - Can also be set with the E(K8S_AUTH_USERNAME) environment variable.
    type: str
  password:
    description:
      - Password for HTTP basic authentication, see O(username).
      - Can also be set with the E(K8S_AUTH_PASSWORD) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. When unset, the kubeconfig decides
        (and verification is on by default).
      - Can also be set with the E(K8S_AUTH_VERIFY_SSL) (or E(K8S_AUTH_VALIDATE_CERTS)) environment
        variable, for example V(false), V(no) or V(0).
    type: bool
    aliases: [ verify_ssl ]
  ca_cert:
    description:
      - Path to the CA bundle that signed the API server's certificate; the full chain is needed.
      - Can also be set with the E(K8S_AUTH_SSL_CA_CERT) (or E(K8S_AUTH_CA_CERT)) environment variable.
    type: path
    aliases: [ ssl_ca_cert ]
  client_cert:
    description:
      - Path to a client certificate used to authenticate.
      - Can also be set with the E(K8S_AUTH_CERT_FILE) (or E(K8S_AUTH_CLIENT_CERT)) environment variable.
    type: path
    aliases: [ cert_file ]
  client_key:
    description:
      - Path to the private key of O(client_cert).
      - Can also be set with the E(K8S_AUTH_KEY_FILE) (or E(K8S_AUTH_CLIENT_KEY)) environment variable.
    type: path
    aliases: [ key_file ]
  proxy:
    description:
      - URL of an HTTP proxy to reach the API server through.
      - The usual E(HTTP_PROXY)/E(HTTPS_PROXY) variables are not read; use this option.
      - Can also be set with the E(K8S_AUTH_PROXY) environment variable.
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains, IP addresses or CIDRs reached without O(proxy),
        for example C(localhost,.local,10.0.0.0/8).
      - Can also be set with the E(K8S_AUTH_NO_PROXY) environment variable.
    type: str
  proxy_headers:
    description:
      - Headers sent to the HTTP proxy.
      - When not set, each suboption can come from its own environment variable, listed below.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy's basic authentication.
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH) environment variable.
        type: str
      basic_auth:
        description:
          - C(user:password) for a basic authentication header.
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH) environment variable.
        type: str
      user_agent:
        description:
          - User-Agent string to send, for example C(triage/1.0).
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_USER_AGENT) environment variable.
        type: str
  impersonate_user:
    description:
      - User name to act as (Kubernetes impersonation). The authenticated identity needs the
        C(impersonate) verb on C(users) (or C(serviceaccounts)).
      - Can also be set with the E(K8S_AUTH_IMPERSONATE_USER) environment variable.
    type: str
  impersonate_groups:
    description:
      - Groups to act as; each is sent as its own C(Impersonate-Group) header.
      - Can also be set with the E(K8S_AUTH_IMPERSONATE_GROUPS) environment variable, comma-separated,
        for example C(group1,group2).
    type: list
    elements: str
  persist_config:
    description:
      - Whether the kubernetes library may write a token it refreshed back to the kubeconfig file, as
        with C(kubernetes.core). Can also be set with the E(K8S_AUTH_PERSIST_CONFIG) environment variable.
      - This only happens for a context whose user has a C(gcp) or C(oidc) C(auth-provider) with an
        expired token; the library then rewrites the whole file from its parsed content, so comments and
        formatting in that file are lost. Tokens of C(exec) plugins, static tokens and certificates are
        never written.
      - "Has no effect with a kubeconfig given as a dictionary, with O(host) alone or with the in-cluster
        service account. Left unset, it is V(false): the modules never write to a kubeconfig."
    type: bool
requirements:
  - kubernetes >= 24.2.0
notes:
  - "Connection settings are resolved in this order: module options; then the K8S_AUTH_* environment
    variables; then, if neither O(kubeconfig), O(context) nor O(host) was given, the in-cluster service
    account when E(KUBERNETES_SERVICE_HOST) is set; then the kubeconfig named by E(KUBECONFIG), else
    C(~/.kube/config). Options given explicitly (O(host), O(api_key), O(ca_cert), O(validate_certs),
    O(client_cert), O(client_key), O(proxy), O(no_proxy), O(proxy_headers)) override what the
    kubeconfig says."
  - "The option names and K8S_AUTH_* variables are those of C(kubernetes.core), so its AWX/AAP
    credential types (for example the OpenShift or Kubernetes API Bearer Token credential) work
    unchanged."
  - "To avoid TLS validation errors when O(validate_certs=true), the API server's full certificate chain
    must be given with O(ca_cert) or in the kubeconfig."
"""
