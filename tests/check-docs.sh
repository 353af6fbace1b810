#!/bin/sh
# The documentation keeps up with the code. From the sources: pipelitctl's commands (its
# verbs[] table) and options, pipelitd's options, and the configuration keys (config_keys[]
# in src/common/conf.c). Each must have its entry in its man page and nothing documented may
# be gone from the code; pipelitctl's commands and options must be in the bash completion;
# each key must be in data/pipelitd.conf and its variable in pipelitd.conf.5. The man pages
# must render without a warning.
set -eu
top=${PIPELIT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
failed=0
checked=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
        echo "FAIL: $*"
        failed=$((failed + 1))
}

# The block of a C file from the line matching $2 to the next "};".
c_table() {
        sed -n "/$2/,/^ *};/p" "$1"
}

# The long options of a C file's getopt_long() table, and its short ones ("-h", …).
long_options() {
        c_table "$1" 'static const struct option options\[\] = {' | sed -n 's/^ *{ *"\([a-z-]*\)",.*/--\1/p'
}
short_options() {
        sed -n 's/.*getopt_long(argc, argv, "\([a-zA-Z:]*\)".*/\1/p' "$1" | tr -d ':' | sed 's/./-&\n/g' | grep .
}

# The tag lines (those after .TP) of section $2 of man page $1, with roff's quotes, font
# changes and escaped hyphens taken out.
man_tags() {
        awk -v want="$2" '
                /^\.SH / { title = substr($0, 5); gsub(/"/, "", title); inside = (title == want); tp = 0; next }
                inside && tp { print }
                { tp = ($0 == ".TP") }
        ' "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/"//g' -e 's/^\.[BIR]* //'
}

# The options named in tag lines.
tag_options() {
        grep -oE -- '(^| )--?[a-zA-Z][a-z-]*' | tr -d ' '
}

# Compares what the code has ($1, a file of lines) with what the documentation has ($2):
# $3 names the kind of thing, $4 where the code has it, $5 where it is missing.
compare() {
        sort -u "$1" > "$1.sorted"
        sort -u "$2" > "$2.sorted"
        if [ ! -s "$1.sorted" ]; then
                fail "found no $3 in $4: has the code moved? (tests/check-docs.sh reads it)"
                return
        fi
        for x in $(comm -23 "$1.sorted" "$2.sorted"); do
                fail "$3 '$x' ($4) is missing from $5"
        done
        for x in $(comm -13 "$1.sorted" "$2.sorted"); do
                fail "$5 documents $3 '$x', which $4 does not have"
        done
        checked=$((checked + $(wc -l < "$1.sorted")))
}

# --- pipelitctl ------------------------------------------------------------------------
ctl=src/ctl/pipelitctl.c
c_table $ctl '^static const Verb verbs\[\] = {' | grep -o '{ "[a-z-]*"' | sed 's/{ "//; s/"//' > "$tmp/ctl-commands"
{ long_options $ctl; short_options $ctl; } > "$tmp/ctl-options"

man_tags man/pipelitctl.1 COMMANDS | awk '{ print $1 }' > "$tmp/man-commands"
compare "$tmp/ctl-commands" "$tmp/man-commands" "pipelitctl command" $ctl "COMMANDS in man/pipelitctl.1"
man_tags man/pipelitctl.1 OPTIONS | tag_options > "$tmp/man-ctl-options"
compare "$tmp/ctl-options" "$tmp/man-ctl-options" "pipelitctl option" $ctl "OPTIONS in man/pipelitctl.1"

completion=shell-completion/bash/pipelitctl
# shellcheck disable=SC2016
bash -c '. "$1" && printf "%s\n" $_pipelitctl_commands' sh $completion > "$tmp/completion-commands"
# shellcheck disable=SC2016
bash -c '. "$1" && printf "%s\n" $_pipelitctl_options' sh $completion | sed 's/=$//' > "$tmp/completion-options"
compare "$tmp/ctl-commands" "$tmp/completion-commands" "pipelitctl command" $ctl "the bash completion ($completion)"
compare "$tmp/ctl-options" "$tmp/completion-options" "pipelitctl option" $ctl "the bash completion ($completion)"

# --- pipelitd ----------------------------------------------------------------------------
daemon=src/daemon/pipelitd.c
{ long_options $daemon; short_options $daemon; } > "$tmp/daemon-options"
man_tags man/pipelitd.8 OPTIONS | tag_options > "$tmp/man-daemon-options"
compare "$tmp/daemon-options" "$tmp/man-daemon-options" "pipelitd option" $daemon "OPTIONS in man/pipelitd.8"

# --- configuration -------------------------------------------------------------------------
conf=src/common/conf.c
c_table $conf '^static const ConfigKey config_keys\[\] = {' |
        sed -n 's/^ *{ *"\([A-Za-z]*\)", *"\([A-Za-z]*\)", *"\(PIPELIT_[A-Z_]*\)".*/\1 \2 \3/p' > "$tmp/keys"
cut -d' ' -f1,2 "$tmp/keys" > "$tmp/conf-keys"
: > "$tmp/man-keys"
: > "$tmp/file-keys"
for section in $(cut -d' ' -f1 "$tmp/keys" | sort -u) $(sed -n 's/^\.SH "\[\([A-Za-z]*\)\] SECTION"$/\1/p' man/pipelitd.conf.5); do
        man_tags man/pipelitd.conf.5 "[$section] SECTION" | sed -n "s/^\([A-Za-z]*\)=.*/$section \1/p" >> "$tmp/man-keys"
done
awk '/^\[/ { section = substr($0, 2, length($0) - 2); next }
     /^#?[A-Za-z]+=/ { key = $0; sub(/^#/, "", key); sub(/=.*/, "", key); print section, key }' \
        data/pipelitd.conf > "$tmp/file-keys"
# "Section Key" pairs hold a space: compare them as "Section/Key".
tr ' ' '/' < "$tmp/conf-keys" > "$tmp/conf-keys-slash"
tr ' ' '/' < "$tmp/man-keys" > "$tmp/man-keys-slash"
tr ' ' '/' < "$tmp/file-keys" > "$tmp/file-keys-slash"
compare "$tmp/conf-keys-slash" "$tmp/man-keys-slash" "configuration key" $conf "man/pipelitd.conf.5"
compare "$tmp/conf-keys-slash" "$tmp/file-keys-slash" "configuration key" $conf "data/pipelitd.conf"
for variable in $(cut -d' ' -f3 "$tmp/keys"); do
        checked=$((checked + 1))
        grep -q "$variable\b" man/pipelitd.conf.5 || fail "variable $variable ($conf) is missing from man/pipelitd.conf.5"
done

# --- rendering --------------------------------------------------------------------------------
if command -v groff > /dev/null; then
        for page in man/*.[1-8]; do
                checked=$((checked + 1))
                warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
                [ -z "$warnings" ] || fail "$page does not render cleanly: $warnings"
        done
else
        echo "SKIP: no groff, the man pages' rendering is not checked"
fi

echo "check-docs: $checked checked, $failed failed"
[ "$failed" -eq 0 ]
