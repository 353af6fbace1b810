#!/bin/sh
# The LLM client holding many requests at once on its one thread: N requests (1,000 by
# default) submitted together to the fake provider (tests/fake-llm/fake_llm.py), each
# answered after DELAY seconds (1 by default). Prints the wall time from the first
# submission to the last answer, and the client process's memory. Target: all answered
# within 3 s for N=1000, DELAY=1.
#
# Usage: bench/llm-client-concurrency.sh [BUILD_DIR] — default build/; needs python3.
# Env: N (1000), DELAY (1), DIALECT (mixed | openai | anthropic), STREAM (set: streamed).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
make -C "$build" bench/llm-client-bench >/dev/null
PIPELIT_SRCDIR=$top exec "$build/bench/llm-client-bench" "${N:-1000}" "${DELAY:-1}" "${DIALECT:-mixed}" \
        ${STREAM:+stream}
