/*
 * The few system calls nsnet-cni makes, and its entry point, without a C
 * library. A runtime execs the plugin once per command, so its start is on
 * every ADD: a static glibc program spends about 2 ms before main on a VM
 * whose page faults are slow (measured: /bin/true 4.6 ms, a static glibc
 * `return 0` 3.3 ms, this 1.6 ms), most of it in the C library's own
 * start-up. On x86-64 the shim is therefore built freestanding (-nostdlib
 * -static, see binding.gyp); elsewhere these wrappers call libc (another
 * architecture needs only its sys3() and _start here, once it can be tested).
 *
 * Every call returns the result or -errno, as the kernel does.
 */
#ifndef NSNET_CNI_SYS_H
#define NSNET_CNI_SYS_H

#include <stddef.h>

struct cni_iovec {
  void *base;
  size_t len;
};

/* The kernel's struct msghdr (the hosted build copies it into libc's). */
struct cni_msghdr {
  void *name;
  unsigned namelen;
  struct cni_iovec *iov;
  size_t iovlen;
  void *control;
  size_t controllen;
  int flags;
};

/* The kernel's struct pollfd (the hosted build passes it to libc's poll). */
struct cni_pollfd {
  int fd;
  short events;
  short revents;
};
#define CNI_POLLIN 1
#define CNI_POLLOUT 4

/* The kernel's struct timespec on 64-bit targets. */
struct cni_timespec {
  long sec;
  long nsec;
};

#if defined(NSNET_CNI_FREESTANDING)

#include <asm/errno.h>
#include <asm/unistd.h>

#if defined(__x86_64__)
static inline long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
/* The kernel starts a process with argc, argv, envp on the stack. */
__asm__(".text\n.global _start\n_start:\n\txor %rbp, %rbp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall cni_start\n\thlt\n");
#else
#error "NSNET_CNI_FREESTANDING is for x86-64 only (other architectures build against libc)"
#endif

static inline long sys_read(int fd, void *buf, size_t n) { return sys3(__NR_read, fd, (long)buf, (long)n); }
static inline long sys_write(int fd, const void *buf, size_t n) { return sys3(__NR_write, fd, (long)buf, (long)n); }
static inline long sys_close(int fd) { return sys3(__NR_close, fd, 0, 0); }
static inline long sys_socket(int domain, int type, int proto) { return sys3(__NR_socket, domain, type, proto); }
static inline long sys_connect(int fd, const void *addr, unsigned len) { return sys3(__NR_connect, fd, (long)addr, len); }

static inline long sys_sendmsg(int fd, const struct cni_msghdr *m, int flags) { return sys3(__NR_sendmsg, fd, (long)m, flags); }
static inline long sys_poll(struct cni_pollfd *fds, unsigned long n, int timeout_ms) { return sys3(__NR_poll, (long)fds, (long)n, timeout_ms); }
static inline long sys_clock_ms(void) {
  struct cni_timespec ts = { 0, 0 };
  sys3(__NR_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&ts, 0);
  return ts.sec * 1000 + ts.nsec / 1000000;
}
static inline void __attribute__((noreturn)) sys_exit(int code) {
  for (;;) sys3(__NR_exit_group, code, 0, 0);
}

/* What the compiler may call on its own (struct copies and clears). */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);

#else /* hosted: the same calls through libc */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline long ret(long r) { return r < 0 ? -errno : r; }
static inline long sys_read(int fd, void *buf, size_t n) { return ret(read(fd, buf, n)); }
static inline long sys_write(int fd, const void *buf, size_t n) { return ret(write(fd, buf, n)); }
static inline long sys_close(int fd) { return ret(close(fd)); }
static inline long sys_socket(int domain, int type, int proto) { return ret(socket(domain, type, proto)); }
static inline long sys_connect(int fd, const void *addr, unsigned len) { return ret(connect(fd, (const struct sockaddr *)addr, len)); }
static inline long sys_sendmsg(int fd, const struct cni_msghdr *m, int flags) {
  struct msghdr h = { 0 };
  h.msg_iov = (struct iovec *)m->iov; /* same layout: base, len */
  h.msg_iovlen = m->iovlen;
  return ret(sendmsg(fd, &h, flags));
}
static inline long sys_poll(struct cni_pollfd *fds, unsigned long n, int timeout_ms) { return ret(poll((struct pollfd *)fds, n, timeout_ms)); }
static inline long sys_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static inline void __attribute__((noreturn)) sys_exit(int code) { _exit(code); }

#endif

#define CNI_AF_UNIX 1
#define CNI_SOCK_STREAM 1
#define CNI_SOCK_CLOEXEC 02000000
#define CNI_SOCK_NONBLOCK 04000
#define CNI_MSG_NOSIGNAL 0x4000

struct cni_sockaddr_un {
  unsigned short family;
  char path[108];
};

#endif
