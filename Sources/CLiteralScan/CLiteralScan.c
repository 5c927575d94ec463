#include "CLiteralScan.h"

/// ``sw_find_pair`` one position at a time.
static size_t find_pair_scalar(const uint8_t *p, size_t n, size_t i, uint8_t b0, uint8_t fold0, uint8_t b1,
                               uint8_t fold1) {
    for (; i + 1 < n; i++) {
        if ((uint8_t)(p[i] | fold0) == b0 && (uint8_t)(p[i + 1] | fold1) == b1) return i;
    }
    return n;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int sw_teddy_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

/// The bucket bits of position i, one byte at a time (the blocks' tail).
static inline uint8_t teddy_scalar(const uint8_t *p, size_t i, const uint8_t *masks) {
    uint8_t r = 0xFF;
    for (int j = 0; j < 4; j++) {
        uint8_t b = p[i + (size_t)j];
        r &= masks[32 * j + (b & 15)] & masks[32 * j + 16 + (b >> 4)];
    }
    return r;
}

__attribute__((target("avx2")))
size_t sw_teddy_candidates(const uint8_t *p, size_t n, size_t start, const uint8_t *masks,
                           uint64_t *out, size_t cap, size_t *resume) {
    size_t count = 0;
    size_t i = start;
    if (n < 4) { *resume = start > n ? start : n; return 0; }
    const size_t last = n - 4;  // the last position with four bytes
    __m256i lo[4], hi[4];
    for (int j = 0; j < 4; j++) {
        lo[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(masks + 32 * j)));
        hi[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(masks + 32 * j + 16)));
    }
    const __m256i nib = _mm256_set1_epi8(0x0F);
    // Blocks of 32 positions whose four bytes are all in the text: i + 31 + 3 < n.
    while (i + 35 <= n) {
        __m256i r = _mm256_set1_epi8((char)0xFF);
        for (int j = 0; j < 4; j++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + i + (size_t)j));
            __m256i l = _mm256_shuffle_epi8(lo[j], _mm256_and_si256(v, nib));
            __m256i h = _mm256_shuffle_epi8(hi[j], _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
            r = _mm256_and_si256(r, _mm256_and_si256(l, h));
        }
        uint32_t nonzero = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(r, _mm256_setzero_si256()));
        if (nonzero != 0) {
            if (count + (size_t)__builtin_popcount(nonzero) > cap) { *resume = i; return count; }
            uint8_t bits[32];
            _mm256_storeu_si256((__m256i *)bits, r);
            while (nonzero != 0) {
                unsigned k = (unsigned)__builtin_ctz(nonzero);
                nonzero &= nonzero - 1;
                out[count++] = ((uint64_t)(i + k) << 8) | bits[k];
            }
        }
        i += 32;
    }
    while (i <= last) {
        uint8_t r = teddy_scalar(p, i, masks);
        if (r != 0) {
            if (count == cap) { *resume = i; return count; }
            out[count++] = ((uint64_t)i << 8) | r;
        }
        i++;
    }
    *resume = i;
    return count;
}


__attribute__((target("avx2")))
static size_t find_pair_avx2(const uint8_t *p, size_t n, size_t i, uint8_t b0, uint8_t fold0, uint8_t b1,
                             uint8_t fold1) {
    const __m256i c0 = _mm256_set1_epi8((char)b0), f0 = _mm256_set1_epi8((char)fold0);
    const __m256i c1 = _mm256_set1_epi8((char)b1), f1 = _mm256_set1_epi8((char)fold1);
    // Blocks of 32 positions whose second bytes are in the text: i + 32 < n.
    while (i + 33 <= n) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(p + i + 1));
        __m256i m = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_or_si256(v0, f0), c0),
                                     _mm256_cmpeq_epi8(_mm256_or_si256(v1, f1), c1));
        uint32_t bits = (uint32_t)_mm256_movemask_epi8(m);
        if (bits != 0) return i + (size_t)__builtin_ctz(bits);
        i += 32;
    }
    return find_pair_scalar(p, n, i, b0, fold0, b1, fold1);
}

size_t sw_find_pair(const uint8_t *p, size_t n, size_t start, uint8_t b0, uint8_t fold0, uint8_t b1, uint8_t fold1,
                    int avx2) {
    if (avx2) return find_pair_avx2(p, n, start, b0, fold0, b1, fold1);
    return find_pair_scalar(p, n, start, b0, fold0, b1, fold1);
}

#else

int sw_teddy_available(void) { return 0; }

size_t sw_teddy_candidates(const uint8_t *p, size_t n, size_t start, const uint8_t *masks,
                           uint64_t *out, size_t cap, size_t *resume) {
    (void)p; (void)masks; (void)out; (void)cap;
    *resume = n > start ? n : start;
    return 0;
}

size_t sw_find_pair(const uint8_t *p, size_t n, size_t start, uint8_t b0, uint8_t fold0, uint8_t b1, uint8_t fold1,
                    int avx2) {
    (void)avx2;
    return find_pair_scalar(p, n, start, b0, fold0, b1, fold1);
}

#endif
