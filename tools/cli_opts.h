/* cli_opts.h - the one option table of `quant`, its parser and what is generated from it.
 *
 * Every option of every subcommand is one row of cli_options[] (cli_table.c): long name,
 * short name, argument kind, help, default and the bitmask of subcommands that take it. A
 * name may have several rows when subcommands give it different help or ranges (--ctx), but
 * one name never means two things. cli_parse() reads argv for one subcommand into a
 * struct cli_args, indexed by the row's id; the help text (cli_help.c), the man page and
 * the shell completion scripts (cli_gen.c) are printed from the same rows. */
#ifndef LQ_CLI_OPTS_H
#define LQ_CLI_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The subcommands, in the order `quant help` lists them. */
enum cli_cmd {
    CLI_INSPECT,
    CLI_CONVERT,
    CLI_QUANTIZE,
    CLI_EVAL,
    CLI_GENERATE,
    CLI_IMATRIX,
    CLI_REPORT,
    CLI_CHECK,
    CLI_FIT,
    CLI_GPTQ,
    CLI_OPTIMIZE,
    CLI_VERSION,
    CLI_N_CMDS
};

#define CLI_M(c) (1u << (c))

enum cli_kind {
    CLI_NONE,   /* a flag */
    CLI_INT,    /* a decimal integer in [lo, hi] */
    CLI_UINT,   /* an integer >= 0 in [lo, hi], no sign */
    CLI_SIZE,   /* bytes: 4096, 512K, 4.5GiB (K/M/G/T: powers of 1024; KB/MB/GB/TB: of 1000) */
    CLI_FLOAT,  /* a finite number in [flo, fhi] (fhi excluded with CLI_OPEN_HI) */
    CLI_STRING, /* any text */
    CLI_PATH,   /* a file or folder */
    CLI_ENUM,   /* one of the '|'-separated choices */
    CLI_LIST,   /* a comma-separated list */
};

/* What a command reads: one id per meaning (several rows may share one: --out, --output). */
enum cli_id {
    OPT_HELP,
    OPT_THREADS,
    OPT_WEIGHTS,
    OPT_OUTPUT,
    OPT_QUIET,
    OPT_VERBOSE,
    OPT_JSON,
    OPT_PROGRESS,
    OPT_TYPE,
    OPT_TYPES,
    OPT_TEXT,
    OPT_TOKENS,
    OPT_TOKENIZER,
    OPT_CTX,
    OPT_CHUNKS,
    OPT_BATCH,
    OPT_UBATCH,
    OPT_SAVE_LOGITS,
    OPT_COMPARE,
    OPT_PROMPT,
    OPT_PROMPT_TOKENS,
    OPT_N_PREDICT,
    OPT_HASH,
    OPT_NO_TENSORS,
    OPT_PURE,
    OPT_OUTPUT_TENSOR_TYPE,
    OPT_TOKEN_EMBEDDING_TYPE,
    OPT_TENSOR_TYPE,
    OPT_IMATRIX,
    OPT_STATS,
    OPT_ALLOW_REQUANTIZE,
    OPT_ALLOW_NONFINITE,
    OPT_CALIB,
    OPT_CALIB_TOKENS,
    OPT_CALIB_CTX,
    OPT_FORMAT,
    OPT_BITS,
    OPT_GROUP_SIZE,
    OPT_SYM,
    OPT_ASYM,
    OPT_ACT_ORDER,
    OPT_STATIC_GROUPS,
    OPT_RTN,
    OPT_DAMP,
    OPT_LAYERS,
    OPT_LOG,
    OPT_FORCE,
    OPT_FILES,
    OPT_BASE,
    OPT_KEEP,
    OPT_HTML,
    OPT_BASELINE,
    OPT_JUNIT,
    OPT_UPDATE,
    OPT_TASK,
    OPT_TASKS,
    OPT_LLAMA_ORDER,
    OPT_MEM,
    OPT_VRAM,
    OPT_KV_TYPE,
    OPT_FLASH_ATTN,
    OPT_REPORT,
    OPT_TARGET_SIZE,
    OPT_TARGET_BPW,
    OPT_NO_GPTQ,
    OPT_DRY_RUN,
    OPT_PLAN_OUT,
    OPT_PLAN,
    OPT_WORK,
    OPT_RESUME,
    OPT_KLD_CHUNKS,
    OPT_VALIDATE,
    OPT_OPTIMIZE,
    CLI_N_IDS
};

enum cli_flags {
    CLI_REQUIRED = 1u << 0,   /* the command needs it */
    CLI_REPEAT = 1u << 1,     /* every occurrence is kept (cli_args.rep) */
    CLI_DEPRECATED = 1u << 2, /* an old spelling: accepted with a warning */
    CLI_OPEN_HI = 1u << 3,    /* CLI_FLOAT: fhi itself is out of range */
};

struct cli_option {
    const char *name; /* long name, without "--" */
    char short_name;  /* 0: long only */
    enum cli_kind kind;
    const char *metavar; /* "N", "FILE"; CLI_ENUM rows show their choices */
    const char *metavar2; /* a second value, the next argument ("--task KIND FILE"), or NULL */
    const char *help;
    const char *def;             /* the default as a value (the parser starts from it), or NULL */
    const char *def_text;        /* the default in words when it is not a value ("all cores") */
    int64_t lo, hi;              /* CLI_INT / CLI_UINT / CLI_SIZE range */
    double flo, fhi;             /* CLI_FLOAT range */
    const char *choices;         /* CLI_ENUM: "gguf|safetensors" */
    const char *(*values)(void); /* the values a string takes ("F16, Q4_K_M, ..."): help and
                                  * completion only, the command checks them */
    uint32_t cmds;               /* CLI_M() of the subcommands that take it */
    enum cli_id id;
    unsigned flags;
    const char *group; /* help section; NULL: "options" */
};

struct cli_pos {
    const char *name; /* "MODEL"; "FILE..." for any number */
    const char *help;
    const char *(*values)(void); /* the values it takes, as for options: help only */
};

struct cli_command_info {
    const char *name;
    const char *summary;  /* one line for `quant help` */
    const char *synopsis; /* usage after "quant NAME ", lines separated by '\n' */
    const char *description;
    struct cli_pos pos[3];
    int n_pos_min, n_pos_max; /* n_pos_max < 0: any number */
    const char *notes;        /* printed after the options, or NULL */
    const char *exit_codes;   /* NULL: the usual 0/1/2/3 */
};

extern const struct cli_option cli_options[];
extern const size_t cli_n_options;
extern const struct cli_command_info cli_commands[CLI_N_CMDS];

/* The usual meaning of the exit codes, as every --help ends. */
#define CLI_EXIT_CODES "0 ok, 1 failure, 2 usage error, 3 bad input file"

#define CLI_MAX_POS 1024
#define CLI_MAX_REPEAT 64

/* The parsed command line: values by id (the row's default when not given). */
struct cli_args {
    enum cli_cmd cmd;
    int count[CLI_N_IDS]; /* how often each was given */
    int last[CLI_N_IDS];  /* argv index of the last occurrence (which of two came last) */
    int64_t num[CLI_N_IDS];
    double real[CLI_N_IDS];
    const char *str[CLI_N_IDS];
    const char *str2[CLI_N_IDS]; /* the second value of a metavar2 row */
    struct {
        enum cli_id id;
        const char *arg;
    } rep[CLI_MAX_REPEAT]; /* CLI_REPEAT options, in order */
    int n_rep;
    const char *pos[CLI_MAX_POS];
    int n_pos;
};

/* Parses argv (argv[0] is the subcommand's name) for cmd. Returns 0 when the command should
 * run, -1 after printing the help (--help: exit 0), or LQ_EXIT_USAGE after a message naming
 * the problem (an unknown option gets "did you mean"). With -v, installs a log callback that
 * prints the library's diagnostics on stderr. */
int cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli_args *a);

static inline bool cli_has(const struct cli_args *a, enum cli_id id)
{
    return a->count[id] > 0;
}

/* The number, text or flag of id: what was given, else the row's default. */
static inline int64_t cli_num(const struct cli_args *a, enum cli_id id)
{
    return a->num[id];
}
static inline double cli_real(const struct cli_args *a, enum cli_id id)
{
    return a->real[id];
}
static inline const char *cli_str(const struct cli_args *a, enum cli_id id)
{
    return a->str[id];
}
/* The second value of a row with a metavar2 ("--task KIND FILE": the FILE). */
static inline const char *cli_str2(const struct cli_args *a, enum cli_id id)
{
    return a->str2[id];
}

/* The model options of eval and generate (--threads, --weights) as model parameters (the
 * others at their defaults); a bad --weights value is a usage error (returns its exit code,
 * else 0). cli_model.c */
struct lq_model_params;
int cli_model_params(const struct cli_args *a, const char *cmd, struct lq_model_params *mp);

/* The row of cmd's option `name` (exact long name), or NULL. */
const struct cli_option *cli_find(enum cli_cmd cmd, const char *name);

/* Value parsers (whole string; false on anything else): a decimal integer in [lo, hi], a
 * size with an optional unit, a finite float. */
bool cli_value_int(const char *s, int64_t lo, int64_t hi, int64_t *out);
bool cli_value_size(const char *s, uint64_t *out);
bool cli_value_float(const char *s, double *out);

/* Optimal string alignment distance (Levenshtein with adjacent transpositions). */
int cli_edit_distance(const char *a, size_t na, const char *b, size_t nb);

/* The closest candidates to a mistyped word, for "did you mean": feed every candidate, then
 * print ("'a'", "'a' or 'b'"). Only candidates close enough to be a typo are kept. */
struct cli_suggest {
    const char *word;
    size_t len;
    int best;
    const char *names[4];
    int n;
    const char *prefix; /* printed before each name ("--"), may be "" */
};
void cli_suggest_init(struct cli_suggest *s, const char *word, size_t len, const char *prefix);
void cli_suggest_add(struct cli_suggest *s, const char *name);
/* "; did you mean '--threads'?" or "" when nothing is close. */
void cli_suggest_text(const struct cli_suggest *s, char *buf, size_t cap);

/* The help of a subcommand (usage, arguments, options by group, exit codes). */
void cli_help_print(enum cli_cmd cmd, FILE *f);
/* The overview: every subcommand with its summary. */
void cli_help_overview(FILE *f);
/* Prints "quant: unknown command 'x'; did you mean 'y'?" and returns LQ_EXIT_USAGE. */
int cli_unknown_command(const char *name);
/* The subcommand called name, or -1. */
int cli_command_find(const char *name);
/* Prints text wrapped at width columns; continuation lines start at column indent, the
 * first line at column col (where the caller left the cursor). */
void cli_wrap(FILE *f, const char *text, int col, int indent, int width);
/* The row's help with its default and choices, as the help and the man page show it. */
void cli_option_help(const struct cli_option *o, char *buf, size_t cap);
/* A positional argument's help with its values() appended, as the help and man page print it. */
void cli_pos_help(const struct cli_pos *p, char *buf, size_t cap);
/* The row's value name: metavar, or the choices of an enum ("gguf|safetensors"). */
const char *cli_option_metavar(const struct cli_option *o);

/* The man page (roff) and the completion scripts, all from the table (cli_gen.c). */
void cli_gen_man(FILE *f);
void cli_gen_bash(FILE *f);
void cli_gen_zsh(FILE *f);

#endif
