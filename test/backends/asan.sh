#!/usr/bin/env bash
# Runs the native-backed tests (I/O engine, nvme tier, dax tier) against an
# ASan + UBSan build of the addon (not part of `npm test`: it takes a few
# minutes). The sanitized addon is built in a temp dir and swapped in for the
# run; the release build is put back on exit, whatever happens.
#   test/backends/asan.sh [TEST ...]     (after `npm ci` / `npx tsc -p .`)
#   e.g. test/backends/asan.sh dax-native dax-tier   (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
addon=native/build/Release/strata_native.node
cp "$addon" "$work/release.node"
trap 'cp "$work/release.node" "$addon"; rm -rf "$work"' EXIT
npx cmake-js compile --directory native --out "$work/build" --CDCMAKE_BUILD_TYPE=Debug \
  "--CDCMAKE_CXX_FLAGS_DEBUG=-g -O1 -fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer" \
  "--CDCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null
cp "$work/build/Release/strata_native.node" "$addon"
# vptr is off: UBSan cannot see the typeinfo of classes in a dlopen'ed addon and reports every virtual call.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1 STRATA_CRASH_CYCLES=${STRATA_CRASH_CYCLES:-3}
status=0
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(io-engine nvme-tier nvme-corruption nvme-crash dax-native dax-slab dax-tier dax-torn dax-crash)
for test in "${tests[@]}"; do
  if node "dist/test/backends/$test.test.js" >"$work/$test.out" 2>&1 && ! grep -qE 'ERROR: AddressSanitizer|runtime error' "$work/$test.out"; then
    echo "ok   $test"
  else
    echo "FAIL $test"; grep -E 'ERROR: AddressSanitizer|runtime error|not ok' "$work/$test.out" | head -20; status=1
  fi
done
exit $status
