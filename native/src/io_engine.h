// The JS-facing I/O engine: owns the aligned buffer pool, the request tags and
// one backend (io_uring or thread pool). Every method runs on the JS thread.
//
// Contract with TypeScript (src/backends/io-engine.ts):
// - TS picks a free tag in [0, queueDepth) for every request and does not reuse
//   it until its completion was delivered; a busy tag is refused with -EBUSY.
// - Requests name memory as (poolOffset, length) inside the pool; anything
//   outside it is refused with -EFAULT, so no request can touch other memory.
// - Completions arrive through onComplete(count): the first 2*count int32s of
//   the completions array hold (tag, result) pairs, valid during the call only.
// - Methods return 0 (or a count) or -errno; they never throw on I/O errors.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "io_backend.h"

namespace strata {

class IoEngine final : public Napi::ObjectWrap<IoEngine>, public CompletionSink {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  // openIoEngine(kind, queueDepth, poolBytes, flags, deliverBatchMax, completions, onComplete)
  // flags: 1 = register the pool as a fixed buffer, 2 = DEFER_TASKRUN where safe.
  // -> engine object, or -errno when the backend cannot start.
  static Napi::Value Open(const Napi::CallbackInfo& info);

  explicit IoEngine(const Napi::CallbackInfo& info);
  ~IoEngine() override;

  void Complete(uint32_t tag, int32_t result) override;
  void Deliver() override;

 private:
  int Start(const Napi::CallbackInfo& info);
  int QueueRequest(uint32_t tag, const IoRequest& request);
  void Shutdown();
  static void OnEnvCleanup(void* self);

  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Sync(const Napi::CallbackInfo& info);
  Napi::Value Fallocate(const Napi::CallbackInfo& info);
  Napi::Value Submit(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value ReadWrite(const Napi::CallbackInfo& info, IoOpcode op);

  napi_env env_;
  std::unique_ptr<IoBackend> backend_;
  bool open_ = false;
  bool cleanupHookAdded_ = false;

  uint8_t* pool_ = nullptr;
  size_t poolBytes_ = 0;
  Napi::Reference<Napi::ArrayBuffer> poolRef_;

  std::vector<uint8_t> tagBusy_;
  uint32_t inflight_ = 0;

  int32_t* completions_ = nullptr;
  uint32_t pending_ = 0;
  Napi::Reference<Napi::Int32Array> completionsRef_;
  Napi::FunctionReference onComplete_;
  napi_async_context asyncContext_ = nullptr;
};

}  // namespace strata
