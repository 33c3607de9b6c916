// One bridge join as one request (Kind::VethJoin). A joinMany of 32 built
// some 136 messages in JS on a cold cache (about 35 µs a join) and handed
// each over as its own request; here the JS side hands over one small block
// of parameters per join and the lane builds the messages itself.
//
// The request expands into the requests src/netlink's builders make for the
// same join, in the same order, byte for byte (test/wire.test.ts holds the
// two against each other through expandRequest):
//   1. the veth, from the sandbox: the container end born there under its
//      name (up or not), the host end born in the lane's home namespace,
//      one queue each way, with the creating request echoed;
//   2. disable_ipv6 on the host end (optional);
//   3. the host end enslaved and up;
//   4. the container end's IPv4 address (optional);
//   5. the IPv4 default route through it (optional, needs 4).
// They run in order and stop at the first failure, which is the request's
// answer, under that step's own name (a failed join then knows whether the
// veth exists). The answer otherwise is the container end's index (0 if the
// kernel echoed none), and a later request of the job can take that index
// from it (LinkPatch), as from the veth's echo.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "request.h"

namespace nsnet {

// The parameter block (Request::msg), little-endian, fixed size; the names
// are the container end's (arg1) and the host end's (arg2).
// src/netlink/veth-join.ts writes it; the addon exports the layout.
#define NSNET_VETH_JOIN_FIELDS(X) \
  X(flags, 0)                     \
  X(mtu, 4)                       \
  X(group, 8)                     \
  X(master, 12)                   \
  X(mac, 16)                      \
  X(hostMac, 22)                  \
  X(address4, 28)                 \
  X(prefix4, 32)                  \
  X(gateway4, 36)
#define NSNET_VETH_JOIN_FLAGS(X) \
  X(up, 1)                       \
  X(mac, 2)                      \
  X(mtu, 4)                      \
  X(hostIpv6Off, 8)              \
  X(address4, 16)                \
  X(gateway4, 32)

namespace vethjoin {
enum Offset : size_t {
#define NSNET_VJ_OFFSET(name, at) name = at,
  NSNET_VETH_JOIN_FIELDS(NSNET_VJ_OFFSET)
#undef NSNET_VJ_OFFSET
};
constexpr size_t kSize = 40;
// Kernel requests one VethJoin runs at most (what it weighs against the inline bound).
constexpr size_t kMaxSteps = 5;
namespace flag {
enum : uint32_t {
#define NSNET_VJ_FLAG(name, bit) name = bit,
  NSNET_VETH_JOIN_FLAGS(NSNET_VJ_FLAG)
#undef NSNET_VJ_FLAG
};
}  // namespace flag
}  // namespace vethjoin

// The requests a VethJoin stands for, in order; an error for a malformed one.
NlError expandVethJoin(const Request& req, std::vector<Request>& out);

// Runs them (execute() for each) and answers as described above.
void runVethJoin(LaneContext& ctx, Request& req, Result& res);

}  // namespace nsnet
