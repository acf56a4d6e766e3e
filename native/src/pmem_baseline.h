// Native helpers for the dax tier's tests and benchmark, kept out of the
// region itself:
//   pmemFlushSelfTest(kind)  runs the streaming copy and one flush instruction
//       (1 = clflush, 2 = clflushopt, 3 = clwb) over ordinary memory and checks
//       the bytes: exercises the DAX code path's instructions on a machine
//       without persistent memory (it proves nothing about durability).
//       -> { nonTemporalBytes, checkedBytes } | -ENOTSUP when the CPU lacks it | -EIO on a mismatch
//   pmemBaseline(fd, lengthBytes, recordBytes, writers, durationMs)
//       the benchmark's baseline: `writers` threads, each looping memcpy of one
//       record into its own part of a MAP_SHARED mapping of fd, then msync
//       (MS_SYNC) of the pages it touched — the least a durable small write
//       costs on this filesystem without any tier logic. Blocks the calling
//       thread for durationMs (a benchmark tool, not for the server).
//       -> { records, seconds } | -errno
#pragma once

#include <napi.h>

namespace strata {

void RegisterPmemBaseline(Napi::Env env, Napi::Object exports);

}  // namespace strata
