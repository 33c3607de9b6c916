#include "netlink_socket.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace nsnet {

namespace {
constexpr int kDumpRetries = 10;
constexpr size_t kRxSize = 256 * 1024;

// Pulls NLMSGERR_ATTR_MSG out of an error message's trailing TLVs.
std::string extackOf(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);
  // Without NETLINK_CAP_ACK the original request follows the nlmsgerr.
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
  const uint8_t* base = reinterpret_cast<const uint8_t*>(h);
  while (off + NLA_HDRLEN <= h->nlmsg_len) {
    auto* a = reinterpret_cast<const nlattr*>(base + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* s = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
      return std::string(s, strnlen(s, a->nla_len - NLA_HDRLEN));
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return {};
}
}  // namespace

NetlinkSocket::~NetlinkSocket() {
  if (fd_ >= 0) ::close(fd_);
}

NlError NetlinkSocket::open() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return NlError::of(errno, "socket");
  int one = 1;
  int rcv = 1 << 20;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  ::setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    int e = errno;
    ::close(fd);
    return NlError::of(e, "bind");
  }
  fd_ = fd;
  return NlError::none();
}

NlError NetlinkSocket::request(std::vector<uint8_t>& msg, std::vector<uint8_t>& replies,
                               const char* op) {
  for (int attempt = 0; attempt < kDumpRetries; ++attempt) {
    bool interrupted = false;
    size_t mark = replies.size();
    NlError e = requestOnce(msg, replies, op, interrupted);
    if (!e.ok() || !interrupted) return e;
    replies.resize(mark);
  }
  return NlError::of(EINTR, op, "dump kept being interrupted by concurrent changes");
}

NlError NetlinkSocket::requestOnce(std::vector<uint8_t>& msg, std::vector<uint8_t>& replies,
                                   const char* op, bool& interrupted) {
  if (msg.size() < NLMSG_HDRLEN) return NlError::of(EINVAL, op, "message shorter than a netlink header");
  auto* hdr = reinterpret_cast<nlmsghdr*>(msg.data());
  hdr->nlmsg_len = static_cast<uint32_t>(msg.size());
  hdr->nlmsg_seq = ++seq_;
  hdr->nlmsg_pid = 0;
  hdr->nlmsg_flags |= NLM_F_REQUEST;
  const bool dump = (hdr->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (!dump) hdr->nlmsg_flags |= NLM_F_ACK;
  const uint32_t seq = hdr->nlmsg_seq;

  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return NlError::of(errno, "sendto");

  // One receive buffer per lane thread, not per socket: a socket is cached
  // for every live namespace, and 256 KiB each would add up.
  thread_local std::vector<uint8_t> rx(kRxSize);
  for (;;) {
    do {
      n = ::recv(fd_, rx.data(), rx.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return NlError::of(errno, "recv");
    size_t len = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(rx.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;  // a late reply to an abandoned request
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h->nlmsg_type == NLMSG_DONE) return NlError::none();
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return NlError::none();
        return NlError::of(-e->error, op, extackOf(h));
      }
      const uint8_t* p = reinterpret_cast<const uint8_t*>(h);
      replies.insert(replies.end(), p, p + h->nlmsg_len);
      replies.resize(replies.size() + (NLMSG_ALIGN(h->nlmsg_len) - h->nlmsg_len), 0);
    }
  }
}

}  // namespace nsnet
