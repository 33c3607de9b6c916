// Per-lane cache of namespace handles and their rtnetlink sockets. A socket is
// opened once per (lane, namespace): each lane thread has its own so that a
// slow request on one lane (RTM_DELLINK waits ~20 ms on RCU) never sits in
// front of another lane's replies on the same socket.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include "netlink_socket.h"
#include "netns.h"
#include "proc_mount.h"

namespace nsnet {

struct NsEntry {
  std::string path;  // "" is the lane thread's home namespace
  NsId id;
  int fd = -1;       // O_CLOEXEC handle, also used for IFLA_NET_NS_FD
  NetlinkSocket sock;
  // The namespace's net/ipv6/conf sysctl directory (O_PATH), opened from
  // inside it by the first IPv6 sysctl there, or -1. Lookups under it stay
  // in this namespace whichever namespace the caller is in, so the next
  // per-interface IPv6 sysctl needs no namespace switch (and can run on the
  // JS thread).
  int ipv6Conf = -1;
  ~NsEntry();
};

class NsRegistry {
 public:
  // The entry for `path` on `lane`. Re-stats the path on every use, so a
  // namespace deleted (or replaced) behind our back is noticed instead of
  // acting on the orphan a cached fd keeps alive. `expectIno` (0 = any) pins
  // the caller's handle to one namespace instance.
  NlError get(int lane, const std::string& path, uint64_t expectIno, std::shared_ptr<NsEntry>& out);
  // Opens the entry's socket inside its namespace if not yet open.
  NlError socketOf(NsEntry& e, ThreadHome& home, bool& stranded);
  void forget(const std::string& path);
  // `path` has an entry on `lane` whose socket is open (no re-stat: get() does that).
  bool socketOpen(int lane, const std::string& path);
  // ... and whose IPv6 sysctl directory is open.
  bool ipv6ConfOpen(int lane, const std::string& path);
  size_t size();
  // The lane's private procfs instance for sysctls inside namespaces (see
  // proc_mount.h), or null: use /proc. Renewed after kProcMountUses lookups
  // so its own chain stays short; dropped when the lane's last namespace is
  // forgotten, so nothing stays open once nsnet holds no namespace.
  std::shared_ptr<ProcMount> procMount(int lane);
  // Private instances made so far, and those open now.
  uint64_t procMountsMade();
  size_t procMountsOpen();

 private:
  std::mutex mu_;
  std::map<std::pair<int, std::string>, std::shared_ptr<NsEntry>> map_;
  // Whether `lane` has an entry for a namespace other than its home; mu_ held.
  bool holdsNamespace(int lane) const;
  std::map<int, std::shared_ptr<ProcMount>> procs_;
  uint64_t procsMade_ = 0;
  // Set when the kernel refused an instance (no fsopen, no rights): /proc from then on.
  bool procRefused_ = false;
};

}  // namespace nsnet
