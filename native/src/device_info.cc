#include "device_info.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>

namespace strata {

Napi::Value DeviceSizeBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(env, "deviceSizeBytes(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct stat st;
  if (fstat(fd, &st) < 0) return Napi::Number::New(env, -errno);
  if (!S_ISBLK(st.st_mode)) return Napi::Number::New(env, static_cast<double>(st.st_size));
  uint64_t bytes = 0;
  if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) return Napi::Number::New(env, -errno);
  return Napi::Number::New(env, static_cast<double>(bytes));
}

}  // namespace strata
