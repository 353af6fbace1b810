#!/bin/sh
# The integration suite on the SQLite backend.
PIPELIT_TEST_DATABASE=sqlite
export PIPELIT_TEST_DATABASE
case "${PYTHON3:-}" in ""|no) PYTHON3=python3 ;; esac
exec "${PYTHON3:-python3}" "$(dirname "$0")/run.py" "$@"
