// Pool memory. MADV_DONTFORK: a child forked by child_process must not share
// (copy-on-write) pages that the kernel may be DMA-ing into for the parent.
#include "aligned_region.h"

#include <sys/mman.h>

#include <cerrno>

namespace strata {

uint8_t* MapAlignedRegion(size_t bytes, int* error) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) {
    *error = -errno;
    return nullptr;
  }
  madvise(p, bytes, MADV_DONTFORK);
  *error = 0;
  return static_cast<uint8_t*>(p);
}

void UnmapAlignedRegion(uint8_t* base, size_t bytes) {
  if (base != nullptr) munmap(base, bytes);
}

}  // namespace strata
