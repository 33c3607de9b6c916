/*
 * nsnet-cni: the CNI plugin binary. A runtime execs it once per command;
 * it forwards the call to the running nsnet daemon (one HTTP/1.1 POST on
 * the daemon's unix socket) and relays the answer, so the per-call cost is
 * an exec of a small C program rather than a Node start.
 *
 * VERSION is answered here, without the daemon. The configuration is
 * validated as JSON here (so a decoding error costs no round trip and the
 * daemon always receives a well-formed envelope); only the top-level
 * "cniVersion" and "socket" strings are extracted.
 *
 * The program's start is on every call, so it uses no C library where it
 * can avoid one (cni_sys.h): seven system calls, static buffers (pages of
 * an unused buffer are never touched), and the answer is taken as soon as
 * its Content-Length is in, without waiting for the daemon to close.
 */
#include <stdarg.h>
#include <stddef.h>

#include "cni_sys.h"

#define DEFAULT_SOCKET "/run/nsnet.sock"
#define SUPPORTED "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"
#define MAX_DEPTH 128

/* CNI error codes (SPEC.md, "Error"). */
enum { E_BAD_ENV = 4, E_IO = 5, E_DECODE = 6, E_CONFIG = 7, E_TRY_AGAIN = 11, E_NOT_AVAILABLE = 50 };

/* The daemon takes request bodies up to 1 MiB (MAX_BODY_BYTES in src/api/server.ts). */
#define BODY_CAP (1 << 20)
#define INPUT_CAP BODY_CAP
/*
 * How long the daemon may take to answer (NSNET_CNI_TIMEOUT, seconds): a
 * first ADD that makes its network takes well under a second; a daemon that
 * takes the request and never answers must not hang the runtime.
 */
#define ANSWER_TIMEOUT_S 120
#define RESPONSE_CAP (8 << 20)
#define ENVELOPE_CAP (256 << 10)
static char input[INPUT_CAP];
static size_t input_len;
static char response[RESPONSE_CAP];
static char envelope[ENVELOPE_CAP];
static char version[64] = "1.1.0";
static char socket_path[sizeof(((struct cni_sockaddr_un *)0)->path)];
static int have_socket;
static char **environ_;

/* ---- the little of a C library this needs --------------------------------------- */

#if defined(NSNET_CNI_FREESTANDING)
void *memcpy(void *d, const void *s, size_t n) {
  char *dp = d;
  const char *sp = s;
  while (n--) *dp++ = *sp++;
  return d;
}
void *memset(void *d, int c, size_t n) {
  char *dp = d;
  while (n--) *dp++ = (char)c;
  return d;
}
#endif

static size_t len(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static void copy(char *d, const char *s, size_t n) {
  while (n--) *d++ = *s++;
}

static int same_bytes(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* Whether `key` (quoted) occurs in the n bytes at p: enough to tell the spec's error object from another JSON body. */
static int has_key(const char *p, size_t n, const char *key) {
  size_t k = len(key);
  for (size_t i = 0; i + k <= n; i++)
    if (same_bytes(p + i, key, k)) return 1;
  return 0;
}

static int same(const char *a, const char *b) {
  size_t n = len(b);
  return len(a) == n && same_bytes(a, b, n);
}

static const char *getenv_(const char *name) {
  size_t n = len(name);
  for (char **e = environ_; e && *e; e++)
    if (same_bytes(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

/* Decimal text of `v` in `buf` (at least 21 bytes). */
static const char *num(char *buf, unsigned long v) {
  char *p = buf + 20;
  *p = 0;
  do *--p = (char)('0' + v % 10); while (v /= 10);
  return p;
}

/* strerror for what connecting and talking to a unix socket can meet. */
static const char *errtext(long neg) {
  static char buf[32];
  switch (-neg) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case ECONNREFUSED: return "Connection refused";
    case ECONNRESET: return "Connection reset by peer";
    case EPIPE: return "Broken pipe";
    case ENOTSOCK: return "Socket operation on non-socket";
    case ENOTDIR: return "Not a directory";
    case EAGAIN: return "Resource temporarily unavailable";
    case EMFILE: return "Too many open files";
    case ENOMEM: return "Cannot allocate memory";
    case EIO: return "Input/output error";
  }
  copy(buf, "errno ", 6);
  const char *d = num(buf + 8, (unsigned long)-neg);
  copy(buf + 6, d, len(d) + 1);
  return buf;
}

/* ---- output ---------------------------------------------------------------- */

static void write_all(int fd, const char *p, size_t n) {
  while (n) {
    long w = sys_write(fd, p, n);
    if (w < 0) {
      if (w == -EINTR) continue;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

/* Appends `s` as the inside of a JSON string. Returns 0 if it did not fit. */
static int json_escape(char *out, size_t cap, size_t *pos, const char *s) {
  static const char hex[] = "0123456789abcdef";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char tmp[6];
    size_t n = 0;
    if (c == '"' || c == '\\') {
      tmp[n++] = '\\';
      tmp[n++] = (char)c;
    } else if (c < 0x20) {
      tmp[n++] = '\\';
      tmp[n++] = 'u';
      tmp[n++] = '0';
      tmp[n++] = '0';
      tmp[n++] = hex[c >> 4];
      tmp[n++] = hex[c & 15];
    } else {
      tmp[n++] = (char)c;
    }
    if (*pos + n >= cap) return 0;
    copy(out + *pos, tmp, n);
    *pos += n;
  }
  out[*pos] = 0;
  return 1;
}

static int append(char *out, size_t cap, size_t *pos, const char *s) {
  size_t n = len(s);
  if (*pos + n >= cap) return 0;
  copy(out + *pos, s, n + 1);
  *pos += n;
  return 1;
}

/* The spec's error object on stdout, then exit 1. The message is the concatenation of the strings up to NULL. */
static void __attribute__((noreturn, sentinel)) fail(int code, ...) {
  char msg[1024], buf[4096], n[21];
  size_t pos = 0, mpos = 0;
  va_list ap;
  va_start(ap, code);
  for (const char *part; (part = va_arg(ap, const char *));) {
    size_t k = len(part);
    if (mpos + k >= sizeof msg) k = sizeof msg - 1 - mpos;
    copy(msg + mpos, part, k);
    mpos += k;
  }
  va_end(ap);
  msg[mpos] = 0;
  append(buf, sizeof buf, &pos, "{\"cniVersion\":\"");
  json_escape(buf, sizeof buf, &pos, version);
  append(buf, sizeof buf, &pos, "\",\"code\":");
  append(buf, sizeof buf, &pos, num(n, (unsigned long)code));
  append(buf, sizeof buf, &pos, ",\"msg\":\"");
  json_escape(buf, sizeof buf, &pos, msg);
  append(buf, sizeof buf, &pos, "\"}\n");
  write_all(1, buf, pos);
  sys_exit(1);
}

/* ---- a validating JSON scanner ---------------------------------------------- */

struct scan {
  const char *p, *end;
};

static void ws(struct scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Appends code point `cp` as UTF-8 (or marks overflow). */
static void put_utf8(char *out, size_t cap, size_t *n, int *overflow, unsigned cp) {
  char b[4];
  size_t k;
  if (cp < 0x80) { b[0] = (char)cp; k = 1; }
  else if (cp < 0x800) { b[0] = (char)(0xc0 | (cp >> 6)); b[1] = (char)(0x80 | (cp & 63)); k = 2; }
  else if (cp < 0x10000) { b[0] = (char)(0xe0 | (cp >> 12)); b[1] = (char)(0x80 | ((cp >> 6) & 63)); b[2] = (char)(0x80 | (cp & 63)); k = 3; }
  else { b[0] = (char)(0xf0 | (cp >> 18)); b[1] = (char)(0x80 | ((cp >> 12) & 63)); b[2] = (char)(0x80 | ((cp >> 6) & 63)); b[3] = (char)(0x80 | (cp & 63)); k = 4; }
  if (!out) return;
  if (*n + k >= cap) { *overflow = 1; return; }
  copy(out + *n, b, k);
  *n += k;
}

/*
 * A string at s->p (which is '"'). With `out`, its decoded value is stored
 * NUL-terminated; a value that does not fit sets *overflow. Returns 0 on
 * malformed input.
 */
static int string(struct scan *s, char *out, size_t cap, int *overflow) {
  size_t n = 0;
  s->p++;
  while (s->p < s->end) {
    unsigned char c = (unsigned char)*s->p++;
    if (c == '"') {
      if (out) out[n] = 0;
      return 1;
    }
    if (c < 0x20) return 0;
    if (c != '\\') {
      if (out) {
        if (n + 1 >= cap) *overflow = 1;
        else out[n++] = (char)c;
      }
      continue;
    }
    if (s->p >= s->end) return 0;
    c = (unsigned char)*s->p++;
    unsigned cp;
    switch (c) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u': {
        if (s->end - s->p < 4) return 0;
        cp = 0;
        for (int i = 0; i < 4; i++) {
          int h = hexval(s->p[i]);
          if (h < 0) return 0;
          cp = cp << 4 | (unsigned)h;
        }
        s->p += 4;
        /* A high surrogate followed by a low one is one code point. */
        if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u') {
          unsigned lo = 0;
          int ok = 1;
          for (int i = 0; i < 4; i++) {
            int h = hexval(s->p[2 + i]);
            if (h < 0) { ok = 0; break; }
            lo = lo << 4 | (unsigned)h;
          }
          if (ok && lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            s->p += 6;
          }
        }
        break;
      }
      default: return 0;
    }
    put_utf8(out, cap, &n, overflow, cp);
  }
  return 0;
}

static int digits(struct scan *s) {
  const char *start = s->p;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
  return s->p > start;
}

static int number(struct scan *s) {
  if (*s->p == '-') s->p++;
  if (s->p < s->end && *s->p == '0') s->p++;
  else if (!digits(s)) return 0;
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (!digits(s)) return 0;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
    if (!digits(s)) return 0;
  }
  return 1;
}

static int literal(struct scan *s, const char *word) {
  size_t n = len(word);
  if ((size_t)(s->end - s->p) < n || !same_bytes(s->p, word, n)) return 0;
  s->p += n;
  return 1;
}

static int value(struct scan *s, int depth);

static int members(struct scan *s, int depth, int top) {
  s->p++; /* '{' */
  ws(s);
  if (s->p < s->end && *s->p == '}') { s->p++; return 1; }
  for (;;) {
    char key[16];
    int overflow = 0;
    ws(s);
    if (s->p >= s->end || *s->p != '"' || !string(s, key, sizeof key, &overflow)) return 0;
    ws(s);
    if (s->p >= s->end || *s->p != ':') return 0;
    s->p++;
    ws(s);
    if (top && !overflow && s->p < s->end && *s->p == '"' && (same(key, "cniVersion") || same(key, "socket"))) {
      int is_socket = key[0] == 's', of = 0;
      char *dst = is_socket ? socket_path : version;
      size_t cap = is_socket ? sizeof socket_path : sizeof version;
      if (!string(s, dst, cap, &of)) return 0;
      if (of) {
        if (is_socket) fail(E_CONFIG, "the configuration's \"socket\" path is longer than a unix socket path can be", NULL);
        copy(version, "1.1.0", sizeof "1.1.0");
      }
      if (is_socket) have_socket = 1;
    } else if (top && !overflow && same(key, "socket")) {
      fail(E_CONFIG, "the configuration's \"socket\" must be a string", NULL);
    } else if (!value(s, depth + 1)) {
      return 0;
    }
    ws(s);
    if (s->p >= s->end) return 0;
    if (*s->p == '}') { s->p++; return 1; }
    if (*s->p != ',') return 0;
    s->p++;
  }
}

static int value(struct scan *s, int depth) {
  if (depth > MAX_DEPTH) return 0;
  ws(s);
  if (s->p >= s->end) return 0;
  switch (*s->p) {
    case '{': return members(s, depth, 0);
    case '[':
      s->p++;
      ws(s);
      if (s->p < s->end && *s->p == ']') { s->p++; return 1; }
      for (;;) {
        if (!value(s, depth + 1)) return 0;
        ws(s);
        if (s->p >= s->end) return 0;
        if (*s->p == ']') { s->p++; return 1; }
        if (*s->p != ',') return 0;
        s->p++;
      }
    case '"': { int of = 0; return string(s, NULL, 0, &of); }
    case 't': return literal(s, "true");
    case 'f': return literal(s, "false");
    case 'n': return literal(s, "null");
    default: return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && number(s);
  }
}

/* 1 = a valid JSON object (fields extracted), 0 = not JSON, -1 = JSON but not an object. */
static int scan_config(void) {
  struct scan s = { input, input + input_len };
  ws(&s);
  if (s.p >= s.end) return 0;
  if (*s.p != '{') return value(&s, 0) ? -1 : 0;
  if (!members(&s, 0, 1)) return 0;
  ws(&s);
  return s.p == s.end;
}

/* ---- the call ------------------------------------------------------------------ */

static void read_input(void) {
  char n[21];
  for (;;) {
    if (input_len == sizeof input) fail(E_DECODE, "the network configuration is larger than ", num(n, sizeof input), " bytes", NULL);
    long r = sys_read(0, input + input_len, sizeof input - input_len);
    if (r < 0) {
      if (r == -EINTR) continue;
      fail(E_IO, "reading the network configuration: ", errtext(r), NULL);
    }
    if (r == 0) return;
    input_len += (size_t)r;
  }
}

static const char *env(const char *name) {
  const char *v = getenv_(name);
  return v ? v : "";
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/*
 * How many bytes the whole answer takes, once its head is in: head plus
 * Content-Length. 0 while the head is incomplete; -1 without a length (the
 * answer then ends when the daemon closes).
 */
static long answer_size(size_t got) {
  for (size_t i = 3; i < got; i++) {
    if (response[i] != '\n' || response[i - 1] != '\r' || response[i - 2] != '\n' || response[i - 3] != '\r') continue;
    static const char key[] = "\r\ncontent-length:";
    for (size_t k = 0; k + sizeof key - 1 < i; k++) {
      size_t j = 0;
      while (j < sizeof key - 1 && lower(response[k + j]) == key[j]) j++;
      if (j < sizeof key - 1) continue;
      size_t p = k + j;
      while (response[p] == ' ' || response[p] == '\t') p++;
      long n = 0;
      if (response[p] < '0' || response[p] > '9') return -1;
      while (response[p] >= '0' && response[p] <= '9' && n < RESPONSE_CAP) n = n * 10 + (response[p++] - '0');
      return (long)(i + 1) + n;
    }
    return -1;
  }
  return 0;
}

static int run(void) {
  const char *cmd = getenv_("CNI_COMMAND");
  read_input();
  int parsed = scan_config();
  if (cmd && same(cmd, "VERSION") && input_len == 0) parsed = 1; /* nothing to echo: our own version */
  if (parsed == 0) fail(E_DECODE, "the network configuration is not valid JSON", NULL);
  if (parsed < 0) fail(E_DECODE, "the network configuration must be a JSON object", NULL);
  if (!cmd || !*cmd) fail(E_BAD_ENV, "CNI_COMMAND is not set", NULL);

  if (same(cmd, "VERSION")) {
    char buf[256];
    size_t pos = 0;
    append(buf, sizeof buf, &pos, "{\"cniVersion\":\"");
    json_escape(buf, sizeof buf, &pos, version);
    append(buf, sizeof buf, &pos, "\",\"supportedVersions\":" SUPPORTED "}\n");
    write_all(1, buf, pos);
    return 0;
  }
  int status_cmd = same(cmd, "STATUS");
  int unreachable = status_cmd ? E_NOT_AVAILABLE : E_TRY_AGAIN;

  if (!have_socket) {
    const char *e = getenv_("NSNET_CNI_SOCKET");
    const char *p = e && *e ? e : DEFAULT_SOCKET;
    if (len(p) >= sizeof socket_path) fail(E_BAD_ENV, "NSNET_CNI_SOCKET is longer than a unix socket path can be", NULL);
    copy(socket_path, p, len(p) + 1);
  }

  int timeout_s = ANSWER_TIMEOUT_S;
  const char *t = getenv_("NSNET_CNI_TIMEOUT");
  if (t && *t) {
    long v = 0;
    for (const char *c = t; *c; c++) {
      if (*c < '0' || *c > '9' || v > 86400) fail(E_BAD_ENV, "NSNET_CNI_TIMEOUT must be a number of seconds (1-86400), not ", t, NULL);
      v = v * 10 + (*c - '0');
    }
    if (v < 1 || v > 86400) fail(E_BAD_ENV, "NSNET_CNI_TIMEOUT must be a number of seconds (1-86400), not ", t, NULL);
    timeout_s = (int)v;
  }
  /* The envelope: everything but the configuration, which follows verbatim. */
  char n[21];
  size_t pos = 0;
  static const char *const fields[][2] = {
    { "command", "CNI_COMMAND" }, { "containerId", "CNI_CONTAINERID" }, { "netns", "CNI_NETNS" },
    { "ifname", "CNI_IFNAME" }, { "args", "CNI_ARGS" }, { "path", "CNI_PATH" },
  };
  int ok = append(envelope, sizeof envelope, &pos, "{");
  for (size_t i = 0; ok && i < sizeof fields / sizeof fields[0]; i++) {
    ok = append(envelope, sizeof envelope, &pos, i ? ",\"" : "\"") && append(envelope, sizeof envelope, &pos, fields[i][0]) &&
         append(envelope, sizeof envelope, &pos, "\":\"") && json_escape(envelope, sizeof envelope, &pos, env(fields[i][1])) &&
         append(envelope, sizeof envelope, &pos, "\"");
  }
  ok = ok && append(envelope, sizeof envelope, &pos, ",\"config\":");
  if (!ok) fail(E_BAD_ENV, "the CNI_* environment is larger than ", num(n, sizeof envelope), " bytes", NULL);
  /* Refused here, with the reason, rather than cut off by the daemon mid-send (which would read as "try again"). */
  if (pos + input_len + 1 > BODY_CAP)
    fail(E_DECODE, "the network configuration and CNI_* environment are larger than ", num(n, BODY_CAP), " bytes, the nsnet daemon's limit", NULL);

  char head[256];
  size_t hl = 0;
  append(head, sizeof head, &hl, "POST /cni/v1/exec HTTP/1.1\r\nHost: nsnet\r\nContent-Type: application/json\r\nContent-Length: ");
  append(head, sizeof head, &hl, num(n, pos + input_len + 1));
  append(head, sizeof head, &hl, "\r\nConnection: close\r\n\r\n");

  /*
   * One deadline from here to the end of the answer. The socket does not
   * block, so a daemon whose listen backlog is full (it accepts nothing) or
   * that stops reading the request cannot hold the runtime past it either.
   */
  long deadline = sys_clock_ms() + (long)timeout_s * 1000;
  long fd = sys_socket(CNI_AF_UNIX, CNI_SOCK_STREAM | CNI_SOCK_CLOEXEC | CNI_SOCK_NONBLOCK, 0);
  if (fd < 0) fail(unreachable, "socket: ", errtext(fd), NULL);
  struct cni_sockaddr_un addr = { .family = CNI_AF_UNIX };
  copy(addr.path, socket_path, len(socket_path) + 1);
  long r;
  /* A unix socket's connect does not go on in the background: a full backlog is EAGAIN, asked again shortly. */
  while ((r = sys_connect((int)fd, &addr, sizeof addr)) == -EAGAIN || r == -EINTR) {
    long left = deadline - sys_clock_ms();
    if (left <= 0) fail(unreachable, "the nsnet daemon at ", socket_path, " accepted no connection within ", num(n, (unsigned long)timeout_s), " s", NULL);
    sys_poll(NULL, 0, left < 5 ? (int)left : 5);
  }
  if (r < 0) fail(unreachable, "the nsnet daemon is not reachable at ", socket_path, ": ", errtext(r), NULL);

  /* No SIGPIPE: a daemon that goes away mid-request is reported like any other failure. */
  struct cni_iovec iov[4] = {
    { head, hl }, { envelope, pos }, { input, input_len }, { (void *)"}", 1 },
  };
  struct cni_msghdr msg = { .iov = iov, .iovlen = 4 };
  while (msg.iovlen) {
    long w = sys_sendmsg((int)fd, &msg, CNI_MSG_NOSIGNAL);
    if (w == -EAGAIN) {
      long left = deadline - sys_clock_ms();
      struct cni_pollfd pfd = { (int)fd, CNI_POLLOUT, 0 };
      if (left <= 0 || sys_poll(&pfd, 1, (int)left) == 0)
        fail(E_TRY_AGAIN, "the nsnet daemon at ", socket_path, " took no request within ", num(n, (unsigned long)timeout_s), " s", NULL);
      continue;
    }
    if (w < 0) {
      if (w == -EINTR) continue;
      fail(unreachable, "sending to the nsnet daemon at ", socket_path, ": ", errtext(w), NULL);
    }
    while (msg.iovlen && (size_t)w >= msg.iov->len) { w -= (long)msg.iov->len; msg.iov++; msg.iovlen--; }
    if (msg.iovlen) { msg.iov->base = (char *)msg.iov->base + w; msg.iov->len -= (size_t)w; }
  }

  size_t got = 0;
  long want = 0;
  while (want <= 0 || got < (size_t)want) {
    if (got == sizeof response - 1) fail(E_IO, "the nsnet daemon's answer is larger than ", num(n, sizeof response), " bytes", NULL);
    /* One deadline for the whole answer: a daemon that trickles bytes does not extend it. */
    long left = deadline - sys_clock_ms();
    struct cni_pollfd pfd = { (int)fd, CNI_POLLIN, 0 };
    long ready = left > 0 ? sys_poll(&pfd, 1, (int)left) : 0;
    if (ready == -EINTR) continue;
    if (ready == 0) fail(E_TRY_AGAIN, "no answer from the nsnet daemon at ", socket_path, " within ", num(n, (unsigned long)timeout_s), " s", NULL);
    if (ready < 0) fail(unreachable, "waiting for the nsnet daemon at ", socket_path, ": ", errtext(ready), NULL);
    r = sys_read((int)fd, response + got, sizeof response - 1 - got);
    if (r < 0) {
      if (r == -EINTR || r == -EAGAIN) continue;
      fail(unreachable, "reading from the nsnet daemon at ", socket_path, ": ", errtext(r), NULL);
    }
    if (r == 0) break;
    got += (size_t)r;
    if (!want) want = answer_size(got);
  }
  sys_close((int)fd);
  if (want > 0 && got < (size_t)want) fail(unreachable, "the nsnet daemon at ", socket_path, " closed the connection mid-answer", NULL);
  response[got] = 0;

  /* "HTTP/1.x NNN ..." */
  int code = 0;
  if (got < 12 || !same_bytes(response, "HTTP/1.", 7) || response[8] != ' ')
    fail(unreachable, "the nsnet daemon at ", socket_path, " closed the connection without an answer", NULL);
  for (int i = 9; i < 12 && response[i] >= '0' && response[i] <= '9'; i++) code = code * 10 + (response[i] - '0');
  size_t body = got;
  for (size_t i = 3; i < got; i++)
    if (response[i] == '\n' && response[i - 1] == '\r' && response[i - 2] == '\n' && response[i - 3] == '\r') { body = i + 1; break; }
  /*
   * Only a CNI answer is relayed: a result (or nothing) with 200, the
   * spec's error object otherwise. Anything else means the socket is not an
   * nsnet daemon's (dockerd's, say): reported as an error of our own.
   */
  struct scan sb = { response + body, response + got };
  ws(&sb);
  int empty = sb.p == sb.end;
  int object = !empty && *sb.p == '{' && value(&sb, 0) && (ws(&sb), sb.p == sb.end);
  int must_answer = same(cmd, "ADD");
  if (code == 200 ? (empty ? must_answer : !object) : (!object || !has_key(response + body, got - body, "\"code\""))) {
    /* A daemon starting or stopping answers 503 without a CNI body: that one is worth retrying. */
    if (code == 503) fail(unreachable, "the nsnet daemon at ", socket_path, " is not ready (HTTP 503)", NULL);
    fail(E_IO, "the server at ", socket_path, " is not an nsnet daemon: it answered HTTP ", num(n, (unsigned long)code),
         empty ? " with nothing" : " with something other than a CNI answer", NULL);
  }
  write_all(1, response + body, got - body);
  return code == 200 ? 0 : 1;
}

#if defined(NSNET_CNI_FREESTANDING)
void __attribute__((noreturn, used)) cni_start(long *sp) {
  long argc = sp[0];
  environ_ = (char **)(sp + 1 + argc + 1);
  sys_exit(run());
}
#else
int main(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  environ_ = envp;
  return run();
}
#endif
