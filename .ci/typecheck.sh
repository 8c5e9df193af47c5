#!/usr/bin/env bash
# Type-check the library as installed (everything under the racesim namespace). The layers
# are top-level folders in the repository, so build the installed layout from symlinks in a
# temporary directory and run mypy on the package there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/racesim"
for f in "$root"/racesim/*; do ln -s "$f" "$tmp/racesim/"; done
python3 - "$root" "$tmp/racesim" <<'PY'
import os, sys, tomllib
root, target = sys.argv[1], sys.argv[2]
dirs = tomllib.load(open(os.path.join(root, "pyproject.toml"), "rb"))["tool"]["setuptools"]["package-dir"]
for package, folder in dirs.items():
    parts = package.split(".")
    if len(parts) == 2:
        os.symlink(os.path.join(root, folder), os.path.join(target, parts[1]))
PY
cd "$tmp" && mypy --config-file "$root/pyproject.toml" -p racesim
