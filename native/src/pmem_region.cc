// N-API side of the mapped region. Every method runs on the JS thread except
// ExecuteMsync (libuv worker), which touches only the mapping and its own
// work struct. The mapping stays mapped while an msync runs: close() refuses
// with -EBUSY, and the work holds a reference to the JS object so the
// garbage collector cannot finalise it either.
#include "napi_args.h"
#include "pmem_region.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "crc.h"
#include "pmem_baseline.h"
#include "pmem_record.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

namespace strata {
namespace {

constexpr int64_t kFlagNoMapSync = 1;
constexpr int64_t kFlagNoNonTemporal = 2;
constexpr int64_t kFlagFlushWithoutDax = 4;
constexpr int64_t kPageBytes = 4096;


bool BytesArg(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* length) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(info.Env(), "expected a Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  auto array = info[i].As<Napi::Uint8Array>();
  *data = array.Data();
  *length = array.ByteLength();
  return true;
}

Napi::Value Result(Napi::Env env, int64_t value) { return Napi::Number::New(env, static_cast<double>(value)); }

}  // namespace

struct PmemRegion::MsyncWork {
  PmemRegion* region = nullptr;
  std::vector<std::pair<size_t, size_t>> ranges;  // (start, length), page-aligned
  // publish(): headers whose markers are stored once `ranges` are durable,
  // then made durable themselves with one more msync of [first, end).
  std::vector<size_t> headers;
  size_t headersFirst = 0;
  size_t headersEnd = 0;
  int result = 0;
  napi_async_work handle = nullptr;
  napi_deferred deferred = nullptr;
  Napi::ObjectReference keepAlive;
};

Napi::Function PmemRegion::DefineClass(Napi::Env env) {
  return ObjectWrap<PmemRegion>::DefineClass(env, "PmemRegion",
                                             {
                                                 InstanceMethod<&PmemRegion::Write>("write"),
                                                 InstanceMethod<&PmemRegion::Read>("read"),
                                                 InstanceMethod<&PmemRegion::CopyWithin>("copyWithin"),
                                                 InstanceMethod<&PmemRegion::WriteHeader>("writeHeader"),
                                                 InstanceMethod<&PmemRegion::Commit>("commit"),
                                                 InstanceMethod<&PmemRegion::ClearHeader>("clearHeader"),
                                                 InstanceMethod<&PmemRegion::Inspect>("inspect"),
                                                 InstanceMethod<&PmemRegion::ReadRecord>("readRecord"),
                                                 InstanceMethod<&PmemRegion::Fence>("fence"),
                                                 InstanceMethod<&PmemRegion::Msync>("msync"),
                                                 InstanceMethod<&PmemRegion::Publish>("publish"),
                                                 InstanceMethod<&PmemRegion::Close>("close"),
                                             });
}

PmemRegion::PmemRegion(const Napi::CallbackInfo& info) : ObjectWrap<PmemRegion>(info) {}

PmemRegion::~PmemRegion() {
  // Finalised with an msync still on a worker thread can only happen while the
  // environment is torn down (the work holds a reference otherwise): leave the
  // mapping to the process exit rather than pull it from under the worker.
  if (msyncsInFlight_ == 0) Unmap();
}

Napi::Value PmemRegion::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, lengthBytes, flags;
  if (!IntArg(info, 0, &fd) || !IntArg(info, 1, &lengthBytes) || !IntArg(info, 2, &flags)) return env.Undefined();
  if (fd < 0 || fd > INT32_MAX) return Result(env, -EBADF);
  if (lengthBytes <= 0 || lengthBytes % kPageBytes != 0 || flags < 0 || flags > 7) return Result(env, -EINVAL);
  auto* constructor = static_cast<Napi::FunctionReference*>(info.Data());
  Napi::Object object = constructor->New({});
  if (env.IsExceptionPending()) return env.Undefined();
  PmemRegion* region = Unwrap(object);
  int rc = region->Map(static_cast<int>(fd), static_cast<size_t>(lengthBytes), flags);
  if (rc < 0) return Result(env, rc);
  object.Set("mode", region->dax_ ? "dax" : "emulated");
  object.Set("persistence", region->flush_ != FlushKind::kNone ? FlushKindName(region->flush_) : "msync");
  object.Set("cacheFlushWithoutDax", !region->dax_ && region->flush_ != FlushKind::kNone);
  object.Set("nonTemporalStores", region->nonTemporal_);
  object.Set("nonTemporalMinBytes", Result(env, kNonTemporalMinBytes));
  object.Set("lengthBytes", Result(env, lengthBytes));
  object.Set("mapSync", (flags & kFlagNoMapSync) != 0 ? "not-tried" : region->mapSyncErrno_ == 0 ? "granted" : "refused");
  object.Set("mapSyncErrno", Result(env, region->mapSyncErrno_));
  return object;
}

// 0, or the negative errno of the plain shared mapping when even that failed.
// Why MAP_SYNC was refused (EOPNOTSUPP on a filesystem without DAX) is kept
// in mapSyncErrno_ for the operator.
int PmemRegion::Map(int fd, size_t lengthBytes, int64_t flags) {
  void* p = MAP_FAILED;
  if ((flags & kFlagNoMapSync) == 0) {
    p = mmap(nullptr, lengthBytes, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
    mapSyncErrno_ = p == MAP_FAILED ? -errno : 0;
  }
  FlushKind detected = DetectFlushKind();
  // DAX durability needs both the kernel's MAP_SYNC and a flush instruction.
  dax_ = p != MAP_FAILED && detected != FlushKind::kNone;
  if (p == MAP_FAILED) {
    p = mmap(nullptr, lengthBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return -errno;
  }
  base_ = static_cast<uint8_t*>(p);
  lengthBytes_ = lengthBytes;
  flush_ = dax_ || (flags & kFlagFlushWithoutDax) != 0 ? detected : FlushKind::kNone;
  nonTemporal_ = (flags & kFlagNoNonTemporal) == 0 && NonTemporalStoresSupported();
  // Start reading the file in now: a cold page costs a synchronous fault on
  // the JS thread at first touch (emulated mode only; DAX has no page cache).
  if (!dax_) madvise(base_, lengthBytes_, MADV_WILLNEED);
  return 0;
}

void PmemRegion::Unmap() {
  if (base_ == nullptr) return;
  if (flush_ != FlushKind::kNone) StoreFence();
  munmap(base_, lengthBytes_);
  base_ = nullptr;
}

uint8_t* PmemRegion::At(int64_t offset, int64_t bytes) const {
  if (base_ == nullptr || offset < 0 || bytes < 0) return nullptr;
  if (static_cast<uint64_t>(offset) + static_cast<uint64_t>(bytes) > lengthBytes_) return nullptr;
  return base_ + offset;
}

Napi::Value PmemRegion::Write(const Napi::CallbackInfo& info) {
  int64_t offset, previous;
  uint8_t* source;
  size_t bytes;
  if (!IntArg(info, 0, &offset) || !BytesArg(info, 1, &source, &bytes) || !IntArg(info, 2, &previous)) {
    return info.Env().Undefined();
  }
  if (previous < 0 || previous > UINT32_MAX) return Result(info.Env(), -EINVAL);
  uint8_t* target = At(offset, static_cast<int64_t>(bytes));
  if (target == nullptr) return Result(info.Env(), base_ == nullptr ? -ECANCELED : -EFAULT);
  // CRC of the source while it is in cache; the copy may bypass the cache.
  uint32_t crc = Crc32cUpdate(static_cast<uint32_t>(previous), source, bytes);
  CopyToPmem(target, source, bytes, NonTemporal(bytes), flush_);
  return Result(info.Env(), crc);
}

Napi::Value PmemRegion::Read(const Napi::CallbackInfo& info) {
  int64_t offset;
  uint8_t* target;
  size_t bytes;
  if (!IntArg(info, 0, &offset) || !BytesArg(info, 1, &target, &bytes)) return info.Env().Undefined();
  const uint8_t* source = At(offset, static_cast<int64_t>(bytes));
  if (source == nullptr) return Result(info.Env(), base_ == nullptr ? -ECANCELED : -EFAULT);
  std::memcpy(target, source, bytes);
  return Result(info.Env(), Crc32cUpdate(0, target, bytes));
}

Napi::Value PmemRegion::CopyWithin(const Napi::CallbackInfo& info) {
  int64_t targetOffset, sourceOffset, bytes;
  if (!IntArg(info, 0, &targetOffset) || !IntArg(info, 1, &sourceOffset) || !IntArg(info, 2, &bytes)) {
    return info.Env().Undefined();
  }
  uint8_t* target = At(targetOffset, bytes);
  const uint8_t* source = At(sourceOffset, bytes);
  if (target == nullptr || source == nullptr) return Result(info.Env(), base_ == nullptr ? -ECANCELED : -EFAULT);
  // Overlap would need memmove semantics that the streaming copy does not have.
  if (targetOffset < sourceOffset + bytes && sourceOffset < targetOffset + bytes) return Result(info.Env(), -EINVAL);
  CopyToPmem(target, source, static_cast<size_t>(bytes), NonTemporal(static_cast<size_t>(bytes)), flush_);
  return Result(info.Env(), 0);
}

Napi::Value PmemRegion::WriteHeader(const Napi::CallbackInfo& info) {
  int64_t offset, payloadBytes, payloadCrc, slotBytes, seqHigh, seqLow;
  if (!IntArg(info, 0, &offset) || !IntArg(info, 1, &payloadBytes) || !IntArg(info, 2, &payloadCrc) ||
      !IntArg(info, 3, &slotBytes) || !IntArg(info, 4, &seqHigh) || !IntArg(info, 5, &seqLow)) {
    return info.Env().Undefined();
  }
  if (offset % static_cast<int64_t>(kRecordHeaderBytes) != 0 || payloadBytes < 0 ||
      slotBytes < static_cast<int64_t>(kRecordHeaderBytes) || payloadBytes > slotBytes - static_cast<int64_t>(kRecordHeaderBytes) ||
      slotBytes > UINT32_MAX || payloadCrc < 0 || payloadCrc > UINT32_MAX || seqHigh < 0 || seqHigh > UINT32_MAX ||
      seqLow < 0 || seqLow > UINT32_MAX) {
    return Result(info.Env(), -EINVAL);
  }
  uint8_t* header = At(offset, slotBytes);
  if (header == nullptr) return Result(info.Env(), base_ == nullptr ? -ECANCELED : -EFAULT);
  WriteRecordHeader(header, static_cast<uint32_t>(payloadBytes), static_cast<uint32_t>(payloadCrc),
                    static_cast<uint32_t>(slotBytes), (static_cast<uint64_t>(seqHigh) << 32) | static_cast<uint64_t>(seqLow),
                    flush_);
  return Result(info.Env(), 0);
}

Napi::Value PmemRegion::Commit(const Napi::CallbackInfo& info) {
  int64_t offset;
  if (!IntArg(info, 0, &offset)) return info.Env().Undefined();
  uint8_t* header = offset % static_cast<int64_t>(kRecordHeaderBytes) == 0 ? At(offset, kRecordHeaderBytes) : nullptr;
  if (header == nullptr) return Result(info.Env(), base_ == nullptr ? -ECANCELED : -EFAULT);
  return Result(info.Env(), CommitRecord(header, flush_) ? 0 : -EINVAL);
}

Napi::Value PmemRegion::ClearHeader(const Napi::CallbackInfo& info) {
  int64_t offset;
  if (!IntArg(info, 0, &offset)) return info.Env().Undefined();
  uint8_t* header = offset % static_cast<int64_t>(kRecordHeaderBytes) == 0 ? At(offset, kRecordHeaderBytes) : nullptr;
  if (header == nullptr) return Result(info.Env(), base_ == nullptr ? -ECANCELED : -EFAULT);
  ClearRecordHeader(header, flush_);
  return Result(info.Env(), 0);
}

Napi::Value PmemRegion::Inspect(const Napi::CallbackInfo& info) {
  int64_t offset, stride, count;
  if (!IntArg(info, 0, &offset) || !IntArg(info, 1, &stride) || !IntArg(info, 2, &count)) return info.Env().Undefined();
  if (info.Length() <= 3 || !info[3].IsTypedArray() ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    Napi::TypeError::New(info.Env(), "inspect(offset, stride, count, Uint32Array)").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  auto out = info[3].As<Napi::Uint32Array>();
  if (count < 0 || stride < static_cast<int64_t>(kRecordHeaderBytes) || stride % static_cast<int64_t>(kRecordHeaderBytes) != 0 ||
      offset % static_cast<int64_t>(kRecordHeaderBytes) != 0 || out.ElementLength() < static_cast<size_t>(count) * 4) {
    return Result(info.Env(), -EINVAL);
  }
  if (count == 0) return Result(info.Env(), 0);
  if (At(offset, (count - 1) * stride + static_cast<int64_t>(kRecordHeaderBytes)) == nullptr) {
    return Result(info.Env(), base_ == nullptr ? -ECANCELED : -EFAULT);
  }
  uint32_t* results = out.Data();
  for (int64_t i = 0; i < count; i++) {
    RecordInfo record = InspectRecord(base_ + offset + i * stride);
    results[4 * i] = static_cast<uint32_t>(record.status);
    results[4 * i + 1] = record.payloadBytes;
    results[4 * i + 2] = record.payloadCrc;
    results[4 * i + 3] = record.slotBytes;
  }
  return Result(info.Env(), 0);
}

// Validates the header against what the caller's BlobRef says, copies the
// payload out (the one copy on the read path) and checks the copy's CRC32C:
// what was verified is exactly what the caller gets.
Napi::Value PmemRegion::ReadRecord(const Napi::CallbackInfo& info) {
  int64_t offset, payloadBytes, payloadCrc, slotBytes;
  uint8_t* target;
  size_t targetBytes;
  if (!IntArg(info, 0, &offset) || !IntArg(info, 1, &payloadBytes) || !IntArg(info, 2, &payloadCrc) ||
      !IntArg(info, 3, &slotBytes) || !BytesArg(info, 4, &target, &targetBytes)) {
    return info.Env().Undefined();
  }
  if (offset % static_cast<int64_t>(kRecordHeaderBytes) != 0 || payloadBytes < 0 ||
      targetBytes != static_cast<size_t>(payloadBytes)) {
    return Result(info.Env(), -EINVAL);
  }
  const uint8_t* header = At(offset, static_cast<int64_t>(kRecordHeaderBytes) + payloadBytes);
  if (header == nullptr) return Result(info.Env(), base_ == nullptr ? -ECANCELED : -EFAULT);
  RecordInfo record = InspectRecord(header);
  if (record.status == RecordStatus::kEmpty || record.status == RecordStatus::kGarbage) {
    return Result(info.Env(), static_cast<int>(ReadStatus::kNoHeader));
  }
  if (record.status == RecordStatus::kUncommitted) return Result(info.Env(), static_cast<int>(ReadStatus::kUncommitted));
  if (record.payloadBytes != payloadBytes || record.payloadCrc != payloadCrc || record.slotBytes != slotBytes) {
    return Result(info.Env(), static_cast<int>(ReadStatus::kMismatch));
  }
  std::memcpy(target, header + kRecordHeaderBytes, targetBytes);
  if (Crc32cUpdate(0, target, targetBytes) != record.payloadCrc) {
    return Result(info.Env(), static_cast<int>(ReadStatus::kBadPayload));
  }
  return Result(info.Env(), static_cast<int>(ReadStatus::kOk));
}

Napi::Value PmemRegion::Fence(const Napi::CallbackInfo& info) {
  if (flush_ != FlushKind::kNone) StoreFence();
  return Result(info.Env(), 0);
}

Napi::Value PmemRegion::Msync(const Napi::CallbackInfo& info) { return QueueMsync(info, false); }
Napi::Value PmemRegion::Publish(const Napi::CallbackInfo& info) { return QueueMsync(info, true); }

// msync(ranges) and publish(ranges, headers): validated and copied into a
// work struct here, on the JS thread; run by ExecuteMsync on a libuv worker.
Napi::Value PmemRegion::QueueMsync(const Napi::CallbackInfo& info, bool publish) {
  Napi::Env env = info.Env();
  for (size_t i = 0; i < (publish ? 2u : 1u); i++) {
    if (info.Length() <= i || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      Napi::TypeError::New(env, publish ? "publish(Float64Array ranges, Float64Array headers)" : "msync(Float64Array ranges)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  auto pairs = info[0].As<Napi::Float64Array>();
  auto work = std::make_unique<MsyncWork>();
  work->region = this;
  int rc = base_ == nullptr ? -ECANCELED : 0;
  for (size_t i = 0; rc == 0 && i + 1 < pairs.ElementLength(); i += 2) {
    double start = pairs[i];
    double length = pairs[i + 1];
    if (!(start >= 0) || !(length > 0) || start != std::floor(start) || length != std::floor(length) ||
        static_cast<int64_t>(start) % kPageBytes != 0) {
      rc = -EINVAL;
    } else if (At(static_cast<int64_t>(start), static_cast<int64_t>(length)) == nullptr) {
      rc = -EFAULT;
    } else {
      work->ranges.emplace_back(static_cast<size_t>(start), static_cast<size_t>(length));
    }
  }
  if (publish && rc == 0) {
    auto headers = info[1].As<Napi::Float64Array>();
    work->headersFirst = SIZE_MAX;
    for (size_t i = 0; rc == 0 && i < headers.ElementLength(); i++) {
      double offset = headers[i];
      if (!(offset >= 0) || offset != std::floor(offset) ||
          static_cast<int64_t>(offset) % static_cast<int64_t>(kRecordHeaderBytes) != 0) {
        rc = -EINVAL;
      } else if (At(static_cast<int64_t>(offset), kRecordHeaderBytes) == nullptr) {
        rc = -EFAULT;
      } else {
        size_t header = static_cast<size_t>(offset);
        work->headers.push_back(header);
        work->headersFirst = std::min(work->headersFirst, header & ~static_cast<size_t>(kPageBytes - 1));
        work->headersEnd = std::max(work->headersEnd, header + kRecordHeaderBytes);
      }
    }
  }
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return env.Undefined();
  if (rc < 0) {
    napi_resolve_deferred(env, deferred, Result(env, rc));
    return Napi::Value(env, promise);
  }
  work->deferred = deferred;
  work->keepAlive = Napi::Persistent(Value());
  napi_value name = Napi::String::New(env, publish ? "strata.pmem.publish" : "strata.pmem.msync");
  MsyncWork* raw = work.get();
  if (napi_create_async_work(env, nullptr, name, ExecuteMsync, CompleteMsync, raw, &raw->handle) != napi_ok ||
      napi_queue_async_work(env, raw->handle) != napi_ok) {
    if (raw->handle != nullptr) napi_delete_async_work(env, raw->handle);
    napi_resolve_deferred(env, deferred, Result(env, -ENOMEM));
    return Napi::Value(env, promise);
  }
  work.release();  // owned by the queued work until CompleteMsync
  msyncsInFlight_++;
  return Napi::Value(env, promise);
}

namespace {
int MsyncRetrying(uint8_t* address, size_t length) {
  int rc;
  do {
    rc = msync(address, length, MS_SYNC);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 ? -errno : 0;
}
}  // namespace

void PmemRegion::ExecuteMsync(napi_env, void* data) {
  auto* work = static_cast<MsyncWork*>(data);
  uint8_t* base = work->region->base_;
  for (const auto& [start, length] : work->ranges) {
    int rc = MsyncRetrying(base + start, length);
    if (rc < 0 && work->result == 0) work->result = rc;
  }
  // The second step only after the first is known durable: a marker must
  // never reach the medium before its record's payload and header. The JS
  // side does not touch these header lines until the promise settles.
  if (work->result != 0 || work->headers.empty()) return;
  for (size_t header : work->headers) {
    if (!CommitRecord(base + header, work->region->flush_)) {
      work->result = -EINVAL;  // not a valid header any more: a bug on the JS side
      return;
    }
  }
  work->result = MsyncRetrying(base + work->headersFirst, work->headersEnd - work->headersFirst);
}

void PmemRegion::CompleteMsync(napi_env env, napi_status status, void* data) {
  std::unique_ptr<MsyncWork> work(static_cast<MsyncWork*>(data));
  work->region->msyncsInFlight_--;
  napi_delete_async_work(env, work->handle);
  int result = status == napi_cancelled ? -ECANCELED : work->result;
  Napi::HandleScope scope(env);
  napi_resolve_deferred(env, work->deferred, Result(env, result));
}

Napi::Value PmemRegion::Close(const Napi::CallbackInfo& info) {
  if (msyncsInFlight_ > 0) return Result(info.Env(), -EBUSY);
  Unmap();
  return Result(info.Env(), 0);
}

void RegisterPmem(Napi::Env env, Napi::Object exports) {
  auto* constructor = new Napi::FunctionReference(Napi::Persistent(PmemRegion::DefineClass(env)));
  env.AddCleanupHook([constructor]() { delete constructor; });
  exports.Set("openPmemRegion", Napi::Function::New(env, PmemRegion::Open, "openPmemRegion", constructor));
  RegisterPmemBaseline(env, exports);
}

}  // namespace strata
