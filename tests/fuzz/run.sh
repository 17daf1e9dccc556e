#!/usr/bin/env bash
# Runs one libFuzzer target for a while over its committed seeds, never writing into them.
# Usage: tests/fuzz/run.sh <fuzzer binary> <seconds> <work dir> [more libFuzzer flags...]
#   <work dir>/corpus/<target>/   inputs the runs found (grows from run to run; safe to delete)
#   <work dir>/crashes/           crash-*, leak-*, timeout-*, oom-* reproducers
# Exit status: the fuzzer's (non-zero when it found a crash, leak, timeout or out-of-memory).
set -uo pipefail
bin="$1"; secs="$2"; work="$3"; shift 3
here="$(cd "$(dirname "$0")" && pwd)"
name="$(basename "$bin")"
seeds="$here/corpus/$name"
mkdir -p "$work/corpus/$name" "$work/crashes"
flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
       -artifact_prefix="$work/crashes/$name-")
[ -f "$here/$name.dict" ] && flags+=(-dict="$here/$name.dict")
# Symbolized stacks: clang-15's own symbolizer when installed, else Debian's default llvm one.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  for s in llvm-symbolizer-15 /usr/lib/llvm-15/bin/llvm-symbolizer llvm-symbolizer; do
    if p="$(command -v "$s")"; then export ASAN_SYMBOLIZER_PATH="$p"; break; fi
  done
fi
# The first folder receives new inputs; the committed seeds are only read.
"$bin" "${flags[@]}" "$@" "$work/corpus/$name" "$seeds"
rc=$?
if [ $rc -ne 0 ]; then
  echo "$name: the fuzzer stopped with status $rc; reproducers in $work/crashes/:" >&2
  ls -t "$work/crashes" | grep "^$name-" | head -n 5 | sed "s|^|  $work/crashes/|" >&2
  echo "reproduce: $bin <reproducer file>   (see docs/FUZZING.md)" >&2
fi
exit $rc
