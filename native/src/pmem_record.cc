// Record header encoding and validation (format in pmem_record.h). Fields are
// stored little-endian, which is the host order on every platform the addon
// builds for (x86-64); the static_assert keeps it honest.
#include "pmem_record.h"

#include <cstring>

#include "crc.h"

namespace strata {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "record headers are little-endian");

template <typename T>
T Load(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
void Put(uint8_t* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

uint64_t* MarkerWord(uint8_t* header) { return reinterpret_cast<uint64_t*>(header + kCommitMarkerOffset); }

uint64_t LoadMarker(const uint8_t* header) {
  return __atomic_load_n(reinterpret_cast<const uint64_t*>(header + kCommitMarkerOffset), __ATOMIC_ACQUIRE);
}

uint64_t MarkerFor(uint32_t headerCrc) { return (uint64_t{kCommitTag} << 32) | headerCrc; }

}  // namespace

void WriteRecordHeader(uint8_t* header, uint32_t payloadBytes, uint32_t payloadCrc, uint32_t slotBytes,
                       uint64_t sequence, FlushKind flush) {
  uint8_t image[kRecordHeaderBytes] = {};
  Put<uint32_t>(image + 0, kRecordMagic);
  Put<uint16_t>(image + 4, kRecordVersion);
  Put<uint32_t>(image + 8, payloadBytes);
  Put<uint32_t>(image + 12, payloadCrc);
  Put<uint32_t>(image + 16, slotBytes);
  Put<uint64_t>(image + 24, sequence);
  Put<uint32_t>(image + kHeaderCrcOffset, Crc32cUpdate(0, image, kHeaderCrcOffset));
  // The marker word is cleared first, on its own: whatever else of this line
  // a power failure keeps, an old marker cannot survive next to new fields.
  __atomic_store_n(MarkerWord(header), uint64_t{0}, __ATOMIC_RELEASE);
  std::memcpy(header, image, kCommitMarkerOffset);
  FlushLines(flush, header, kRecordHeaderBytes);
}

bool CommitRecord(uint8_t* header, FlushKind flush) {
  RecordInfo info = InspectRecord(header);
  if (info.status != RecordStatus::kUncommitted && info.status != RecordStatus::kCommitted) return false;
  __atomic_store_n(MarkerWord(header), MarkerFor(Load<uint32_t>(header + kHeaderCrcOffset)), __ATOMIC_RELEASE);
  FlushLines(flush, header, kRecordHeaderBytes);
  return true;
}

void ClearRecordHeader(uint8_t* header, FlushKind flush) {
  __atomic_store_n(MarkerWord(header), uint64_t{0}, __ATOMIC_RELEASE);
  std::memset(header, 0, kCommitMarkerOffset);
  FlushLines(flush, header, kRecordHeaderBytes);
}

RecordInfo InspectRecord(const uint8_t* header) {
  RecordInfo info;
  if (Load<uint32_t>(header) != kRecordMagic) return info;
  uint32_t headerCrc = Load<uint32_t>(header + kHeaderCrcOffset);
  if (Load<uint16_t>(header + 4) != kRecordVersion || Crc32cUpdate(0, header, kHeaderCrcOffset) != headerCrc) {
    info.status = RecordStatus::kGarbage;
    return info;
  }
  info.payloadBytes = Load<uint32_t>(header + 8);
  info.payloadCrc = Load<uint32_t>(header + 12);
  info.slotBytes = Load<uint32_t>(header + 16);
  info.sequence = Load<uint64_t>(header + 24);
  info.status = LoadMarker(header) == MarkerFor(headerCrc) ? RecordStatus::kCommitted : RecordStatus::kUncommitted;
  return info;
}

}  // namespace strata
