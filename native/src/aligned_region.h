// The engine's buffer pool memory: one page-aligned anonymous mapping, made
// once at a fixed size (static allocation: callers wait for a free slot in
// TypeScript instead of the pool growing). O_DIRECT needs the alignment;
// io_uring registers the region once as a fixed buffer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata {

// Maps `bytes` (a multiple of the page size) of zeroed, prefaulted memory
// that a forked child does not inherit. Returns nullptr and sets *error to
// -errno on failure.
uint8_t* MapAlignedRegion(size_t bytes, int* error);
void UnmapAlignedRegion(uint8_t* base, size_t bytes);

}  // namespace strata
