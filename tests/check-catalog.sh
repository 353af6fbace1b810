#!/bin/sh
# The journal's message catalog explains every MESSAGE_ID of src/common/message-ids.h: an
# entry with a Subject:, Defined-By: pipelit, a Documentation: and a body, and no entry for
# an id the code does not have. journalctl, when there is one, must read the catalog too.
set -eu
top=${PIPELIT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
catalog=data/catalog/pipelit.catalog
ids=src/common/message-ids.h
failed=0
checked=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
        echo "FAIL: $*"
        failed=$((failed + 1))
}

# One line per entry: "ID subject|defined-by|documentation|lines-of-body".
awk '
        function flush() {
                if (id != "")
                        print id, subject "|" defined "|" doc "|" body
        }
        /^#/ { next }
        /^-- / { flush(); id = $2; subject = defined = doc = ""; body = 0; header = 1; next }
        header && /^$/ { header = 0; next }
        header && /^Subject: ./ { subject = "yes" }
        header && /^Defined-By: pipelit$/ { defined = "yes" }
        header && /^Documentation: ./ { doc = "yes" }
        !header && id != "" && /[^ ]/ { body++ }
        END { flush() }
' $catalog > "$tmp/entries"

sed -n 's/^#define MESSAGE_ID_[A-Z_]* "\([0-9a-f]*\)"$/\1/p' $ids | sort > "$tmp/ids"
[ -s "$tmp/ids" ] || fail "found no MESSAGE_ID_* in $ids: has the code moved? (tests/check-catalog.sh reads it)"
for id in $(cat "$tmp/ids"); do
        checked=$((checked + 1))
        name=$(sed -n "s/^#define \(MESSAGE_ID_[A-Z_]*\) \"$id\"$/\1/p" $ids)
        [ "${#id}" -eq 32 ] || fail "$name: '$id' is not 128 bits in hex (systemd-id128 new)"
        entry=$(sed -n "s/^$id //p" "$tmp/entries")
        if [ -z "$entry" ]; then
                fail "$name ($id) has no entry in $catalog"
                continue
        fi
        [ "$(echo "$entry" | cut -d'|' -f1)" = yes ] || fail "$name: the entry in $catalog has no Subject:"
        [ "$(echo "$entry" | cut -d'|' -f2)" = yes ] || fail "$name: the entry in $catalog lacks Defined-By: pipelit"
        [ "$(echo "$entry" | cut -d'|' -f3)" = yes ] || fail "$name: the entry in $catalog has no Documentation:"
        [ "$(echo "$entry" | cut -d'|' -f4)" -gt 0 ] || fail "$name: the entry in $catalog has no body"
done
for id in $(cut -d' ' -f1 "$tmp/entries"); do
        grep -qx "$id" "$tmp/ids" || fail "$catalog has an entry for $id, which $ids does not define"
done
[ "$(cut -d' ' -f1 "$tmp/entries" | sort | uniq -d)" = "" ] || fail "$catalog has an id twice"

# journalctl builds its catalog database from a root of our own: no privilege needed.
if command -v journalctl > /dev/null; then
        checked=$((checked + 1))
        mkdir -p "$tmp/root/usr/lib/systemd/catalog"
        cp $catalog "$tmp/root/usr/lib/systemd/catalog/"
        if ! journalctl --root="$tmp/root" --update-catalog > "$tmp/out" 2>&1 || [ -s "$tmp/out" ]; then
                fail "journalctl --update-catalog does not take $catalog: $(cat "$tmp/out")"
        fi
        listed=$(journalctl --root="$tmp/root" --list-catalog 2> /dev/null | cut -d' ' -f1 | sort)
        [ "$listed" = "$(cat "$tmp/ids")" ] || fail "journalctl lists other ids than $ids defines: $listed"
else
        echo "SKIP: no journalctl, the catalog is not read by it"
fi

echo "check-catalog: $checked checked, $failed failed"
[ "$failed" -eq 0 ]
