// N-API side of the I/O engine. Arguments arrive already validated by
// TypeScript; the checks here exist so that a wrong call is refused with an
// errno instead of touching memory outside the pool or crashing the process.
#include "napi_args.h"
#include "io_engine.h"

#include <cerrno>
#include <cmath>

#include "addon_data.h"
#include "aligned_region.h"
#include "threadpool_backend.h"
#include "uring_backend.h"

namespace strata {
namespace {

constexpr int kKindUring = 0;
constexpr int kKindThreadpool = 1;
constexpr int64_t kFlagFixedBuffers = 1;  // register the pool with the ring
constexpr int64_t kFlagDeferTaskrun = 2;  // DEFER_TASKRUN where it is safe
constexpr size_t kPageBytes = 4096;
// io_uring registers at most 1 GiB per fixed buffer; the pool is one buffer.
constexpr size_t kPoolBytesMax = size_t{1} << 30;
constexpr unsigned kQueueDepthMax = 4096;


Napi::Value Errno(Napi::Env env, int rc) { return Napi::Number::New(env, rc); }

}  // namespace

Napi::Function IoEngine::DefineClass(Napi::Env env) {
  return ObjectWrap<IoEngine>::DefineClass(
      env, "NativeIoEngine",
      {
          InstanceMethod<&IoEngine::Read>("read"),
          InstanceMethod<&IoEngine::Write>("write"),
          InstanceMethod<&IoEngine::Sync>("sync"),
          InstanceMethod<&IoEngine::Fallocate>("fallocate"),
          InstanceMethod<&IoEngine::Submit>("submit"),
          InstanceMethod<&IoEngine::Close>("close"),
      });
}

IoEngine::IoEngine(const Napi::CallbackInfo& info) : ObjectWrap<IoEngine>(info), env_(info.Env()) {}

IoEngine::~IoEngine() { Shutdown(); }

Napi::Value IoEngine::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object object = data->ioEngineClass.New({});
  if (env.IsExceptionPending()) return env.Undefined();
  IoEngine* engine = Unwrap(object);
  int rc = engine->Start(info);
  if (env.IsExceptionPending()) {
    engine->Shutdown();
    return env.Undefined();
  }
  if (rc < 0) {
    engine->Shutdown();
    return Errno(env, rc);
  }
  return object;
}

int IoEngine::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t kind, queueDepth, poolBytes, flags, deliverBatchMax;
  if (!IntArg(info, 0, &kind) || !IntArg(info, 1, &queueDepth) || !IntArg(info, 2, &poolBytes) ||
      !IntArg(info, 3, &flags) || !IntArg(info, 4, &deliverBatchMax)) {
    return -EINVAL;
  }
  if (!info[5].IsTypedArray() || !info[6].IsFunction()) {
    Napi::TypeError::New(env,
                         "openIoEngine(kind, queueDepth, poolBytes, flags, deliverBatchMax, completions, onComplete)")
        .ThrowAsJavaScriptException();
    return -EINVAL;
  }
  bool fixedBuffers = (flags & kFlagFixedBuffers) != 0;
  bool deferTaskrun = (flags & kFlagDeferTaskrun) != 0;
  if (kind != kKindUring && kind != kKindThreadpool) return -EINVAL;
  if (queueDepth < 1 || queueDepth > kQueueDepthMax) return -EINVAL;
  if (deliverBatchMax < 1 || deliverBatchMax > queueDepth) return -EINVAL;
  if (poolBytes < static_cast<int64_t>(kPageBytes) || poolBytes > static_cast<int64_t>(kPoolBytesMax) ||
      poolBytes % kPageBytes != 0) {
    return -EINVAL;
  }
  auto completions = info[5].As<Napi::TypedArray>();
  if (completions.TypedArrayType() != napi_int32_array ||
      completions.ElementLength() < 2 * static_cast<size_t>(queueDepth)) {
    return -EINVAL;
  }

  int rc = 0;
  pool_ = MapAlignedRegion(static_cast<size_t>(poolBytes), &rc);
  if (pool_ == nullptr) return rc;
  poolBytes_ = static_cast<size_t>(poolBytes);
  // The ArrayBuffer owns the mapping from here on: it is unmapped only when
  // JavaScript can no longer see it, whatever happens to the engine.
  Napi::ArrayBuffer pool = Napi::ArrayBuffer::New(
      env, pool_, poolBytes_, [](Napi::Env, void* base, size_t* bytes) {
        UnmapAlignedRegion(static_cast<uint8_t*>(base), *bytes);
        delete bytes;
      },
      new size_t(poolBytes_));
  poolRef_ = Napi::Persistent(pool);

  tagBusy_.assign(static_cast<size_t>(queueDepth), 0);
  auto completionArray = completions.As<Napi::Int32Array>();
  completions_ = completionArray.Data();
  completionsRef_ = Napi::Persistent(completionArray);
  onComplete_ = Napi::Persistent(info[6].As<Napi::Function>());
  if (napi_async_init(env, Value(), Napi::String::New(env, "strata.io"), &asyncContext_) != napi_ok) {
    asyncContext_ = nullptr;
    return -ENOMEM;
  }

  Napi::Object self = Value();
  self.Set("pool", pool);
  self.Set("queueDepth", Napi::Number::New(env, static_cast<double>(queueDepth)));
  if (kind == kKindUring) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, reinterpret_cast<struct uv_loop_s**>(&loop)) != napi_ok) return -ENOTSUP;
    auto uring = std::make_unique<UringBackend>(this);
    rc = uring->Init(loop, static_cast<unsigned>(queueDepth), pool_, poolBytes_, fixedBuffers,
                     static_cast<unsigned>(deliverBatchMax), deferTaskrun);
    if (rc < 0) return rc;
    const UringFeatures& features = uring->Features();
    self.Set("kind", "io_uring");
    self.Set("fixedBuffers", features.fixedBuffers);
    self.Set("fixedBuffersErrno", Napi::Number::New(env, features.fixedBuffersError));
    self.Set("sqEntries", Napi::Number::New(env, features.sqEntries));
    self.Set("kernelFeatures", Napi::Number::New(env, features.kernelFeatures));
    self.Set("deferTaskrun", features.deferTaskrun);
    backend_ = std::move(uring);
  } else {
    auto pool = std::make_unique<ThreadpoolBackend>(env, this);
    rc = pool->Init(static_cast<unsigned>(queueDepth));
    if (rc < 0) return rc;
    self.Set("kind", "threadpool");
    self.Set("fixedBuffers", false);
    self.Set("fixedBuffersErrno", Napi::Number::New(env, 0));
    self.Set("sqEntries", Napi::Number::New(env, 0));
    self.Set("kernelFeatures", Napi::Number::New(env, 0));
    self.Set("deferTaskrun", false);
    backend_ = std::move(pool);
  }
  if (napi_add_env_cleanup_hook(env, OnEnvCleanup, this) == napi_ok) cleanupHookAdded_ = true;
  open_ = true;
  return 0;
}

void IoEngine::OnEnvCleanup(void* self) {
  // The environment is going away (process or worker exit): stop the backend
  // without calling into JavaScript.
  auto* engine = static_cast<IoEngine*>(self);
  engine->cleanupHookAdded_ = false;
  engine->open_ = false;
  if (engine->backend_) engine->backend_->Close();
}

void IoEngine::Shutdown() {
  open_ = false;
  // Close but keep the backend object: this may run inside its own completion
  // loop (JavaScript closing the engine from a callback). ~IoEngine frees it.
  if (backend_) backend_->Close();
  if (cleanupHookAdded_) {
    napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
    cleanupHookAdded_ = false;
  }
  if (asyncContext_ != nullptr) {
    napi_async_destroy(env_, asyncContext_);
    asyncContext_ = nullptr;
  }
  onComplete_.Reset();
  completionsRef_.Reset();
  completions_ = nullptr;
  poolRef_.Reset();  // the mapping itself lives on until its ArrayBuffer is collected
}

int IoEngine::QueueRequest(uint32_t tag, const IoRequest& request) {
  if (!open_) return -ECANCELED;
  if (tag >= tagBusy_.size()) return -EINVAL;
  if (tagBusy_[tag]) return -EBUSY;
  if (request.fd < 0) return -EBADF;
  int rc = backend_->Queue(tag, request);
  if (rc < 0) return rc;
  tagBusy_[tag] = 1;
  if (inflight_++ == 0) backend_->SetBusy(true);
  return 0;
}

Napi::Value IoEngine::ReadWrite(const Napi::CallbackInfo& info, IoOpcode op) {
  int64_t tag, fd, poolOffset, length, fileOffset;
  if (!IntArg(info, 0, &tag) || !IntArg(info, 1, &fd) || !IntArg(info, 2, &poolOffset) ||
      !IntArg(info, 3, &length) || !IntArg(info, 4, &fileOffset)) {
    return info.Env().Undefined();
  }
  if (tag < 0 || fd > INT32_MAX || fileOffset < 0) return Errno(info.Env(), -EINVAL);
  // A result is an int32 byte count, so one request moves less than 2 GiB.
  if (length < 0 || length > INT32_MAX) return Errno(info.Env(), -EINVAL);
  if (poolOffset < 0 || static_cast<uint64_t>(poolOffset) + static_cast<uint64_t>(length) > poolBytes_) {
    return Errno(info.Env(), -EFAULT);
  }
  IoRequest request{};
  request.op = op;
  request.fd = static_cast<int>(fd);
  request.buf = pool_ + poolOffset;
  request.lengthBytes = static_cast<uint32_t>(length);
  request.offsetBytes = fileOffset;
  return Errno(info.Env(), QueueRequest(static_cast<uint32_t>(tag), request));
}

Napi::Value IoEngine::Read(const Napi::CallbackInfo& info) { return ReadWrite(info, IoOpcode::Read); }
Napi::Value IoEngine::Write(const Napi::CallbackInfo& info) { return ReadWrite(info, IoOpcode::Write); }

// sync(tag, fd, dataOnly): dataOnly = 1 for fdatasync, 0 for fsync.
Napi::Value IoEngine::Sync(const Napi::CallbackInfo& info) {
  int64_t tag, fd, dataOnly;
  if (!IntArg(info, 0, &tag) || !IntArg(info, 1, &fd) || !IntArg(info, 2, &dataOnly)) return info.Env().Undefined();
  if (tag < 0 || fd > INT32_MAX) return Errno(info.Env(), -EINVAL);
  IoRequest request{};
  request.op = dataOnly != 0 ? IoOpcode::Fdatasync : IoOpcode::Fsync;
  request.fd = static_cast<int>(fd);
  return Errno(info.Env(), QueueRequest(static_cast<uint32_t>(tag), request));
}

// fallocate(tag, fd, mode, offset, length)
Napi::Value IoEngine::Fallocate(const Napi::CallbackInfo& info) {
  int64_t tag, fd, mode, offset, length;
  if (!IntArg(info, 0, &tag) || !IntArg(info, 1, &fd) || !IntArg(info, 2, &mode) || !IntArg(info, 3, &offset) ||
      !IntArg(info, 4, &length)) {
    return info.Env().Undefined();
  }
  if (tag < 0 || fd > INT32_MAX || mode < 0 || mode > INT32_MAX || offset < 0 || length <= 0) {
    return Errno(info.Env(), -EINVAL);
  }
  IoRequest request{};
  request.op = IoOpcode::Fallocate;
  request.fd = static_cast<int>(fd);
  request.mode = static_cast<int>(mode);
  request.offsetBytes = offset;
  request.rangeBytes = length;
  return Errno(info.Env(), QueueRequest(static_cast<uint32_t>(tag), request));
}

Napi::Value IoEngine::Submit(const Napi::CallbackInfo& info) {
  if (!open_) return Errno(info.Env(), -ECANCELED);
  return Errno(info.Env(), backend_->Submit());
}

Napi::Value IoEngine::Close(const Napi::CallbackInfo& info) {
  if (!open_) return Errno(info.Env(), 0);
  // The kernel or a worker may still be writing into the pool; TypeScript waits
  // for every completion before closing.
  if (inflight_ > 0) return Errno(info.Env(), -EBUSY);
  Shutdown();
  return Errno(info.Env(), 0);
}

void IoEngine::Complete(uint32_t tag, int32_t result) {
  if (tag >= tagBusy_.size() || !tagBusy_[tag] || completions_ == nullptr) return;
  tagBusy_[tag] = 0;
  completions_[2 * pending_] = static_cast<int32_t>(tag);
  completions_[2 * pending_ + 1] = result;
  pending_++;
  if (--inflight_ == 0 && backend_) backend_->SetBusy(false);
}

void IoEngine::Deliver() {
  if (pending_ == 0 || onComplete_.IsEmpty()) return;
  uint32_t count = pending_;
  pending_ = 0;
  Napi::HandleScope scope(env_);
  napi_value argv[1];
  napi_value receiver;  // make_callback wants an object; the callback is a closure anyway
  napi_value result;
  napi_create_uint32(env_, count, &argv[0]);
  napi_get_global(env_, &receiver);
  // make_callback (not call_function): runs the microtask queue afterwards, so
  // continuations of the promises resolved here run in this same turn.
  napi_status status = napi_make_callback(env_, asyncContext_, receiver, onComplete_.Value(), 1, argv, &result);
  if (status != napi_ok) {
    // A lost completion would leave a request hanging forever: make it loud
    // (process 'uncaughtException') instead.
    bool thrown = false;
    napi_value error = nullptr;
    napi_is_exception_pending(env_, &thrown);
    if (thrown) {
      napi_get_and_clear_last_exception(env_, &error);
    } else {
      napi_value message;
      napi_create_string_utf8(env_, "strata.io: delivering completions to JavaScript failed", NAPI_AUTO_LENGTH,
                              &message);
      napi_create_error(env_, nullptr, message, &error);
    }
    napi_fatal_exception(env_, error);
  }
}

void RegisterIo(Napi::Env env, Napi::Object exports, AddonData* data) {
  data->ioEngineClass = Napi::Persistent(IoEngine::DefineClass(env));
  exports.Set("openIoEngine", Napi::Function::New(env, IoEngine::Open));
}

}  // namespace strata
