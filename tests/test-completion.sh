#!/bin/bash
# pipelitctl's bash completion, sourced as bash does and asked as readline asks: commands,
# options, option values, files, and quiet failure when no daemon answers for slugs
# (tests/integration/test_completion.py asks a running daemon).
set -u
top=${PIPELIT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# The built pipelitctl when there is one, on a bus where nobody listens.
[ -n "${PIPELITD:-}" ] && PATH=$(dirname "$PIPELITD"):$PATH
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/pipelit-test-bus
# shellcheck source=../shell-completion/bash/pipelitctl
. "$top/shell-completion/bash/pipelitctl"
failed=0
checked=0

# expect "WANTED COMPLETIONS" WORD…: completes the last word as bash splits a line.
expect() {
        local wanted=$1 got
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _pipelitctl 2> "$stderr"
        got="${COMPREPLY[*]}"
        checked=$((checked + 1))
        if [ "$got" != "$wanted" ]; then
                echo "FAIL: '$*' completed to '$got', expected '$wanted'"
                failed=$((failed + 1))
        elif [ -s "$stderr" ]; then
                echo "FAIL: '$*' printed: $(cat "$stderr")"
                failed=$((failed + 1))
        fi
}

stderr=$(mktemp)
files=$(mktemp -d)
trap 'rm -rf "$stderr" "$files"' EXIT
touch "$files/flow.json" "$files/other.txt"

[ "$(complete -p pipelitctl)" = "complete -F _pipelitctl pipelitctl" ] || {
        echo "FAIL: sourcing the completion does not register it for pipelitctl"
        exit 1
}

expect "status list-workflows show run executions execution cancel resume export import user key schedules pause resume-schedule reload worker" pipelitctl ""
expect "executions execution export" pipelitctl ex
expect "list-workflows" pipelitctl --json l
expect "status" pipelitctl -H admin@example st
expect "cancel" pipelitctl --host = example --user ca
expect "run resume resume-schedule reload" pipelitctl --payload '{}' r
expect "--help --host=" pipelitctl --h
expect "--status=" pipelitctl executions --st
expect "failed" pipelitctl executions --status f
expect "completed cancelled" pipelitctl executions --status = c
expect "pending running interrupted completed failed cancelled" pipelitctl executions --status ""
expect "" pipelitctl run --text ""
expect "create passwd list disable-mfa" pipelitctl user ""
expect "revoke" pipelitctl --json key r
expect "admin normal" pipelitctl user create --role ""
expect "admin" pipelitctl user create --role = a
expect "--expires-in-days=" pipelitctl key create --ex
expect "" pipelitctl key create --expires-in-days ""
# Usernames and key ids are not guessed.
expect "" pipelitctl user passwd ""
expect "" pipelitctl user disable-mfa ""
expect "" pipelitctl key revoke alice ""
expect "list start stop" pipelitctl worker ""
expect "start stop" pipelitctl --json worker st
expect "" pipelitctl worker list ""
expect "$files/flow.json" pipelitctl import "$files/f"
# Arguments past the command's own, and IDs, are not guessed.
expect "" pipelitctl show slug ""
expect "" pipelitctl resume 5f0c8a9e ""
expect "" pipelitctl pause ""
expect "" pipelitctl resume-schedule 5f0c8a9e ""
# Slugs come from the daemon: none here, and not a word about it.
expect "" pipelitctl show ""
expect "" pipelitctl --user run w
expect "" pipelitctl executions --workflow ""
expect "" pipelitctl worker start ""

echo "test-completion: $((checked - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
