#include "proc_mount.h"

#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nsnet {

std::shared_ptr<ProcMount> ProcMount::create() {
  // Raw syscalls: glibc's wrappers need <sys/mount.h>, which clashes with
  // <linux/mount.h>, and older glibcs have none.
  int fs = static_cast<int>(::syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC));
  if (fs < 0) return nullptr;
  int root = -1;
  if (::syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0)
    root = static_cast<int>(::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0));
  ::close(fs);
  if (root < 0) return nullptr;
  return std::shared_ptr<ProcMount>(new ProcMount(root));
}

ProcMount::~ProcMount() {
  // The detached mount, and the instance with it, go with the last fd.
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace nsnet
