#include "request.h"

#include "nftables.h"
#include "veth_join.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <unistd.h>

namespace nsnet {

namespace {

bool validNsName(const std::string& n) {
  return !n.empty() && n.size() <= 255 && n != "." && n != ".." && n.find('/') == std::string::npos;
}

bool validSysctlKey(const std::string& k) {
  if (k.empty() || k.size() > 512 || k[0] == '/') return false;
  for (char c : k)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '.' || c == '@' ||
          c == ':'))
      return false;
  size_t start = 0;
  while (start <= k.size()) {
    size_t end = k.find('/', start);
    if (end == std::string::npos) end = k.size();
    std::string part = k.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// /proc/sys/net/ipv6/conf of the namespace the process started in, opened
// once. Every network namespace has its own entries of the same names under
// /proc/sys/net, and the kernel keeps them in one hash chain: a walk from
// /proc/sys costs a compare per namespace (~0.1 ms at 5,000). From this
// directory, a host link's entry is found at once.
constexpr char kIpv6Conf[] = "net/ipv6/conf/";

int hostIpv6ConfFd() {
  static const int fd = ::open("/proc/sys/net/ipv6/conf", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd;
}

// Opens the key from `confFd` (a net/ipv6/conf directory; the caller passes
// one only for a key under net/ipv6/conf/), else from `procFd` (the root of
// a private procfs instance, for a lookup from inside a namespace: see
// proc_mount.h), else from /proc.
NlError sysctlIo(const std::string& key, const std::string* value, std::string& out, int confFd, int procFd = -1) {
  std::string path = "/proc/sys/" + key;
  const int flags = (value ? O_WRONLY | O_TRUNC : O_RDONLY) | O_CLOEXEC;
  int fd = confFd >= 0   ? ::openat(confFd, key.c_str() + sizeof kIpv6Conf - 1, flags)
           : procFd >= 0 ? ::openat(procFd, path.c_str() + sizeof "/proc/" - 1, flags)
                         : ::open(path.c_str(), flags);
  if (fd < 0) return NlError::of(errno, "open", path);
  NlError e;
  if (value) {
    ssize_t n = ::write(fd, value->data(), value->size());
    if (n < 0) e = NlError::of(errno, "write", path);
  } else {
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) e = NlError::of(errno, "read", path);
    else {
      out.assign(buf, static_cast<size_t>(n));
      while (!out.empty() && (out.back() == '\n')) out.pop_back();
    }
  }
  ::close(fd);
  return e;
}

NlError runRtnl(LaneContext& ctx, Request& req, Result& res) {
  std::shared_ptr<NsEntry> target;
  NlError e = ctx.entry(req.ns, req.nsIno, target);
  if (!e.ok()) return e;
  // Hold the patched namespaces' entries until the request is answered.
  std::vector<std::shared_ptr<NsEntry>> held;
  for (auto& p : req.fds) {
    if (p.offset + 4 > req.msg.size()) return NlError::of(EINVAL, req.op, "fd patch outside the message");
    std::shared_ptr<NsEntry> other;
    e = ctx.entry(p.path, p.ino, other);
    if (!e.ok()) return e;
    uint32_t fd = static_cast<uint32_t>(other->fd);
    memcpy(req.msg.data() + p.offset, &fd, 4);
    held.push_back(std::move(other));
  }
  if (!ctx.mayEnter && !target->sock.isOpen())
    return NlError::of(EAGAIN, req.op, "network namespace " + req.ns + " was replaced while the request was prepared");
  e = ctx.registry->socketOf(*target, ctx.home, ctx.stranded);
  if (!e.ok()) return e;
  return target->sock.request(req.msg, res.data, req.op.c_str());
}

NlError runSysctl(LaneContext& ctx, Request& req, Result& res, bool write) {
  if (!validSysctlKey(req.arg1)) return NlError::of(EINVAL, req.op, "invalid sysctl key '" + req.arg1 + "'");
  const std::string* value = write ? &req.arg2 : nullptr;
  const bool ipv6 = isIpv6ConfKey(req.arg1);
  // The host's directory is opened on first use only (it stays open for good).
  if (req.ns.empty()) return sysctlIo(req.arg1, value, res.str, ipv6 ? hostIpv6ConfFd() : -1);
  std::shared_ptr<NsEntry> target;
  NlError e = ctx.entry(req.ns, req.nsIno, target);
  if (!e.ok()) return e;
  if (ipv6 && target->ipv6Conf >= 0) return sysctlIo(req.arg1, value, res.str, target->ipv6Conf);
  if (!ctx.mayEnter)
    return NlError::of(EAGAIN, req.op, "network namespace " + req.ns + " was replaced while the request was prepared");
  e = ctx.home.enter(target->fd);
  if (!e.ok()) return e;
  auto proc = ctx.registry->procMount(ctx.lane);
  // Kept for the namespace's later IPv6 sysctls when this one is an
  // interface's (those come one per join; `all` and `default` are set once
  // per namespace, and nsnet's own namespaces need no more). Without it (no
  // IPv6 in the kernel, say) they enter the namespace as this one did.
  if (target->ipv6Conf < 0 && ipv6 && !isIpv6ConfKey(req.arg1, "all/") && !isIpv6ConfKey(req.arg1, "default/"))
    target->ipv6Conf = proc ? ::openat(proc->fd(), "sys/net/ipv6/conf", O_PATH | O_DIRECTORY | O_CLOEXEC)
                            : ::open("/proc/sys/net/ipv6/conf", O_PATH | O_DIRECTORY | O_CLOEXEC);
  e = sysctlIo(req.arg1, value, res.str, ipv6 ? target->ipv6Conf : -1, proc ? proc->fd() : -1);
  if (!ctx.home.leave()) ctx.stranded = true;
  return e;
}

}  // namespace

uint32_t echoedIndex(const std::vector<uint8_t>& data) {
  size_t off = 0;
  while (off + NLMSG_HDRLEN <= data.size()) {
    auto* h = reinterpret_cast<const nlmsghdr*>(data.data() + off);
    if (h->nlmsg_len < NLMSG_HDRLEN || off + h->nlmsg_len > data.size()) return 0;
    if (h->nlmsg_type == RTM_NEWLINK && h->nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg))) {
      int32_t index;
      memcpy(&index, data.data() + off + NLMSG_HDRLEN + offsetof(ifinfomsg, ifi_index), 4);
      return index > 0 ? static_cast<uint32_t>(index) : 0;
    }
    off += NLMSG_ALIGN(h->nlmsg_len);
  }
  return 0;
}

bool isIpv6ConfKey(const std::string& key, const char* under) {
  const size_t n = sizeof kIpv6Conf - 1;
  return key.compare(0, n, kIpv6Conf) == 0 && key.compare(n, strlen(under), under) == 0;
}

NlError LaneContext::entry(const std::string& path, uint64_t expectIno, std::shared_ptr<NsEntry>& out) {
  for (auto& c : checked) {
    if (c->path != path) continue;
    if (expectIno && c->id.ino != expectIno)
      return NlError::of(ESTALE, "open", "network namespace " + path + " is not the namespace this handle was opened on "
                                         "(it was deleted or replaced)");
    out = c;
    return NlError::none();
  }
  NlError e = registry->get(lane, path, expectIno, out);
  if (e.ok()) checked.push_back(out);
  return e;
}

NlError applyLinkPatches(Request& req, const std::vector<Result>& results, size_t index) {
  for (auto& p : req.links) {
    if (p.back == 0 || p.back > index)
      return NlError::of(EINVAL, req.op, "link patch refers to no earlier request of the batch");
    const Result& src = results[index - p.back];
    if (!src.err.ok())
      return NlError::of(ECANCELED, req.op, "not run: the request that makes its link failed");
    uint32_t index = echoedIndex(src.data);
    if (!index) return NlError::of(EPROTO, req.op, "the request it depends on echoed no link");
    if (p.offset + 4 > req.msg.size()) return NlError::of(EINVAL, req.op, "link patch outside the message");
    memcpy(req.msg.data() + p.offset, &index, 4);
  }
  return NlError::none();
}

void execute(LaneContext& ctx, Request& req, Result& res) {
  switch (req.kind) {
    case Kind::Noop:
      return;
    case Kind::Rtnl:
      res.err = runRtnl(ctx, req, res);
      return;
    case Kind::NetnsCreate: {
      if (!validNsName(req.arg1)) {
        res.err = NlError::of(EINVAL, req.op, "invalid network namespace name '" + req.arg1 + "'");
        return;
      }
      NsId id;
      res.err = createNamedNs(ctx.home, req.ns, req.arg1, res.str, id, ctx.stranded);
      res.ino = id.ino;
      return;
    }
    case Kind::NetnsDelete:
      if (req.nsIno) {
        NsId id;
        res.err = statNs(req.ns, id);
        if (res.err.ok() && id.ino != req.nsIno)
          res.err = NlError::of(ESTALE, req.op, req.ns + " is no longer the namespace this handle refers to");
        if (!res.err.ok()) return;
      }
      ctx.registry->forget(req.ns);
      ctx.checked.clear();
      res.err = deleteNamedNs(req.ns);
      return;
    case Kind::NetnsInode: {
      NsId id;
      res.err = checkNetNs(req.ns);
      if (res.err.ok()) res.err = statNs(req.ns, id);
      res.ino = id.ino;
      return;
    }
    case Kind::SysctlRead:
      res.err = runSysctl(ctx, req, res, false);
      return;
    case Kind::SysctlWrite:
      res.err = runSysctl(ctx, req, res, true);
      return;
    case Kind::NetnsForget:
      ctx.registry->forget(req.ns);
      ctx.checked.clear();
      return;
    case Kind::NftRun:
      res.err = nftRun(req.arg1, res.str);
      return;
    case Kind::VethJoin:
      runVethJoin(ctx, req, res);
      return;
  }
  res.err = NlError::of(EINVAL, req.op, "unknown request kind");
}

}  // namespace nsnet
