# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commands triage.k8s hands an operator (the release line in a quarantine summary, a
notification, a cleanup report), built in one place so every one of them pastes into a shell and
gives ansible-playbook exactly the values it names. Pure functions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import shlex

PLAIN = re.compile(r"[A-Za-z0-9_.:/@+,%-]+")
_JINJA = re.compile(r"\{\{|\{%|\{#|\}\}|%\}|#\}")


def shell_word(text):
    """One shell word, quoted only when it needs to be."""
    return text if PLAIN.fullmatch(text or "") else shlex.quote(text or "")


def yaml_quoted(text):
    """A YAML double-quoted scalar of text, ASCII only. Not json.dumps: JSON writes a character
    beyond U+FFFF as a surrogate pair, which YAML reads back as two lone surrogates."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFFFF:
            out.append("\\u%04x" % code)
        else:
            out.append("\\U%08x" % code)
    return '"%s"' % "".join(out)


def extra_var(key, value):
    """An ansible-playbook -e option that gives key exactly value: key=value when that parses back
    unchanged (ansible's key=value splitter treats quotes and spaces itself), else a JSON object;
    a value with Jinja markers is tagged !unsafe so ansible never templates it."""
    if PLAIN.fullmatch(value) and "=" not in value:
        return "-e %s=%s" % (key, value)
    if _JINJA.search(value):
        return "-e %s" % shlex.quote("{%s: !unsafe %s}" % (yaml_quoted(key), yaml_quoted(value)))
    return "-e %s" % shlex.quote(json.dumps({key: value}, ensure_ascii=False))


def release_command(namespace, pod, context=None):
    """`ansible-playbook triage.k8s.release -e pod=NAMESPACE/NAME [-e context=CTX]`: the pod the
    way kubectl prints it (the playbooks split it; a pod name has no "/"), and no `-e namespace=`,
    which ansible-core warns about. None when the pod or its namespace is unknown."""
    if not pod or not namespace:
        return None
    words = ["ansible-playbook triage.k8s.release", extra_var("pod", "%s/%s" % (namespace, pod))]
    if context:
        words.append(extra_var("context", context))
    return " ".join(words)


DEBUG_IMAGE = "busybox:1.36"
DEBUG_PROFILE = "general"


def debug_command(namespace, pod, target=None, image=DEBUG_IMAGE, profile=DEBUG_PROFILE, context=None):
    """`kubectl debug -it -n NS POD --image=IMG --target=CONTAINER --profile=P`: an ephemeral debug
    container sharing the target's processes, for images without a shell (pod_evidence's debug
    option adds the same). Every value is one shell word. None when the pod or its namespace is
    unknown; without a target, kubectl's own default (no process namespace shared) is left out."""
    if not pod or not namespace:
        return None
    words = ["kubectl"]
    if context:
        words += ["--context", shell_word(context)]
    words += ["debug", "-it", "-n", shell_word(namespace), shell_word(pod),
              "--image=%s" % shell_word(image or DEBUG_IMAGE)]
    if target:
        words.append("--target=%s" % shell_word(target))
    words.append("--profile=%s" % shell_word(profile or DEBUG_PROFILE))
    return " ".join(words)
