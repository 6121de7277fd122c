# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""notify: the Slack and generic JSON payloads, the release command, the retry decision (pure), and
the run that POSTs them to a webhook."""
