#!/bin/bash
# Regenerates scripts/scan-order/scan-path.order: the functions a scan with rules and
# fingerprints runs, hottest first (self instructions in a callgrind profile of
# `scan-bench full`). Release builds on Linux link `spamward` and `scan-bench` with this order
# (Package.swift: `scanPathLinking`), so that the scan's code sits together in few pages and cache
# lines instead of among the cold code of its modules. See docs/scan-profile.md, "Code layout".
#
#   scripts/scan-order/generate.sh [CORPUS]        regenerate (default ../shared/corpora/spamassassin)
#   scripts/scan-order/generate.sh --check [BIN]   how much of the order a release binary follows
#
# Needs valgrind and a release build (made here with the usual command). Functions renamed
# since the last run drop out of the order silently (lld: --no-warn-symbol-ordering); rerun this
# after large changes to the scan path. Run from the package directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
order="$here/scan-path.order"
cd "$root"

if [ "${1:-}" = "--check" ]; then
    bin=${2:-.build-bench/release/scan-bench}
    [ -x "$bin" ] || { echo "no $bin: swift build -c release --scratch-path .build-bench --product scan-bench"; exit 1; }
    # Address of each ordered symbol in the binary; the order is followed when they ascend.
    nm "$bin" | awk 'NR==FNR { a[$3] = $1; next } { if ($1 in a) print a[$1]; else missing++ }
        END { print "missing", missing + 0 > "/dev/stderr" }' - "$order" > /tmp/scan-order-check.$$ 2> /tmp/scan-order-missing.$$
    total=$(wc -l < "$order")
    found=$(wc -l < /tmp/scan-order-check.$$)
    ascending=$(awk 'BEGIN { prev = "" } { if (prev == "" || $1 > prev) n++; prev = $1 } END { print n + 0 }' /tmp/scan-order-check.$$)
    echo "$order: $total functions; in $bin: $found found, $(cut -d' ' -f2 /tmp/scan-order-missing.$$) missing; $ascending of the found at ascending addresses"
    if [ "$found" -gt 0 ] && [ $((ascending * 10)) -lt $((found * 9)) ]; then
        echo "the order is not followed: objects compiled before the function-sections flag are kept by"
        echo "incremental builds; remove the scratch directory's objects (swift package clean) and build again"
    fi
    rm -f /tmp/scan-order-check.$$ /tmp/scan-order-missing.$$
    exit 0
fi

corpus=${1:-../shared/corpora/spamassassin}
[ -f "$corpus/index" ] || { echo "no TREC corpus at $corpus (an index file and the messages)"; exit 1; }
command -v valgrind > /dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }
swift build -c release --scratch-path .build-bench --product scan-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind refuses the debug information of the unstripped binary; the symbol table stays.
objcopy --strip-debug .build-bench/release/scan-bench "$work/scan-bench"
SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    --toggle-collect='*fullScan*' "$work/scan-bench" full "$corpus" 300 > /dev/null 2> "$work/valgrind.log"
# One line per function of the binary with its self instructions; recursion copies (NAME'2) and
# the functions of shared libraries are left out.
callgrind_annotate --threshold=100 "$work/callgrind.out" 2> /dev/null \
    | awk -v bin="[$work/scan-bench]" '$NF == bin { n = $1; gsub(",", "", n); name = $(NF - 1); sub(/^[^:]*:/, "", name);
          if (name !~ /'"'"'/) print n, name }' \
    | sort -k1,1nr -k2 | awk '{ print $2 }' > "$work/order"
[ -s "$work/order" ] || { echo "no functions in the profile (see $work/valgrind.log)"; cat "$work/valgrind.log"; exit 1; }
mv "$work/order" "$order"
# The link does not list the order file among its inputs: remove the executable so that the next
# build links it again in the new order.
rm -f .build-bench/release/scan-bench
echo "$order: $(wc -l < "$order") functions (relink: swift build -c release --scratch-path .build-bench --product scan-bench)"
