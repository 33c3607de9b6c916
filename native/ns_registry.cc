#include "ns_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <iterator>
#include <sys/stat.h>
#include <unistd.h>

namespace nsnet {

NsEntry::~NsEntry() {
  if (fd >= 0) ::close(fd);
  if (ipv6Conf >= 0) ::close(ipv6Conf);
}

namespace {
NlError openEntry(const std::string& path, std::shared_ptr<NsEntry>& out) {
  auto e = std::make_shared<NsEntry>();
  e->path = path;
  const char* p = path.empty() ? "/proc/thread-self/ns/net" : path.c_str();
  e->fd = ::open(p, O_RDONLY | O_CLOEXEC);
  if (e->fd < 0) {
    int err = errno;
    return NlError::of(err, "open", err == ENOENT ? "network namespace " + path + " does not exist"
                                                  : "network namespace " + path);
  }
  struct stat st;
  if (::fstat(e->fd, &st) < 0) return NlError::of(errno, "fstat", path);
  e->id.dev = st.st_dev;
  e->id.ino = st.st_ino;
  out = std::move(e);
  return NlError::none();
}
}  // namespace

NlError NsRegistry::get(int lane, const std::string& path, uint64_t expectIno,
                        std::shared_ptr<NsEntry>& out) {
  auto key = std::make_pair(lane, path);
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) out = it->second;
  }
  if (out && !path.empty()) {
    NsId now;
    if (!statNs(path, now).ok() || now.ino != out->id.ino || now.dev != out->id.dev) {
      out.reset();
      std::lock_guard<std::mutex> g(mu_);
      map_.erase(key);
    }
  }
  if (!out) {
    NlError e = openEntry(path, out);
    if (!e.ok()) return e;
    std::lock_guard<std::mutex> g(mu_);
    map_[key] = out;
  }
  if (expectIno && out->id.ino != expectIno)
    return NlError::of(ESTALE, "open",
                       "network namespace " + path + " is not the namespace this handle was opened on "
                       "(it was deleted or replaced)");
  return NlError::none();
}

NlError NsRegistry::socketOf(NsEntry& e, ThreadHome& home, bool& stranded) {
  if (e.sock.isOpen()) return NlError::none();
  if (e.path.empty()) return e.sock.open();
  NlError err = home.enter(e.fd);
  if (!err.ok()) {
    if (err.err == EINVAL) err.extack = e.path + " is not a network namespace";
    return err;
  }
  err = e.sock.open();
  if (!home.leave()) stranded = true;
  return err;
}

bool NsRegistry::socketOpen(int lane, const std::string& path) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = map_.find(std::make_pair(lane, path));
  return it != map_.end() && it->second->sock.isOpen();
}

bool NsRegistry::ipv6ConfOpen(int lane, const std::string& path) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = map_.find(std::make_pair(lane, path));
  return it != map_.end() && it->second->ipv6Conf >= 0;
}

void NsRegistry::forget(const std::string& path) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto it = map_.begin(); it != map_.end();) {
    if (it->first.second == path) it = map_.erase(it);
    else ++it;
  }
  // A lane user's copy keeps the instance until its lookup is done.
  for (auto it = procs_.begin(); it != procs_.end();) it = holdsNamespace(it->first) ? std::next(it) : procs_.erase(it);
}

bool NsRegistry::holdsNamespace(int lane) const {
  for (const auto& kv : map_)
    if (kv.first.first == lane && !kv.first.second.empty()) return true;
  return false;
}

namespace {
// Renewal cost (~75 us) against the walk it bounds (~0.6 us per namespace in the chain).
constexpr int kProcMountUses = 32;
}  // namespace

std::shared_ptr<ProcMount> NsRegistry::procMount(int lane) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (procRefused_) return nullptr;
    auto it = procs_.find(lane);
    if (it != procs_.end() && it->second->uses < kProcMountUses) {
      ++it->second->uses;
      return it->second;
    }
  }
  // Made outside the lock: other lanes keep looking up their namespaces meanwhile.
  auto fresh = ProcMount::create();
  std::lock_guard<std::mutex> g(mu_);
  if (!fresh) {
    procRefused_ = true;
    procs_.clear();
    return nullptr;
  }
  ++procsMade_;
  fresh->uses = 1;
  // Not kept if the lane's namespaces were all forgotten meanwhile: it then closes after this lookup.
  if (holdsNamespace(lane)) procs_[lane] = fresh;
  return fresh;
}

uint64_t NsRegistry::procMountsMade() {
  std::lock_guard<std::mutex> g(mu_);
  return procsMade_;
}

size_t NsRegistry::procMountsOpen() {
  std::lock_guard<std::mutex> g(mu_);
  return procs_.size();
}

size_t NsRegistry::size() {
  std::lock_guard<std::mutex> g(mu_);
  return map_.size();
}

}  // namespace nsnet
