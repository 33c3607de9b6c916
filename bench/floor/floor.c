/*
 * The kernel's floor for an endpoint, for bench/run.ts: the minimum request
 * sequence a bridge join needs, on rtnetlink sockets opened once per
 * namespace and kept, timed inside this process (no IPC, no JS, no store).
 *
 *   create+join: RTM_NEWLINK veth from the host side, the host end with
 *                IFLA_MASTER and IFF_UP, the peer born in the namespace under
 *                its final name (IFLA_NET_NS_FD), reply echoed for the peer's
 *                index; then in the namespace: peer up, address, default
 *                route. Four requests, each acknowledged.
 *   leave+delete: RTM_DELLINK of the host end, synchronous (the kernel's
 *                own wait for RCU included).
 *
 * `floor BRIDGE [QUEUES [host-ipv6-off]]`: with QUEUES, both ends are created
 * with that many transmit and receive queues (IFLA_NUM_TX/RX_QUEUES), as
 * nsnet creates its veths (one); without, the kernel's default (one per CPU,
 * cut to one active after each end registers, each cut an expedited RCU grace
 * period). With host-ipv6-off, a join is the one nsnet makes, four requests
 * and a sysctl write (vethSandboxSide): a host end that never has IPv6 adds
 * nothing to the host's IPv6 tables, which every later link event walks.
 *
 * Driven over stdin/stdout, one command per line, one answer line each:
 *   mkns [NSID]           a namespace this process unshares itself -> "ok ID";
 *                        with NSID, also given that ID in the host (RTM_NEWNSID),
 *                        as nsnet numbers its sandboxes' namespaces
 *   ns PATH               a namespace made by someone else, by path -> "ok ID"
 *   cj ID IF CIDR GW|-    create+join (route only with a gateway) -> "ok NS HOST"
 *   ld HOST               leave+delete -> "ok NS"
 *   cjs N (ID IF CIDR GW|-)xN  N create+joins back to back, timed as one
 *                        (the kernel's follow-up work on earlier joins runs
 *                        within it, as it must at a sustained rate)
 *                        -> "ok NS HOST1 .. HOSTN"
 *   churn ID CIDR GW MS   sequential cj+ld for MS ms -> "ok CYCLES NS"
 *   quit
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/mount.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAXNS 4096
#define MAXSEQ 128 /* joins in one cjs command */

struct ns {
  int fd;   /* namespace handle (O_CLOEXEC) */
  int sock; /* rtnetlink socket inside it */
};

static struct ns spaces[MAXNS];
static int nspaces;
static int hostSock;
static int homeFd;
static int bridgeIndex;
static int queues; /* 0: the kernel's default */
static int hostIpv6Off; /* nsnet's join shape: see the top */
static unsigned seq;
static unsigned counter;

static uint64_t nowNs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int nlOpen(void) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return -1;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(s, (struct sockaddr*)&sa, sizeof sa) < 0) {
    close(s);
    return -1;
  }
  int one = 1;
  setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return s;
}

struct req {
  struct nlmsghdr h;
  char body[1024];
};

static void *tail(struct req *r) { return (char *)r + NLMSG_ALIGN(r->h.nlmsg_len); }

static void attr(struct req *r, int type, const void *data, int len) {
  struct rtattr *a = tail(r);
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static struct rtattr *nestStart(struct req *r, int type) {
  struct rtattr *a = tail(r);
  attr(r, type, NULL, 0);
  return a;
}

static void nestEnd(struct req *r, struct rtattr *a) { a->rta_len = (char *)tail(r) - (char *)a; }

/* Sends one request and reads to its ack; with `echo`, returns the echoed link's IFLA_LINK (and its own index in echoIndex). */
static int echoIndex;
static int talk(int s, struct req *r, int *echoLink) {
  r->h.nlmsg_seq = ++seq;
  r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  if (send(s, r, r->h.nlmsg_len, 0) < 0) return -errno;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n < 0) return -errno;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (h->nlmsg_type == RTM_NEWLINK && echoLink) {
        struct ifinfomsg *ifi = NLMSG_DATA(h);
        echoIndex = ifi->ifi_index;
        int len = IFLA_PAYLOAD(h);
        for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
          if (a->rta_type == IFLA_LINK) memcpy(echoLink, RTA_DATA(a), 4);
      }
    }
  }
}

static void begin(struct req *r, int type, int flags, int hdr) {
  memset(r, 0, sizeof *r);
  r->h.nlmsg_type = type;
  r->h.nlmsg_flags = flags;
  r->h.nlmsg_len = NLMSG_LENGTH(hdr);
}

static int linkUp(int s, int index) {
  struct req r;
  begin(&r, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
  struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
  ifi->ifi_index = index;
  ifi->ifi_flags = ifi->ifi_change = IFF_UP;
  return talk(s, &r, NULL);
}

static int linkIndex(const char *name) {
  struct req r;
  begin(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
  attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  r.h.nlmsg_seq = ++seq;
  r.h.nlmsg_flags |= NLM_F_REQUEST;
  if (send(hostSock, &r, r.h.nlmsg_len, 0) < 0) return -1;
  char buf[16384];
  ssize_t n = recv(hostSock, buf, sizeof buf, 0);
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  if (n < 0 || !NLMSG_OK(h, (size_t)n) || h->nlmsg_type != RTM_NEWLINK) return -1;
  return ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
}

/* Opens a socket inside the namespace `fd`, and comes home. */
static int addSpace(int fd) {
  if (nspaces >= MAXNS || setns(fd, CLONE_NEWNET) < 0) return -1;
  int s = nlOpen();
  if (setns(homeFd, CLONE_NEWNET) < 0) exit(3); /* never stay in a foreign namespace */
  if (s < 0) return -1;
  spaces[nspaces].fd = fd;
  spaces[nspaces].sock = s;
  return nspaces++;
}

/*
 * As nsnet reaches sysctls inside namespaces: through a private procfs
 * instance renewed every 32 lookups (native/proc_mount.h), not the host's
 * /proc, whose lookup of /proc/sys/net walks an entry per namespace.
 */
static int procRoot(void) {
  static int root = -1, uses = 0;
  if (root >= 0 && uses < 32) {
    uses++;
    return root;
  }
  if (root >= 0) close(root);
  root = -1;
  uses = 1;
  int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
  if (fs < 0) return -1;
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) root = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  close(fs);
  return root;
}

/* Gives the namespace `fd` the ID `nsid` in the host. */
static int setNsid(int fd, int nsid) {
  struct req r;
  begin(&r, RTM_NEWNSID, 0, sizeof(struct rtgenmsg));
  ((struct rtgenmsg *)NLMSG_DATA(&r.h))->rtgen_family = AF_UNSPEC;
  attr(&r, NETNSA_NSID, &nsid, 4);
  attr(&r, NETNSA_FD, &fd, 4);
  return talk(hostSock, &r, NULL);
}

/*
 * The host end's IPv6 off before it is up, as nsnet does (native/veth_join.cc):
 * from the host's net/ipv6/conf directory, opened once.
 */
static int hostConf = -1;
static int hostIpv6Disable(const char *host) {
  char path[64];
  snprintf(path, sizeof path, "%s/disable_ipv6", host);
  int fd = openat(hostConf, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int e = write(fd, "1", 1) == 1 ? 0 : -errno;
  close(fd);
  return e;
}

static int makeSpace(void) {
  if (unshare(CLONE_NEWNET) < 0) return -1;
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  /* As nsnet's own namespaces: interfaces start without IPv6, loopback up. */
  int root = procRoot();
  int sys = root >= 0 ? openat(root, "sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC)
                      : open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
  if (sys >= 0) {
    if (write(sys, "1", 1) < 0) { /* an IPv6-less kernel: nothing to turn off */ }
    close(sys);
  }
  int s = nlOpen();
  if (s >= 0) linkUp(s, 1);
  if (s >= 0) close(s);
  if (setns(homeFd, CLONE_NEWNET) < 0) exit(3);
  return fd < 0 ? -1 : addSpace(fd);
}

static int parseCidr(const char *cidr, struct in_addr *a, int *bits) {
  char ip[64];
  const char *slash = strchr(cidr, '/');
  if (!slash || (size_t)(slash - cidr) >= sizeof ip) return -1;
  memcpy(ip, cidr, slash - cidr);
  ip[slash - cidr] = 0;
  *bits = atoi(slash + 1);
  return inet_pton(AF_INET, ip, a) == 1 ? 0 : -1;
}

static void queueAttrs(struct req *r) {
  if (!queues) return;
  attr(r, IFLA_NUM_TX_QUEUES, &queues, 4);
  attr(r, IFLA_NUM_RX_QUEUES, &queues, 4);
}

/* A veth `name`, up, whose peer `peerName` is born in the namespace `peerNsFd`, reply echoed. */
static void vethMessage(struct req *r, const char *name, const char *peerName, int peerNsFd) {
  begin(r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, sizeof(struct ifinfomsg));
  struct ifinfomsg *ifi = NLMSG_DATA(&r->h);
  ifi->ifi_flags = ifi->ifi_change = IFF_UP;
  attr(r, IFLA_IFNAME, name, strlen(name) + 1);
  queueAttrs(r);
  struct rtattr *info = nestStart(r, IFLA_LINKINFO);
  attr(r, IFLA_INFO_KIND, "veth", 5);
  struct rtattr *data = nestStart(r, IFLA_INFO_DATA);
  struct rtattr *peer = nestStart(r, VETH_INFO_PEER);
  r->h.nlmsg_len += sizeof(struct ifinfomsg);
  attr(r, IFLA_IFNAME, peerName, strlen(peerName) + 1);
  attr(r, IFLA_NET_NS_FD, &peerNsFd, 4);
  queueAttrs(r);
  nestEnd(r, peer);
  nestEnd(r, data);
  nestEnd(r, info);
}

/* The veth, its host end enslaved and up in the same request (the floor's shape): answers the peer's index. */
static int vethHostSide(struct ns *sp, const char *ifname, const char *host, int *peerIndex) {
  struct req r;
  vethMessage(&r, host, ifname, sp->fd);
  attr(&r, IFLA_MASTER, &bridgeIndex, 4);
  int e = talk(hostSock, &r, peerIndex);
  if (e) return e;
  if (!*peerIndex) return -EPROTO;
  return linkUp(sp->sock, *peerIndex);
}

/*
 * nsnet's shape (host-ipv6-off): the veth created from the namespace's side,
 * its end there born up (a peer cannot be: it has no peer yet while created),
 * the host end born in the host, down and outside the bridge; then the host
 * end's IPv6 off, then the host end enslaved and up. Answers the namespace
 * end's index.
 */
static int vethSandboxSide(struct ns *sp, const char *ifname, const char *host, int *index) {
  struct req r;
  vethMessage(&r, ifname, host, homeFd);
  int hostIndex = 0;
  echoIndex = 0;
  int e = talk(sp->sock, &r, &hostIndex);
  if (e) return e;
  if (!hostIndex || !echoIndex) return -EPROTO;
  *index = echoIndex;
  if ((e = hostIpv6Disable(host))) return e;
  begin(&r, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
  struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
  ifi->ifi_index = hostIndex;
  ifi->ifi_flags = ifi->ifi_change = IFF_UP;
  attr(&r, IFLA_MASTER, &bridgeIndex, 4);
  return talk(hostSock, &r, NULL);
}

static int createJoin(struct ns *sp, const char *ifname, const char *cidr, const char *gw, char *host) {
  /* Unique across floor processes run side by side (one per bridge at scale). */
  snprintf(host, IFNAMSIZ, "nsfl%x.%x", (unsigned)getpid() & 0xffff, counter++);
  int index = 0;
  int e = hostIpv6Off ? vethSandboxSide(sp, ifname, host, &index) : vethHostSide(sp, ifname, host, &index);
  if (e) return e;
  struct req r;
  struct in_addr a;
  int bits;
  if (parseCidr(cidr, &a, &bits)) return -EINVAL;
  begin(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
  struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = bits;
  ifa->ifa_index = index;
  attr(&r, IFA_LOCAL, &a, 4);
  attr(&r, IFA_ADDRESS, &a, 4);
  if ((e = talk(sp->sock, &r, NULL))) return e;
  if (strcmp(gw, "-") == 0) return 0;
  struct in_addr g;
  if (inet_pton(AF_INET, gw, &g) != 1) return -EINVAL;
  begin(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
  struct rtmsg *rt = NLMSG_DATA(&r.h);
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  attr(&r, RTA_GATEWAY, &g, 4);
  attr(&r, RTA_OIF, &index, 4);
  return talk(sp->sock, &r, NULL);
}

static int deleteLink(const char *host) {
  struct req r;
  begin(&r, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
  attr(&r, IFLA_IFNAME, host, strlen(host) + 1);
  return talk(hostSock, &r, NULL);
}

static struct ns *space(const char *id) {
  int i = atoi(id);
  return i >= 0 && i < nspaces ? &spaces[i] : NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4 || (argc == 4 && strcmp(argv[3], "host-ipv6-off"))) {
    fprintf(stderr, "usage: floor BRIDGE [QUEUES [host-ipv6-off]]\n");
    return 2;
  }
  if (argc >= 3) queues = atoi(argv[2]);
  hostIpv6Off = argc == 4;
  hostConf = open("/proc/sys/net/ipv6/conf", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (hostIpv6Off && hostConf < 0) {
    fprintf(stderr, "floor: host-ipv6-off needs IPv6 (/proc/sys/net/ipv6/conf)\n");
    return 1;
  }
  homeFd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  hostSock = nlOpen();
  if (homeFd < 0 || hostSock < 0) return 1;
  bridgeIndex = linkIndex(argv[1]);
  if (bridgeIndex <= 0) {
    fprintf(stderr, "floor: no bridge %s\n", argv[1]);
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  static char line[16384];
  while (fgets(line, sizeof line, stdin)) {
    char *w[2 + 4 * MAXSEQ] = {0};
    int n = 0;
    for (char *t = strtok(line, " \n"); t && n < (int)(sizeof w / sizeof *w); t = strtok(NULL, " \n")) w[n++] = t;
    if (!n) continue;
    if (!strcmp(w[0], "quit")) break;
    if (!strcmp(w[0], "mkns") && n <= 2) {
      int id = makeSpace();
      int e = id < 0 ? (errno ? errno : EINVAL) : n == 2 ? -setNsid(spaces[id].fd, atoi(w[1])) : 0;
      if (e && id >= 0) {
        /* not numbered: not kept either (it is the last one made) */
        close(spaces[id].sock);
        close(spaces[id].fd);
        nspaces--;
      }
      if (e) printf("err %d\n", e);
      else printf("ok %d\n", id);
    } else if (!strcmp(w[0], "ns") && n == 2) {
      int fd = open(w[1], O_RDONLY | O_CLOEXEC);
      int id = fd < 0 ? -1 : addSpace(fd);
      if (id < 0) printf("err %d\n", errno);
      else printf("ok %d\n", id);
    } else if (!strcmp(w[0], "cj") && n == 5 && space(w[1])) {
      char host[IFNAMSIZ];
      uint64_t t = nowNs();
      int e = createJoin(space(w[1]), w[2], w[3], w[4], host);
      t = nowNs() - t;
      if (e) printf("err %d\n", -e);
      else printf("ok %llu %s\n", (unsigned long long)t, host);
    } else if (!strcmp(w[0], "cjs") && n >= 2 && atoi(w[1]) > 0 && atoi(w[1]) <= MAXSEQ && n == 2 + 4 * atoi(w[1])) {
      int count = atoi(w[1]), e = 0, done = 0;
      static char hosts[MAXSEQ][IFNAMSIZ];
      for (int i = 0; i < count; i++)
        if (!space(w[2 + 4 * i])) e = -EINVAL;
      uint64_t t = nowNs();
      for (; !e && done < count; done++) {
        char **j = &w[2 + 4 * done];
        e = createJoin(space(j[0]), j[1], j[2], j[3], hosts[done]);
      }
      t = nowNs() - t;
      if (e) {
        /* all or nothing, so the caller has no half-made batch to clean up
           (the failed join's own veth too, if it got that far) */
        for (int i = 0; i < done; i++) deleteLink(hosts[i]);
        printf("err %d\n", -e);
      } else {
        printf("ok %llu", (unsigned long long)t);
        for (int i = 0; i < count; i++) printf(" %s", hosts[i]);
        printf("\n");
      }
    } else if (!strcmp(w[0], "ld") && n == 2) {
      uint64_t t = nowNs();
      int e = deleteLink(w[1]);
      t = nowNs() - t;
      if (e) printf("err %d\n", -e);
      else printf("ok %llu\n", (unsigned long long)t);
    } else if (!strcmp(w[0], "churn") && n == 5 && space(w[1])) {
      uint64_t t0 = nowNs(), end = t0 + (uint64_t)atoll(w[4]) * 1000000u;
      unsigned cycles = 0;
      int e = 0;
      char host[IFNAMSIZ];
      while (!e && nowNs() < end) {
        e = createJoin(space(w[1]), "eth0", w[2], w[3], host);
        if (!e) e = deleteLink(host);
        cycles++;
      }
      if (e) printf("err %d\n", -e);
      else printf("ok %u %llu\n", cycles, (unsigned long long)(nowNs() - t0));
    } else {
      printf("err %d\n", EINVAL);
    }
  }
  for (int i = 0; i < nspaces; i++) {
    close(spaces[i].sock);
    close(spaces[i].fd);
  }
  return 0;
}
