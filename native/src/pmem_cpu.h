// CPU primitives for persistent memory: which cache-line flush instruction
// this CPU has (cpuid), flushing a range with it, the store fence, and copies
// that use non-temporal (cache-bypassing) stores.
//
// Why these and not libpmem2: the default build must need nothing beyond g++
// and node-api-headers. The semantics follow the x86 persistence model: a
// store reaches the persistence domain once its cache line was written back
// (CLWB / CLFLUSHOPT / CLFLUSH) or it was a non-temporal store, and an SFENCE
// after those orders them before any later store (e.g. a commit marker).
// None of this makes anything durable on a mapping that is not DAX: there the
// caller must use msync instead (see pmem_region.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata {

enum class FlushKind : int {
  kNone = 0,        // no cache-flush instruction usable (non-x86): persistence only by msync
  kClflush = 1,     // CLFLUSH: serialising, evicts the line; on every x86-64
  kClflushopt = 2,  // CLFLUSHOPT: unordered among themselves, evicts the line
  kClwb = 3,        // CLWB: writes the line back and may keep it cached
};

constexpr size_t kCacheLineBytes = 64;

const char* FlushKindName(FlushKind kind);

// The best flush instruction cpuid reports (CLWB > CLFLUSHOPT > CLFLUSH).
FlushKind DetectFlushKind();
// Whether `kind` can run on this CPU (for tests that exercise every variant).
bool FlushKindSupported(FlushKind kind);
// Non-temporal 16-byte stores (SSE2 MOVNTDQ): every x86-64 has them.
bool NonTemporalStoresSupported();

// Writes back every cache line overlapping [p, p + bytes). No fence.
void FlushLines(FlushKind kind, const void* p, size_t bytes);
// SFENCE: earlier flushes and non-temporal stores are ordered before later stores.
void StoreFence();

// memcpy into `dst`. With `nonTemporal`, whole 64-byte lines of the target are
// written with non-temporal stores (the CPU has them and the caller judged the
// size worth it); the unaligned head and tail use ordinary stores. With
// `flush` != kNone, every line written with ordinary stores is flushed with
// that instruction, so after a StoreFence() the whole range is persistent on a
// DAX mapping. Returns the bytes written with non-temporal stores.
size_t CopyToPmem(uint8_t* dst, const uint8_t* src, size_t bytes, bool nonTemporal, FlushKind flush);

}  // namespace strata
