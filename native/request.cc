#include "request.h"

#include "nftables.h"

#include <errno.h>
#include <fcntl.h>
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

NlError sysctlIo(const std::string& key, const std::string* value, std::string& out) {
  std::string path = "/proc/sys/" + key;
  int fd = ::open(path.c_str(), (value ? O_WRONLY | O_TRUNC : O_RDONLY) | O_CLOEXEC);
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
  NlError e = ctx.registry->get(ctx.lane, req.ns, req.nsIno, target);
  if (!e.ok()) return e;
  // Hold the patched namespaces' entries until the request is answered.
  std::vector<std::shared_ptr<NsEntry>> held;
  for (auto& p : req.fds) {
    if (p.offset + 4 > req.msg.size()) return NlError::of(EINVAL, req.op, "fd patch outside the message");
    std::shared_ptr<NsEntry> other;
    e = ctx.registry->get(ctx.lane, p.path, p.ino, other);
    if (!e.ok()) return e;
    uint32_t fd = static_cast<uint32_t>(other->fd);
    memcpy(req.msg.data() + p.offset, &fd, 4);
    held.push_back(std::move(other));
  }
  e = ctx.registry->socketOf(*target, ctx.home, ctx.stranded);
  if (!e.ok()) return e;
  return target->sock.request(req.msg, res.data, req.op.c_str());
}

NlError runSysctl(LaneContext& ctx, Request& req, Result& res, bool write) {
  if (!validSysctlKey(req.arg1)) return NlError::of(EINVAL, req.op, "invalid sysctl key '" + req.arg1 + "'");
  const std::string* value = write ? &req.arg2 : nullptr;
  if (req.ns.empty()) return sysctlIo(req.arg1, value, res.str);
  std::shared_ptr<NsEntry> target;
  NlError e = ctx.registry->get(ctx.lane, req.ns, req.nsIno, target);
  if (!e.ok()) return e;
  e = ctx.home.enter(target->fd);
  if (!e.ok()) return e;
  e = sysctlIo(req.arg1, value, res.str);
  if (!ctx.home.leave()) ctx.stranded = true;
  return e;
}

}  // namespace

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
      res.err = deleteNamedNs(req.ns);
      return;
    case Kind::NetnsInode: {
      NsId id;
      res.err = statNs(req.ns, id);
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
      return;
    case Kind::NftRun:
      res.err = nftRun(req.arg1, res.str);
      return;
  }
  res.err = NlError::of(EINVAL, req.op, "unknown request kind");
}

}  // namespace nsnet
