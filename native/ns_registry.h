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

namespace nsnet {

struct NsEntry {
  std::string path;  // "" is the lane thread's home namespace
  NsId id;
  int fd = -1;       // O_CLOEXEC handle, also used for IFLA_NET_NS_FD
  NetlinkSocket sock;
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
  size_t size();

 private:
  std::mutex mu_;
  std::map<std::pair<int, std::string>, std::shared_ptr<NsEntry>> map_;
};

}  // namespace nsnet
