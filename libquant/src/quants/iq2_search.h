/*
 * iq2_search.h - pieces of the IQ2 quantizers shared by IQ2_XXS, IQ2_XS and IQ2_S (ports of
 * ggml-quants.c; float operation order is part of the byte-exact contract, keep it).
 */
#ifndef LQ_QUANTS_IQ2_SEARCH_H
#define LQ_QUANTS_IQ2_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quants/iq2_grids.h"

/* Largest |x| of a group treated as all zero: IQ2_XXS / IQ2_XS, and IQ2_S (ggml's values). */
#define LQI_IQ2_EPS 1e-15f
#define LQI_IQ2S_EPS 1e-8f

/* sum of x^2 over the 256 values of a super-block, in index order. */
float lqi_iq2_sumx2(const float *x);

/* Magnitudes and sign bits of 8 values: xval = |x|, bit i of the result set where x[i] < 0.
 * With even_signs (IQ2_XXS, IQ2_XS store 7 signs and imply the 8th), an odd count of
 * negatives is made even by flipping the value whose weight * x^2 is least: its xval turns
 * negative and its bit flips. */
uint8_t lqi_iq2_signs8(const float *x, const float *weight, bool even_signs, float *xval);

/* Weights, their square roots (the neighbour searches' weights) and signs of a group of n
 * values (a multiple of 8): weight = qw * sqrt(sigma2 + x^2) given importance weights, else
 * sigma2 / 4 + x^2 (IQ2_S's choice; the other two types always have them); xval and
 * signs[n / 8] as lqi_iq2_signs8 gives them, with 7 bits kept when even_signs. */
void lqi_iq2_group_prep(int n, const float *xb, const float *qw, float sigma2, bool even_signs,
                        float *weight, float *waux, float *xval, uint8_t *signs);

/* The neighbour of an off-grid level vector closest to xval / scale in weighted squared
 * distance (the first on ties), its levels into L[8]; returns its grid index. */
int lqi_iq2_best_neighbour(const struct lqi_iq2_qgrid *g, const uint16_t *nbrs, const float *xval,
                           const float *weight, float scale, int8_t *L);

/* Levels of 8 magnitudes at inverse scale id (nearest odd level, clamped to 0..2), snapped
 * to the best neighbour at `scale` (1 / id in the searches) when off the grid. Returns true
 * when they were on it. */
bool lqi_iq2_levels8(const struct lqi_iq2_qgrid *g, const float *xval, const float *waux, float id,
                     float scale, int8_t *L);

/* The grid index of 8 levels; 0 when they are off the grid (llama.cpp aborts there; it
 * happens only for NaN input). */
int lqi_iq2_index8(const struct lqi_iq2_qgrid *g, const int8_t *L);

/* IQ2_XS / IQ2_S: the scale of 16 magnitudes (two groups of 8) and their levels L[16],
 * searched over 19 trial scales around max / 5, then the groups off the grid refitted at
 * the best one. *zero is set (L all zero) when max |x| < eps: nothing is stored. The scale can come
 * out negative only when IQ2_XS's sign parity made a magnitude negative; the caller flips the signs
 * then. */
float lqi_iq2_scale16(const struct lqi_iq2_qgrid *g, const float *xval, const float *weight,
                      const float *waux, float eps, int8_t *L, bool *zero);

/* One super-block of 256 values x (importance weights qw, NULL when none) into block y. */
typedef void (*lqi_iq_block_fn)(const struct lqi_iq2_qgrid *g, const float *x, const float *qw,
                                void *y);

/* ggml's quantize_<type> for the grid types: nrow rows of n_per_row, block by block, the
 * imatrix repeating for every row. 0 (nothing written) without importance weights when
 * needs_imatrix, or when the grid's tables cannot be built; else the bytes written. */
size_t lqi_iq_quantize_rows(lqi_iq_block_fn block, enum lqi_iq2_grid_id grid, size_t type_size,
                            bool needs_imatrix, const float *restrict src, void *restrict dst,
                            int64_t nrow, int64_t n_per_row, const float *imatrix);

/* sum w x q and sum w q^2 of n magnitudes at levels L (q = 2L + 1), in index order. */
void lqi_iq2_sums(int n, const float *xval, const float *weight, const int8_t *L, float *sumqx,
                  float *sumq2);

/* The 4-bit code of a group scale against super-block scale d = max_scale / 31. */
int lqi_iq2_scale_code(float id, float scale);

#endif /* LQ_QUANTS_IQ2_SEARCH_H */
