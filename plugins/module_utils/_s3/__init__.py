# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The storage layer: S3-compatible object storage through boto3 (like _k8s, any feature may import
it; only run/collect files import its talking modules client, transfer and verify)."""
