// The dax tier's record: one 64-byte header (one cache line) followed by the
// payload, in a slot of the slab (see src/backends/dax-layout.ts for the file
// layout). The format lives here, in one place, because writing, committing,
// validating and scanning records all run in native code.
//
//   offset  size  field
//   0       4     magic 'SDXR' (0x52584453 little-endian)
//   4       2     version (1)
//   6       2     reserved, 0
//   8       4     payloadBytes
//   12      4     payloadCrc32c
//   16      4     slotBytes (header + payload + padding; the slab class)
//   20      4     reserved, 0
//   24      8     sequence (unique per record: boot id << 32 | counter)
//   32      16    reserved, 0
//   48      4     headerCrc32c over bytes [0, 48)
//   52      4     reserved, 0
//   56      8     commit marker: 0 until committed, then kCommitTag << 32 | headerCrc32c
//
// Publication protocol: header (marker 0) and payload are written and
// persisted first; only then is the marker stored (one aligned 8-byte store,
// atomic with respect to power failure) and persisted. A record is committed
// iff its header checksum is right AND the marker names that checksum: a
// marker left over from an older record in the same slot names the old
// header's checksum (the sequence makes every header distinct), so it can
// never vouch for a new, possibly torn, record.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pmem_cpu.h"

namespace strata {

constexpr size_t kRecordHeaderBytes = 64;
constexpr uint32_t kRecordMagic = 0x52584453u;  // "SDXR"
constexpr uint16_t kRecordVersion = 1;
constexpr uint32_t kCommitTag = 0x434d4954u;  // "TIMC": high half of the marker
constexpr size_t kCommitMarkerOffset = 56;
constexpr size_t kHeaderCrcOffset = 48;

enum class RecordStatus : int32_t {
  kEmpty = 0,        // no magic: never written, or cleared
  kGarbage = 1,      // magic but the header checksum or version is wrong (torn or damaged)
  kUncommitted = 2,  // valid header, no marker for it (interrupted before commit)
  kCommitted = 3,    // valid header and its marker
};

struct RecordInfo {
  RecordStatus status = RecordStatus::kEmpty;
  uint32_t payloadBytes = 0;
  uint32_t payloadCrc = 0;
  uint32_t slotBytes = 0;
  uint64_t sequence = 0;
};

// Writes a header with no commit marker into the 64 bytes at `header`
// (64-byte aligned), flushing the line with `flush` (kNone on non-DAX).
void WriteRecordHeader(uint8_t* header, uint32_t payloadBytes, uint32_t payloadCrc, uint32_t slotBytes,
                       uint64_t sequence, FlushKind flush);

// Stores the commit marker of the valid header at `header` and flushes its
// line. Returns false (storing nothing) when the header is not valid.
bool CommitRecord(uint8_t* header, FlushKind flush);

// Zeroes the header line (marker first), so a scan no longer finds the record.
void ClearRecordHeader(uint8_t* header, FlushKind flush);

RecordInfo InspectRecord(const uint8_t* header);

}  // namespace strata
