// CRC kernels used for S3 checksums and for on-media integrity.
// All three are reflected CRCs with init = ~0 and xorout = ~0; callers pass the
// previous finished value (0 for a fresh start) and get a finished value back,
// so streaming is crc = update(crc, chunk) without extra conditioning.
#pragma once
#include <cstddef>
#include <cstdint>

namespace strata {

enum class CrcKind : int { Crc32 = 0, Crc32c = 1, Crc64Nvme = 2 };

uint32_t Crc32cUpdate(uint32_t crc, const uint8_t* data, size_t len);
uint32_t Crc32Update(uint32_t crc, const uint8_t* data, size_t len);
uint64_t Crc64NvmeUpdate(uint64_t crc, const uint8_t* data, size_t len);

// crc(A || B) from crc(A), crc(B) and len(B), without touching the bytes.
uint64_t CrcCombine(CrcKind kind, uint64_t crcA, uint64_t crcB, uint64_t lenB);

bool Crc32cIsHardware();

}  // namespace strata
