// io_uring setup, mapping and submission through raw syscalls. The memory
// ordering follows the kernel's io_uring.h contract: we publish the SQ tail
// with a release store after filling SQEs, and read the CQ tail with an
// acquire load before reading CQEs.
#include "uring.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace strata {
namespace {

int SysSetup(unsigned entries, io_uring_params* p) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}

int SysEnter(int fd, unsigned toSubmit, unsigned minComplete, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, toSubmit, minComplete, flags, nullptr, 0));
}

int SysRegister(int fd, unsigned opcode, const void* arg, unsigned count) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, opcode, arg, count));
}

template <typename T>
T* At(void* base, uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

void* MapRing(int fd, size_t bytes, off_t what) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, what);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

void Uring::Release() {
  if (sqes_ != nullptr) munmap(sqes_, sqesBytes_);
  if (cqRing_ != nullptr && cqRing_ != sqRing_) munmap(cqRing_, cqRingBytes_);
  if (sqRing_ != nullptr) munmap(sqRing_, sqRingBytes_);
  if (fd_ >= 0) close(fd_);
  sqes_ = nullptr;
  cqRing_ = sqRing_ = nullptr;
  sqFlags_ = nullptr;
  fd_ = -1;
  sqEntries_ = 0;
}

int Uring::Init(unsigned entries, bool deferTaskrun) {
  // Most capable first; a kernel that does not know a flag says EINVAL and we
  // try the next set. SUBMIT_ALL (5.18) keeps submitting past an SQE that
  // fails early, so one bad request cannot strand the rest of a batch; CLAMP
  // caps absurd sizes.
  constexpr unsigned kBase = IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE;
  constexpr unsigned kDefer = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  const unsigned attempts[] = {kBase | IORING_SETUP_SUBMIT_ALL | kDefer, kBase | IORING_SETUP_SUBMIT_ALL, kBase};
  io_uring_params p;
  int fd = -1;
  for (unsigned flags : attempts) {
    if ((flags & kDefer) != 0 && !deferTaskrun) continue;
    std::memset(&p, 0, sizeof p);
    p.flags = flags;
    p.cq_entries = entries * 2;
    fd = SysSetup(entries, &p);
    if (fd >= 0 || errno != EINVAL) break;
  }
  if (fd < 0) return -errno;
  fd_ = fd;
  deferTaskrun_ = (p.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  features_ = p.features;
  sqEntries_ = p.sq_entries;

  sqRingBytes_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cqRingBytes_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    if (cqRingBytes_ > sqRingBytes_) sqRingBytes_ = cqRingBytes_;
    cqRingBytes_ = sqRingBytes_;
  }
  sqRing_ = MapRing(fd_, sqRingBytes_, IORING_OFF_SQ_RING);
  if (sqRing_ == nullptr) return -errno;
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    cqRing_ = sqRing_;
  } else {
    cqRing_ = MapRing(fd_, cqRingBytes_, IORING_OFF_CQ_RING);
    if (cqRing_ == nullptr) return -errno;
  }
  sqesBytes_ = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = MapRing(fd_, sqesBytes_, IORING_OFF_SQES);
  if (sqes == nullptr) return -errno;
  sqes_ = static_cast<io_uring_sqe*>(sqes);

  sqFlags_ = At<unsigned>(sqRing_, p.sq_off.flags);
  sqHead_ = At<unsigned>(sqRing_, p.sq_off.head);
  sqTail_ = At<unsigned>(sqRing_, p.sq_off.tail);
  sqMask_ = *At<unsigned>(sqRing_, p.sq_off.ring_mask);
  sqArray_ = At<unsigned>(sqRing_, p.sq_off.array);
  sqeTail_ = sqeHead_ = *sqTail_;

  cqHead_ = At<unsigned>(cqRing_, p.cq_off.head);
  cqTail_ = At<unsigned>(cqRing_, p.cq_off.tail);
  cqMask_ = *At<unsigned>(cqRing_, p.cq_off.ring_mask);
  cqes_ = At<io_uring_cqe>(cqRing_, p.cq_off.cqes);
  return 0;
}

int Uring::Probe(bool* supported, unsigned count) {
  constexpr unsigned kOps = 256;
  size_t bytes = sizeof(io_uring_probe) + kOps * sizeof(io_uring_probe_op);
  auto* probe = static_cast<io_uring_probe*>(std::calloc(1, bytes));
  if (probe == nullptr) return -ENOMEM;
  int rc = SysRegister(fd_, IORING_REGISTER_PROBE, probe, kOps);
  if (rc < 0) {
    rc = -errno;
  } else {
    for (unsigned op = 0; op < count; op++) {
      supported[op] = op <= probe->last_op && op < kOps && (probe->ops[op].flags & IO_URING_OP_SUPPORTED);
    }
    rc = 0;
  }
  std::free(probe);
  return rc;
}

int Uring::RegisterBuffers(const struct iovec* iovs, unsigned count) {
  return SysRegister(fd_, IORING_REGISTER_BUFFERS, iovs, count) < 0 ? -errno : 0;
}

int Uring::RegisterEventfd(int eventFd) {
  return SysRegister(fd_, IORING_REGISTER_EVENTFD, &eventFd, 1) < 0 ? -errno : 0;
}

io_uring_sqe* Uring::NextSqe() {
  unsigned head = __atomic_load_n(sqHead_, __ATOMIC_ACQUIRE);
  if (sqeTail_ - head >= sqEntries_) return nullptr;
  unsigned index = sqeTail_ & sqMask_;
  io_uring_sqe* sqe = &sqes_[index];
  std::memset(sqe, 0, sizeof *sqe);
  sqArray_[index] = index;
  sqeTail_++;
  return sqe;
}

int Uring::RunTaskWork() {
  int rc;
  do {
    rc = SysEnter(fd_, 0, 0, IORING_ENTER_GETEVENTS);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 ? -errno : 0;
}

int Uring::Submit() {
  unsigned toSubmit = sqeTail_ - sqeHead_;
  if (toSubmit == 0) return 0;
  __atomic_store_n(sqTail_, sqeTail_, __ATOMIC_RELEASE);
  // GETEVENTS with min_complete 0 never waits; it lets completion work that is
  // already pending post its CQEs in the same system call (fio does the same).
  const unsigned flags = deferTaskrun_ ? IORING_ENTER_GETEVENTS : 0;
  int taken;
  do {
    taken = SysEnter(fd_, toSubmit, 0, flags);
  } while (taken < 0 && errno == EINTR);
  if (taken < 0) return -errno;
  sqeHead_ += static_cast<unsigned>(taken);
  return taken;
}

}  // namespace strata
