// The unit of work a lane thread executes, and its outcome. Built on the JS
// thread, executed on a lane thread, turned back into JS values on the JS
// thread: nothing in here touches N-API.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "nl_error.h"
#include "netns.h"
#include "ns_registry.h"

namespace nsnet {

// Request kinds, as X(name, value). One list so the enum and the table the
// addon exports (protocol.kinds, checked against src/netlink/wire.ts) agree.
//   Noop
//   Rtnl         send msg in namespace `ns`, collect replies
//   NetnsCreate  ns = run dir, arg1 = name
//   NetnsDelete  ns = path
//   NetnsInode   ns = path
//   SysctlRead   ns, arg1 = key ("net/ipv4/ip_forward")
//   SysctlWrite  ns, arg1 = key, arg2 = value
//   NetnsForget  drop cached handles for ns (an adopted namespace we release)
//   NftRun       arg1 = nft script, one transaction, in the lane's home namespace
//   VethJoin     a bridge join's five requests from one parameter block (msg),
//                ns = the sandbox, arg1 / arg2 = container / host end (veth_join.h)
#define NSNET_KINDS(X) \
  X(Noop, 0)           \
  X(Rtnl, 1)           \
  X(NetnsCreate, 2)    \
  X(NetnsDelete, 3)    \
  X(NetnsInode, 4)     \
  X(SysctlRead, 5)     \
  X(SysctlWrite, 6)    \
  X(NetnsForget, 7)    \
  X(NftRun, 8)         \
  X(VethJoin, 9)

enum class Kind : int {
#define NSNET_KIND_ENUM(name, value) name = value,
  NSNET_KINDS(NSNET_KIND_ENUM)
#undef NSNET_KIND_ENUM
};

// The JS request tuple, in order. parseRequest reads by these positions and
// the addon exports the names (protocol.fields): one list for both.
#define NSNET_FIELDS(X) X(kind) X(op) X(ns) X(nsIno) X(msg) X(fdPatches) X(arg1) X(arg2) X(linkPatches)
namespace field {
enum : uint32_t {
#define NSNET_FIELD_ENUM(name) name,
  NSNET_FIELDS(NSNET_FIELD_ENUM)
#undef NSNET_FIELD_ENUM
  kCount
};
}  // namespace field

// fdPatches is flat, kStride values per patch: [offset, path, ino, offset, ...].
#define NSNET_FD_PATCH_FIELDS(X) X(offset) X(path) X(ino)
namespace fdfield {
enum : uint32_t {
#define NSNET_FIELD_ENUM(name) name,
  NSNET_FD_PATCH_FIELDS(NSNET_FIELD_ENUM)
#undef NSNET_FIELD_ENUM
  kStride
};
}  // namespace fdfield

// Writes the fd of namespace `path` as a u32 at `offset` of the message
// (IFLA_NET_NS_FD): lets a veth peer be born inside its sandbox.
struct FdPatch {
  uint32_t offset = 0;
  std::string path;
  uint64_t ino = 0;
};

// Writes, as a u32 at `offset`, the ifindex of the link that the request
// `back` places earlier in the same job created and echoed (NLM_F_ECHO). A
// join then goes in one crossing without knowing the new interface's index
// in advance (any namespace, also one nsnet did not make). linkPatches is
// flat, two numbers per patch: [offset, back, ...].
struct LinkPatch {
  uint32_t offset = 0;
  uint32_t back = 0;
};

struct Request {
  Kind kind = Kind::Noop;
  std::string op;
  std::string ns;
  uint64_t nsIno = 0;
  std::vector<uint8_t> msg;
  std::vector<FdPatch> fds;
  std::string arg1, arg2;
  std::vector<LinkPatch> links;
};

struct Result {
  NlError err;
  bool canceled = false;
  std::vector<uint8_t> data;  // Rtnl replies, verbatim
  std::string str;            // created path, sysctl value
  uint64_t ino = 0;
  // A compound request's failing step: its error names that step's op and namespace.
  struct Step {
    std::string op, ns;
  };
  std::optional<Step> step;
  uint32_t steps = 0;          // kernel requests a compound request ran (stats count those)
};

// What a lane thread brings to each request.
struct LaneContext {
  int lane = 0;
  ThreadHome home;
  NsRegistry* registry = nullptr;
  bool stranded = false;  // set when the thread could not return home
  bool mayEnter = true;   // false on the JS thread: never switch namespaces
  // Namespaces already checked (path re-stat'ed) in the current job: a
  // crossing checks each once, not once per request.
  std::vector<std::shared_ptr<NsEntry>> checked;
  NlError entry(const std::string& path, uint64_t expectIno, std::shared_ptr<NsEntry>& out);
};

// Fills req's link patches from the results of earlier requests of the job
// (results[0..index)); an error if a source failed or echoed no veth.
NlError applyLinkPatches(Request& req, const std::vector<Result>& results, size_t index);

void execute(LaneContext& ctx, Request& req, Result& res);

// The ifindex of the link in the first RTM_NEWLINK of an echoed reply, or 0.
uint32_t echoedIndex(const std::vector<uint8_t>& data);

// A key under net/ipv6/conf/ (and then under `under`, e.g. "all/"): opened
// from the namespace's directory when kept open (NsEntry::ipv6Conf), with no
// namespace switch.
bool isIpv6ConfKey(const std::string& key, const char* under = "");

}  // namespace nsnet
