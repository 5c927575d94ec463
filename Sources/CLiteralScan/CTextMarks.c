#include "CTextMarks.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

__attribute__((target("avx2")))
size_t sw_text_marks(const uint8_t *p, size_t n, size_t start, uint32_t *out, size_t cap, size_t *resume) {
    size_t count = 0;
    size_t i = start;
    const __m256i f8 = _mm256_set1_epi8((char)0xF8), digits = _mm256_set1_epi8(0x30);
    const __m256i at = _mm256_set1_epi8(0x40), dollar = _mm256_set1_epi8(0x24);
    const __m256i bang = _mm256_set1_epi8(0x21), bar = _mm256_set1_epi8(0x7C);
    const __m256i letterLow = _mm256_set1_epi8(0x41);
    while (i + 36 <= n) {
        const __m256i before = _mm256_loadu_si256((const __m256i *)(p + i - 1));
        const __m256i v0 = _mm256_loadu_si256((const __m256i *)(p + i));
        const __m256i v1 = _mm256_loadu_si256((const __m256i *)(p + i + 1));
        const __m256i v2 = _mm256_loadu_si256((const __m256i *)(p + i + 2));
        const __m256i v4 = _mm256_loadu_si256((const __m256i *)(p + i + 4));
        __m256i lookalike = _mm256_cmpeq_epi8(_mm256_and_si256(v0, f8), digits);
        lookalike = _mm256_or_si256(lookalike, _mm256_cmpeq_epi8(v0, at));
        lookalike = _mm256_or_si256(lookalike, _mm256_cmpeq_epi8(v0, dollar));
        lookalike = _mm256_or_si256(lookalike, _mm256_cmpeq_epi8(v0, bang));
        lookalike = _mm256_or_si256(lookalike, _mm256_cmpeq_epi8(v0, bar));
        // `before | v1` >= 0x41 (unsigned): its maximum with 0x41 is itself.
        const __m256i around = _mm256_or_si256(before, v1);
        const __m256i nextToLetter = _mm256_cmpeq_epi8(_mm256_max_epu8(around, letterLow), around);
        const __m256i run = _mm256_andnot_si256(_mm256_cmpeq_epi8(v0, v1),
                                                _mm256_and_si256(_mm256_cmpeq_epi8(v0, v2), _mm256_cmpeq_epi8(v0, v4)));
        const __m256i marked = _mm256_or_si256(_mm256_and_si256(lookalike, nextToLetter), run);
        uint32_t mask = (uint32_t)_mm256_movemask_epi8(marked)
            | ((uint32_t)_mm256_movemask_epi8(v0) & ~(uint32_t)_mm256_movemask_epi8(before));
        if (mask != 0) {
            if (count + (size_t)__builtin_popcount(mask) > cap) { *resume = i; return count; }
            while (mask != 0) {
                out[count++] = (uint32_t)(i + (size_t)__builtin_ctz(mask));
                mask &= mask - 1;
            }
        }
        i += 32;
    }
    *resume = i;
    return count;
}

#else

size_t sw_text_marks(const uint8_t *p, size_t n, size_t start, uint32_t *out, size_t cap, size_t *resume) {
    (void)p; (void)out; (void)cap;
    *resume = n > start ? n : start;
    return 0;
}

#endif
