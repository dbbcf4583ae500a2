#!/usr/bin/env bash
# `make test-upstream`: Lasagne 0.1's own test suite, run against the installed
# (unmodified) Lasagne under soundtrack_cnn's compatibility module.
# The source release comes from the package registry; nothing is vendored.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -m pip download --quiet --no-deps --no-binary :all: Lasagne==0.1 -d "$work"
tar -xzf "$work"/Lasagne-0.1.tar.gz -C "$work"
# The suite's own test dependency (not needed by the package itself).
"$python" -m pip install --quiet "mock==5.2.0"

# Run the sdist's tests against site-packages' lasagne: the tests folder is
# copied out of the source tree so `import lasagne` cannot pick up the sdist.
cp -r "$work"/Lasagne-0.1/lasagne/tests "$work"/tests
# The shims load as a pytest plugin, before the suite's own conftest imports Lasagne.
echo "import soundtrack_cnn  # noqa: F401" > "$work"/soundtrack_cnn_shims.py
cd "$work"
PYTHONPATH="$work" exec "$OLDPWD/$python" -m pytest -q -p no:cacheprovider -p soundtrack_cnn_shims \
  -o addopts= -W ignore::DeprecationWarning tests "$@"
