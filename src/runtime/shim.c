/*
 * skiff-shim: the per-container shim in C, for containers without a terminal.
 *
 *   skiff-shim <containerDir>
 *
 * Does what shim.ts does, in a few hundred kilobytes instead of a Node.js process: reads
 * <containerDir>/shim.conf (key=value lines written by the runtime), runs
 * `runc run --keep` with the container's stdout/stderr on pipes it owns, writes them to the
 * CRI log file (`<RFC3339Nano> <stream> <F|P> <line>`), and when runc returns records the exit
 * code, the time and whether the kernel OOM-killed the container in exit.json (written to a
 * temporary name and renamed, so readers never see half a file).
 *
 * Built by scripts/build.mjs when a C compiler is present; the runtime falls back to shim.ts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE (16 * 1024)

struct config {
  char runc[4096], root[4096], runclog[4096], id[256], bundle[4096], pidfile[4096], logpath[4096], cgroups[4096], stdin_fifo[4096];
};

struct stream {
  int fd;
  const char *name;
  char buf[MAX_LINE];
  size_t len;
};

static int log_fd = -1;

/* RFC 3339 with nanoseconds in UTC, as the CRI log format and kubectl --timestamps use. */
static void timestamp(char *out, size_t size) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, size - n, ".%09ldZ", ts.tv_nsec);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static void log_line(const char *stream, char tag, const char *line, size_t n) {
  char head[96];
  timestamp(head, sizeof head);
  size_t h = strlen(head);
  h += (size_t)snprintf(head + h, sizeof head - h, " %s %c ", stream, tag);
  /* One write per line, so lines from stdout and stderr never interleave mid-line. */
  char *rec = malloc(h + n + 1);
  if (!rec) return;
  memcpy(rec, head, h);
  memcpy(rec + h, line, n);
  rec[h + n] = '\n';
  write_all(log_fd, rec, h + n + 1);
  free(rec);
}

/* Emits every complete line in the buffer; a line longer than MAX_LINE goes out in P pieces. */
static void drain(struct stream *s, int eof) {
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] == '\n') {
      log_line(s->name, 'F', s->buf + start, i - start);
      start = i + 1;
    }
  }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
  if (s->len == MAX_LINE) {
    log_line(s->name, 'P', s->buf, s->len);
    s->len = 0;
  }
  if (eof && s->len > 0) {
    log_line(s->name, 'F', s->buf, s->len);
    s->len = 0;
  }
}

static void set_value(struct config *c, const char *key, const char *value) {
  struct { const char *key; char *dst; size_t size; } fields[] = {
    {"runc", c->runc, sizeof c->runc}, {"runcRoot", c->root, sizeof c->root}, {"runcLog", c->runclog, sizeof c->runclog},
    {"id", c->id, sizeof c->id}, {"bundle", c->bundle, sizeof c->bundle}, {"pidFile", c->pidfile, sizeof c->pidfile},
    {"logPath", c->logpath, sizeof c->logpath}, {"cgroupsPath", c->cgroups, sizeof c->cgroups}, {"stdinFifo", c->stdin_fifo, sizeof c->stdin_fifo},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (strcmp(key, fields[i].key) == 0) snprintf(fields[i].dst, fields[i].size, "%s", value);
  }
}

static int read_config(const char *dir, struct config *c) {
  char path[4200];
  snprintf(path, sizeof path, "%s/shim.conf", dir);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[8192];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    set_value(c, line, eq + 1);
  }
  fclose(f);
  return c->runc[0] && c->id[0] && c->bundle[0] && c->logpath[0] ? 0 : -1;
}

/* True when the cgroup's memory controller counted an OOM kill (v2 memory.events, v1 memory.oom_control). */
static int oom_killed(const char *cgroups) {
  const char *files[] = {"/sys/fs/cgroup%s/memory.events", "/sys/fs/cgroup/memory%s/memory.oom_control"};
  for (int i = 0; i < 2; i++) {
    char path[4300];
    snprintf(path, sizeof path, files[i], cgroups);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    char line[256];
    long kills = 0;
    while (fgets(line, sizeof line, f)) {
      if (sscanf(line, "oom_kill %ld", &kills) == 1) break;
    }
    fclose(f);
    return kills > 0;
  }
  return 0;
}

/* The msg of runc's last error log line, still JSON-escaped (it came from a JSON string). */
static void last_runc_error(const char *runclog, char *out, size_t size) {
  out[0] = 0;
  FILE *f = fopen(runclog, "r");
  if (!f) return;
  char line[8192];
  while (fgets(line, sizeof line, f)) {
    if (!strstr(line, "\"level\":\"error\"") && !strstr(line, "\"level\":\"fatal\"")) continue;
    char *m = strstr(line, "\"msg\":\"");
    if (!m) continue;
    m += 7;
    size_t n = 0;
    for (; m[n] && !(m[n] == '"' && (n == 0 || m[n - 1] != '\\')); n++) {}
    if (n >= size) n = size - 1;
    memcpy(out, m, n);
    out[n] = 0;
  }
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: skiff-shim <containerDir>\n");
    return 2;
  }
  const char *dir = argv[1];
  static struct config c;
  char errpath[4200];
  snprintf(errpath, sizeof errpath, "%s/shim.err", dir);
  if (read_config(dir, &c) != 0) {
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      const char *m = "skiff-shim: cannot read shim.conf\n";
      write_all(fd, m, strlen(m));
      close(fd);
    }
    return 1;
  }
  log_fd = open(c.logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  int out[2], err[2];
  if (log_fd < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return 1;
  /* O_RDWR keeps the FIFO open with no writer attached, so the container never sees a spurious EOF. */
  int in = c.stdin_fifo[0] ? open(c.stdin_fifo, O_RDWR | O_CLOEXEC) : open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    dup2(in, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    char *args[] = {c.runc, "--root", c.root, "--log", c.runclog, "--log-format", "json", "run", "--keep", "--bundle", c.bundle, "--pid-file", c.pidfile, c.id, NULL};
    execv(c.runc, args);
    _exit(255);
  }
  close(out[1]);
  close(err[1]);
  static struct stream streams[2];
  streams[0].fd = out[0];
  streams[0].name = "stdout";
  streams[1].fd = err[0];
  streams[1].name = "stderr";
  int open_streams = 2;
  while (open_streams > 0) {
    struct pollfd pfd[2];
    int n = 0;
    int map[2];
    for (int i = 0; i < 2; i++) {
      if (streams[i].fd < 0) continue;
      pfd[n].fd = streams[i].fd;
      pfd[n].events = POLLIN;
      map[n++] = i;
    }
    if (poll(pfd, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < n; k++) {
      if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      struct stream *s = &streams[map[k]];
      ssize_t r = read(s->fd, s->buf + s->len, MAX_LINE - s->len);
      if (r > 0) {
        s->len += (size_t)r;
        drain(s, 0);
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        drain(s, 1);
        close(s->fd);
        s->fd = -1;
        open_streams--;
      }
    }
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
  close(log_fd);

  char finished[64];
  timestamp(finished, sizeof finished);
  int started = access(c.pidfile, F_OK) == 0;
  char json[9000];
  if (started) {
    snprintf(json, sizeof json, "{\"exitCode\":%d,\"finishedAt\":\"%s\",\"oomKilled\":%s}", code, finished, oom_killed(c.cgroups) ? "true" : "false");
  } else {
    char msg[4096];
    last_runc_error(c.runclog, msg, sizeof msg);
    if (!msg[0]) snprintf(msg, sizeof msg, "runc exited with status %d before the container started", code);
    snprintf(json, sizeof json, "{\"exitCode\":%d,\"finishedAt\":\"%s\",\"oomKilled\":false,\"startError\":\"%s\"}", code, finished, msg);
  }
  char tmp[4200], final[4200];
  snprintf(tmp, sizeof tmp, "%s/exit.json.tmp", dir);
  snprintf(final, sizeof final, "%s/exit.json", dir);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  write_all(fd, json, strlen(json));
  close(fd);
  rename(tmp, final);
  return 0;
}
