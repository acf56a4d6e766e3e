// A minimal io_uring: raw syscalls on the kernel's uapi header, no liburing, so
// a fresh machine builds the addon with nothing but g++. One ring, used only
// from the thread that created it (the JS thread); no N-API in here.
//
// Invariants:
// - SQEs are prepared with NextSqe() and become visible to the kernel only in
//   Submit(); a full SQ returns nullptr (backpressure, never growth).
// - The CQ is twice the SQ; callers keep in-flight requests <= SqEntries(), so
//   completions never overflow.
#pragma once

#include <linux/io_uring.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

// Flags newer than some distributions' uapi headers (the values are kernel
// ABI). A kernel that does not know one refuses the setup with EINVAL and we
// retry without it, so building against old headers costs nothing at run time.
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_SQ_TASKRUN
#define IORING_SQ_TASKRUN (1U << 2)
#endif

namespace strata {

class Uring {
 public:
  Uring() = default;
  ~Uring() { Release(); }
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // Sets up a ring with at least `entries` SQEs. Returns 0 or -errno
  // (ENOSYS on old kernels, EPERM when io_uring_disabled or seccomp say no).
  // deferTaskrun asks for DEFER_TASKRUN (6.1+): completion work then runs only
  // inside io_uring_enter(GETEVENTS) on this thread, batched, instead of
  // interrupting the thread whenever a request finishes; DeferTaskrun() says
  // whether the kernel took it.
  int Init(unsigned entries, bool deferTaskrun);

  // Unmaps the rings and closes the ring fd; the kernel finishes or cancels
  // whatever is still in flight. Idempotent.
  void Release();

  // Fills supported[op] for op < IORING_OP_LAST. Returns 0 or -errno.
  int Probe(bool* supported, unsigned count);

  int RegisterBuffers(const struct iovec* iovs, unsigned count);
  int RegisterEventfd(int eventFd);

  // A zeroed SQE to fill in, or nullptr when the SQ is full.
  io_uring_sqe* NextSqe();

  // Publishes prepared SQEs and enters the kernel once for all of them (with
  // DEFER_TASKRUN also running pending completion work). Returns how many the
  // kernel took, or -errno (EINTR is retried here).
  int Submit();

  // DEFER_TASKRUN: runs pending completion work, which posts CQEs. 0 or -errno.
  int RunTaskWork();
  // DEFER_TASKRUN: the kernel holds completion work that RunTaskWork would post.
  bool TaskWorkPending() const { return (__atomic_load_n(sqFlags_, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN) != 0; }
  bool DeferTaskrun() const { return deferTaskrun_; }
  // Completions posted and not yet drained.
  unsigned CqReady() const { return __atomic_load_n(cqTail_, __ATOMIC_ACQUIRE) - *cqHead_; }

  // Calls fn(userData, result) for up to maxCount ready completions, then
  // releases them to the kernel in one store. Returns how many it consumed.
  template <typename Fn>
  unsigned Drain(Fn fn, unsigned maxCount);

  unsigned SqEntries() const { return sqEntries_; }
  unsigned Unsubmitted() const { return sqeTail_ - sqeHead_; }
  uint32_t Features() const { return features_; }

 private:
  int fd_ = -1;
  uint32_t features_ = 0;
  unsigned sqEntries_ = 0;

  void* sqRing_ = nullptr;
  size_t sqRingBytes_ = 0;
  void* cqRing_ = nullptr;
  size_t cqRingBytes_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqesBytes_ = 0;

  bool deferTaskrun_ = false;
  unsigned* sqFlags_ = nullptr;
  unsigned* sqHead_ = nullptr;
  unsigned* sqTail_ = nullptr;
  unsigned sqMask_ = 0;
  unsigned* sqArray_ = nullptr;
  unsigned sqeTail_ = 0;  // next SQE we hand out
  unsigned sqeHead_ = 0;  // first SQE not yet taken by the kernel

  unsigned* cqHead_ = nullptr;
  unsigned* cqTail_ = nullptr;
  unsigned cqMask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
};

template <typename Fn>
unsigned Uring::Drain(Fn fn, unsigned maxCount) {
  unsigned head = *cqHead_;  // only we write the head
  unsigned tail = __atomic_load_n(cqTail_, __ATOMIC_ACQUIRE);
  unsigned count = 0;
  for (; head != tail && count < maxCount; head++, count++) {
    const io_uring_cqe& cqe = cqes_[head & cqMask_];
    fn(cqe.user_data, cqe.res);
  }
  if (count > 0) __atomic_store_n(cqHead_, head, __ATOMIC_RELEASE);
  return count;
}

}  // namespace strata
