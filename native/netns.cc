#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <set>

namespace nsnet {

namespace {
// /proc/self is the thread-group leader (the JS thread); a lane thread's own
// namespace is only visible through thread-self.
constexpr const char* kSelfNs = "/proc/thread-self/ns/net";

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Make `dir` a shared mount point the way iproute2 does, under flock, so the
// namespaces we bind-mount there are visible to (and removable from) every
// mount namespace that shares it.
NlError prepareRunDirOnce(const std::string& dir);

NlError prepareRunDir(const std::string& dir) {
  // Making the directory rshared walks every mount below it: with a thousand
  // namespaces that is a thousand mounts per create. Once per process and
  // directory is enough.
  static std::mutex mu;
  static std::set<std::string> done;
  {
    std::lock_guard<std::mutex> g(mu);
    if (done.count(dir)) return NlError::none();
  }
  NlError e = prepareRunDirOnce(dir);
  if (e.ok()) {
    std::lock_guard<std::mutex> g(mu);
    done.insert(dir);
  }
  return e;
}

NlError prepareRunDirOnce(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return NlError::of(errno, "mkdir", dir);
  Fd lock(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (lock.fd < 0) return NlError::of(errno, "open", dir);
  if (::flock(lock.fd, LOCK_EX) < 0) return NlError::of(errno, "flock", dir);
  bool bound = false;
  while (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) < 0) {
    if (errno != EINVAL || bound)
      return NlError::of(errno, "mount", "make-rshared " + dir);
    if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) < 0)
      return NlError::of(errno, "mount", "self-bind " + dir);
    bound = true;
  }
  return NlError::none();
}
}  // namespace

ThreadHome::ThreadHome() = default;
ThreadHome::~ThreadHome() {
  if (fd_ >= 0) ::close(fd_);
}

NlError ThreadHome::init() {
  fd_ = ::open(kSelfNs, O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return NlError::of(errno, "open", kSelfNs);
  return NlError::none();
}

NlError ThreadHome::enter(int nsfd) {
  if (::setns(nsfd, CLONE_NEWNET) < 0) return NlError::of(errno, "setns");
  return NlError::none();
}

bool ThreadHome::leave() { return ::setns(fd_, CLONE_NEWNET) == 0; }

NlError checkNetNs(const std::string& path) {
  // Looked at before it is opened: opening a device can do things (a watchdog's open arms it).
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return NlError::of(errno, "stat", "network namespace " + path);
  struct statfs sf;
  if (!S_ISREG(st.st_mode) || ::statfs(path.c_str(), &sf) < 0 || sf.f_type != NSFS_MAGIC)
    return NlError::of(EINVAL, "open", path + " is not a network namespace (not an nsfs file)");
  // O_NONBLOCK: whatever replaced the file meanwhile must not hang the lane in open().
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (f.fd < 0) return NlError::of(errno, "open", "network namespace " + path);
  if (::fstatfs(f.fd, &sf) < 0 || sf.f_type != NSFS_MAGIC) return NlError::of(EINVAL, "open", path + " is not a network namespace (not an nsfs file)");
  int type = ::ioctl(f.fd, NS_GET_NSTYPE);
  // A kernel before 4.11 has no NS_GET_NSTYPE: an nsfs file is taken as it is (setns will tell).
  if (type < 0 && errno == ENOTTY) return NlError::none();
  if (type < 0) return NlError::of(errno, "ioctl", "NS_GET_NSTYPE " + path);
  if (type != CLONE_NEWNET) return NlError::of(EINVAL, "open", path + " is a namespace, but not a network namespace");
  return NlError::none();
}

NlError statNs(const std::string& path, NsId& out) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return NlError::of(errno, "stat", "network namespace " + path);
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  return NlError::none();
}

NlError createNamedNs(ThreadHome& home, const std::string& dir, const std::string& name,
                      std::string& outPath, NsId& outId, bool& stranded) {
  stranded = false;
  NlError e = prepareRunDir(dir);
  if (!e.ok()) return e;
  std::string path = dir + "/" + name;
  {
    Fd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (f.fd < 0) return NlError::of(errno, "open", "network namespace " + path);
  }
  if (::unshare(CLONE_NEWNET) < 0) {
    int err = errno;
    ::unlink(path.c_str());
    return NlError::of(err, "unshare");
  }
  int mountErr = 0;
  if (::mount(kSelfNs, path.c_str(), "none", MS_BIND, nullptr) < 0) mountErr = errno;
  if (!home.leave()) stranded = true;
  if (mountErr) {
    ::unlink(path.c_str());
    return NlError::of(mountErr, "mount", "bind " + path);
  }
  e = statNs(path, outId);
  if (!e.ok()) {
    deleteNamedNs(path);
    return e;
  }
  outPath = path;
  return NlError::none();
}

NlError deleteNamedNs(const std::string& path) {
  // EINVAL: not a mount point (the namespace was unmounted already); the
  // file must still go, as iproute2 does.
  if (::umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL) return NlError::of(errno, "umount2", path);
  if (::unlink(path.c_str()) < 0) return NlError::of(errno, "unlink", path);
  return NlError::none();
}

}  // namespace nsnet
