// The fallback backend for kernels or sandboxes without io_uring: each request
// runs as pread/pwrite/fdatasync/fallocate on the libuv thread pool (through
// napi_async_work, whose execute step touches no N-API) and completes on the
// JS thread. Same requests, same completions, same tests as the ring.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <vector>

#include "io_backend.h"

namespace strata {

class ThreadpoolBackend final : public IoBackend {
 public:
  ThreadpoolBackend(napi_env env, CompletionSink* sink) : env_(env), sink_(sink) {}
  ~ThreadpoolBackend() override { Close(); }

  int Init(unsigned queueDepth);
  int Queue(uint32_t tag, const IoRequest& request) override;
  int Submit() override { return 0; }  // work is queued as it arrives
  void SetBusy(bool) override {}       // queued async work keeps the loop alive itself
  void Close() override;

 private:
  // Per-tag slot. Lives in `shared_`, which outlives the backend while any
  // work is still running, so a worker never writes into freed memory.
  struct Shared;
  struct Work {
    Shared* shared = nullptr;
    uint32_t tag = 0;
    IoRequest request{};
    int32_t result = 0;
    napi_async_work handle = nullptr;
  };
  struct Shared {
    CompletionSink* sink = nullptr;  // nullptr once the backend is closed
    unsigned running = 0;
    std::vector<Work> works;
  };

  static void Execute(napi_env env, void* data);
  static void Finished(napi_env env, napi_status status, void* data);

  napi_env env_;
  CompletionSink* sink_;
  Shared* shared_ = nullptr;
};

}  // namespace strata
