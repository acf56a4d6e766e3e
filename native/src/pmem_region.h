// A file mapped for the dax tier, and every store into it.
//
// Mapping: MAP_SHARED_VALIDATE | MAP_SYNC first. The kernel grants MAP_SYNC
// only on a DAX filesystem (it refuses elsewhere with EOPNOTSUPP); then stores
// reach persistent memory once their cache lines are flushed (CLWB,
// CLFLUSHOPT or CLFLUSH, picked by cpuid) and fenced (SFENCE), and the file's
// block mapping is made durable by the page fault itself. Mode "dax".
// Anywhere else the file is mapped MAP_SHARED and made durable with msync
// (MS_SYNC) of the touched pages, run on the libuv thread pool so the event
// loop never waits for the disk. Mode "emulated": never claimed durable before
// that msync returned.
//
// JavaScript never sees a pointer into the mapping: all stores go through
// these methods (so none can skip the flush), all loads copy out (so closing
// can unmap without leaving a dangling ArrayBuffer). Offsets are checked
// against the mapping; a bad one returns -EFAULT instead of touching memory.
//
// JS API (validated and wrapped by src/backends/dax-region.ts):
//   openPmemRegion(fd, lengthBytes, flags) -> region | -errno; region.mode 'dax' | 'emulated',
//     region.persistence 'clwb' | 'clflushopt' | 'clflush' | 'msync', region.mapSync
//     'granted' | 'refused' | 'not-tried' and mapSyncErrno (why refused)
//     flags: 1 = do not try MAP_SYNC, 2 = no non-temporal stores,
//            4 = flush cache lines and fence even without MAP_SYNC (tests only:
//                runs the DAX code path on a non-DAX mapping, where that is NOT
//                durable against power loss; mode stays "emulated")
//   region.write(offset, bytes, crcPrevious)     -> crc32c(previous, bytes) | -errno
//   region.read(offset, target)                  -> crc32c of the copied bytes | -errno
//   region.copyWithin(target, source, length)    -> 0 | -errno
//   region.writeHeader(offset, payloadBytes, payloadCrc, slotBytes, seqHigh, seqLow) -> 0 | -errno
//   region.commit(offset)                        -> 0 | -EINVAL (no valid header) | -errno
//   region.clearHeader(offset)                   -> 0 | -errno
//   region.inspect(offset, stride, count, out)   -> 0 | -errno; out: Uint32Array of count × 4
//                                                   (status, payloadBytes, payloadCrc, slotBytes)
//   region.readRecord(offset, payloadBytes, payloadCrc, slotBytes, target) -> ReadStatus | -errno
//   region.fence()                               -> SFENCE when cache lines are flushed
//   region.msync(ranges: Float64Array)           -> Promise<0 | -errno>; [start, length] pairs, page-aligned
//   region.publish(ranges, headers: Float64Array) -> Promise<0 | -errno>; on one worker: msync the
//                                                   ranges, then store the headers' commit markers,
//                                                   then msync the pages holding them (emulated mode's
//                                                   two persistence steps in one thread-pool hop)
//   region.close()                               -> 0 | -EBUSY while an msync runs
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "pmem_cpu.h"

namespace strata {

// readRecord results (non-negative; negative values are errnos).
enum class ReadStatus : int32_t {
  kOk = 0,
  kNoHeader = 1,     // empty or damaged header
  kUncommitted = 2,  // header valid but not committed
  kMismatch = 3,     // committed record, but not the one the caller expects
  kBadPayload = 4,   // payload CRC32C differs from the header's
};

class PmemRegion final : public Napi::ObjectWrap<PmemRegion> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  static Napi::Value Open(const Napi::CallbackInfo& info);

  explicit PmemRegion(const Napi::CallbackInfo& info);
  ~PmemRegion() override;

 private:
  struct MsyncWork;

  int Map(int fd, size_t lengthBytes, int64_t flags);
  void Unmap();
  // base_ + offset when [offset, offset + bytes) lies inside the mapping.
  uint8_t* At(int64_t offset, int64_t bytes) const;
  bool NonTemporal(size_t bytes) const { return nonTemporal_ && bytes >= kNonTemporalMinBytes; }

  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value CopyWithin(const Napi::CallbackInfo& info);
  Napi::Value WriteHeader(const Napi::CallbackInfo& info);
  Napi::Value Commit(const Napi::CallbackInfo& info);
  Napi::Value ClearHeader(const Napi::CallbackInfo& info);
  Napi::Value Inspect(const Napi::CallbackInfo& info);
  Napi::Value ReadRecord(const Napi::CallbackInfo& info);
  Napi::Value Fence(const Napi::CallbackInfo& info);
  Napi::Value Msync(const Napi::CallbackInfo& info);
  Napi::Value Publish(const Napi::CallbackInfo& info);
  Napi::Value QueueMsync(const Napi::CallbackInfo& info, bool publish);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static void ExecuteMsync(napi_env env, void* data);
  static void CompleteMsync(napi_env env, napi_status status, void* data);

  // Below this size an ordinary copy plus line flushes beats streaming stores
  // (the head/tail handling and the lost cache locality cost more than the
  // bypass saves); PMDK uses the same order of magnitude.
  static constexpr size_t kNonTemporalMinBytes = 256;

  uint8_t* base_ = nullptr;
  size_t lengthBytes_ = 0;
  bool dax_ = false;
  FlushKind flush_ = FlushKind::kNone;  // used on every store; kNone in emulated mode
  bool nonTemporal_ = false;
  int mapSyncErrno_ = 0;  // why MAP_SYNC was refused (negative errno), 0 if granted or not tried
  uint32_t msyncsInFlight_ = 0;
};

// Exports openPmemRegion, pmemFlushSelfTest and pmemBaseline.
void RegisterPmem(Napi::Env env, Napi::Object exports);

}  // namespace strata
