#!/bin/sh
# The integration suite on the PostgreSQL backend (the suite runs its own server).
PIPELIT_TEST_DATABASE=postgresql
export PIPELIT_TEST_DATABASE
case "${PYTHON3:-}" in ""|no) PYTHON3=python3 ;; esac
exec "${PYTHON3:-python3}" "$(dirname "$0")/run.py" "$@"
