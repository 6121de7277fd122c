# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _contract/commands.py: every command handed to an operator pastes into a shell
and gives ansible-playbook exactly the values it names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shlex

import pytest
import yaml
from ansible.parsing.splitter import parse_kv
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._contract.commands import extra_var, release_command, shell_word


def _what_ansible_sees(option):
    """The variables ansible-playbook makes of one `-e VALUE` pasted into a shell."""
    words = shlex.split(option)
    assert words[0] == "-e" and len(words) == 2, option
    value = words[1]
    if value.startswith("{"):
        # JSON first, then YAML, as ansible's loader reads a -e that starts with '{' (!unsafe is YAML).
        try:
            return json.loads(value)
        except ValueError:
            pass
        loader = yaml.SafeLoader
        loader.add_constructor("!unsafe", lambda load, node: load.construct_scalar(node))
        return yaml.load(value, Loader=loader)  # noqa: S506 (SafeLoader)
    return parse_kv(value)


def test_release_command_uses_the_pod_as_kubectl_prints_it():
    assert release_command("shop", "web-1") == "ansible-playbook triage.k8s.release -e pod=shop/web-1"
    assert release_command("shop", "web-1", "kwok-a") == "ansible-playbook triage.k8s.release -e pod=shop/web-1 -e context=kwok-a"
    assert release_command("shop", "web-1", "") == release_command("shop", "web-1")
    assert release_command(None, "web-1") is None and release_command("shop", "") is None


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_extra_var_gives_ansible_exactly_the_value(value):
    assert _what_ansible_sees(extra_var("context", value)) == {"context": value}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), st.sampled_from(["{{", "{%", "{#", "}}", "%}", "#}"]), st.text(max_size=20))
def test_extra_var_keeps_every_character_of_a_jinja_value(head, marker, tail):
    # The !unsafe path is YAML, not JSON: a character beyond U+FFFF must not come back as two
    # lone surrogates (CI found '%}\U00010000').
    value = head + marker + tail
    assert _what_ansible_sees(extra_var("context", value)) == {"context": value}


def test_extra_var_jinja_value_parses_with_ansibles_own_loader():
    from ansible.parsing.utils.yaml import from_yaml

    value = "%}\U00010000 \"q\" \\ \x85\u2028"
    option = extra_var("context", value)
    assert from_yaml(shlex.split(option)[1]) == {"context": value}


@pytest.mark.parametrize("value", ["{{ lookup('pipe', 'id') }}", "a{%b", "x#}"])
def test_extra_var_tags_jinja_unsafe(value):
    option = extra_var("context", value)
    assert "!unsafe" in option and _what_ansible_sees(option) == {"context": value}


@pytest.mark.parametrize("text, word", [("shop", "shop"), ("a b", "'a b'"), ("", "''"), (None, "''"), ("$(id)", "'$(id)'")])
def test_shell_word_quotes_only_when_needed(text, word):
    assert shell_word(text) == word
