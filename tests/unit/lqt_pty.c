/* lqt_pty.c - `quant` on a pseudo-terminal (see lqt_pty.h). */
#include "lqt_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lqt_util.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void child(int slave, int out_fd, const char *const *argv)
{
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out_fd, 1);
    dup2(slave, 2);
    unsetenv("COLUMNS");
    execv(LQ_QUANT_BIN, (char *const *)argv);
    _exit(127);
}

/* Reads the terminal until the child closes it (EIO) or the time runs out. */
static char *drain(int master, double deadline, pid_t pid)
{
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            break;
        }
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        if (len + 4096 + 1 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = read(master, buf + len, 4096);
        if (n <= 0) {
            break; /* EIO: every holder of the slave side has closed it */
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

struct lqt_run lqt_run_quant_pty(const char *const *args, int cols, double max_seconds)
{
    const char *argv[64] = {LQ_QUANT_BIN};
    for (int n = 1; args[n - 1] != NULL; n++) {
        assert_true(n < 63);
        argv[n] = args[n - 1];
    }
    struct winsize ws = {.ws_row = 24, .ws_col = (unsigned short)cols};
    int master, slave;
    assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
    struct termios t;
    assert_int_equal(tcgetattr(slave, &t), 0);
    t.c_oflag &= ~(tcflag_t)OPOST;
    assert_int_equal(tcsetattr(slave, TCSANOW, &t), 0);
    char out_path[] = "/tmp/lqt_pty_out_XXXXXX";
    int out_fd = mkstemp(out_path);
    assert_true(out_fd >= 0);
    struct lqt_run r = {0};
    const double t0 = now_s();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(master);
        child(slave, out_fd, argv);
    }
    close(slave);
    r.err = drain(master, t0 + (max_seconds > 0 ? max_seconds : 300), pid);
    close(master);
    int status = 0;
    waitpid(pid, &status, 0);
    r.seconds = now_s() - t0;
    r.signaled = WIFSIGNALED(status);
    r.code = r.signaled ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    size_t n;
    r.out = lqt_read_file(out_path, &n);
    r.out = realloc(r.out, n + 1);
    r.out[n] = '\0';
    close(out_fd);
    unlink(out_path);
    return r;
}

/* Columns of one drawn line: its bytes up to "\r" or "\n", without ESC [ ... letter. */
static int line_width(const char *s)
{
    int w = 0;
    while (*s && *s != '\r' && *s != '\n') {
        if (*s == '\033' && s[1] == '[') {
            s += 2;
            while (*s && !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) {
                s++;
            }
            s += *s != '\0';
            continue;
        }
        w += ((unsigned char)*s & 0xC0) != 0x80; /* count UTF-8 lead bytes only */
        s++;
    }
    return w;
}

int lqt_pty_check_redraws(const char *tty, int cols, double seconds, double hz)
{
    int redraws = 0;
    for (const char *p = strchr(tty, '\r'); p; p = strchr(p + 1, '\r')) {
        if (p[1] == '\n' || p[1] == '\0' || p[1] == '\r') {
            continue; /* a line end, not a redraw */
        }
        redraws++;
        const int w = line_width(p + 1);
        if (w > cols - 1) {
            fail_msg("a progress line of %d columns on a %d-column terminal: %.*s", w, cols,
                     (int)(strcspn(p + 1, "\r\n")), p + 1);
        }
    }
    if (redraws > hz * seconds + 2) {
        fail_msg("%d redraws in %.2f s (at most %.0f a second allowed)", redraws, seconds, hz);
    }
    return redraws;
}
