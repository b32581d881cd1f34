/* cli_help.c - `quant CMD --help`, `quant help` and "unknown command", from the table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"

#define WIDTH 80
#define HELP_COL 26

void cli_wrap(FILE *f, const char *text, int col, int indent, int width)
{
    const char *p = text;
    while (*p) {
        if (*p == '\n') {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
            p++;
            continue;
        }
        const size_t word = strcspn(p, " \n");
        if (col > indent && col + 1 + (int)word > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, word, f);
        col += (int)word;
        p += word;
        while (*p == ' ') {
            p++;
        }
    }
}

const char *cli_option_metavar(const struct cli_option *o)
{
    return o->kind == CLI_ENUM ? o->choices : o->metavar ? o->metavar : "";
}

void cli_option_help(const struct cli_option *o, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "%s", o->help);
    const char *def = o->def_text ? o->def_text : o->def;
    if (o->values && off < cap) {
        off += (size_t)snprintf(buf + off, cap - off, "; known: %s", o->values());
    }
    if (o->flags & CLI_REQUIRED && off < cap) {
        off += (size_t)snprintf(buf + off, cap - off, " (required)");
    } else if (def && off < cap) {
        off += (size_t)snprintf(buf + off, cap - off, " (default: %s)", def);
    }
}

void cli_pos_help(const struct cli_pos *p, char *buf, size_t cap)
{
    int off = snprintf(buf, cap, "%s", p->help);
    if (p->values && off >= 0 && (size_t)off < cap) {
        snprintf(buf + off, cap - (size_t)off, ": %s", p->values());
    }
}

static void print_option(const struct cli_option *o, FILE *f)
{
    char left[96], help[1536];
    const char *mv = cli_option_metavar(o), *mv2 = o->metavar2 ? o->metavar2 : "";
    if (o->short_name) {
        snprintf(left, sizeof left, "  -%c, --%s%s%s%s%s", o->short_name, o->name, *mv ? " " : "",
                 mv, *mv2 ? " " : "", mv2);
    } else {
        snprintf(left, sizeof left, "      --%s%s%s%s%s", o->name, *mv ? " " : "", mv,
                 *mv2 ? " " : "", mv2);
    }
    cli_option_help(o, help, sizeof help);
    int col = fprintf(f, "%s", left);
    if (col + 2 > HELP_COL) {
        fprintf(f, "\n%*s", HELP_COL, "");
    } else {
        fprintf(f, "%*s", HELP_COL - col, "");
    }
    cli_wrap(f, help, HELP_COL, HELP_COL, WIDTH);
    fputc('\n', f);
}

static bool same_group(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* One group's rows; "common options" last, the others in table order. */
static void print_group(enum cli_cmd cmd, const char *group, FILE *f)
{
    fprintf(f, "\n%s:\n", group ? group : "options");
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        if ((o->cmds & CLI_M(cmd)) && same_group(o->group, group)) {
            print_option(o, f);
        }
    }
}

static void print_groups(enum cli_cmd cmd, FILE *f)
{
    const char *seen[16];
    size_t n = 0;
    const char *common = NULL;
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        bool known = false;
        for (size_t k = 0; k < n; k++) {
            known = known || same_group(seen[k], o->group);
        }
        if (!(o->cmds & CLI_M(cmd)) || known || n == 16) {
            continue;
        }
        seen[n++] = o->group;
        if (o->group && strcmp(o->group, "common options") == 0) {
            common = o->group;
        } else {
            print_group(cmd, o->group, f);
        }
    }
    if (common) {
        print_group(cmd, common, f);
    }
}

void cli_help_print(enum cli_cmd cmd, FILE *f)
{
    const struct cli_command_info *c = &cli_commands[cmd];
    const char *s = c->synopsis;
    for (int line = 0; line == 0 || *s; line++) {
        const size_t n = strcspn(s, "\n");
        fprintf(f, "%s quant %s%s%.*s\n", line ? "      " : "usage:", c->name, n ? " " : "", (int)n,
                s);
        s += n + (s[n] == '\n');
    }
    fprintf(f, "\n%s\n", c->description);
    if (c->pos[0].name) {
        fprintf(f, "\narguments:\n");
    }
    for (int k = 0; k < 3 && c->pos[k].name; k++) {
        int col = fprintf(f, "  %s", c->pos[k].name);
        fprintf(f, "%*s", col + 2 > HELP_COL ? 2 : HELP_COL - col, "");
        char help[1536];
        cli_pos_help(&c->pos[k], help, sizeof help);
        cli_wrap(f, help, HELP_COL, HELP_COL, WIDTH);
        fputc('\n', f);
    }
    print_groups(cmd, f);
    if (c->notes) {
        fprintf(f, "\n%s\n", c->notes);
    }
    fprintf(f, "\nExit codes:");
    cli_wrap(f, c->exit_codes ? c->exit_codes : CLI_EXIT_CODES, 11, 2, WIDTH);
    fprintf(f, ".\n");
}

void cli_help_overview(FILE *f)
{
    fprintf(f, "usage: quant <command> [options] [args]\n\ncommands:\n");
    for (int i = 0; i < CLI_N_CMDS; i++) {
        fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
    }
    fprintf(f, "\n'quant help <command>' or 'quant <command> --help' describes a command.\n"
               "Exit codes: " CLI_EXIT_CODES ".\n");
}

int cli_command_find(const char *name)
{
    for (int i = 0; i < CLI_N_CMDS; i++) {
        if (strcmp(cli_commands[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

int cli_unknown_command(const char *name)
{
    struct cli_suggest s;
    char hint[200];
    cli_suggest_init(&s, name, strlen(name), "");
    for (int i = 0; i < CLI_N_CMDS; i++) {
        cli_suggest_add(&s, cli_commands[i].name);
    }
    cli_suggest_add(&s, "help");
    cli_suggest_text(&s, hint, sizeof hint);
    fprintf(stderr, "quant: unknown command '%s'%s\nTry 'quant help'.\n", name, hint);
    return LQ_EXIT_USAGE;
}
