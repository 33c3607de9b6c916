// Network-namespace primitives. Everything here that switches namespaces
// (setns, unshare) must run on a lane thread the addon owns: never on the JS
// thread, never on libuv's pool, whose threads other code shares.
#pragma once
#include <cstdint>
#include <string>
#include "nl_error.h"

namespace nsnet {

// The namespace a lane thread was born in, and the way back to it.
class ThreadHome {
 public:
  ThreadHome();
  ~ThreadHome();
  NlError init();
  // Enters the namespace behind `nsfd`. Callers must call leave() on every path.
  NlError enter(int nsfd);
  // Returns to the home namespace. false means the thread is stranded in a
  // foreign namespace and must be retired, never reused.
  bool leave();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Inode (and device) of the namespace at `path`; ENOENT when it is gone.
struct NsId {
  uint64_t dev = 0;
  uint64_t ino = 0;
};
NlError statNs(const std::string& path, NsId& out);
// That `path` is a network namespace file (nsfs, NS_GET_NSTYPE), not merely
// something that exists: for paths a caller hands over.
NlError checkNetNs(const std::string& path);

// `ip netns add` on this thread: unshare, bind-mount the thread's namespace
// onto dir/name (making dir a shared mount point first), return home.
// `stranded` is set when the thread could not return home.
NlError createNamedNs(ThreadHome& home, const std::string& dir, const std::string& name,
                      std::string& outPath, NsId& outId, bool& stranded);

// `ip netns del`: lazy umount, then unlink.
NlError deleteNamedNs(const std::string& path);

}  // namespace nsnet
