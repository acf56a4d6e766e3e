// The handful of libuv entry points the io_uring engine uses, declared by hand.
// Why: cmake-js builds against node-api-headers, which ship no uv.h, and a fresh
// machine must build without Node's full headers or a download. These symbols
// are exported by the node binary and belong to libuv 1.x's stable ABI; the
// handle's size is asked at run time (uv_handle_size) and its user pointer goes
// through uv_handle_{get,set}_data, so no struct layout is assumed here.
#pragma once

#include <cstddef>

extern "C" {

struct uv_loop_s;
struct uv_handle_s;
struct uv_poll_s;
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_handle_s uv_handle_t;
typedef struct uv_poll_s uv_poll_t;

typedef void (*uv_poll_cb)(uv_poll_t* handle, int status, int events);
typedef void (*uv_close_cb)(uv_handle_t* handle);

// uv_handle_type is a C enum (int-sized); UV_POLL is its 8th member in libuv 1.x.
size_t uv_handle_size(int type);
int uv_poll_init(uv_loop_t* loop, uv_poll_t* handle, int fd);
int uv_poll_start(uv_poll_t* handle, int events, uv_poll_cb cb);
int uv_poll_stop(uv_poll_t* handle);
void uv_close(uv_handle_t* handle, uv_close_cb cb);
void uv_ref(uv_handle_t* handle);
void uv_unref(uv_handle_t* handle);
void uv_handle_set_data(uv_handle_t* handle, void* data);
void* uv_handle_get_data(const uv_handle_t* handle);
unsigned int uv_version(void);
}

namespace strata {
constexpr int kUvPollType = 8;        // UV_POLL
constexpr int kUvReadable = 1;        // UV_READABLE
constexpr unsigned kUvMinVersion = (1u << 16) | (19u << 8);  // uv_handle_{get,set}_data: 1.19
}  // namespace strata
