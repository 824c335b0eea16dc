#!/usr/bin/env bash
# The one entry point on a fresh machine: installs what the project needs, then runs `joblog`.
#   ./joblog.sh run     the whole platform locally (Kafka, FerretDB, all services)
#   ./joblog.sh test    the whole test suite
# Needs python3.11, java 17+, mvn and go on PATH (this machine kind has them).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing Python dependencies into .venv …" >&2
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
exec .venv/bin/joblog "$@"
