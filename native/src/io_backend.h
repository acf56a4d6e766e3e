// What an I/O engine backend does, independent of how: io_uring or the libuv
// thread pool. The N-API layer (io_engine.cc) owns tags, buffers and delivery;
// a backend only moves requests to the kernel and reports each completion.
//
// Invariants: every queued request completes exactly once through
// CompletionSink::Complete (with a negative errno on failure), and only on the
// JS thread; a backend never calls into N-API for anything but that thread's
// own bookkeeping.
#pragma once

#include <cstdint>

namespace strata {

enum class IoOpcode : uint8_t { Read = 0, Write = 1, Fsync = 2, Fdatasync = 3, Fallocate = 4 };

struct IoRequest {
  IoOpcode op;
  int fd;
  uint8_t* buf;        // inside the engine's pool (Read/Write)
  uint32_t lengthBytes;  // Read/Write
  int64_t offsetBytes;   // file offset (Read/Write/Fallocate)
  int64_t rangeBytes;    // Fallocate length
  int mode;              // Fallocate mode
};

class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  // Records one finished request; result is bytes done / 0, or -errno.
  virtual void Complete(uint32_t tag, int32_t result) = 0;
  // Hands everything recorded since the last call to JavaScript in one call.
  virtual void Deliver() = 0;
};

class IoBackend {
 public:
  virtual ~IoBackend() = default;
  // Queues one request; 0 or -errno (-EBUSY when the queue is full).
  virtual int Queue(uint32_t tag, const IoRequest& request) = 0;
  // Hands queued requests over; count handed over or -errno.
  virtual int Submit() = 0;
  // Keeps the event loop alive while requests are in flight, and only then.
  virtual void SetBusy(bool busy) = 0;
  // Stops watching for completions and releases kernel resources. Requests
  // still in flight are abandoned: the memory they touch must outlive them (the
  // pool is freed by its ArrayBuffer's finalizer, never here). Safe to call
  // from inside CompletionSink::Deliver (JavaScript closing the engine from a
  // completion callback); the object itself stays valid until destroyed.
  virtual void Close() = 0;
};

}  // namespace strata
