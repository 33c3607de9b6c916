#include "veth_join.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <string.h>

#include <string>

namespace nsnet {

namespace {

// What src/netlink/message.ts's MessageBuilder writes: a header whose length
// is set at the end, then 4-byte aligned structs and attributes, padding zeroed.
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags) : b_(NLMSG_HDRLEN, 0) {
    put16(4, type);
    put16(6, flags | NLM_F_REQUEST);
  }
  size_t raw(const void* p, size_t n) {
    size_t at = b_.size();
    b_.resize(at + NLMSG_ALIGN(n), 0);
    memcpy(b_.data() + at, p, n);
    return at;
  }
  // Returns where the payload went.
  size_t attr(uint16_t type, const void* p, size_t n) {
    size_t at = b_.size();
    b_.resize(at + RTA_ALIGN(RTA_LENGTH(n)), 0);
    put16(at, static_cast<uint16_t>(RTA_LENGTH(n)));
    put16(at + 2, type);
    if (n) memcpy(b_.data() + at + RTA_LENGTH(0), p, n);
    return at + RTA_LENGTH(0);
  }
  size_t u32(uint16_t type, uint32_t v) { return attr(type, &v, 4); }
  void str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  size_t begin(uint16_t type) { return attr(type, nullptr, 0) - RTA_LENGTH(0); }
  void end(size_t start) { put16(start, static_cast<uint16_t>(b_.size() - start)); }
  std::vector<uint8_t> done() {
    uint32_t len = static_cast<uint32_t>(b_.size());
    memcpy(b_.data(), &len, 4);
    return std::move(b_);
  }

 private:
  void put16(size_t at, uint16_t v) { memcpy(b_.data() + at, &v, 2); }
  std::vector<uint8_t> b_;
};

// The index the later requests carry until the addon fills in the echoed one
// (the bridge driver's placeholder: an address request refuses index 0).
constexpr uint32_t kPlaceholderIndex = 1;

uint32_t u32At(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v;
  memcpy(&v, b.data() + at, 4);
  return v;
}

// JavaScript's \s beyond ASCII (checkIfName refuses them).
bool unicodeSpace(uint32_t cp) {
  return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
}

// As checkIfName (src/netlink/validate.ts): what the kernel refuses, `%`,
// which it would expand to a free number (a name nobody asked for), and
// every character JavaScript counts as white space.
bool validIfName(const std::string& n) {
  if (n.empty() || n.size() >= IFNAMSIZ || n == "." || n == "..") return false;
  for (size_t i = 0; i < n.size();) {
    const unsigned char c = static_cast<unsigned char>(n[i]);
    if (c < 0x80) {
      if (c <= 0x20 || c == 0x7f || c == '/' || c == ':' || c == '%') return false;
      ++i;
      continue;
    }
    // A UTF-8 sequence: its code point, for the white-space check.
    const size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (!len || i + len > n.size()) return false;
    uint32_t cp = c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(n[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (unicodeSpace(cp)) return false;
    i += len;
  }
  return true;
}

constexpr uint32_t kKnownFlags = 0
#define NSNET_VJ_FLAG_BIT(name, bit) | (bit)
    NSNET_VETH_JOIN_FLAGS(NSNET_VJ_FLAG_BIT)
#undef NSNET_VJ_FLAG_BIT
    ;

Request rtnl(std::string op, const std::string& ns, uint64_t ino, std::vector<uint8_t> msg) {
  Request r;
  r.kind = Kind::Rtnl;
  r.op = std::move(op);
  r.ns = ns;
  r.nsIno = ino;
  r.msg = std::move(msg);
  return r;
}

std::string ipv4Text(const uint8_t* a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, a, buf, sizeof buf) ? buf : "?";
}

}  // namespace

NlError expandVethJoin(const Request& req, std::vector<Request>& out) {
  using namespace vethjoin;
  if (req.msg.size() != kSize)
    return NlError::of(EINVAL, req.op, "veth join: a parameter block of " + std::to_string(kSize) + " bytes, not " +
                                           std::to_string(req.msg.size()));
  const std::string& name = req.arg1;
  const std::string& host = req.arg2;
  for (const std::string* n : {&name, &host})
    if (!validIfName(*n)) return NlError::of(EINVAL, req.op, "veth join: invalid interface name '" + *n + "'");
  const uint32_t flags = u32At(req.msg, vethjoin::flags);
  if (flags & ~kKnownFlags) return NlError::of(EINVAL, req.op, "veth join: unknown flags");
  // The host end's namespace is the lane's home; nothing else is patched in.
  if (!req.fds.empty() || !req.links.empty()) return NlError::of(EINVAL, req.op, "veth join: takes no fd or link patches");
  const uint32_t mtu = u32At(req.msg, vethjoin::mtu);
  const uint8_t* p = req.msg.data();
  if ((flags & flag::gateway4) && !(flags & flag::address4))
    return NlError::of(EINVAL, req.op, "veth join: a default route needs the address");
  const uint32_t prefix = u32At(req.msg, prefix4);
  if ((flags & flag::address4) && prefix > 32) return NlError::of(EINVAL, req.op, "veth join: invalid IPv4 prefix length");
  out.clear();

  // 1. The veth.
  Msg veth(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO);
  ifinfomsg ifi{};
  if (flags & flag::up) ifi.ifi_flags = ifi.ifi_change = IFF_UP;
  veth.raw(&ifi, sizeof ifi);
  veth.str(IFLA_IFNAME, name);
  if (flags & flag::mtu) veth.u32(IFLA_MTU, mtu);
  if (flags & flag::mac) veth.attr(IFLA_ADDRESS, p + vethjoin::mac, 6);
  veth.u32(IFLA_NUM_TX_QUEUES, 1);
  veth.u32(IFLA_NUM_RX_QUEUES, 1);
  size_t info = veth.begin(IFLA_LINKINFO);
  veth.str(IFLA_INFO_KIND, "veth");
  size_t data = veth.begin(IFLA_INFO_DATA);
  size_t peer = veth.begin(VETH_INFO_PEER);
  ifinfomsg none{};
  veth.raw(&none, sizeof none);
  veth.str(IFLA_IFNAME, host);
  if (flags & flag::mtu) veth.u32(IFLA_MTU, mtu);
  veth.attr(IFLA_ADDRESS, p + hostMac, 6);
  veth.u32(IFLA_GROUP, u32At(req.msg, group));
  veth.u32(IFLA_NUM_TX_QUEUES, 1);
  veth.u32(IFLA_NUM_RX_QUEUES, 1);
  size_t fdAt = veth.u32(IFLA_NET_NS_FD, 0);
  veth.end(peer);
  veth.end(data);
  veth.end(info);
  out.push_back(rtnl("linkAdd veth " + name, req.ns, req.nsIno, veth.done()));
  // The host end is born in the lane's home namespace ("" is home).
  out.back().fds.push_back(FdPatch{static_cast<uint32_t>(fdAt), std::string(), 0});

  // 2. No IPv6 on the host end, before it is up.
  if (flags & flag::hostIpv6Off) {
    Request r;
    r.kind = Kind::SysctlWrite;
    r.arg1 = "net/ipv6/conf/" + host + "/disable_ipv6";
    r.arg2 = "1";
    r.op = "sysctlSet " + r.arg1;
    out.push_back(std::move(r));
  }

  // 3. Enslaved and up.
  Msg set(RTM_NEWLINK, 0);
  ifinfomsg up{};
  up.ifi_flags = up.ifi_change = IFF_UP;
  set.raw(&up, sizeof up);
  set.str(IFLA_IFNAME, host);
  set.u32(IFLA_MASTER, u32At(req.msg, master));
  out.push_back(rtnl("linkSet " + host, std::string(), 0, set.done()));

  if (!(flags & flag::address4)) return NlError::none();
  // 4. The address, on the index the veth's echo gives.
  const uint8_t* a = p + address4;
  Msg addr(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<uint8_t>(prefix);
  ifa.ifa_flags = IFA_F_PERMANENT;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = kPlaceholderIndex;
  addr.raw(&ifa, sizeof ifa);
  addr.attr(IFA_LOCAL, a, 4);
  addr.attr(IFA_ADDRESS, a, 4);
  addr.u32(IFA_FLAGS, IFA_F_PERMANENT);
  if (prefix < 31) {
    uint32_t ip;
    memcpy(&ip, a, 4);
    uint32_t host = prefix == 0 ? 0xffffffffu : (0xffffffffu >> prefix);
    uint32_t bcast = ip | htonl(host);
    addr.attr(IFA_BROADCAST, &bcast, 4);
  }
  out.push_back(rtnl("addrAdd " + ipv4Text(a) + "/" + std::to_string(prefix), req.ns, req.nsIno, addr.done()));
  out.back().links.push_back(LinkPatch{NLMSG_HDRLEN + offsetof(ifaddrmsg, ifa_index), static_cast<uint32_t>(out.size() - 1)});

  if (!(flags & flag::gateway4)) return NlError::none();
  // 5. The default route through the gateway, out of that index.
  Msg route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg rtm{};
  rtm.rtm_family = AF_INET;
  rtm.rtm_table = RT_TABLE_MAIN;
  rtm.rtm_protocol = RTPROT_STATIC;
  rtm.rtm_scope = RT_SCOPE_UNIVERSE;
  rtm.rtm_type = RTN_UNICAST;
  route.raw(&rtm, sizeof rtm);
  route.attr(RTA_GATEWAY, p + gateway4, 4);
  size_t oif = route.u32(RTA_OIF, kPlaceholderIndex);
  out.push_back(rtnl("routeAdd default", req.ns, req.nsIno, route.done()));
  out.back().links.push_back(LinkPatch{static_cast<uint32_t>(oif), static_cast<uint32_t>(out.size() - 1)});
  return NlError::none();
}

void runVethJoin(LaneContext& ctx, Request& req, Result& res) {
  std::vector<Request> steps;
  res.err = expandVethJoin(req, steps);
  if (!res.err.ok()) return;
  std::vector<Result> results(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    Result& r = results[i];
    r.err = applyLinkPatches(steps[i], results, i);
    if (r.err.ok()) {
      execute(ctx, steps[i], r);
      ++res.steps;
    }
    if (!r.err.ok()) {
      res.err = std::move(r.err);
      res.step = Result::Step{steps[i].op, steps[i].ns};
      break;
    }
  }
  res.data = std::move(results[0].data);
}

}  // namespace nsnet
