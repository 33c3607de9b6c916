// Synchronous on the JS thread, unlike everything else in the addon: open and
// flock(LOCK_NB) neither block nor depend on the calling thread's network
// namespace, so there is nothing to hand to a lane. The lock belongs to the
// open file description, so it is released by unlockFile, or by the kernel
// when the process dies (even by SIGKILL): a lock can never go stale. The fd
// is close-on-exec, so children (nsenter, nft) never inherit the lock.
#include "file_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>

namespace nsnet {

namespace {

Napi::Error systemError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  // EWOULDBLOCK and EAGAIN are one value on Linux; name it for what it means here.
  const char* name = err == EWOULDBLOCK ? "EWOULDBLOCK" : strerrorname_np(err);
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + " " + path + ": " + strerror(err));
  Napi::Object o = e.Value();
  o.Set("code", name ? name : "EUNKNOWN");
  o.Set("errno", -err);
  o.Set("syscall", syscall);
  o.Set("path", path);
  return e;
}

}  // namespace

Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "lockFile(path)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd;
  do fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) throw systemError(env, errno, "open", path);
  int rc;
  do rc = ::flock(fd, LOCK_EX | LOCK_NB);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    ::close(fd);
    throw systemError(env, err, "flock", path);
  }
  return Napi::Number::New(env, fd);
}

Napi::Value UnlockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "unlockFile(fd)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd < 0) throw Napi::RangeError::New(env, "unlockFile: bad fd");
  // close() alone would release it too; unlocking first makes the release
  // independent of any duplicate of the fd.
  ::flock(fd, LOCK_UN);
  if (::close(fd) < 0 && errno != EINTR) throw systemError(env, errno, "close", std::to_string(fd));
  return env.Undefined();
}

}  // namespace nsnet
