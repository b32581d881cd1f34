/*
 * json_out.h - the one JSON result document every `quant` command prints with --json.
 *
 * Schema (version 1; README.md "Machine-readable output" lists each command's keys):
 *
 *   {
 *     "schema":   "libquant.<command>/1",   name and version of this document's layout
 *     "command":  "<command>",              inspect, convert, quantize, eval, generate,
 *                                           imatrix, gptq, report, check
 *     "libquant": "0.1.0",                  the library that produced it
 *     "inputs":   { "model": PATH, ... },   what was read (paths as given)
 *     "outputs":  [ { "path": P, "bytes": N, "kind": K }, ... ],   what was written
 *                                           (empty when nothing was)
 *     "seconds":  S,                        wall time of the command's work
 *     ...                                   the command's own keys (figures, sizes, tensors)
 *   }
 *
 * Conventions for every command: sizes are in bytes ("bytes", "*_bytes"), times in seconds
 * ("seconds", "*_seconds"), bits per weight "bpw", parameter counts "n_params", tensor
 * shapes in GGUF order (ne[0], the row length, first), type names as llama.cpp writes them
 * ("q4_K", "f16"). A key whose meaning changes gets a new schema version; keys may be added
 * within a version. The document goes to stdout as one JSON object followed by a newline;
 * with --json, human-readable text goes to stderr (progress, summaries) or is left out. A
 * command that fails before it has a result prints no document: the message is on stderr and
 * the exit code says why (`quant check` still prints one for a regression, exit code 1).
 */
#ifndef LQ_JSON_OUT_H
#define LQ_JSON_OUT_H

#include <stdint.h>

#include <jansson.h>

/* A new document with the schema, command, libquant, empty inputs and outputs keys. */
json_t *json_out_new(const char *command);

/* Sets inputs[key] = path. */
void json_out_input(json_t *doc, const char *key, const char *path);

/* Appends { "path", "bytes" (the file's size now, or a folder's total), "kind" } to outputs
 * and returns the entry (borrowed) for extra keys. */
json_t *json_out_output(json_t *doc, const char *path, const char *kind);

/* For a GGUF output entry: adds "n_params", "data_bytes" and "bpw" (data_bytes * 8 /
 * n_params) read from the file's tensor table; nothing when it cannot be read. */
void json_out_gguf_sizes(json_t *entry, const char *path);

/* Size of a file, or the total of the regular files in a folder (one level); 0 if missing. */
uint64_t json_out_path_bytes(const char *path);

/* A JSON number, or null for NaN and infinities (JSON has neither). */
json_t *json_out_number(double v);

/* Sets doc[key] to a real (null when not finite) / an integer / a string (NULL: null). */
void json_out_real(json_t *doc, const char *key, double v);
void json_out_int(json_t *doc, const char *key, int64_t v);
void json_out_str(json_t *doc, const char *key, const char *s);

/* Sets "seconds", writes the document to stdout (indented, keys in insertion order) and
 * frees it. Returns rc, or LQ_EXIT_FAIL when stdout cannot be written. */
int json_out_emit(json_t *doc, double seconds, int rc);

#endif
