// Table-driven (slice-by-8) CRCs, with the SSE4.2 crc32 instruction for CRC32C
// when cpuid reports it. Combination uses polynomial arithmetic mod P (the same
// method zlib uses for crc32_combine) generalised to 32- and 64-bit widths.
#include "crc.h"

#include <cpuid.h>
#include <cstring>

namespace strata {
namespace {

constexpr uint32_t kCrc32Poly = 0xEDB88320u;       // reflected 0x04C11DB7
constexpr uint32_t kCrc32cPoly = 0x82F63B78u;      // reflected 0x1EDC6F41
constexpr uint64_t kCrc64NvmePoly = 0x9A6C9329AC4BC9B5ull;  // reflected 0xAD93D23594C93659

template <typename T>
struct SliceTables {
  T t[8][256];
  explicit SliceTables(T poly) {
    for (int i = 0; i < 256; i++) {
      T c = static_cast<T>(i);
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : (c >> 1);
      t[0][i] = c;
    }
    for (int i = 0; i < 256; i++) {
      for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
  }
};

const SliceTables<uint32_t>& Crc32Tables() {
  static const SliceTables<uint32_t> tables(kCrc32Poly);
  return tables;
}
const SliceTables<uint32_t>& Crc32cTables() {
  static const SliceTables<uint32_t> tables(kCrc32cPoly);
  return tables;
}
const SliceTables<uint64_t>& Crc64Tables() {
  static const SliceTables<uint64_t> tables(kCrc64NvmePoly);
  return tables;
}

// Raw (unconditioned) slice-by-8 update.
template <typename T>
T SliceBy8(const SliceTables<T>& tb, T crc, const uint8_t* p, size_t len) {
  const auto& t = tb.t;
  while (len >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    if constexpr (sizeof(T) == 8) {
      word ^= crc;
      crc = t[7][word & 0xff] ^ t[6][(word >> 8) & 0xff] ^ t[5][(word >> 16) & 0xff] ^
            t[4][(word >> 24) & 0xff] ^ t[3][(word >> 32) & 0xff] ^ t[2][(word >> 40) & 0xff] ^
            t[1][(word >> 48) & 0xff] ^ t[0][word >> 56];
    } else {
      uint32_t lo = static_cast<uint32_t>(word) ^ crc;
      uint32_t hi = static_cast<uint32_t>(word >> 32);
      crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
            t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    }
    p += 8;
    len -= 8;
  }
  while (len--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return crc;
}

bool DetectSse42() {
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  return (ecx & bit_SSE4_2) != 0;
}

__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t crc, const uint8_t* p,
                                                            size_t len) {
  uint64_t c = crc;
  while (len && (reinterpret_cast<uintptr_t>(p) & 7)) {
    c = __builtin_ia32_crc32qi(static_cast<uint32_t>(c), *p++);
    len--;
  }
  while (len >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    len -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (len--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}

const bool kHasSse42 = DetectSse42();

// Polynomial arithmetic on reflected representations: bit (W-1) is x^0.
template <typename T>
T MultModP(T a, T b, T poly) {
  constexpr T top = static_cast<T>(1) << (sizeof(T) * 8 - 1);
  T m = top;
  T p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ poly : (b >> 1);
  }
  return p;
}

// x^(8 * lenBytes) mod P, by squaring: x^(2^k) for k = 3.. covers bytes.
template <typename T>
T XPow8nModP(uint64_t lenBytes, T poly) {
  constexpr T one = static_cast<T>(1) << (sizeof(T) * 8 - 1);  // x^0
  T power = one >> 1;                                            // x^1
  // power = x^(2^k); start at k = 0 and square up to k = 3 (x^8 = one byte).
  for (int k = 0; k < 3; k++) power = MultModP<T>(power, power, poly);
  T result = one;
  while (lenBytes) {
    if (lenBytes & 1) result = MultModP<T>(power, result, poly);
    lenBytes >>= 1;
    power = MultModP<T>(power, power, poly);
  }
  return result;
}

}  // namespace

bool Crc32cIsHardware() { return kHasSse42; }

uint32_t Crc32cUpdate(uint32_t crc, const uint8_t* data, size_t len) {
  uint32_t c = ~crc;
  c = kHasSse42 ? Crc32cHardware(c, data, len) : SliceBy8<uint32_t>(Crc32cTables(), c, data, len);
  return ~c;
}

uint32_t Crc32Update(uint32_t crc, const uint8_t* data, size_t len) {
  return ~SliceBy8<uint32_t>(Crc32Tables(), ~crc, data, len);
}

uint64_t Crc64NvmeUpdate(uint64_t crc, const uint8_t* data, size_t len) {
  return ~SliceBy8<uint64_t>(Crc64Tables(), ~crc, data, len);
}

uint64_t CrcCombine(CrcKind kind, uint64_t crcA, uint64_t crcB, uint64_t lenB) {
  switch (kind) {
    case CrcKind::Crc32:
      return MultModP<uint32_t>(XPow8nModP<uint32_t>(lenB, kCrc32Poly), static_cast<uint32_t>(crcA),
                                kCrc32Poly) ^
             static_cast<uint32_t>(crcB);
    case CrcKind::Crc32c:
      return MultModP<uint32_t>(XPow8nModP<uint32_t>(lenB, kCrc32cPoly),
                                static_cast<uint32_t>(crcA), kCrc32cPoly) ^
             static_cast<uint32_t>(crcB);
    case CrcKind::Crc64Nvme:
      return MultModP<uint64_t>(XPow8nModP<uint64_t>(lenB, kCrc64NvmePoly), crcA, kCrc64NvmePoly) ^
             crcB;
  }
  return 0;
}

}  // namespace strata
