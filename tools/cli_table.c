/* cli_table.c - every subcommand and every option of `quant`, in one place (cli_opts.h). */
#include <stddef.h>
#include <stdio.h>

#include "cli_opts.h"
#include "lq/gptq.h"
#include "lq/model.h"
#include "lq/recipe.h"
#include "lq/report.h"

#define INSPECT CLI_M(CLI_INSPECT)
#define CONVERT CLI_M(CLI_CONVERT)
#define QUANTIZE CLI_M(CLI_QUANTIZE)
#define EVAL CLI_M(CLI_EVAL)
#define GENERATE CLI_M(CLI_GENERATE)
#define IMATRIX CLI_M(CLI_IMATRIX)
#define REPORT CLI_M(CLI_REPORT)
#define CHECK CLI_M(CLI_CHECK)
#define GPTQ CLI_M(CLI_GPTQ)
#define FIT CLI_M(CLI_FIT)
#define OPTIMIZE CLI_M(CLI_OPTIMIZE)
#define ALL (CLI_M(CLI_N_CMDS) - 1)

/* The subcommands that run threads (all but generate run long enough for --progress). */
#define THREADED \
    (CONVERT | QUANTIZE | EVAL | GENERATE | IMATRIX | REPORT | CHECK | GPTQ | OPTIMIZE)
/* The subcommands that produce a result a machine may read. */
#define RESULT \
    (INSPECT | CONVERT | QUANTIZE | EVAL | GENERATE | IMATRIX | REPORT | CHECK | GPTQ | FIT | \
     OPTIMIZE)

#define BIG INT64_MAX
#define COMMON "common options"

static const char *ftype_names(void)
{
    return lq_ftype_names();
}

/* quantize's TYPE: every file type, then those llama-quantize (and so quant) makes only with
 * an importance matrix; both lists come from the file-type table. */
static const char *quantize_type_values(void)
{
    static char buf[1536];
    snprintf(buf, sizeof buf,
             "%s. These need an importance matrix (--imatrix FILE, made by `quant imatrix`): %s",
             lq_ftype_names(), lq_ftype_imatrix_names());
    return buf;
}

const struct cli_command_info cli_commands[CLI_N_CMDS] = {
    [CLI_INSPECT] =
        {
            .name = "inspect",
            .summary = "show what a model file or folder holds (anything convert reads)",
            .synopsis = "[options] PATH",
            .description =
                "Shows what a model holds: format, architecture, parameters, bytes by type, bits\n"
                "per weight, metadata and the tensor table. Shapes are in GGUF order: the row\n"
                "length first.",
            .pos = {{"PATH", "a GGUF file, a safetensors file, a PyTorch pytorch_model.bin, a "
                             "llama2.c checkpoint, or a Hugging Face folder (safetensors, sharded, "
                             "pytorch_model.bin or GPTQ; GPTQ's packed weights count as the "
                             "weights they hold)", NULL}},
            .n_pos_min = 1,
            .n_pos_max = 1,
        },
    [CLI_CONVERT] =
        {
            .name = "convert",
            .summary = "convert a downloaded checkpoint to GGUF (F16 or quantized)",
            .synopsis = "[options] SRC -o OUT.gguf",
            .description =
                "Converts a downloaded checkpoint to a GGUF file that llama.cpp and Ollama load,\n"
                "straight to any quantized type in the same pass.",
            .pos = {{"SRC",
                     "a Hugging Face folder (config.json + model.safetensors, sharded safetensors "
                     "with model.safetensors.index.json, or pytorch_model.bin), a llama2.c "
                     "checkpoint (.bin with tok512.bin or tokenizer.bin beside it), or a GGUF "
                     "file", NULL}},
            .n_pos_min = 1,
            .n_pos_max = 1,
        },
    [CLI_QUANTIZE] =
        {
            .name = "quantize",
            .summary = "quantize a model with llama.cpp's file types and recipes",
            .synopsis = "[options] IN OUT TYPE | [options] -o OUT IN TYPE\n"
                        "--plan PLAN.json [options] IN OUT",
            .description =
                "Quantizes IN into the GGUF file OUT with llama.cpp's recipe for TYPE. Tensor\n"
                "data is byte-identical to llama-quantize's for the same input. OUT is the\n"
                "second argument, as llama-quantize takes it, or -o/--output as elsewhere.",
            .pos = {{"IN", "a GGUF file, a Hugging Face folder or a llama2.c checkpoint", NULL},
                    {"OUT", "the GGUF file to write", NULL},
                    {"TYPE", "the file type", quantize_type_values}},
            .n_pos_min = 2,
            .n_pos_max = 3,
        },
    [CLI_EVAL] =
        {
            .name = "eval",
            .summary = "perplexity, KL divergence and top-1 agreement on a text",
            .synopsis = "[options] MODEL (--text FILE | --tokens FILE | --compare BASE)",
            .description =
                "Perplexity of a model as llama-perplexity computes it: the text is cut into\n"
                "chunks of --ctx tokens, each starting with BOS, and the second half of each\n"
                "chunk is scored.",
            .pos = {{"MODEL",
                     "a GGUF file, a Hugging Face folder (safetensors or pytorch_model.bin; "
                     "F32/F16/BF16) or a llama2.c checkpoint, read as downloaded", NULL}},
            .n_pos_min = 1,
            .n_pos_max = 1,
        },
    [CLI_GENERATE] =
        {
            .name = "generate",
            .summary = "greedy generation from a prompt (a smoke test)",
            .synopsis = "[options] MODEL (-p TEXT | --prompt-tokens IDS)",
            .description = "Greedy decoding: always the most likely next token.",
            .pos = {{"MODEL",
                     "a GGUF file, a Hugging Face folder or a llama2.c checkpoint, read as "
                     "downloaded", NULL}},
            .n_pos_min = 1,
            .n_pos_max = 1,
        },
    [CLI_IMATRIX] =
        {
            .name = "imatrix",
            .summary = "importance matrix from calibration text (llama-imatrix's GGUF)",
            .synopsis = "[options] MODEL --calib FILE -o OUT",
            .description =
                "Runs the calibration text through MODEL and writes the mean squared input\n"
                "activation of every block weight as llama.cpp's imatrix GGUF (what\n"
                "llama-imatrix writes: same entries, counts and sums). Collect with an F16 (or\n"
                "F32) model, as llama-imatrix users do.",
            .pos = {{"MODEL", "a GGUF file, a Hugging Face folder, a llama2.c checkpoint or a GPTQ "
                              "folder", NULL}},
            .n_pos_min = 1,
            .n_pos_max = 1,
            .notes = "The text must give at least 2 chunks (llama-imatrix's rule).",
        },
    [CLI_REPORT] =
        {
            .name = "report",
            .summary = "size/accuracy table and chart of several quantizations",
            .synopsis = "[options] MODEL --text FILE\n"
                        "--files [options] A.gguf B.gguf ... --base REF.gguf --text FILE",
            .description =
                "Quantizes MODEL to each type (from an F16 reference: a GGUF MODEL is the\n"
                "reference as it is, any other checkpoint is converted to F16 first),\n"
                "evaluates every type against the reference on the text, and writes\n"
                "OUT/report.md (table), report.json (every number), report.svg (bits per weight\n"
                "against KL divergence, Pareto front) and report-tensors.svg (each type's\n"
                "per-tensor relative RMSE by layer).",
            .pos = {{"MODEL",
                     "the model to quantize (or, with --files, the GGUF files to compare)", NULL}},
            .n_pos_min = 1,
            .n_pos_max = -1,
        },
    [CLI_CHECK] =
        {
            .name = "check",
            .summary = "re-run a baseline's quantizations and fail on regressions (CI)",
            .synopsis = "[options] --baseline FILE MODEL",
            .description =
                "Quantizes MODEL to every type the baseline lists, evaluates each on the\n"
                "baseline's chunks of the text and compares with the baseline's tolerances:\n"
                "dPPL, mean KLD, top-1 agreement, each tensor's type and RMSE, and (types\n"
                "marked deterministic) each tensor's XXH3-64.",
            .pos = {{"MODEL", "the model the baseline was made from", NULL}},
            .n_pos_min = 1,
            .n_pos_max = 1,
            .exit_codes =
                "0 every tolerance held, 1 a regression (or a failed run), 2 a bad baseline "
                "(missing keys, unknown types, another model or text) or usage, 3 a baseline "
                "or model that is no regular file (a FIFO, a device)",
        },
    [CLI_FIT] =
        {
            .name = "fit",
            .summary = "which GGUF files fit a memory budget in llama.cpp, and at what accuracy",
            .synopsis = "[options] --mem SIZE MODEL|FILE.gguf...",
            .description =
                "Estimates the memory llama.cpp takes for each file: the weights (mapped and\n"
                "repacked), the KV cache for the context and KV type, the compute and output\n"
                "buffers, as llama.cpp prints them at load; with --vram, the most layers that\n"
                "fit on the GPU (llama.cpp's -ngl). A model not yet quantized (a Hugging Face\n"
                "folder, an F16 GGUF given alone) is estimated for every file type its recipe\n"
                "plans, without writing anything. With --report, each file's mean KLD from a\n"
                "`quant report` JSON and the most accurate file that fits.",
            .pos = {{"MODEL", "GGUF files, or one checkpoint (a folder or GGUF) to plan every file "
                              "type of", NULL}},
            .n_pos_min = 1,
            .n_pos_max = -1,
            .notes = "The formulas (lq/fit.h) are checked against llama.cpp's printed buffer sizes\n"
                     "for the host; the GPU split follows llama.cpp's rules but is not measured.",
            .exit_codes = "0 one fits, 1 none (the smallest is named), "
                          "2 usage, 3 bad file",
        },
    [CLI_GPTQ] =
        {
            .name = "gptq",
            .summary = "GPTQ from calibration text, to GGUF blocks or GPTQ safetensors",
            .synopsis = "[options] MODEL --calib FILE -o OUT",
            .description =
                "GPTQ (Frantar et al. 2022) layer by layer, true-sequential as AutoGPTQ: for\n"
                "q/k/v, then o, then gate/up, then down, the calibration text is run through\n"
                "the already quantized weights of earlier groups and layers, the inputs'\n"
                "Hessian H = 2 X^T X / n is taken and each weight is quantized column by\n"
                "column with error feedback.",
            .pos = {{"MODEL", "a GGUF file (F16/F32/BF16) or a Hugging Face folder", NULL}},
            .n_pos_min = 1,
            .n_pos_max = 1,
            .notes =
                "OpenBLAS picks slow kernels on some virtual machines; when OPENBLAS_CORETYPE is\n"
                "unset and the CPU has AVX-512 (AVX2), gptq restarts itself with it set to\n"
                "SkylakeX (Haswell).",
        },
    [CLI_OPTIMIZE] =
        {
            .name = "optimize",
            .summary = "the most accurate GGUF that fits a size, types chosen by measured KLD",
            .synopsis = "[options] MODEL --calib FILE (--target-size SIZE | --target-bpw B) "
                        "-o OUT.gguf",
            .description =
                "Measures how quantizing each tensor to each candidate type moves the model's\n"
                "output distribution (output-error energy from the GPTQ Hessians, scaled per\n"
                "tensor by one measured single-tensor KL divergence), chooses every tensor's\n"
                "type so that the file fits the target with the least predicted KLD, then\n"
                "quantizes with GPTQ in the chosen types. The file loads in llama.cpp\n"
                "unchanged and carries the plan in its metadata (libquant.plan).",
            .pos = {{"MODEL", "a GGUF file (F16/F32/BF16) or a Hugging Face folder", NULL}},
            .n_pos_min = 1,
            .n_pos_max = 1,
            .notes = "A target below the smallest possible file is a usage error (exit 2) that\n"
                     "names the smallest size. `quant quantize --plan PLAN.json IN OUT` writes a\n"
                     "plan's file again without measuring.",
        },
    [CLI_VERSION] =
        {
            .name = "version",
            .summary = "print the versions of libquant and its libraries",
            .synopsis = "",
            .description = "Prints the versions of libquant and of the libraries it links.",
        },
};

/* The file types whose default block type GPTQ can fill, from the tables. */
static const char *gptq_ftype_names(void)
{
    static char buf[1024];
    enum lq_ftype all[64];
    size_t n = lq_ftype_list(all, 64), off = 0;
    for (size_t i = 0; i < n && i < 64 && off < sizeof buf; i++) {
        if (lq_gptq_gguf_supported((enum lq_type)lq_ftype_default_type(all[i]))) {
            off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", off ? ", " : "",
                                    lq_ftype_name(all[i]));
        }
    }
    return buf;
}

static const char *weights_memory_names(void)
{
    return lq_weights_memory_names();
}

static const char *report_job_names(void)
{
    return lq_report_job_names();
}

const struct cli_option cli_options[] = {
    // ---- options every subcommand (or every long-running one) shares ----
    {.name = "threads",
     .short_name = 't',
     .kind = CLI_UINT,
     .metavar = "N",
     .help = "threads to run",
     .def = "0",
     .def_text = "0, all cores",
     .lo = 0,
     .hi = 1024,
     .cmds = THREADED,
     .id = OPT_THREADS,
     .group = COMMON},
    {.name = "weights",
     .kind = CLI_STRING,
     .metavar = "WHERE",
     .help = "where the weights are read from: loaded (copied into anonymous memory at open, "
             "the file's pages handed back: decoding reads them up to 1.5x faster), mapped "
             "(in place from the file's map, nothing copied), or auto (loaded for a GGUF file "
             "whose weights take at most half the available memory, else mapped)",
     .def = "auto",
     .values = weights_memory_names,
     .cmds = EVAL | GENERATE,
     .id = OPT_WEIGHTS,
     .group = COMMON},
    {.name = "quiet",
     .short_name = 'q',
     .kind = CLI_NONE,
     .help = "no progress bar, summary or timings: results and errors only",
     .cmds = THREADED & ~CHECK,
     .id = OPT_QUIET,
     .group = COMMON},
    {.name = "quiet",
     .short_name = 'q',
     .kind = CLI_NONE,
     .help = "print failures only",
     .cmds = CHECK,
     .id = OPT_QUIET,
     .group = COMMON},
    {.name = "verbose",
     .short_name = 'v',
     .kind = CLI_NONE,
     .help = "print the library's diagnostics on stderr (-vv: debug messages too)",
     .cmds = ALL & ~CLI_M(CLI_VERSION),
     .id = OPT_VERBOSE,
     .group = COMMON},
    {.name = "json",
     .kind = CLI_NONE,
     .help = "print the result as one JSON object on stdout (schema and keys: README.md)",
     .cmds = RESULT,
     .id = OPT_JSON,
     .group = COMMON},
    {.name = "progress",
     .kind = CLI_NONE,
     .help = "progress as plain lines even when stderr is not a terminal",
     .cmds = THREADED & ~GENERATE,
     .id = OPT_PROGRESS,
     .group = COMMON},
    {.name = "help",
     .short_name = 'h',
     .kind = CLI_NONE,
     .help = "show this help and exit",
     .cmds = ALL,
     .id = OPT_HELP,
     .group = COMMON},

    // ---- inspect ----
    {.name = "hash",
     .kind = CLI_NONE,
     .help = "add an XXH3-64 of each tensor's data",
     .cmds = INSPECT,
     .id = OPT_HASH},
    {.name = "no-tensors",
     .kind = CLI_NONE,
     .help = "omit the tensor table",
     .cmds = INSPECT,
     .id = OPT_NO_TENSORS},

    // ---- outputs ----
    {.name = "output",
     .short_name = 'o',
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "the GGUF file to write",
     .cmds = CONVERT,
     .id = OPT_OUTPUT,
     .flags = CLI_REQUIRED},
    {.name = "output",
     .short_name = 'o',
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "the GGUF file to write (instead of the OUT argument)",
     .cmds = QUANTIZE,
     .id = OPT_OUTPUT},
    {.name = "output",
     .short_name = 'o',
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "the imatrix GGUF to write",
     .cmds = IMATRIX,
     .id = OPT_OUTPUT,
     .flags = CLI_REQUIRED},
    {.name = "output",
     .short_name = 'o',
     .kind = CLI_PATH,
     .metavar = "OUT",
     .help = "the GGUF file (--format gguf) or the folder (--format safetensors) to write",
     .cmds = GPTQ,
     .id = OPT_OUTPUT,
     .flags = CLI_REQUIRED,
     .group = "output"},
    {.name = "output",
     .short_name = 'o',
     .kind = CLI_PATH,
     .metavar = "DIR",
     .help = "where the report goes (created when missing)",
     .def = ".",
     .cmds = REPORT,
     .id = OPT_OUTPUT},
    {.name = "out",
     .kind = CLI_PATH,
     .metavar = "DIR",
     .help = "deprecated spelling of --output",
     .cmds = REPORT,
     .id = OPT_OUTPUT,
     .flags = CLI_DEPRECATED},

    // ---- convert and quantize ----
    {.name = "type",
     .kind = CLI_STRING,
     .metavar = "TYPE",
     .help = "the file type (F32, F16, BF16 or a quantized one)",
     .def = "f16",
     .values = ftype_names,
     .cmds = CONVERT,
     .id = OPT_TYPE},
    {.name = "pure",
     .kind = CLI_NONE,
     .help = "every quantizable tensor gets the default type",
     .cmds = CONVERT | QUANTIZE,
     .id = OPT_PURE},
    {.name = "output-tensor-type",
     .kind = CLI_STRING,
     .metavar = "T",
     .help = "type of output.weight",
     .cmds = CONVERT | QUANTIZE,
     .id = OPT_OUTPUT_TENSOR_TYPE},
    {.name = "token-embedding-type",
     .kind = CLI_STRING,
     .metavar = "T",
     .help = "type of token_embd.weight",
     .cmds = CONVERT | QUANTIZE,
     .id = OPT_TOKEN_EMBEDDING_TYPE},
    {.name = "tensor-type",
     .kind = CLI_STRING,
     .metavar = "REGEX=T",
     .help = "type of the tensors whose name matches REGEX (PCRE2; repeatable, the first match "
             "wins)",
     .cmds = CONVERT | QUANTIZE,
     .id = OPT_TENSOR_TYPE,
     .flags = CLI_REPEAT},
    {.name = "imatrix",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "importance matrix (llama.cpp imatrix GGUF) for the quantized types",
     .cmds = CONVERT | QUANTIZE | REPORT,
     .id = OPT_IMATRIX},
    {.name = "stats",
     .kind = CLI_NONE,
     .help = "per-tensor error table (RMSE, max error, rel. RMSE, SNR)",
     .cmds = CONVERT | QUANTIZE,
     .id = OPT_STATS},
    {.name = "allow-requantize",
     .kind = CLI_NONE,
     .help = "allow quantizing tensors that are already quantized",
     .cmds = CONVERT | QUANTIZE,
     .id = OPT_ALLOW_REQUANTIZE},
    {.name = "allow-nonfinite",
     .kind = CLI_NONE,
     .help = "quantize NaN/Inf weights instead of refusing them",
     .cmds = CONVERT | QUANTIZE,
     .id = OPT_ALLOW_NONFINITE},

    // ---- evaluation text and context ----
    {.name = "text",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "text to evaluate (tokenized with the model's vocabulary)",
     .cmds = EVAL,
     .id = OPT_TEXT},
    {.name = "text",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "evaluation text (tokenized with the reference's vocabulary)",
     .cmds = REPORT,
     .id = OPT_TEXT,
     .flags = CLI_REQUIRED},
    {.name = "text",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "evaluation text",
     .def_text = "the baseline's eval.text",
     .cmds = CHECK,
     .id = OPT_TEXT},
    {.name = "tokens",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "token ids to evaluate instead (whitespace-separated, BOS first)",
     .cmds = EVAL,
     .id = OPT_TOKENS},
    {.name = "tokenizer",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "llama2.c tokenizer",
     .def_text = "tokenizer.bin or tok<N>.bin beside the checkpoint",
     .cmds = EVAL | GENERATE,
     .id = OPT_TOKENIZER},
    {.name = "ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "chunk length in tokens",
     .def_text = "512; with --compare, the base's",
     .lo = 1,
     .hi = BIG,
     .cmds = EVAL,
     .id = OPT_CTX},
    {.name = "ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "chunk length in tokens",
     .def = "512",
     .lo = 1,
     .hi = BIG,
     .cmds = REPORT,
     .id = OPT_CTX},
    {.name = "ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "tokens per chunk, BOS first",
     .def = "512",
     .lo = 2,
     .hi = BIG,
     .cmds = IMATRIX,
     .id = OPT_CTX},
    {.name = "ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "context size",
     .def_text = "the prompt + N",
     .lo = 1,
     .hi = 1 << 24,
     .cmds = GENERATE,
     .id = OPT_CTX},
    {.name = "ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "(new baseline) chunk length",
     .lo = 4,
     .hi = BIG,
     .cmds = CHECK,
     .id = OPT_CTX},
    {.name = "chunks",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "evaluate at most N chunks",
     .def_text = "all",
     .lo = 1,
     .hi = BIG,
     .cmds = EVAL,
     .id = OPT_CHUNKS},
    {.name = "chunks",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "use at most N chunks",
     .def_text = "the whole text",
     .lo = 1,
     .hi = BIG,
     .cmds = IMATRIX,
     .id = OPT_CHUNKS},
    {.name = "chunks",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "evaluate at most N chunks",
     .def_text = "the whole text",
     .lo = 2,
     .hi = BIG,
     .cmds = REPORT,
     .id = OPT_CHUNKS},
    {.name = "chunks",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "(new baseline) chunks to evaluate",
     .lo = 2,
     .hi = BIG,
     .cmds = CHECK,
     .id = OPT_CHUNKS},
    {.name = "batch",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "tokens per forward call",
     .def_text = "--ctx",
     .lo = 1,
     .hi = BIG,
     .cmds = EVAL,
     .id = OPT_BATCH},
    {.name = "batch",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "llama-imatrix's -b (with --ubatch, it decides which rows are counted)",
     .def = "2048",
     .lo = 1,
     .hi = BIG,
     .cmds = IMATRIX,
     .id = OPT_BATCH},
    {.name = "ubatch",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "llama-imatrix's -ub",
     .def = "512",
     .lo = 1,
     .hi = BIG,
     .cmds = IMATRIX,
     .id = OPT_UBATCH},
    {.name = "save-logits",
     .kind = CLI_PATH,
     .metavar = "BASE",
     .help = "save this model's distributions as the base for --compare",
     .cmds = EVAL,
     .id = OPT_SAVE_LOGITS},
    {.name = "compare",
     .kind = CLI_PATH,
     .metavar = "BASE",
     .help = "KL divergence, top-token agreement and dp against BASE (evaluates BASE's "
             "tokens; --text/--tokens not needed)",
     .cmds = EVAL,
     .id = OPT_COMPARE},

    // ---- generate ----
    {.name = "prompt",
     .short_name = 'p',
     .kind = CLI_STRING,
     .metavar = "TEXT",
     .help = "prompt text (tokenized with BOS first)",
     .cmds = GENERATE,
     .id = OPT_PROMPT},
    {.name = "prompt-tokens",
     .kind = CLI_STRING,
     .metavar = "IDS",
     .help = "prompt as token ids instead (\"1 450 1023\")",
     .cmds = GENERATE,
     .id = OPT_PROMPT_TOKENS},
    {.name = "n-predict",
     .short_name = 'n',
     .kind = CLI_INT,
     .metavar = "N",
     .help = "tokens to generate",
     .def = "32",
     .lo = 1,
     .hi = 1 << 24,
     .cmds = GENERATE,
     .id = OPT_N_PREDICT},

    // ---- calibration (imatrix, gptq, report) ----
    {.name = "calib",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "calibration text (tokenized with MODEL's tokenizer)",
     .cmds = IMATRIX,
     .id = OPT_CALIB,
     .flags = CLI_REQUIRED},
    {.name = "calib",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "calibration text",
     .cmds = GPTQ,
     .id = OPT_CALIB,
     .flags = CLI_REQUIRED,
     .group = "GPTQ options"},
    {.name = "calib",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "calibration text for the gptq-* types (needed by them): the file type's recipe, "
             "block weights quantized with sequential GPTQ (as `quant gptq --format gguf`); "
             "quantize time includes it",
     .cmds = REPORT,
     .id = OPT_CALIB},
    {.name = "calib-tokens",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "use the first N calibration tokens (rounded down to chunks)",
     .def = "16384",
     .lo = 2,
     .hi = BIG,
     .cmds = GPTQ,
     .id = OPT_CALIB_TOKENS,
     .group = "GPTQ options"},
    {.name = "calib-tokens",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "calibration tokens, rounded down to chunks",
     .def = "4096",
     .lo = 1,
     .hi = BIG,
     .cmds = REPORT,
     .id = OPT_CALIB_TOKENS},
    {.name = "calib-ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "tokens per calibration chunk",
     .def = "512",
     .lo = 2,
     .hi = BIG,
     .cmds = GPTQ,
     .id = OPT_CALIB_CTX,
     .group = "GPTQ options"},
    {.name = "calib-ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "tokens per calibration chunk",
     .def = "512",
     .lo = 2,
     .hi = BIG,
     .cmds = REPORT,
     .id = OPT_CALIB_CTX},

    // ---- gptq ----
    {.name = "format",
     .kind = CLI_ENUM,
     .help =
         "gguf: a GGUF file of llama.cpp's own block "
         "types (--type picks the file type, llama.cpp's recipe decides every tensor's type and "
         "GPTQ fills the block weights); safetensors: a GPTQ v1 folder (transformers, vLLM, "
         "AutoGPTQ) at OUT; MODEL must then be a Hugging Face folder",
     .def = "gguf",
     .choices = "gguf|safetensors",
     .cmds = GPTQ,
     .id = OPT_FORMAT,
     .group = "output"},
    {.name = "type",
     .kind = CLI_STRING,
     .metavar = "TYPE",
     .help = "(gguf) the file type whose block weights GPTQ fills; other types of the recipe "
             "are rounded as llama.cpp",
     .def = "Q4_0",
     .values = gptq_ftype_names,
     .cmds = GPTQ,
     .id = OPT_TYPE,
     .group = "output"},
    {.name = "pure",
     .kind = CLI_NONE,
     .help = "(gguf) the type for all block weights",
     .cmds = GPTQ,
     .id = OPT_PURE,
     .group = "output"},
    {.name = "force",
     .kind = CLI_NONE,
     .help = "(safetensors) replace a non-empty OUT folder as a whole (OUT must otherwise not "
             "exist or be empty; the folder is built beside it as .OUT.tmp.XXXXXX and renamed "
             "into place)",
     .cmds = GPTQ,
     .id = OPT_FORCE,
     .group = "output"},
    {.name = "bits",
     .kind = CLI_ENUM,
     .help = "(safetensors) bits per weight",
     .def = "4",
     .choices = "2|3|4|8",
     .cmds = GPTQ,
     .id = OPT_BITS,
     .group = "output"},
    {.name = "group-size",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "(safetensors) weights per group: a multiple of 32, or -1 for one group per row",
     .def = "128",
     .lo = -1,
     .hi = 1 << 24,
     .cmds = GPTQ,
     .id = OPT_GROUP_SIZE,
     .group = "output"},
    {.name = "sym",
     .kind = CLI_NONE,
     .help = "(safetensors) symmetric grid (the default)",
     .cmds = GPTQ,
     .id = OPT_SYM,
     .group = "output"},
    {.name = "asym",
     .kind = CLI_NONE,
     .help = "(safetensors) asymmetric grid",
     .cmds = GPTQ,
     .id = OPT_ASYM,
     .group = "output"},
    {.name = "act-order",
     .kind = CLI_NONE,
     .help = "quantize columns by decreasing Hessian diagonal (desc_act); for GGUF blocks this "
             "implies --static-groups",
     .cmds = GPTQ,
     .id = OPT_ACT_ORDER,
     .group = "GPTQ options"},
    {.name = "static-groups",
     .kind = CLI_NONE,
     .help = "fix each group's scale from the original weights first",
     .cmds = GPTQ,
     .id = OPT_STATIC_GROUPS,
     .group = "GPTQ options"},
    {.name = "rtn",
     .kind = CLI_NONE,
     .help = "baseline: round to nearest on the same grid (GPTQ with an identity Hessian, so "
             "no error feedback), for comparisons",
     .cmds = GPTQ,
     .id = OPT_RTN,
     .group = "GPTQ options"},
    {.name = "damp",
     .kind = CLI_FLOAT,
     .metavar = "F",
     .help = "dampening, a fraction of the mean Hessian diagonal",
     .def = "0.01",
     .flo = 0.0,
     .fhi = 1.0,
     .cmds = GPTQ,
     .id = OPT_DAMP,
     .flags = CLI_OPEN_HI,
     .group = "GPTQ options"},
    {.name = "layers",
     .kind = CLI_STRING,
     .metavar = "A:B",
     .help = "only layers A .. B-1 (others keep the recipe's rounding); for tests",
     .cmds = GPTQ,
     .id = OPT_LAYERS,
     .group = "GPTQ options"},
    {.name = "log",
     .kind = CLI_PATH,
     .metavar = "FILE.json",
     .help = "per-weight losses and times as JSON",
     .cmds = GPTQ,
     .id = OPT_LOG,
     .group = "GPTQ options"},

    // ---- report ----
    {.name = "types",
     .kind = CLI_LIST,
     .metavar = "LIST",
     .help = "comma-separated types",
     .def = "q8_0,q6_k,q4_k_m,q4_0",
     .values = report_job_names,
     .cmds = REPORT,
     .id = OPT_TYPES},
    {.name = "optimize",
     .kind = CLI_LIST,
     .metavar = "SIZES",
     .help = "also `quant optimize`'s file at each size: a file type's (q4_k_m: the size its "
             "recipe file would have) or N bpw (3.5bpw); rows opt@SIZE and a second curve on "
             "the chart (needs --calib)",
     .cmds = REPORT,
     .id = OPT_OPTIMIZE},
    {.name = "files",
     .kind = CLI_NONE,
     .help = "the arguments are existing GGUF files to compare (needs --base)",
     .cmds = REPORT,
     .id = OPT_FILES},
    {.name = "base",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "the reference for --files",
     .cmds = REPORT,
     .id = OPT_BASE},
    {.name = "keep",
     .kind = CLI_NONE,
     .help = "keep the quantized files in OUT/models (default: a temporary folder, removed at "
             "the end)",
     .cmds = REPORT,
     .id = OPT_KEEP},
    {.name = "html",
     .kind = CLI_NONE,
     .help = "also write OUT/report.html (table and both figures in one page)",
     .cmds = REPORT,
     .id = OPT_HTML},

    // ---- check ----
    {.name = "baseline",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "the baseline (JSON, see README.md)",
     .cmds = CHECK,
     .id = OPT_BASELINE,
     .flags = CLI_REQUIRED},
    {.name = "junit",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "also write the cases as JUnit XML",
     .cmds = CHECK,
     .id = OPT_JUNIT},
    {.name = "update",
     .kind = CLI_NONE,
     .help = "run and rewrite the baseline (keeping its tolerances) instead of failing; a new "
             "baseline also needs --text, --types, --ctx, --chunks",
     .cmds = CHECK,
     .id = OPT_UPDATE},
    {.name = "task",
     .kind = CLI_ENUM,
     .metavar2 = "FILE",
     .help = "task accuracy on FILE: hellaswag (llama-perplexity's --hellaswag text file, acc_norm) "
             "or multiple-choice (llama.cpp's --multiple-choice .bin, or MMLU CSV files: a .csv "
             "file or a folder of them); with --compare BASE (a model or a saved --json run), the "
             "difference with its 95 % Newcombe paired interval and the flipped tasks",
     .choices = "hellaswag|multiple-choice",
     .cmds = EVAL,
     .id = OPT_TASK,
     .group = "task accuracy"},
    {.name = "task",
     .kind = CLI_ENUM,
     .metavar2 = "FILE",
     .help = "also score FILE's tasks for every type: accuracy with its Wilson interval and the "
             "paired difference to the reference",
     .choices = "hellaswag|multiple-choice",
     .cmds = REPORT | CHECK,
     .id = OPT_TASK},
    {.name = "tasks",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "with --task: score the first N tasks only",
     .def_text = "all",
     .lo = 1,
     .hi = BIG,
     .cmds = EVAL,
     .id = OPT_TASKS,
     .group = "task accuracy"},
    {.name = "llama-order",
     .kind = CLI_NONE,
     .help = "with --task hellaswag: print the running lines in llama-perplexity's (shuffled) order",
     .cmds = EVAL,
     .id = OPT_LLAMA_ORDER,
     .group = "task accuracy"},
    // ---- optimize ----
    {.name = "output",
     .short_name = 'o',
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "the GGUF file to write (not needed with --dry-run)",
     .cmds = OPTIMIZE,
     .id = OPT_OUTPUT},
    {.name = "calib",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "calibration text: Hessians, KLD responses and GPTQ",
     .cmds = OPTIMIZE,
     .id = OPT_CALIB,
     .flags = CLI_REQUIRED},
    {.name = "target-size",
     .kind = CLI_SIZE,
     .metavar = "SIZE",
     .help = "largest file (metadata and every tensor): bytes, or 4.5GiB, 3500MiB, 4GB",
     .lo = 1,
     .hi = BIG,
     .cmds = OPTIMIZE,
     .id = OPT_TARGET_SIZE},
    {.name = "target-bpw",
     .kind = CLI_FLOAT,
     .metavar = "B",
     .help = "bits per weight over every tensor's elements (tensor data, metadata not counted)",
     .flo = 0.5,
     .fhi = 32.0,
     .cmds = OPTIMIZE,
     .id = OPT_TARGET_BPW},
    {.name = "types",
     .kind = CLI_LIST,
     .metavar = "LIST",
     .help = "candidate block types (default: every quantized type libquant writes and "
             "llama.cpp runs but the ternary TQ1_0/TQ2_0 and MXFP4)",
     .cmds = OPTIMIZE,
     .id = OPT_TYPES},
    {.name = "no-gptq",
     .kind = CLI_NONE,
     .help = "llama.cpp's rounding (the Hessian diagonal as importance) instead of GPTQ",
     .cmds = OPTIMIZE,
     .id = OPT_NO_GPTQ},
    {.name = "dry-run",
     .kind = CLI_NONE,
     .help = "print the plan and its size; write no model",
     .cmds = OPTIMIZE,
     .id = OPT_DRY_RUN},
    {.name = "plan-out",
     .kind = CLI_PATH,
     .metavar = "FILE.json",
     .help = "write the plan (tensor -> type, predicted and measured KLD) as JSON",
     .cmds = OPTIMIZE,
     .id = OPT_PLAN_OUT},
    {.name = "work",
     .kind = CLI_PATH,
     .metavar = "DIR",
     .help = "keep the measurements here (reference log-probs, cost table; created when missing)",
     .cmds = OPTIMIZE,
     .id = OPT_WORK},
    {.name = "resume",
     .kind = CLI_NONE,
     .help = "reuse the cost table in --work DIR when it was measured with the same settings",
     .cmds = OPTIMIZE,
     .id = OPT_RESUME},
    {.name = "calib-tokens",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "calibration tokens behind the Hessians and GPTQ, rounded down to chunks",
     .def = "4096",
     .lo = 2,
     .hi = BIG,
     .cmds = OPTIMIZE,
     .id = OPT_CALIB_TOKENS},
    {.name = "calib-ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "tokens per calibration chunk",
     .def = "512",
     .lo = 8,
     .hi = BIG,
     .cmds = OPTIMIZE,
     .id = OPT_CALIB_CTX},
    {.name = "kld-chunks",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "calibration chunks each single-tensor KLD is measured on",
     .def = "4",
     .lo = 1,
     .hi = 100000,
     .cmds = OPTIMIZE,
     .id = OPT_KLD_CHUNKS},
    {.name = "validate",
     .kind = CLI_LIST,
     .metavar = "LIST",
     .help = "also measure every tensor's single-tensor KLD in these types and report the rank "
             "correlation of predicted against measured",
     .cmds = OPTIMIZE,
     .id = OPT_VALIDATE},
    {.name = "act-order",
     .kind = CLI_NONE,
     .help = "GPTQ columns by decreasing Hessian diagonal",
     .cmds = OPTIMIZE,
     .id = OPT_ACT_ORDER},
    {.name = "damp",
     .kind = CLI_FLOAT,
     .metavar = "F",
     .help = "GPTQ dampening, a fraction of the mean Hessian diagonal",
     .def = "0.01",
     .flo = 0.0,
     .fhi = 1.0,
     .cmds = OPTIMIZE,
     .id = OPT_DAMP,
     .flags = CLI_OPEN_HI},
    {.name = "plan",
     .kind = CLI_PATH,
     .metavar = "FILE.json",
     .help = "apply a plan of `quant optimize` (its types, GPTQ on its calibration text) "
             "instead of a TYPE: the same file byte for byte",
     .cmds = QUANTIZE,
     .id = OPT_PLAN},
    {.name = "types",
     .kind = CLI_LIST,
     .metavar = "LIST",
     .help = "(new baseline) comma-separated types",
     .values = report_job_names,
     .cmds = CHECK,
     .id = OPT_TYPES},

    // ---- fit ----
    {.name = "mem",
     .kind = CLI_SIZE,
     .metavar = "SIZE",
     .help = "host memory llama.cpp may take (8GiB, 16G, 7.5GB)",
     .lo = 1,
     .hi = BIG,
     .cmds = FIT,
     .id = OPT_MEM,
     .flags = CLI_REQUIRED},
    {.name = "vram",
     .kind = CLI_SIZE,
     .metavar = "SIZE",
     .help = "GPU memory: whole layers are offloaded while they fit (llama.cpp's -ngl)",
     .def = "0",
     .def_text = "none, CPU only",
     .lo = 0,
     .hi = BIG,
     .cmds = FIT,
     .id = OPT_VRAM},
    {.name = "ctx",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "context length (llama.cpp's -c)",
     .def = "4096",
     .lo = 1,
     .hi = 1 << 24,
     .cmds = FIT,
     .id = OPT_CTX},
    {.name = "kv-type",
     .kind = CLI_ENUM,
     .help = "KV cache type (llama.cpp's -ctk and -ctv); quantized needs --flash-attn",
     .def = "f16",
     .choices = "f16|q8_0|q4_0",
     .cmds = FIT,
     .id = OPT_KV_TYPE},
    {.name = "flash-attn",
     .kind = CLI_NONE,
     .help = "llama.cpp runs with flash attention (-fa on; without: -fa off)",
     .cmds = FIT,
     .id = OPT_FLASH_ATTN},
    {.name = "ubatch",
     .kind = CLI_INT,
     .metavar = "N",
     .help = "llama.cpp's -ub (the compute buffer grows with it)",
     .def = "512",
     .lo = 1,
     .hi = 1 << 20,
     .cmds = FIT,
     .id = OPT_UBATCH},
    {.name = "report",
     .kind = CLI_PATH,
     .metavar = "FILE",
     .help = "a `quant report` JSON (report.json): each file's mean KLD and the most accurate "
             "file that fits",
     .cmds = FIT,
     .id = OPT_REPORT},
};

const size_t cli_n_options = sizeof cli_options / sizeof cli_options[0];
