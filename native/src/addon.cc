// Module entry: registers each native subsystem's exports. Arguments are
// validated in TypeScript (src/backends/native.ts); here we only check types
// enough to never crash on a wrong call.
#include <napi.h>

#include "addon_data.h"
#include "crc.h"
#include "device_info.h"
#include "pmem_region.h"

namespace {

using strata::CrcKind;

bool BytesArg(const Napi::CallbackInfo& info, size_t i, const uint8_t** data, size_t* len) {
  if (!info[i].IsTypedArray()) {
    Napi::TypeError::New(info.Env(), "expected a Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  auto arr = info[i].As<Napi::Uint8Array>();
  *data = arr.Data();
  *len = arr.ByteLength();
  return true;
}

Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  const uint8_t* data;
  size_t len;
  if (!BytesArg(info, 0, &data, &len)) return info.Env().Undefined();
  uint32_t prev = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  return Napi::Number::New(info.Env(), strata::Crc32cUpdate(prev, data, len));
}

Napi::Value Crc32(const Napi::CallbackInfo& info) {
  const uint8_t* data;
  size_t len;
  if (!BytesArg(info, 0, &data, &len)) return info.Env().Undefined();
  uint32_t prev = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  return Napi::Number::New(info.Env(), strata::Crc32Update(prev, data, len));
}

Napi::Value Crc64Nvme(const Napi::CallbackInfo& info) {
  const uint8_t* data;
  size_t len;
  if (!BytesArg(info, 0, &data, &len)) return info.Env().Undefined();
  uint64_t prev = 0;
  if (info[1].IsBigInt()) {
    bool lossless;
    prev = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return Napi::BigInt::New(info.Env(), strata::Crc64NvmeUpdate(prev, data, len));
}

Napi::Value CrcCombine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsBigInt() || !info[2].IsBigInt() || !info[3].IsBigInt()) {
    Napi::TypeError::New(env, "crcCombine(kind, crcA, crcB, lenB)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int kind = info[0].As<Napi::Number>().Int32Value();
  if (kind < 0 || kind > 2) {
    Napi::RangeError::New(env, "unknown crc kind").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool lossless;
  uint64_t a = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
  uint64_t b = info[2].As<Napi::BigInt>().Uint64Value(&lossless);
  uint64_t lenB = info[3].As<Napi::BigInt>().Uint64Value(&lossless);
  return Napi::BigInt::New(env, strata::CrcCombine(static_cast<CrcKind>(kind), a, b, lenB));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32c", Napi::Function::New(env, Crc32c));
  exports.Set("crc32", Napi::Function::New(env, Crc32));
  exports.Set("crc64nvme", Napi::Function::New(env, Crc64Nvme));
  exports.Set("crcCombine", Napi::Function::New(env, CrcCombine));
  exports.Set("crc32cHardware", Napi::Boolean::New(env, strata::Crc32cIsHardware()));

  auto* data = new strata::AddonData();
  env.SetInstanceData(data);  // deleted with the environment
  strata::RegisterIo(env, exports, data);
  exports.Set("deviceSizeBytes", Napi::Function::New(env, strata::DeviceSizeBytes));
  strata::RegisterPmem(env, exports);  // the dax tier: openPmemRegion and its test/bench helpers
  return exports;
}

}  // namespace

NODE_API_MODULE(strata_native, Init)
