// io_uring backend. Submission: Queue() only fills SQEs; the TypeScript side
// calls Submit() once per event-loop turn, so every request issued in a turn
// shares one io_uring_enter. Completion: eventfd -> uv_poll -> drain the CQ.
#include "uring_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <initializer_list>

namespace strata {
namespace {

// With DEFER_TASKRUN the kernel runs completion work only when we enter it, so
// it must tell us when there is work: since 6.2 it signals the registered
// eventfd when the first piece of deferred work arrives. 6.1 has
// DEFER_TASKRUN without that signal, and we would sleep forever. So test it
// on a scratch ring: a read on an empty pipe waits on poll; writing one byte
// queues its completion as deferred work, synchronously, in this thread —
// the eventfd must then be readable at once. Nothing here blocks.
bool DeferredWorkSignalsEventfd() {
  Uring ring;
  if (ring.Init(2, true) < 0 || !ring.DeferTaskrun()) return false;
  int eventFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int pipeFds[2] = {-1, -1};
  bool signalled = false;
  if (eventFd >= 0 && ring.RegisterEventfd(eventFd) == 0 && pipe2(pipeFds, O_CLOEXEC) == 0) {
    char byte = 0;
    io_uring_sqe* sqe = ring.NextSqe();
    sqe->opcode = IORING_OP_READ;
    sqe->fd = pipeFds[0];
    sqe->addr = reinterpret_cast<uint64_t>(&byte);
    sqe->len = 1;
    sqe->off = static_cast<uint64_t>(-1);
    if (ring.Submit() == 1) {
      uint64_t ignored;
      while (read(eventFd, &ignored, sizeof ignored) > 0) {
      }
      if (write(pipeFds[1], "x", 1) == 1) {
        pollfd pfd{eventFd, POLLIN, 0};
        signalled = poll(&pfd, 1, 0) == 1;
      }
      ring.RunTaskWork();  // completes the read before the pipe goes away
      ring.Drain([](uint64_t, int32_t) {}, 2);
    }
  }
  if (pipeFds[0] >= 0) close(pipeFds[0]);
  if (pipeFds[1] >= 0) close(pipeFds[1]);
  if (eventFd >= 0) close(eventFd);
  return signalled;
}

}  // namespace

int UringBackend::Init(uv_loop_t* loop, unsigned queueDepth, uint8_t* pool, size_t poolBytes,
                       bool wantFixedBuffers, unsigned deliverBatchMax, bool wantDeferTaskrun) {
  if (uv_version() < kUvMinVersion) return -ENOTSUP;
  deliverBatchMax_ = deliverBatchMax;
  int rc = ring_.Init(queueDepth, wantDeferTaskrun && DeferredWorkSignalsEventfd());
  if (rc < 0) return rc;
  if (ring_.SqEntries() < queueDepth) return -EINVAL;

  bool supported[IORING_OP_LAST] = {};
  rc = ring_.Probe(supported, IORING_OP_LAST);
  if (rc < 0) return rc;
  for (int op : {IORING_OP_READ, IORING_OP_WRITE, IORING_OP_FSYNC, IORING_OP_FALLOCATE}) {
    if (!supported[op]) return -EOPNOTSUPP;
  }

  pool_ = pool;
  if (wantFixedBuffers && supported[IORING_OP_READ_FIXED] && supported[IORING_OP_WRITE_FIXED]) {
    iovec iov{pool, poolBytes};
    // Pinning the pool counts against RLIMIT_MEMLOCK for unprivileged users; when
    // that refuses, plain READ/WRITE on the same memory still work.
    int regRc = ring_.RegisterBuffers(&iov, 1);
    features_.fixedBuffers = regRc == 0;
    features_.fixedBuffersError = regRc;
  }

  eventFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventFd_ < 0) return -errno;
  rc = ring_.RegisterEventfd(eventFd_);
  if (rc < 0) {
    close(eventFd_);
    eventFd_ = -1;
    return rc;
  }

  poll_ = static_cast<uv_poll_t*>(std::calloc(1, uv_handle_size(kUvPollType)));
  if (poll_ == nullptr) return -ENOMEM;
  rc = uv_poll_init(loop, poll_, eventFd_);
  if (rc < 0) {
    std::free(poll_);
    poll_ = nullptr;
    return rc;
  }
  uv_handle_set_data(reinterpret_cast<uv_handle_t*>(poll_), this);
  rc = uv_poll_start(poll_, kUvReadable, OnEventfdReadable);
  // An idle engine must not keep the process alive; SetBusy refs it while
  // requests are in flight.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  if (rc < 0) return rc;  // Close() (from the destructor) releases the handle

  features_.sqEntries = ring_.SqEntries();
  features_.deferTaskrun = ring_.DeferTaskrun();
  features_.kernelFeatures = ring_.Features();
  return 0;
}

int UringBackend::Queue(uint32_t tag, const IoRequest& r) {
  if (closed_) return -ECANCELED;
  io_uring_sqe* sqe = ring_.NextSqe();
  if (sqe == nullptr) return -EBUSY;
  sqe->fd = r.fd;
  sqe->user_data = tag;
  switch (r.op) {
    case IoOpcode::Read:
    case IoOpcode::Write: {
      bool read = r.op == IoOpcode::Read;
      if (features_.fixedBuffers) {
        sqe->opcode = read ? IORING_OP_READ_FIXED : IORING_OP_WRITE_FIXED;
        sqe->buf_index = 0;  // the whole pool is registered buffer 0
      } else {
        sqe->opcode = read ? IORING_OP_READ : IORING_OP_WRITE;
      }
      sqe->addr = reinterpret_cast<uint64_t>(r.buf);
      sqe->len = r.lengthBytes;
      sqe->off = static_cast<uint64_t>(r.offsetBytes);
      break;
    }
    case IoOpcode::Fsync:
    case IoOpcode::Fdatasync:
      sqe->opcode = IORING_OP_FSYNC;
      sqe->fsync_flags = r.op == IoOpcode::Fdatasync ? IORING_FSYNC_DATASYNC : 0;
      break;
    case IoOpcode::Fallocate:
      // The fallocate SQE carries the length in addr and the mode in len.
      sqe->opcode = IORING_OP_FALLOCATE;
      sqe->off = static_cast<uint64_t>(r.offsetBytes);
      sqe->addr = static_cast<uint64_t>(r.rangeBytes);
      sqe->len = static_cast<uint32_t>(r.mode);
      break;
  }
  return 0;
}

int UringBackend::Submit() {
  if (closed_) return -ECANCELED;
  int rc = ring_.Submit();
  // With DEFER_TASKRUN that submit may have posted completions (or left work
  // pending) without the eventfd firing for them; make sure the loop wakes up
  // and drains — unless we are inside the drain loop, which does not stop
  // before both are empty.
  if (ring_.DeferTaskrun() && !draining_ && (ring_.CqReady() > 0 || ring_.TaskWorkPending())) {
    uint64_t one = 1;
    while (write(eventFd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
  return rc;
}

void UringBackend::SetBusy(bool busy) {
  if (poll_ == nullptr || busy == busy_) return;
  busy_ = busy;
  auto* handle = reinterpret_cast<uv_handle_t*>(poll_);
  if (busy) {
    uv_ref(handle);
  } else {
    uv_unref(handle);
  }
}

void UringBackend::OnEventfdReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<UringBackend*>(uv_handle_get_data(reinterpret_cast<uv_handle_t*>(handle)));
  if (self != nullptr) self->DrainCompletions();
}

void UringBackend::DrainCompletions() {
  // Reset the counter before draining: a completion posted after the drain
  // makes the eventfd readable again, so none is left waiting.
  uint64_t ignored;
  while (read(eventFd_, &ignored, sizeof ignored) < 0 && errno == EINTR) {
  }
  // Deliver in chunks of deliverBatchMax: JavaScript reissues follow-up
  // requests (and submits them) after each chunk, so the device gets new work
  // while the rest of a large batch is still being processed. Delivering all
  // at once lets a full queue drain to empty before anything is resubmitted,
  // and the queue then moves in lockstep convoys.
  //
  // With DEFER_TASKRUN, completions become CQEs only when we run the deferred
  // work; keep running it until the kernel holds none, so that nothing is left
  // behind when we go back to sleep (the eventfd only fires for the first
  // piece of work queued after the list was empty).
  const bool deferred = ring_.DeferTaskrun();
  if (deferred) ring_.RunTaskWork();
  draining_ = true;
  for (;;) {
    unsigned drained = ring_.Drain(
        [this](uint64_t userData, int32_t result) { sink_->Complete(static_cast<uint32_t>(userData), result); },
        deliverBatchMax_);
    if (drained > 0) {
      sink_->Deliver();
      // JavaScript may have closed the engine from inside Deliver; the ring is
      // gone then, so stop touching it.
      if (closed_) {
        draining_ = false;
        return;
      }
      continue;
    }
    if (!deferred || !ring_.TaskWorkPending()) break;
    ring_.RunTaskWork();
  }
  draining_ = false;
}

void UringBackend::Close() {
  if (poll_ != nullptr) {
    // libuv requires the fd to stay open until the handle stops watching it.
    uv_poll_stop(poll_);
    uv_handle_set_data(reinterpret_cast<uv_handle_t*>(poll_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { std::free(h); });
    poll_ = nullptr;
  }
  if (eventFd_ >= 0) {
    close(eventFd_);
    eventFd_ = -1;
  }
  // In-flight requests are finished or cancelled by the kernel, and registered
  // pages stay pinned until then, so the pool memory cannot be reused under them.
  ring_.Release();
  closed_ = true;
}

}  // namespace strata
