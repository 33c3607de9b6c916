/*
 * nsnet-cni: the CNI plugin binary. A runtime execs it once per command;
 * it forwards the call to the running nsnet daemon (one HTTP/1.1 POST on
 * the daemon's unix socket) and relays the answer, so the per-call cost is
 * an exec of a small static-free C program rather than a Node start.
 *
 * VERSION is answered here, without the daemon. The configuration is
 * validated as JSON here (so a decoding error costs no round trip and the
 * daemon always receives a well-formed envelope); only the top-level
 * "cniVersion" and "socket" strings are extracted.
 *
 * Buffers are static: the program lives for one call, and pages of an
 * unused buffer are never touched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/nsnet.sock"
#define SUPPORTED "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"
#define MAX_DEPTH 128

/* CNI error codes (SPEC.md, "Error"). */
enum { E_BAD_ENV = 4, E_IO = 5, E_DECODE = 6, E_CONFIG = 7, E_TRY_AGAIN = 11, E_NOT_AVAILABLE = 50 };

static char input[8 << 20];
static size_t input_len;
static char response[8 << 20];
static char envelope[256 << 10];
static char version[64] = "1.1.0";
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int have_socket;

/* ---- output ---------------------------------------------------------------- */

static void write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
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
    memcpy(out + *pos, tmp, n);
    *pos += n;
  }
  out[*pos] = 0;
  return 1;
}

static int append(char *out, size_t cap, size_t *pos, const char *s) {
  size_t n = strlen(s);
  if (*pos + n >= cap) return 0;
  memcpy(out + *pos, s, n + 1);
  *pos += n;
  return 1;
}

/* The spec's error object on stdout, then exit 1. */
static void __attribute__((noreturn, format(printf, 2, 3))) fail(int code, const char *fmt, ...) {
  char msg[1024], buf[4096];
  size_t pos = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(buf, sizeof buf, "{\"cniVersion\":\"");
  pos = strlen(buf);
  json_escape(buf, sizeof buf, &pos, version);
  snprintf(buf + pos, sizeof buf - pos, "\",\"code\":%d,\"msg\":\"", code);
  pos = strlen(buf);
  json_escape(buf, sizeof buf, &pos, msg);
  append(buf, sizeof buf, &pos, "\"}\n");
  write_all(1, buf, pos);
  exit(1);
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
  memcpy(out + *n, b, k);
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
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return 0;
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
    if (top && !overflow && s->p < s->end && *s->p == '"' && (!strcmp(key, "cniVersion") || !strcmp(key, "socket"))) {
      int is_socket = key[0] == 's', of = 0;
      char *dst = is_socket ? socket_path : version;
      size_t cap = is_socket ? sizeof socket_path : sizeof version;
      if (!string(s, dst, cap, &of)) return 0;
      if (of) {
        if (is_socket) fail(E_CONFIG, "the configuration's \"socket\" path is longer than a unix socket path can be");
        strcpy(version, "1.1.0");
      }
      if (is_socket) have_socket = 1;
    } else if (top && !overflow && !strcmp(key, "socket")) {
      fail(E_CONFIG, "the configuration's \"socket\" must be a string");
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
  for (;;) {
    if (input_len == sizeof input) fail(E_DECODE, "the network configuration is larger than %zu bytes", sizeof input);
    ssize_t r = read(0, input + input_len, sizeof input - input_len);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail(E_IO, "reading the network configuration: %s", strerror(errno));
    }
    if (r == 0) return;
    input_len += (size_t)r;
  }
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v ? v : "";
}

int main(void) {
  const char *cmd = getenv("CNI_COMMAND");
  read_input();
  int parsed = scan_config();
  if (cmd && !strcmp(cmd, "VERSION") && input_len == 0) parsed = 1; /* nothing to echo: our own version */
  if (parsed == 0) fail(E_DECODE, "the network configuration is not valid JSON");
  if (parsed < 0) fail(E_DECODE, "the network configuration must be a JSON object");
  if (!cmd || !*cmd) fail(E_BAD_ENV, "CNI_COMMAND is not set");

  if (!strcmp(cmd, "VERSION")) {
    char buf[256];
    size_t pos = 0;
    append(buf, sizeof buf, &pos, "{\"cniVersion\":\"");
    json_escape(buf, sizeof buf, &pos, version);
    append(buf, sizeof buf, &pos, "\",\"supportedVersions\":" SUPPORTED "}\n");
    write_all(1, buf, pos);
    return 0;
  }
  int status_cmd = !strcmp(cmd, "STATUS");

  if (!have_socket) {
    const char *e = getenv("NSNET_CNI_SOCKET");
    const char *p = e && *e ? e : DEFAULT_SOCKET;
    if (strlen(p) >= sizeof socket_path) fail(E_BAD_ENV, "NSNET_CNI_SOCKET is longer than a unix socket path can be");
    strcpy(socket_path, p);
  }

  /* The envelope: everything but the configuration, which follows verbatim. */
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
  if (!ok) fail(E_BAD_ENV, "the CNI_* environment is larger than %zu bytes", sizeof envelope);

  char head[256];
  int hl = snprintf(head, sizeof head,
                    "POST /cni/v1/exec HTTP/1.1\r\nHost: nsnet\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                    pos + input_len + 1);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(status_cmd ? E_NOT_AVAILABLE : E_TRY_AGAIN, "socket: %s", strerror(errno));
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    fail(status_cmd ? E_NOT_AVAILABLE : E_TRY_AGAIN, "the nsnet daemon is not reachable at %s: %s", socket_path, strerror(errno));

  struct iovec iov[4] = {
    { head, (size_t)hl }, { envelope, pos }, { input, input_len }, { (void *)"}", 1 },
  };
  int n = 4;
  struct iovec *v = iov;
  while (n) {
    ssize_t w = writev(fd, v, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(status_cmd ? E_NOT_AVAILABLE : E_TRY_AGAIN, "sending to the nsnet daemon at %s: %s", socket_path, strerror(errno));
    }
    while (n && (size_t)w >= v->iov_len) { w -= (ssize_t)v->iov_len; v++; n--; }
    if (n) { v->iov_base = (char *)v->iov_base + w; v->iov_len -= (size_t)w; }
  }

  size_t got = 0;
  for (;;) {
    if (got == sizeof response - 1) fail(E_IO, "the nsnet daemon's answer is larger than %zu bytes", sizeof response);
    ssize_t r = read(fd, response + got, sizeof response - 1 - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail(status_cmd ? E_NOT_AVAILABLE : E_TRY_AGAIN, "reading from the nsnet daemon at %s: %s", socket_path, strerror(errno));
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  close(fd);
  response[got] = 0;

  int code = 0;
  if (sscanf(response, "HTTP/1.%*d %d", &code) != 1)
    fail(status_cmd ? E_NOT_AVAILABLE : E_TRY_AGAIN, "the nsnet daemon at %s closed the connection without an answer", socket_path);
  char *body = strstr(response, "\r\n\r\n");
  body = body ? body + 4 : response + got;
  write_all(1, body, (size_t)(response + got - body));
  return code == 200 ? 0 : 1;
}
