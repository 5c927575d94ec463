#ifndef CTEXTMARKS_H
#define CTEXTMARKS_H

#include <stddef.h>
#include <stdint.h>

/// The marked bytes of the text checks' scan (`TextChecks.scanText`, `TextChecks.eventMask` in
/// SpamwardCore), 32 bytes at a time with AVX2. Callable only where `sw_teddy_available()` is 1.
///
/// A byte at i is marked when
/// - it is one of `0`-`7`, `@`, `$`, `!`, `|` and `p[i - 1] | p[i + 1]` is 0x41 or above;
/// - or it equals `p[i + 2]` and `p[i + 4]` but not `p[i + 1]`;
/// - or it is 0x80 or above and `p[i - 1]` is not.
///
/// Reads the blocks of 32 positions at `start`, `start + 32`, ... while `block + 36 <= n` (each
/// block reads the byte before it and the 35 from it: `start` >= 1). Writes the marked positions
/// in increasing order to `out` (at most `cap`, `cap` >= 32) and returns how many; `*resume` is
/// the next block to read (the first not read, or the first whose marks did not fit).
size_t sw_text_marks(const uint8_t *p, size_t n, size_t start, uint32_t *out, size_t cap, size_t *resume);

#endif
