#!/usr/bin/env bash
# Runs one libFuzzer target for a while over its committed seeds, never writing into them.
# Usage: tests/fuzz/run.sh [--fresh] <fuzzer binary> <seconds> <corpus dir> <crash dir> [libFuzzer flags...]
#   <corpus dir>   inputs the run finds (new ones are written here; the seeds are read from
#                  tests/fuzz/corpus/<target>). --fresh empties it first, so the run starts from
#                  the seeds alone and takes the same time whatever earlier runs found.
#   <crash dir>    <target>-crash-*, -leak-*, -timeout-*, -oom-* reproducers
# Exit status: the fuzzer's (non-zero when it found a crash, leak, timeout or out-of-memory).
set -uo pipefail
fresh=0
if [ "${1:-}" = "--fresh" ]; then fresh=1; shift; fi
bin="$1"; secs="$2"; corpus="$3"; crashes="$4"; shift 4
here="$(cd "$(dirname "$0")" && pwd)"
name="$(basename "$bin")"
seeds="$here/corpus/$name"
[ $fresh = 1 ] && rm -rf "$corpus"
mkdir -p "$corpus" "$crashes"
flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
       -artifact_prefix="$crashes/$name-")
[ -f "$here/$name.dict" ] && flags+=(-dict="$here/$name.dict")
# Symbolized stacks: clang-15's own symbolizer when installed, else Debian's default llvm one.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  for s in llvm-symbolizer-15 /usr/lib/llvm-15/bin/llvm-symbolizer llvm-symbolizer; do
    if p="$(command -v "$s")"; then export ASAN_SYMBOLIZER_PATH="$p"; break; fi
  done
fi
# The first folder receives new inputs; the committed seeds are only read.
"$bin" "${flags[@]}" "$@" "$corpus" "$seeds"
rc=$?
if [ $rc -ne 0 ]; then
  echo "$name: the fuzzer stopped with status $rc; reproducers in $crashes/:" >&2
  ls -t "$crashes" | grep "^$name-" | head -n 5 | sed "s|^|  $crashes/|" >&2
  echo "reproduce: $bin <reproducer file>   (see docs/FUZZING.md)" >&2
fi
exit $rc
