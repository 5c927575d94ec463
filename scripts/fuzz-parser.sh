#!/usr/bin/env bash
# Fuzz the MIME parser with libFuzzer (and AddressSanitizer).
#   scripts/fuzz-parser.sh [SECONDS]    default 60; corpus seeds from ../shared/corpora/mime-torture
# Crashes are written to fuzz-out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
mkdir -p fuzz-out/corpus
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MailMessage \
  Sources/MailMessage/*.swift Fuzz/ParserFuzz.swift -o fuzz-out/parser-fuzz
seeds=()
[ -d ../shared/corpora/mime-torture ] && seeds+=(../shared/corpora/mime-torture)
exec fuzz-out/parser-fuzz fuzz-out/corpus "${seeds[@]}" -max_total_time="$secs" -max_len=200000 \
  -rss_limit_mb=2048 -timeout=10 -artifact_prefix=fuzz-out/
