/* progress.c - the progress line of the long commands (behaviour in progress.h). */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define BAR_MAX 30
#define BAR_MIN 8

static enum progress_mode mode = PROGRESS_AUTO;

void progress_set_mode(enum progress_mode m)
{
    mode = m;
}

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int progress_term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    const char *cols = getenv("COLUMNS");
    int n = cols ? atoi(cols) : 0;
    return n > 0 ? n : 80;
}

void progress_start(struct progress *p, const char *what, uint64_t bytes_total)
{
    const bool tty = isatty(STDERR_FILENO);
    memset(p, 0, sizeof *p);
    p->enabled = mode != PROGRESS_QUIET && (tty || mode == PROGRESS_FORCE);
    p->plain = !tty;
    p->t0 = progress_now();
    p->last_draw = -1.0;
    p->bytes_total = bytes_total;
    p->what = what;
}

/* "42s", "3m07s", "2h05m". */
static void fmt_time(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || s > 359999) {
        snprintf(buf, cap, "--");
    } else if (s < 60) {
        snprintf(buf, cap, "%.0fs", s);
    } else if (s < 3600) {
        snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    } else {
        snprintf(buf, cap, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
    }
}

static double fraction(const struct progress *p)
{
    if (p->bytes_total) {
        return (double)p->bytes_done / (double)p->bytes_total;
    }
    return p->total > 0 ? (double)p->done / (double)p->total : 0.0;
}

/* The counts, rate and ETA: "12/57 3.1 MiB 5.2 MiB/s ETA 4s" or "45% 1.2 chunks/s ETA 1m02s". */
static void fmt_stats(const struct progress *p, double now, char *buf, size_t cap)
{
    const double el = now - p->t0, frac = fraction(p);
    char eta[16];
    fmt_time(frac > 0 && el > 0 ? el * (1 - frac) / frac : -1, eta, sizeof eta);
    if (p->bytes_total) {
        const double mib = (double)p->bytes_done / 1048576.0;
        snprintf(buf, cap, "%lld/%lld %.1f MiB %.1f MiB/s ETA %s", (long long)p->done,
                 (long long)p->total, mib, el > 0 ? mib / el : 0.0, eta);
    } else {
        snprintf(buf, cap, "%3.0f%% %.2f %s/s ETA %s", 100.0 * frac,
                 el > 0 ? (double)p->done / el : 0.0, p->unit ? p->unit : "it", eta);
    }
}

/* Appends at most room bytes of s to buf at *off, keeping the end of s ("...ffn_up.weight"). */
static void put_tail(char *buf, size_t *off, const char *s, int room)
{
    const int n = (int)strlen(s);
    if (room <= 0 || n == 0) {
        return;
    }
    if (n <= room) {
        memcpy(buf + *off, s, (size_t)n);
        *off += (size_t)n;
        return;
    }
    if (room <= 3) {
        return;
    }
    memcpy(buf + *off, "...", 3);
    memcpy(buf + *off + 3, s + n - (room - 3), (size_t)(room - 3));
    *off += (size_t)room;
}

void progress_format(const struct progress *p, double now, int width, char *buf, size_t cap)
{
    char stats[96];
    fmt_stats(p, now, stats, sizeof stats);
    int max = width > 1 ? width - 1 : 1;
    max = max < (int)cap - 1 ? max : (int)cap - 1;
    size_t off = 0;
    const int head = (int)strlen(p->what) + 1 + (int)strlen(stats); /* "what stats" */
    int avail = max - head - 3;                                     /* " [" bar "]" */
    if (avail < BAR_MIN) { /* no room for a bar: the name and the figures, cut */
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s %s", p->what, stats);
        snprintf(buf, (size_t)max + 1, "%s", tmp);
        return;
    }
    int bar = avail - 1 - 24; /* leave the label some room first */
    bar = bar > BAR_MAX ? BAR_MAX : bar < BAR_MIN ? BAR_MIN : bar;
    const int fill = (int)(fraction(p) * bar + 0.5);
    off = (size_t)snprintf(buf, cap, "%s [", p->what);
    for (int k = 0; k < bar; k++) {
        buf[off++] = k < fill ? '#' : '.';
    }
    off += (size_t)snprintf(buf + off, cap - off, "] %s", stats);
    if (p->label[0] && avail - bar - 1 > 0) {
        buf[off++] = ' ';
        put_tail(buf, &off, p->label, avail - bar - 1);
    }
    buf[off] = '\0';
}

static void draw(struct progress *p, double now)
{
    char line[512];
    if (p->plain) {
        char stats[96];
        fmt_stats(p, now, stats, sizeof stats);
        fprintf(stderr, "%s: %s %.100s\n", p->what, stats, p->label);
    } else {
        int width = progress_term_width();
        progress_format(p, now, width < (int)sizeof line ? width : (int)sizeof line, line,
                        sizeof line);
        fprintf(stderr, "\r%s\033[K", line);
        p->drawn = true;
    }
    fflush(stderr);
    p->last_draw = now;
    p->pending = false;
}

/* Draws now unless the last line is too recent (the first update always draws). */
static void maybe_draw(struct progress *p)
{
    const double now = progress_now();
    const double gap = p->plain ? PROGRESS_PLAIN_SECONDS : 1.0 / PROGRESS_TTY_HZ;
    p->pending = true;
    if (p->last_draw < 0 || now - p->last_draw >= gap) {
        draw(p, now);
    }
}

/* Labels are tensor names from the file: escaped for the terminal. */
static void set_label(struct progress *p, const char *label)
{
    cli_esc(label, p->label, sizeof p->label);
}

void progress_update(struct progress *p, int64_t i, int64_t n, uint64_t bytes_done,
                     const char *label)
{
    if (!p->enabled) {
        return;
    }
    p->done = i;
    p->total = n;
    p->bytes_done = bytes_done;
    set_label(p, label);
    maybe_draw(p);
}

void progress_units(struct progress *p, int64_t done, int64_t total, const char *label)
{
    if (!p->enabled || total <= 0) {
        return;
    }
    p->done = done;
    p->total = total;
    set_label(p, label);
    maybe_draw(p);
}

void progress_end(struct progress *p)
{
    if (!p->enabled) {
        return;
    }
    if (p->pending) {
        draw(p, progress_now());
    }
    if (p->drawn) {
        fputc('\n', stderr);
        fflush(stderr);
        p->drawn = false;
    }
}
