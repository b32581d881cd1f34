/* cli_parse.c - the one command-line parser of `quant`: --opt=value and --opt value, unique
 * prefixes of long names (as getopt_long), -abc clusters and -t4, `--` ends the options,
 * positional arguments anywhere. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"
#include "progress.h"

static bool takes(const struct cli_option *o, enum cli_cmd cmd)
{
    return (o->cmds & CLI_M(cmd)) != 0;
}

const struct cli_option *cli_find(enum cli_cmd cmd, const char *name)
{
    for (size_t i = 0; i < cli_n_options; i++) {
        if (takes(&cli_options[i], cmd) && strcmp(cli_options[i].name, name) == 0) {
            return &cli_options[i];
        }
    }
    return NULL;
}

static const struct cli_option *find_short(enum cli_cmd cmd, char c)
{
    for (size_t i = 0; i < cli_n_options; i++) {
        if (takes(&cli_options[i], cmd) && cli_options[i].short_name == c) {
            return &cli_options[i];
        }
    }
    return NULL;
}

static const char *cmd_name(const struct cli_args *a)
{
    return cli_commands[a->cmd].name;
}

/* "--ctx" or "-t/--threads" for messages. */
static const char *spelled(const struct cli_option *o, char *buf, size_t cap)
{
    if (o->short_name) {
        snprintf(buf, cap, "-%c/--%s", o->short_name, o->name);
    } else {
        snprintf(buf, cap, "--%s", o->name);
    }
    return buf;
}

static int bad_enum(const struct cli_args *a, const struct cli_option *o, const char *v)
{
    struct cli_suggest s;
    char choices[16][32], hint[160];
    cli_suggest_init(&s, v, strlen(v), "");
    const char *c = o->choices;
    for (int k = 0; k < 16 && *c; k++) {
        const size_t n = strcspn(c, "|");
        snprintf(choices[k], sizeof choices[k], "%.*s", (int)n, c);
        cli_suggest_add(&s, choices[k]);
        c += n + (c[n] == '|');
    }
    cli_suggest_text(&s, hint, sizeof hint);
    return cli_usage_error(cmd_name(a), "--%s: one of %s, not '%s'%s", o->name, o->choices, v,
                           hint);
}

static int store_int(struct cli_args *a, const struct cli_option *o, const char *v)
{
    char sp[64];
    if ((o->kind == CLI_UINT && (*v == '-' || *v == '+')) ||
        !cli_value_int(v, o->lo, o->hi, &a->num[o->id])) {
        if (o->hi == INT64_MAX) {
            return cli_usage_error(cmd_name(a), "%s: expected an integer >= %lld, not '%s'",
                                   spelled(o, sp, sizeof sp), (long long)o->lo, v);
        }
        return cli_usage_error(cmd_name(a), "%s: expected an integer from %lld to %lld, not '%s'",
                               spelled(o, sp, sizeof sp), (long long)o->lo, (long long)o->hi, v);
    }
    return 0;
}

static int store_size(struct cli_args *a, const struct cli_option *o, const char *v)
{
    char sp[64];
    uint64_t b;
    if (!cli_value_size(v, &b) || b < (uint64_t)o->lo || b > (uint64_t)o->hi) {
        return cli_usage_error(cmd_name(a),
                               "%s: expected a size from %lld to %lld bytes (4096, 512K, 4.5GiB), "
                               "not '%s'",
                               spelled(o, sp, sizeof sp), (long long)o->lo, (long long)o->hi, v);
    }
    a->num[o->id] = (int64_t)b;
    return 0;
}

static int store_float(struct cli_args *a, const struct cli_option *o, const char *v)
{
    char sp[64];
    double x;
    if (!cli_value_float(v, &x) || x < o->flo || x > o->fhi ||
        ((o->flags & CLI_OPEN_HI) && x == o->fhi)) {
        return cli_usage_error(cmd_name(a), "%s: expected a number in [%g, %g%s, not '%s'",
                               spelled(o, sp, sizeof sp), o->flo, o->fhi,
                               o->flags & CLI_OPEN_HI ? ")" : "]", v);
    }
    a->real[o->id] = x;
    return 0;
}

/* An enum's value is one of its '|'-separated choices; num holds its index. */
static int store_enum(struct cli_args *a, const struct cli_option *o, const char *v)
{
    const char *c = o->choices;
    size_t n = strcspn(c, "|");
    int k = 0;
    while (strlen(v) != n || strncmp(c, v, n) != 0) {
        if (!c[n]) {
            return bad_enum(a, o, v);
        }
        c += n + 1;
        n = strcspn(c, "|");
        k++;
    }
    a->num[o->id] = k;
    return 0;
}

/* Checks a value against the row's kind and range and stores it under the row's id. */
static int store(struct cli_args *a, const struct cli_option *o, const char *v)
{
    int rc = 0;
    switch (o->kind) {
    case CLI_NONE:
        a->num[o->id] = 1;
        break;
    case CLI_INT:
    case CLI_UINT:
        rc = store_int(a, o, v);
        break;
    case CLI_SIZE:
        rc = store_size(a, o, v);
        break;
    case CLI_FLOAT:
        rc = store_float(a, o, v);
        break;
    case CLI_ENUM:
        rc = store_enum(a, o, v);
        break;
    case CLI_STRING:
    case CLI_PATH:
    case CLI_LIST:
        break;
    }
    if (rc == 0) {
        a->str[o->id] = v;
    }
    return rc;
}

/* "--out is deprecated: use -o/--output" (the row of the same id that is not deprecated). */
static void warn_deprecated(const struct cli_args *a, const struct cli_option *o)
{
    char sp[64] = "";
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *r = &cli_options[i];
        if (takes(r, a->cmd) && r->id == o->id && !(r->flags & CLI_DEPRECATED)) {
            spelled(r, sp, sizeof sp);
        }
    }
    fprintf(stderr, "quant %s: --%s is deprecated: use %s\n", cmd_name(a), o->name, sp);
}

/* Takes the row's value (attached, or the next argument) and records the occurrence. */
static int take(struct cli_args *a, const struct cli_option *o, const char *attached, int argc,
                char **argv, int *i)
{
    char sp[64];
    const char *v = attached;
    if (o->kind == CLI_NONE && attached) {
        return cli_usage_error(cmd_name(a), "--%s takes no value", o->name);
    }
    if (o->kind != CLI_NONE && !v) {
        if (*i + 1 >= argc) {
            return cli_usage_error(cmd_name(a), "%s needs a value (%s)", spelled(o, sp, sizeof sp),
                                   cli_option_metavar(o));
        }
        v = argv[++*i];
    }
    if (o->metavar2) {
        if (*i + 1 >= argc) {
            return cli_usage_error(cmd_name(a), "--%s %s needs %s", o->name, v, o->metavar2);
        }
        a->str2[o->id] = argv[++*i];
    }
    if (o->flags & CLI_DEPRECATED) {
        warn_deprecated(a, o);
    }
    if (o->flags & CLI_REPEAT) {
        if (a->n_rep == CLI_MAX_REPEAT) {
            return cli_usage_error(cmd_name(a), "--%s given more than %d times", o->name,
                                   CLI_MAX_REPEAT);
        }
        a->rep[a->n_rep].id = o->id;
        a->rep[a->n_rep++].arg = v;
    }
    const int rc = store(a, o, v ? v : "1");
    a->count[o->id] += rc == 0;
    a->last[o->id] = *i;
    return rc;
}

/* An exact long name, else a unique prefix of one (rows of one name count once). */
static const struct cli_option *match_long(struct cli_args *a, const char *name, size_t len,
                                           int *rc)
{
    const struct cli_option *hit = NULL;
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        if (takes(o, a->cmd) && strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
            return o;
        }
    }
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        if (!takes(o, a->cmd) || strncmp(o->name, name, len) != 0 ||
            (hit && strcmp(hit->name, o->name) == 0)) {
            continue;
        }
        if (hit) {
            *rc = cli_usage_error(cmd_name(a), "option '--%.*s' is ambiguous: --%s, --%s, ...",
                                  (int)len, name, hit->name, o->name);
            return NULL;
        }
        hit = o;
    }
    if (!hit) {
        struct cli_suggest s;
        char hint[200];
        cli_suggest_init(&s, name, len, "--");
        for (size_t i = 0; i < cli_n_options; i++) {
            if (takes(&cli_options[i], a->cmd)) {
                cli_suggest_add(&s, cli_options[i].name);
            }
        }
        cli_suggest_text(&s, hint, sizeof hint);
        *rc = cli_usage_error(cmd_name(a), "unknown option '--%.*s'%s", (int)len, name, hint);
    }
    return hit;
}

static int parse_long(struct cli_args *a, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    const size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int rc = 0;
    const struct cli_option *o = match_long(a, name, len, &rc);
    return o ? take(a, o, eq ? eq + 1 : NULL, argc, argv, i) : rc;
}

static int parse_short(struct cli_args *a, int argc, char **argv, int *i)
{
    const char *s = argv[*i];
    for (int j = 1; s[j]; j++) {
        const struct cli_option *o = find_short(a->cmd, s[j]);
        if (!o) {
            return cli_usage_error(cmd_name(a), "unknown option '-%c'", s[j]);
        }
        if (o->kind != CLI_NONE) {
            return take(a, o, s[j + 1] ? s + j + 1 : NULL, argc, argv, i);
        }
        const int rc = take(a, o, NULL, argc, argv, i);
        if (rc != 0 || o->id == OPT_HELP) {
            return rc;
        }
    }
    return 0;
}

/* Every row's default value, so commands read one place. */
static void init_defaults(struct cli_args *a, enum cli_cmd cmd)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        if (!takes(o, cmd) || !o->def || (o->flags & CLI_DEPRECATED)) {
            continue;
        }
        /* the table is checked by test_cli: every default parses */
        if (store(a, o, o->def) != 0) {
            fprintf(stderr, "quant %s: bad default of --%s\n", cli_commands[cmd].name, o->name);
        }
    }
}

static int check_required(struct cli_args *a)
{
    char sp[64];
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        if (takes(o, a->cmd) && (o->flags & CLI_REQUIRED) && !cli_has(a, o->id)) {
            return cli_usage_error(cmd_name(a), "%s %s is needed", spelled(o, sp, sizeof sp),
                                   cli_option_metavar(o));
        }
    }
    const struct cli_command_info *c = &cli_commands[a->cmd];
    if (a->n_pos < c->n_pos_min || (c->n_pos_max >= 0 && a->n_pos > c->n_pos_max)) {
        char names[128] = "";
        size_t off = 0;
        for (int k = 0; k < 3 && c->pos[k].name && off < sizeof names; k++) {
            off += (size_t)snprintf(names + off, sizeof names - off, "%s%s", k ? " " : "",
                                    c->pos[k].name);
        }
        return cli_usage_error(cmd_name(a), "expected %s%s, got %d argument%s",
                               c->n_pos_max < 0 ? "at least " : "", names, a->n_pos,
                               a->n_pos == 1 ? "" : "s");
    }
    return 0;
}

static void log_to_stderr(enum lq_log_level level, const char *msg, void *user)
{
    const int min = *(const int *)user >= 2 ? LQ_LOG_DEBUG : LQ_LOG_INFO;
    if ((int)level >= min) {
        fprintf(stderr, "libquant: %s\n", msg);
    }
}

int cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli_args *a)
{
    static int verbosity;
    init_defaults(a, cmd);
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int rc = 0;
        if (options_done || s[0] != '-' || s[1] == '\0') {
            if (a->n_pos == CLI_MAX_POS) {
                return cli_usage_error(cmd_name(a), "more than %d arguments", CLI_MAX_POS);
            }
            a->pos[a->n_pos++] = s;
        } else if (strcmp(s, "--") == 0) {
            options_done = true;
        } else {
            rc = s[1] == '-' ? parse_long(a, argc, argv, &i) : parse_short(a, argc, argv, &i);
        }
        if (rc != 0) {
            return rc;
        }
        if (cli_has(a, OPT_HELP)) {
            cli_help_print(cmd, stdout);
            return -1;
        }
    }
    /* the progress display is process-wide (progress.h); -q silences it */
    if (cli_has(a, OPT_QUIET)) {
        progress_set_mode(PROGRESS_QUIET);
    } else if (cli_has(a, OPT_PROGRESS)) {
        progress_set_mode(PROGRESS_FORCE);
    }
    verbosity = a->count[OPT_VERBOSE];
    if (verbosity > 0) {
        lq_set_log_fn(log_to_stderr, &verbosity);
    }
    return check_required(a);
}
