// Per-environment state of the addon (one per Node.js main thread or worker),
// kept as N-API instance data so worker threads never share it.
#pragma once

#include <napi.h>

namespace strata {

struct AddonData {
  Napi::FunctionReference ioEngineClass;
};

// Exports of the I/O subsystem: openIoEngine, deviceSizeBytes, the opcode constants.
void RegisterIo(Napi::Env env, Napi::Object exports, AddonData* data);

}  // namespace strata
