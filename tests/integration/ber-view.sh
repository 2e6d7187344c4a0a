#!/bin/sh
# vmscope-view and BER streams: convert (QEMU -> BER -> QEMU byte-identical
# for every fixture it reads; no file left behind on error), and stream,
# diff and schema reading a BER stream as they read its QEMU form.
. "$(dirname "$0")/view-test.sh"

converted=0
for gz in "$fixtures"/*.mig.gz; do
    name=$(basename "$gz" .mig.gz)
    gunzip -c "$gz" >"$tmp/$name.mig" || exit 99
    if ! "$view" stream "$tmp/$name.mig" >"$tmp/$name.json" 2>/dev/null; then
        # pc20 has no vmdesc: its descriptions come with --desc (below).
        case $name in pc20) continue;; esac
        fail "$name: vmscope-view stream fails"; continue
    fi
    "$view" convert "$tmp/$name.mig" "$tmp/$name.ber" --to ber || { fail "$name: to ber"; continue; }
    "$view" convert "$tmp/$name.ber" "$tmp/$name.back" --to qemu || { fail "$name: to qemu"; continue; }
    cmp -s "$tmp/$name.mig" "$tmp/$name.back" || fail "$name: QEMU -> BER -> QEMU differs"
    # A BER stream reads as its QEMU form: the same JSON, no difference, the same schemas.
    "$view" stream "$tmp/$name.ber" >"$tmp/$name.ber.json" || fail "$name: stream of BER"
    cmp -s "$tmp/$name.json" "$tmp/$name.ber.json" || fail "$name: stream of BER differs"
    # No difference; the stream's own warnings (duplicate sections) are all stderr holds.
    "$view" diff "$tmp/$name.mig" "$tmp/$name.ber" >"$tmp/diff.out" 2>"$tmp/diff.err" ||
        fail "$name: diff of its BER form: exit $?"
    [ -s "$tmp/diff.out" ] && fail "$name: diff of its BER form: $(cat "$tmp/diff.out")"
    grep -qv '^warning: ' "$tmp/diff.err" && fail "$name: diff: $(cat "$tmp/diff.err")"
    "$view" schema "$tmp/$name.mig" >"$tmp/a.schema" && "$view" schema "$tmp/$name.ber" >"$tmp/b.schema" &&
        cmp -s "$tmp/a.schema" "$tmp/b.schema" || fail "$name: schemas differ"
    # BER to BER is the identity too.
    "$view" convert "$tmp/$name.ber" "$tmp/$name.ber2" --to ber && cmp -s "$tmp/$name.ber" "$tmp/$name.ber2" ||
        fail "$name: BER -> BER differs"
    converted=$((converted + 1))
done
[ "$converted" -ge 4 ] || fail "only $converted fixtures converted"

# A stream without a vmdesc converts with --desc, and back byte for byte;
# check reads a BER stream as its QEMU form.
gunzip -c "$fixtures/pc20.mig.gz" >"$tmp/pc20.mig" || exit 99
gunzip -c "$fixtures/pc20-vmdesc.mig.gz" >"$tmp/pc20-vmdesc.mig" || exit 99
"$view" convert "$tmp/pc20.mig" "$tmp/pc20.ber" --to ber --desc "$tmp/pc20-vmdesc.mig" ||
    fail "pc20: to ber with --desc"
# Back in QEMU's format it is the same bytes up to its EOF, then the vmdesc
# of the descriptions it was given (a BER stream always carries them).
size=$(wc -c <"$tmp/pc20.mig")
"$view" convert "$tmp/pc20.ber" "$tmp/pc20.back" --to qemu &&
    cmp -s -n "$size" "$tmp/pc20.mig" "$tmp/pc20.back" && [ "$(wc -c <"$tmp/pc20.back")" -gt "$size" ] ||
    fail "pc20: QEMU -> BER -> QEMU with --desc differs before the vmdesc"
expect 0 "" "" -- "$view" check "$tmp/pc-plain.ber"
"$view" check "$tmp/pc-slirp4.mig" --json >"$tmp/check.mig" 2>/dev/null
"$view" check "$tmp/pc-slirp4.ber" --json >"$tmp/check.ber" 2>/dev/null
[ "$?" = 1 ] && cmp -s "$tmp/check.mig" "$tmp/check.ber" || fail "check of a BER stream: $(cat "$tmp/check.ber")"

# Usage.
a=$tmp/pc-plain.mig
expect 2 "" "vmscope-view: convert: missing --to (ber or qemu)$nl$hint" -- "$view" convert "$a" "$tmp/x"
expect 2 "" "vmscope-view: convert: unknown --to 'xml' (ber or qemu)$nl$hint" -- \
    "$view" convert "$a" "$tmp/x" --to xml
expect 2 "" "vmscope-view: convert: missing OUT$nl$hint" -- "$view" convert "$a" --to ber
expect 2 "" "vmscope-view: convert: missing IN and OUT$nl$hint" -- "$view" convert --to ber

# A broken input leaves no output (nor a temporary file) behind, and an existing OUT as it was.
head -c 1000 "$tmp/pc-plain.ber" >"$tmp/cut.ber"
mkdir "$tmp/out.d"
expect 1 "" "vmscope-view: $tmp/cut.ber: offset 213: truncated: need 238800 bytes, 787 left$nl" -- \
    "$view" convert "$tmp/cut.ber" "$tmp/out.d/x.mig" --to qemu
[ -z "$(ls -A "$tmp/out.d")" ] || fail "convert of a broken stream left files: $(ls -A "$tmp/out.d")"
echo keep >"$tmp/out.d/x.mig"
expect 1 "" "vmscope-view: $tmp/cut.ber: offset 213: truncated: need 238800 bytes, 787 left$nl" -- \
    "$view" convert "$tmp/cut.ber" "$tmp/out.d/x.mig" --to qemu
[ "$(cat "$tmp/out.d/x.mig")" = keep ] || fail "convert of a broken stream changed OUT"
expect 1 "" "vmscope-view: $tmp/none.mig: No such file or directory$nl" -- \
    "$view" convert "$tmp/none.mig" "$tmp/out.d/y" --to ber
expect 1 "" "vmscope-view: $tmp/cut.ber: offset 213: truncated: need 238800 bytes, 787 left$nl" -- \
    "$view" stream "$tmp/cut.ber"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "PASS ($converted fixtures)"
