// The io_uring backend: one ring per engine, an eventfd registered with it and
// watched by a libuv poll handle. No thread waits per request and nothing spins
// on the JS thread: when the eventfd fires, every ready completion is drained
// and handed to JavaScript in small chunks. With DEFER_TASKRUN (when the
// kernel supports it safely) completion work runs batched inside our own
// io_uring_enter calls instead of interrupting the JS thread.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "io_backend.h"
#include "uring.h"
#include "uv_abi.h"

namespace strata {

struct UringFeatures {
  bool fixedBuffers = false;   // the pool is registered (READ_FIXED/WRITE_FIXED)
  int fixedBuffersError = 0;   // -errno from IORING_REGISTER_BUFFERS, if it failed
  unsigned sqEntries = 0;
  uint32_t kernelFeatures = 0;  // IORING_FEAT_* bits from io_uring_setup
  bool deferTaskrun = false;    // completion work runs batched, in our io_uring_enter calls
};

class UringBackend final : public IoBackend {
 public:
  explicit UringBackend(CompletionSink* sink) : sink_(sink) {}
  ~UringBackend() override { Close(); }

  // Creates the ring, probes the opcodes we need (EOPNOTSUPP if one is
  // missing), registers the pool when asked and the eventfd, and starts
  // watching it on `loop`. Completions reach JavaScript in chunks of at most
  // deliverBatchMax. Returns 0 or -errno; on failure nothing is left open.
  // wantDeferTaskrun: use DEFER_TASKRUN where the kernel both has it and
  // signals the eventfd for deferred work (checked on a scratch ring).
  int Init(uv_loop_t* loop, unsigned queueDepth, uint8_t* pool, size_t poolBytes, bool wantFixedBuffers,
           unsigned deliverBatchMax, bool wantDeferTaskrun);

  int Queue(uint32_t tag, const IoRequest& request) override;
  int Submit() override;
  void SetBusy(bool busy) override;
  void Close() override;

  const UringFeatures& Features() const { return features_; }

 private:
  static void OnEventfdReadable(uv_poll_t* handle, int status, int events);
  void DrainCompletions();

  CompletionSink* sink_;
  Uring ring_;
  int eventFd_ = -1;
  uv_poll_t* poll_ = nullptr;
  bool busy_ = false;
  bool closed_ = false;
  bool draining_ = false;  // inside DrainCompletions (JavaScript may submit from there)
  unsigned deliverBatchMax_ = 1;
  uint8_t* pool_ = nullptr;
  UringFeatures features_;
};

}  // namespace strata
