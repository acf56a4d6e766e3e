// The flush self-test and the memcpy + msync baseline (see pmem_baseline.h).
#include "napi_args.h"
#include "pmem_baseline.h"

#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "pmem_cpu.h"
#include "pmem_record.h"

namespace strata {
namespace {

constexpr size_t kPageBytes = 4096;


// Copies at every head alignment and over sizes around the streaming threshold
// and line boundaries, flushing with `kind`; then writes, commits and inspects
// a record header with it.
Napi::Value FlushSelfTest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t kindArg;
  if (!IntArg(info, 0, &kindArg)) return env.Undefined();
  if (kindArg < 1 || kindArg > 3) return Napi::Number::New(env, -EINVAL);
  auto kind = static_cast<FlushKind>(kindArg);
  if (!FlushKindSupported(kind)) return Napi::Number::New(env, -ENOTSUP);
  constexpr size_t kAreaBytes = 256 * 1024;
  void* area = mmap(nullptr, kAreaBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return Napi::Number::New(env, -errno);
  auto* target = static_cast<uint8_t*>(area);
  std::vector<uint8_t> source(kAreaBytes / 2);
  uint32_t state = 0x9e3779b9u;
  for (auto& byte : source) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    byte = static_cast<uint8_t>(state);
  }
  const size_t sizes[] = {1, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, 65536 - 64, 65536 + 100};
  double nonTemporalBytes = 0;
  double checkedBytes = 0;
  bool ok = true;
  for (size_t head = 0; head < kCacheLineBytes && ok; head += 7) {
    for (size_t bytes : sizes) {
      uint8_t* into = target + 64 + head;
      std::memset(target, 0xee, bytes + 256);
      nonTemporalBytes += static_cast<double>(CopyToPmem(into, source.data() + head, bytes, true, kind));
      StoreFence();
      // The copy must cover exactly [into, into + bytes): neighbours untouched.
      ok = std::memcmp(into, source.data() + head, bytes) == 0 && into[-1] == 0xee && into[bytes] == 0xee;
      if (!ok) break;
      checkedBytes += static_cast<double>(bytes);
    }
  }
  if (ok) {
    uint8_t* header = target + 4096;
    WriteRecordHeader(header, 1000, 0x12345678u, 1088, 42, kind);
    StoreFence();
    ok = InspectRecord(header).status == RecordStatus::kUncommitted && CommitRecord(header, kind);
    StoreFence();
    RecordInfo record = InspectRecord(header);
    ok = ok && record.status == RecordStatus::kCommitted && record.payloadBytes == 1000 && record.slotBytes == 1088;
  }
  munmap(area, kAreaBytes);
  if (!ok) return Napi::Number::New(env, -EIO);
  Napi::Object result = Napi::Object::New(env);
  result.Set("nonTemporalBytes", nonTemporalBytes);
  result.Set("checkedBytes", checkedBytes);
  return result;
}

Napi::Value Baseline(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, lengthBytes, recordBytes, writers, durationMs;
  if (!IntArg(info, 0, &fd) || !IntArg(info, 1, &lengthBytes) || !IntArg(info, 2, &recordBytes) ||
      !IntArg(info, 3, &writers) || !IntArg(info, 4, &durationMs)) {
    return env.Undefined();
  }
  if (fd < 0 || recordBytes <= 0 || writers < 1 || writers > 256 || durationMs < 1 || lengthBytes <= 0 ||
      lengthBytes % static_cast<int64_t>(kPageBytes) != 0) {
    return Napi::Number::New(env, -EINVAL);
  }
  // Records are laid out like the tier's (64-byte aligned slots), each writer
  // in its own stripe of whole pages so no two threads msync the same page.
  size_t slotBytes = (static_cast<size_t>(recordBytes) + 63) & ~size_t{63};
  size_t stripeBytes = (static_cast<size_t>(lengthBytes) / static_cast<size_t>(writers)) & ~(kPageBytes - 1);
  if (stripeBytes < slotBytes + kPageBytes) return Napi::Number::New(env, -ENOSPC);
  void* p = mmap(nullptr, static_cast<size_t>(lengthBytes), PROT_READ | PROT_WRITE, MAP_SHARED, static_cast<int>(fd), 0);
  if (p == MAP_FAILED) return Napi::Number::New(env, -errno);
  auto* base = static_cast<uint8_t*>(p);
  std::vector<uint8_t> record(static_cast<size_t>(recordBytes));
  for (size_t i = 0; i < record.size(); i++) record[i] = static_cast<uint8_t>(i * 131 + 7);
  std::atomic<bool> stop{false};
  std::atomic<int> error{0};
  std::vector<uint64_t> counts(static_cast<size_t>(writers), 0);
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int64_t w = 0; w < writers; w++) {
    threads.emplace_back([&, w]() {
      uint8_t* stripe = base + static_cast<size_t>(w) * stripeBytes;
      size_t position = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (position + slotBytes > stripeBytes) position = 0;
        std::memcpy(stripe + position, record.data(), record.size());
        size_t first = position & ~(kPageBytes - 1);
        size_t end = (position + record.size() + kPageBytes - 1) & ~(kPageBytes - 1);
        if (msync(stripe + first, end - first, MS_SYNC) < 0) {
          error.store(-errno);
          return;
        }
        position += slotBytes;
        counts[static_cast<size_t>(w)]++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(durationMs));
  stop.store(true);
  for (auto& thread : threads) thread.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  munmap(p, static_cast<size_t>(lengthBytes));
  if (error.load() != 0) return Napi::Number::New(env, error.load());
  double records = 0;
  for (uint64_t count : counts) records += static_cast<double>(count);
  Napi::Object result = Napi::Object::New(env);
  result.Set("records", records);
  result.Set("seconds", seconds);
  return result;
}

}  // namespace

void RegisterPmemBaseline(Napi::Env env, Napi::Object exports) {
  exports.Set("pmemFlushSelfTest", Napi::Function::New(env, FlushSelfTest, "pmemFlushSelfTest"));
  exports.Set("pmemBaseline", Napi::Function::New(env, Baseline, "pmemBaseline"));
}

}  // namespace strata
