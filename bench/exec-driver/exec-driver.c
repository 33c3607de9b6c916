/*
 * The CNI bench's exec driver: execs plugins the way a runtime does and
 * times each call inside this small C process, so the figures carry the
 * plugin's whole cost (exec, its work, its exit) and none of the bench's
 * own (a fork from a large Node process costs several milliseconds that
 * no runtime pays: Go's os/exec, like posix_spawn here, uses
 * clone(CLONE_VM|CLONE_VFORK), whose cost does not grow with the caller).
 *
 * One call: pipes for stdin and stdout, posix_spawn with exactly the
 * environment given, the configuration written to stdin and closed, stdout
 * read to EOF, waitpid. The clock (CLOCK_MONOTONIC) runs from just before
 * posix_spawn to just after waitpid. stderr is inherited.
 *
 * Protocol on stdin, one command a line, fields separated by tabs:
 *   conf  IDX PATH              load a configuration file into slot IDX
 *   call  BIN IDX KEY=VAL...    one call (IDX -1: empty stdin)
 *   par   WORKERS               start a parallel batch: `call` lines follow,
 *   go                          ...then run them with WORKERS threads
 * Answers: `ok` for conf; per call `NS<TAB>STATUS<TAB>STDOUT` (STDOUT on
 * one line: the plugins' JSON carries no raw newline, so newlines become
 * spaces); a batch answers its calls in order, then `wall NS`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONF 16
#define MAX_ENV 32
#define MAX_BATCH 1024
#define OUT_CAP (64 << 10)

struct call {
  char *bin;
  int conf;
  char *envp[MAX_ENV + 1];
  char *line; /* owns bin and envp strings */
  long long ns;
  int status;
  char out[OUT_CAP];
  size_t out_len;
};

static char *confs[MAX_CONF];
static size_t conf_len[MAX_CONF];

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "exec-driver: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void run(struct call *c) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) die("pipe2");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  long long t0 = now_ns();
  pid_t pid;
  char *argv[] = { c->bin, NULL };
  int err = posix_spawn(&pid, c->bin, &fa, NULL, argv, c->envp);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (err) {
    errno = err;
    die(c->bin);
  }
  if (c->conf >= 0) {
    const char *p = confs[c->conf];
    size_t n = conf_len[c->conf];
    while (n) {
      ssize_t w = write(in[1], p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        break; /* the plugin exited without reading */
      }
      p += w;
      n -= (size_t)w;
    }
  }
  close(in[1]);
  c->out_len = 0;
  for (;;) {
    ssize_t r = read(out[0], c->out + c->out_len, OUT_CAP - 1 - c->out_len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    c->out_len += (size_t)r;
    if (c->out_len == OUT_CAP - 1) {
      char sink[4096];
      while (read(out[0], sink, sizeof sink) > 0) {}
      break;
    }
  }
  close(out[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) die("waitpid");
  c->ns = now_ns() - t0;
  c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  c->out[c->out_len] = 0;
  for (size_t i = 0; i < c->out_len; i++)
    if (c->out[i] == '\n' || c->out[i] == '\r' || c->out[i] == '\t') c->out[i] = ' ';
}

/* Splits a `call` line (after the word) into the call; the call keeps the line. */
static void parse_call(struct call *c, char *rest) {
  c->line = rest;
  char *save = NULL;
  c->bin = strtok_r(rest, "\t", &save);
  char *idx = strtok_r(NULL, "\t", &save);
  if (!c->bin || !idx) {
    fprintf(stderr, "exec-driver: call needs BIN and IDX\n");
    exit(2);
  }
  c->conf = atoi(idx);
  if (c->conf >= MAX_CONF || (c->conf >= 0 && !confs[c->conf])) {
    fprintf(stderr, "exec-driver: no configuration %d\n", c->conf);
    exit(2);
  }
  int n = 0;
  for (char *kv; n < MAX_ENV && (kv = strtok_r(NULL, "\t", &save));) c->envp[n++] = kv;
  c->envp[n] = NULL;
}

static void answer(const struct call *c) {
  printf("%lld\t%d\t%s\n", c->ns, c->status, c->out);
}

static struct call *batch[MAX_BATCH];
static int batch_n, batch_next;
static pthread_mutex_t batch_mu = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&batch_mu);
    int i = batch_next < batch_n ? batch_next++ : -1;
    pthread_mutex_unlock(&batch_mu);
    if (i < 0) return NULL;
    run(batch[i]);
  }
}

static void load_conf(char *rest) {
  char *save = NULL;
  char *idx = strtok_r(rest, "\t", &save);
  char *path = strtok_r(NULL, "\t", &save);
  int i = idx ? atoi(idx) : -1;
  if (i < 0 || i >= MAX_CONF || !path) {
    fprintf(stderr, "exec-driver: conf needs IDX (0..%d) and PATH\n", MAX_CONF - 1);
    exit(2);
  }
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  free(confs[i]);
  confs[i] = malloc(OUT_CAP);
  if (!confs[i]) die("malloc");
  conf_len[i] = fread(confs[i], 1, OUT_CAP, f);
  fclose(f);
  printf("ok\n");
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int workers = 0;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    if (line[len - 1] == '\n') line[--len] = 0;
    char *tab = strchr(line, '\t');
    char *rest = tab ? tab + 1 : line + len;
    if (tab) *tab = 0;
    if (!strcmp(line, "conf")) {
      load_conf(rest);
    } else if (!strcmp(line, "call")) {
      struct call *c = calloc(1, sizeof *c);
      if (!c) die("calloc");
      parse_call(c, strdup(rest));
      if (workers) {
        if (batch_n == MAX_BATCH) {
          fprintf(stderr, "exec-driver: more than %d calls in a batch\n", MAX_BATCH);
          exit(2);
        }
        batch[batch_n++] = c;
        continue;
      }
      run(c);
      answer(c);
      free(c->line);
      free(c);
    } else if (!strcmp(line, "par")) {
      workers = atoi(rest);
      if (workers < 1 || workers > 64) {
        fprintf(stderr, "exec-driver: par needs 1..64 workers\n");
        exit(2);
      }
      batch_n = batch_next = 0;
    } else if (!strcmp(line, "go")) {
      pthread_t th[64];
      long long t0 = now_ns();
      for (int i = 0; i < workers; i++)
        if (pthread_create(&th[i], NULL, worker, NULL)) die("pthread_create");
      for (int i = 0; i < workers; i++) pthread_join(th[i], NULL);
      long long wall = now_ns() - t0;
      for (int i = 0; i < batch_n; i++) {
        answer(batch[i]);
        free(batch[i]->line);
        free(batch[i]);
      }
      printf("wall\t%lld\n", wall);
      workers = 0;
    } else if (len) {
      fprintf(stderr, "exec-driver: unknown command %s\n", line);
      exit(2);
    }
  }
  free(line);
  return 0;
}
