#ifndef CLITERALSCAN_H
#define CLITERALSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "CTextMarks.h"

/// Whether `sw_teddy_candidates` can run here (x86-64 with AVX2 and the OS saving its
/// registers); elsewhere callers keep their scalar search.
int sw_teddy_available(void);

/// The candidate filter of a multi-literal search (Teddy: nibble tables and byte shuffles).
///
/// Each literal is represented by 4 consecutive bytes of it (its fingerprint) and put into one of
/// 8 buckets. `masks` holds 8 tables of 16 bytes: for fingerprint byte j (0...3), `masks[32 j +
/// lo]` has bucket bit b set when a fingerprint of bucket b may have a byte with low nibble `lo`
/// at j, and `masks[32 j + 16 + hi]` likewise for the high nibble. A position i (0 <= i, i + 4 <=
/// n) is a candidate of bucket b when each of p[i + j] passes both nibble tables of j for b.
/// Every position where a fingerprint of bucket b occurs is a candidate of b (no false negatives);
/// others may be too (the caller verifies).
///
/// Reads positions from `start` on, and writes the candidates in increasing order as
/// `(position << 8) | bucket bits` into `out` (at most `cap` entries, `cap` >= 32). Returns how
/// many were written; `*resume` is where the next call starts (n - 3, or more, when done).
size_t sw_teddy_candidates(const uint8_t *p, size_t n, size_t start, const uint8_t *masks,
                           uint64_t *out, size_t cap, size_t *resume);

/// The first position i, start <= i < n - 1, where `(p[i] | fold0) == b0` and
/// `(p[i + 1] | fold1) == b1`; n when there is none. A fold of 0x20 compares a lower-case letter
/// in both cases, 0 compares exactly. With `avx2` (only where `sw_teddy_available()`), 32
/// positions a step; else one at a time.
size_t sw_find_pair(const uint8_t *p, size_t n, size_t start, uint8_t b0, uint8_t fold0, uint8_t b1, uint8_t fold1,
                    int avx2);

#endif
