"""Stand-in for the get-pip.py bootstrap that `ansible-test --venv` downloads from a host this
machine cannot reach. It installs the pip wheel bundled with CPython (ensurepip, no network),
then lets that pip install what ansible-test asked for from PyPI."""
import ensurepip
import os
import subprocess
import sys

saved = os.environ.get("PIP_CONFIG_FILE")
ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null; the real install must see the machine's pip
# configuration (index, certificates) again.
os.environ.pop("PIP_CONFIG_FILE", None)
if saved is not None:
    os.environ["PIP_CONFIG_FILE"] = saved
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
