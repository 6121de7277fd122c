#!/usr/bin/env bash
# ansible-test sanity without a container engine: copy the collection's files (tracked and
# untracked-but-not-ignored) to .build/sanity.XXXXXX/ansible_collections/triage/k8s, where
# ansible-test needs them, and run the sanity tests in ansible-test's own virtualenvs (--venv).
# ansible-test keeps those virtualenvs and its pip bootstrap under ~/.ansible/test/ (and pip and
# pylint write to ~/.cache/); it runs with HOME=.build/ansible-test-home so the user's home is
# left alone. That directory is kept between runs: the virtualenvs are reused (delete it to
# rebuild them). TRIAGE_K8S_SANITY_HOME moves it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
# A directory per run, so two runs (two developers, or a developer and a helper) never collide.
mkdir -p "$root/.build"
run_dir=$(mktemp -d "$root/.build/sanity.XXXXXX")
trap 'rm -rf "$run_dir"' EXIT
dest=$run_dir/ansible_collections/triage/k8s
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# ansible-test --venv bootstraps pip with a script it downloads from a host outside the package
# registries; put an equivalent that uses CPython's bundled pip where it looks for a cached copy.
pip_version=$("$venv/bin/python" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
test_home=${TRIAGE_K8S_SANITY_HOME:-$root/.build/ansible-test-home}
mkdir -p "$test_home"
test_home=$(cd "$test_home" && pwd)
bootstrap=$test_home/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$bootstrap")"
cp "$root/hack/get_pip_offline.py" "$bootstrap"

# pip inside ansible-test's virtualenvs sees only HOME, PATH and LC_ALL of the environment
# (ansible-test's common_environment), so its settings come from /etc/pip.conf,
# /etc/xdg/pip/pip.conf and HOME. Let it read the user's own pip configuration and .netrc
# (index, certificates, credentials) from the stand-in home as it would from the real one:
# a symlink per file that exists, none for one that does not.
for f in .pip/pip.conf .config/pip/pip.conf "Library/Application Support/pip/pip.conf" .netrc \
    .pydistutils.cfg; do
  rm -f "$test_home/$f"
  if [ -e "$HOME/$f" ]; then
    mkdir -p "$(dirname "$test_home/$f")"
    ln -s "$HOME/$f" "$test_home/$f"
  fi
done

mkdir -p "$dest"
cd "$root"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue   # deleted in the work tree but not yet in git
  case $f in hack/*|bench/*|.ci/*) continue ;; esac   # developer tooling, not shipped (build_ignore)
  mkdir -p "$dest/$(dirname "$f")"
  cp -p "$f" "$dest/$f"
done
cd "$dest"
# ansible-test lists a collection's files through git when it can; give it a repository.
git init -q . && git add -A >/dev/null && git -c user.email=ci@local -c user.name=ci commit -qm sanity >/dev/null

# Every sanity test that runs offline without a container engine. ansible-test --venv creates
# one virtualenv per tool (pylint, yamllint, ...) with the versions it pins, from PyPI.
HOME=$test_home "$venv/bin/ansible-test" sanity --venv --python "$python_version" --color no "$@"
