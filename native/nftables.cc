#include "nftables.h"

#include <dlfcn.h>
#include <errno.h>

#include <mutex>

namespace nsnet {

namespace {

struct nft_ctx;

struct Lib {
  nft_ctx* (*ctxNew)(uint32_t) = nullptr;
  void (*ctxFree)(nft_ctx*) = nullptr;
  int (*bufferOutput)(nft_ctx*) = nullptr;
  int (*bufferError)(nft_ctx*) = nullptr;
  const char* (*outputBuffer)(nft_ctx*) = nullptr;
  const char* (*errorBuffer)(nft_ctx*) = nullptr;
  int (*runFromBuffer)(nft_ctx*, const char*) = nullptr;
  bool ok = false;
};

const Lib& lib() {
  static Lib l;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    l.ctxNew = reinterpret_cast<nft_ctx* (*)(uint32_t)>(dlsym(h, "nft_ctx_new"));
    l.ctxFree = reinterpret_cast<void (*)(nft_ctx*)>(dlsym(h, "nft_ctx_free"));
    l.bufferOutput = reinterpret_cast<int (*)(nft_ctx*)>(dlsym(h, "nft_ctx_buffer_output"));
    l.bufferError = reinterpret_cast<int (*)(nft_ctx*)>(dlsym(h, "nft_ctx_buffer_error"));
    l.outputBuffer = reinterpret_cast<const char* (*)(nft_ctx*)>(dlsym(h, "nft_ctx_get_output_buffer"));
    l.errorBuffer = reinterpret_cast<const char* (*)(nft_ctx*)>(dlsym(h, "nft_ctx_get_error_buffer"));
    l.runFromBuffer = reinterpret_cast<int (*)(nft_ctx*, const char*)>(dlsym(h, "nft_run_cmd_from_buffer"));
    l.ok = l.ctxNew && l.ctxFree && l.bufferOutput && l.bufferError && l.outputBuffer && l.errorBuffer && l.runFromBuffer;
  });
  return l;
}

struct Ctx {
  nft_ctx* ctx = nullptr;
  ~Ctx() {
    if (ctx) lib().ctxFree(ctx);
  }
};

}  // namespace

NlError nftRun(const std::string& script, std::string& output) {
  const Lib& l = lib();
  if (!l.ok) return NlError::of(ENOENT, "dlopen", "libnftables.so.1 not found (Debian package libnftables1)");
  thread_local Ctx c;
  if (!c.ctx) {
    c.ctx = l.ctxNew(0);
    if (!c.ctx) return NlError::of(ENOMEM, "nft_ctx_new");
    l.bufferOutput(c.ctx);
    l.bufferError(c.ctx);
  }
  int rc = l.runFromBuffer(c.ctx, script.c_str());
  // Reading a buffer also resets it for the next command.
  const char* out = l.outputBuffer(c.ctx);
  const char* err = l.errorBuffer(c.ctx);
  output = out ? out : "";
  if (rc != 0) {
    std::string msg = err ? err : "";
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return NlError::of(EINVAL, "nft", msg.empty() ? "nft command failed" : msg);
  }
  return NlError::none();
}

}  // namespace nsnet
