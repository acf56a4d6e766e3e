// Facts about a backing file or block device that Node's fs cannot give:
// a block device's fstat size is 0, so its capacity comes from BLKGETSIZE64.
#pragma once

#include <napi.h>

namespace strata {

// deviceSizeBytes(fd) -> bytes, or -errno.
Napi::Value DeviceSizeBytes(const Napi::CallbackInfo& info);

}  // namespace strata
