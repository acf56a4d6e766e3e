// Argument checks shared by the addon's exports. TypeScript validates first;
// these make a misuse from JavaScript a TypeError, never undefined behaviour.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace strata {

// Reads an integral JS number (a safe integer). Throws a TypeError and returns
// false for anything else.
inline bool IntArg(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), "expected an integer argument").ThrowAsJavaScriptException();
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0) {
    Napi::TypeError::New(info.Env(), "expected an integer argument").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace strata
