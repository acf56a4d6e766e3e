// cpuid detection and the flush/copy kernels. Each instruction sits in its own
// function compiled for its ISA extension (target attribute), so the addon
// builds for baseline x86-64 and only calls what cpuid reported.
#include "pmem_cpu.h"

#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace strata {
namespace {

#if defined(__x86_64__)

struct CpuFlags {
  bool clflush = false;
  bool clflushopt = false;
  bool clwb = false;
  bool sse2 = false;
};

CpuFlags ReadCpuFlags() {
  CpuFlags flags;
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
    flags.clflush = (edx & (1u << 19)) != 0;  // CPUID.01H:EDX.CLFSH[bit 19]
    flags.sse2 = (edx & (1u << 26)) != 0;     // CPUID.01H:EDX.SSE2[bit 26]
  }
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    flags.clflushopt = (ebx & (1u << 23)) != 0;  // CPUID.(7,0):EBX.CLFLUSHOPT[bit 23]
    flags.clwb = (ebx & (1u << 24)) != 0;        // CPUID.(7,0):EBX.CLWB[bit 24]
  }
  return flags;
}

const CpuFlags kCpu = ReadCpuFlags();

__attribute__((target("clwb"))) void FlushClwb(uintptr_t first, uintptr_t end) {
  for (uintptr_t line = first; line < end; line += kCacheLineBytes) _mm_clwb(reinterpret_cast<void*>(line));
}

__attribute__((target("clflushopt"))) void FlushClflushopt(uintptr_t first, uintptr_t end) {
  for (uintptr_t line = first; line < end; line += kCacheLineBytes) _mm_clflushopt(reinterpret_cast<void*>(line));
}

void FlushClflush(uintptr_t first, uintptr_t end) {
  for (uintptr_t line = first; line < end; line += kCacheLineBytes) _mm_clflush(reinterpret_cast<void*>(line));
}

// dst is 64-byte aligned and bytes a multiple of 64: four 16-byte streaming
// stores per line, so each line leaves the write-combining buffer whole.
void StreamLines(uint8_t* dst, const uint8_t* src, size_t bytes) {
  for (size_t i = 0; i < bytes; i += kCacheLineBytes) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 16));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 32));
    __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 48), d);
  }
}

#endif  // __x86_64__

}  // namespace

const char* FlushKindName(FlushKind kind) {
  switch (kind) {
    case FlushKind::kClwb:
      return "clwb";
    case FlushKind::kClflushopt:
      return "clflushopt";
    case FlushKind::kClflush:
      return "clflush";
    case FlushKind::kNone:
      break;
  }
  return "none";
}

FlushKind DetectFlushKind() {
#if defined(__x86_64__)
  if (kCpu.clwb) return FlushKind::kClwb;
  if (kCpu.clflushopt) return FlushKind::kClflushopt;
  if (kCpu.clflush) return FlushKind::kClflush;
#endif
  return FlushKind::kNone;
}

bool FlushKindSupported(FlushKind kind) {
#if defined(__x86_64__)
  switch (kind) {
    case FlushKind::kClwb:
      return kCpu.clwb;
    case FlushKind::kClflushopt:
      return kCpu.clflushopt;
    case FlushKind::kClflush:
      return kCpu.clflush;
    case FlushKind::kNone:
      return true;
  }
#endif
  return kind == FlushKind::kNone;
}

bool NonTemporalStoresSupported() {
#if defined(__x86_64__)
  return kCpu.sse2;
#else
  return false;
#endif
}

void FlushLines(FlushKind kind, const void* p, size_t bytes) {
  if (bytes == 0 || kind == FlushKind::kNone) return;
#if defined(__x86_64__)
  uintptr_t first = reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{kCacheLineBytes} - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(p) + bytes;
  switch (kind) {
    case FlushKind::kClwb:
      FlushClwb(first, end);
      break;
    case FlushKind::kClflushopt:
      FlushClflushopt(first, end);
      break;
    case FlushKind::kClflush:
      FlushClflush(first, end);
      break;
    case FlushKind::kNone:
      break;
  }
#endif
}

void StoreFence() {
#if defined(__x86_64__)
  _mm_sfence();
#else
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

size_t CopyToPmem(uint8_t* dst, const uint8_t* src, size_t bytes, bool nonTemporal, FlushKind flush) {
#if defined(__x86_64__)
  if (nonTemporal && kCpu.sse2) {
    uintptr_t start = reinterpret_cast<uintptr_t>(dst);
    size_t head = (kCacheLineBytes - (start & (kCacheLineBytes - 1))) & (kCacheLineBytes - 1);
    if (head > bytes) head = bytes;
    size_t body = (bytes - head) & ~(kCacheLineBytes - 1);
    size_t tail = bytes - head - body;
    if (head > 0) {
      std::memcpy(dst, src, head);
      FlushLines(flush, dst, head);
    }
    if (body > 0) StreamLines(dst + head, src + head, body);
    if (tail > 0) {
      std::memcpy(dst + head + body, src + head + body, tail);
      FlushLines(flush, dst + head + body, tail);
    }
    return body;
  }
#endif
  std::memcpy(dst, src, bytes);
  FlushLines(flush, dst, bytes);
  return 0;
}

}  // namespace strata
