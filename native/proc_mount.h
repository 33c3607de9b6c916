// A private procfs instance (fsopen + fsmount, never attached to any mount
// tree) through which a lane reaches /proc/sys inside network namespaces.
//
// Why: every namespace that looks up /proc/sys/net through the host's /proc
// leaves a dentry named "net" under the same parent; the kernel keeps them in
// one hash chain and every later lookup walks it, comparing against each
// (proc_sys_compare). A sysctl write in a new namespace took 30 us with a few
// namespaces on the host and 1.9 ms with 3,000. A fresh instance has its own
// dentries, so its chain holds only the namespaces looked up through it.
#pragma once
#include <memory>

namespace nsnet {

class ProcMount {
 public:
  // Null when the kernel or the caller's rights refuse a new instance.
  static std::shared_ptr<ProcMount> create();
  ~ProcMount();
  ProcMount(const ProcMount&) = delete;
  ProcMount& operator=(const ProcMount&) = delete;
  // The instance's root, O_CLOEXEC: open "sys/<key>" relative to it.
  int fd() const { return fd_; }
  // Lookups made through it (the registry renews it after a few).
  int uses = 0;

 private:
  explicit ProcMount(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace nsnet
