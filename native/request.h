// The unit of work a lane thread executes, and its outcome. Built on the JS
// thread, executed on a lane thread, turned back into JS values on the JS
// thread: nothing in here touches N-API.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "nl_error.h"
#include "netns.h"
#include "ns_registry.h"

namespace nsnet {

enum class Kind : int {
  Noop = 0,
  Rtnl = 1,         // send msg in namespace `ns`, collect replies
  NetnsCreate = 2,  // ns = run dir, arg1 = name
  NetnsDelete = 3,  // ns = path
  NetnsInode = 4,   // ns = path
  SysctlRead = 5,   // ns, arg1 = key ("net/ipv4/ip_forward")
  SysctlWrite = 6,  // ns, arg1 = key, arg2 = value
  NetnsForget = 7,  // drop cached handles for ns (an adopted namespace we release)
  NftRun = 8,       // arg1 = nft script, one transaction, in the lane's home namespace
};

// Writes the fd of namespace `path` as a u32 at `offset` of the message
// (IFLA_NET_NS_FD): lets a veth peer be born inside its sandbox.
struct FdPatch {
  uint32_t offset = 0;
  std::string path;
  uint64_t ino = 0;
};

struct Request {
  Kind kind = Kind::Noop;
  std::string op;
  std::string ns;
  uint64_t nsIno = 0;
  std::vector<uint8_t> msg;
  std::vector<FdPatch> fds;
  std::string arg1, arg2;
};

struct Result {
  NlError err;
  bool canceled = false;
  std::vector<uint8_t> data;  // Rtnl replies, verbatim
  std::string str;            // created path, sysctl value
  uint64_t ino = 0;
};

// What a lane thread brings to each request.
struct LaneContext {
  int lane = 0;
  ThreadHome home;
  NsRegistry* registry = nullptr;
  bool stranded = false;  // set when the thread could not return home
};

void execute(LaneContext& ctx, Request& req, Result& res);

}  // namespace nsnet
