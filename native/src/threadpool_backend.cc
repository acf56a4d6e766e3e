// Thread-pool backend. Execute() runs on a libuv worker and does exactly one
// syscall (retrying EINTR and partial transfers are left to the caller, like
// the ring); Finished() runs on the JS thread and reports the result.
#include "threadpool_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace strata {

int ThreadpoolBackend::Init(unsigned queueDepth) {
  shared_ = new Shared();
  shared_->sink = sink_;
  shared_->works.resize(queueDepth);
  for (unsigned i = 0; i < queueDepth; i++) {
    shared_->works[i].shared = shared_;
    shared_->works[i].tag = i;
  }
  return 0;
}

int ThreadpoolBackend::Queue(uint32_t tag, const IoRequest& request) {
  if (shared_ == nullptr || shared_->sink == nullptr) return -ECANCELED;
  if (tag >= shared_->works.size()) return -EINVAL;
  Work& work = shared_->works[tag];
  if (work.handle != nullptr) return -EBUSY;
  work.request = request;
  work.result = 0;
  napi_value name;
  if (napi_create_string_utf8(env_, "strata.io", NAPI_AUTO_LENGTH, &name) != napi_ok) return -ENOMEM;
  if (napi_create_async_work(env_, nullptr, name, Execute, Finished, &work, &work.handle) != napi_ok) {
    work.handle = nullptr;
    return -ENOMEM;
  }
  if (napi_queue_async_work(env_, work.handle) != napi_ok) {
    napi_delete_async_work(env_, work.handle);
    work.handle = nullptr;
    return -ENOMEM;
  }
  shared_->running++;
  return 0;
}

void ThreadpoolBackend::Execute(napi_env, void* data) {
  auto* work = static_cast<Work*>(data);
  const IoRequest& r = work->request;
  ssize_t rc = 0;
  do {
    switch (r.op) {
      case IoOpcode::Read:
        rc = pread(r.fd, r.buf, r.lengthBytes, r.offsetBytes);
        break;
      case IoOpcode::Write:
        rc = pwrite(r.fd, r.buf, r.lengthBytes, r.offsetBytes);
        break;
      case IoOpcode::Fsync:
        rc = fsync(r.fd);
        break;
      case IoOpcode::Fdatasync:
        rc = fdatasync(r.fd);
        break;
      case IoOpcode::Fallocate:
        rc = fallocate(r.fd, r.mode, r.offsetBytes, r.rangeBytes);
        break;
    }
  } while (rc < 0 && errno == EINTR);
  work->result = rc < 0 ? -errno : static_cast<int32_t>(rc);
}

void ThreadpoolBackend::Finished(napi_env env, napi_status status, void* data) {
  auto* work = static_cast<Work*>(data);
  Shared* shared = work->shared;
  napi_delete_async_work(env, work->handle);
  work->handle = nullptr;
  shared->running--;
  if (shared->sink == nullptr) {
    // Closed while this was running: the last one out frees the slots.
    if (shared->running == 0) delete shared;
    return;
  }
  int32_t result = status == napi_cancelled ? -ECANCELED : work->result;
  shared->sink->Complete(work->tag, result);
  shared->sink->Deliver();
}

void ThreadpoolBackend::Close() {
  if (shared_ == nullptr) return;
  shared_->sink = nullptr;
  if (shared_->running == 0) delete shared_;
  shared_ = nullptr;
}

}  // namespace strata
