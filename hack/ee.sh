#!/usr/bin/env bash
# Validate execution-environment.yml: build the collection tarball it installs and let
# `ansible-builder create` write the build context. Building the image itself needs a
# container engine (podman or docker), which this machine does not have.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
work=$root/.build/ee
rm -rf "$work"
mkdir -p "$work"
cd "$root"
"$venv/bin/ansible-galaxy" collection build --force --output-path "$work" >/dev/null
cp execution-environment.yml requirements.txt bindep.txt "$work/"
cd "$work"
"$venv/bin/ansible-builder" create -f execution-environment.yml -c context --output-filename Containerfile
test -f context/Containerfile
test -f context/_build/galaxy/triage-k8s-0.1.0.tar.gz
echo "execution environment: build context written to $work/context (build it with: ansible-builder build -f execution-environment.yml -t triage-k8s-ee)"
