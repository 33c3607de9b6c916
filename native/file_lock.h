// Whole-file advisory locks (flock) for JS: Node has none. Used to give one
// controller at a time a data directory.
#pragma once
#include <napi.h>

namespace nsnet {

// lockFile(path) -> fd: opens (creating, mode 0600) and locks exclusively
// without waiting; throws an Error with Node's shape (code, errno, syscall,
// path) on failure, code EWOULDBLOCK when another open file holds the lock.
Napi::Value LockFile(const Napi::CallbackInfo& info);

// unlockFile(fd): unlocks and closes a descriptor lockFile returned.
Napi::Value UnlockFile(const Napi::CallbackInfo& info);

}  // namespace nsnet
