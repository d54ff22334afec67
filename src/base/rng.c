/* xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018)
 * with splitmix64 seeding, plus the uniform, normal and bounded-integer draws built on it.
 * See include/glowcl/rng.h for the contract of each function. */
#include "glowcl/rng.h"

#include <math.h>
#include <string.h>

/* splitmix64 turns any 64-bit seed, including small or zero ones, into well-mixed words; its
 * increment is the odd integer closest to 2^64 / golden ratio, as in the published design. */
static const uint64_t SPLITMIX_GAMMA = 0x9e3779b97f4a7c15u;

static uint64_t splitmix64_next(uint64_t *counter)
{
    uint64_t z = (*counter += SPLITMIX_GAMMA);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t rotate_left(uint64_t value, int bits)
{
    return (value << bits) | (value >> (64 - bits));
}

void gc_rng_seed(gc_rng *r, uint64_t seed) { gc_rng_seed_stream(r, seed, 0); }

void gc_rng_seed_stream(gc_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t seed_counter = seed;
    /* Stream 0 contributes nothing, so gc_rng_seed is the canonical splitmix64 seeding; other
     * streams mix in a second splitmix64 sequence started from a salted stream number (the salt
     * keeps stream s from producing the seed sequence of seed s). */
    uint64_t stream_counter = stream ^ 0x6a09e667f3bcc909u;
    for (int i = 0; i < 4; i++) {
        uint64_t word = splitmix64_next(&seed_counter);
        if (stream != 0) word ^= splitmix64_next(&stream_counter);
        r->state[i] = word;
    }
    /* The all-zero state is the one fixed point of xoshiro; it needs an astronomically
     * unlikely seed, but a generator stuck at zero would be silent, so rule it out. */
    if ((r->state[0] | r->state[1] | r->state[2] | r->state[3]) == 0) r->state[0] = 1;
    r->spare_normal = 0.0;
    r->has_spare = 0;
}

void gc_rng_split(gc_rng *parent, gc_rng *child)
{
    /* Two words, so that children of one parent only collide after ~2^64 splits, not 2^32. */
    uint64_t seed = gc_rng_u64(parent);
    uint64_t stream = gc_rng_u64(parent);
    gc_rng_seed_stream(child, seed, stream);
}

uint64_t gc_rng_u64(gc_rng *r)
{
    uint64_t *s = r->state;
    uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    uint64_t shifted = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= shifted;
    s[3] = rotate_left(s[3], 45);
    return result;
}

double gc_rng_uniform(gc_rng *r)
{
    /* The top bits of xoshiro256** are its best ones; 53 of them fill a double's mantissa. */
    return (double)(gc_rng_u64(r) >> 11) * 0x1.0p-53;
}

double gc_rng_normal(gc_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare_normal;
    }
    double u, v, radius2;
    do {
        u = 2.0 * gc_rng_uniform(r) - 1.0;
        v = 2.0 * gc_rng_uniform(r) - 1.0;
        radius2 = u * u + v * v;
    } while (radius2 >= 1.0 || radius2 == 0.0);
    double scale = sqrt(-2.0 * log(radius2) / radius2);
    r->spare_normal = v * scale;
    r->has_spare = 1;
    return u * scale;
}

uint32_t gc_rng_below(gc_rng *r, uint32_t n)
{
    if (n <= 1) return 0;
    /* Lemire's multiply-and-reject ("Fast random integer generation in an interval", 2019):
     * the high half of x*n is uniform once the 2^32 mod n low values that would make some
     * results one count more likely are rejected; the modulo is only needed on the rare path. */
    uint64_t product = (gc_rng_u64(r) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)product;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n; /* 2^32 mod n */
        while (low < threshold) {
            product = (gc_rng_u64(r) >> 32) * (uint64_t)n;
            low = (uint32_t)product;
        }
    }
    return (uint32_t)(product >> 32);
}

void gc_rng_export(const gc_rng *r, uint64_t words[GC_RNG_EXPORT_WORDS])
{
    for (int i = 0; i < 4; i++) words[i] = r->state[i];
    uint64_t spare_bits = 0;
    if (r->has_spare) memcpy(&spare_bits, &r->spare_normal, sizeof spare_bits);
    words[4] = spare_bits;
    words[5] = r->has_spare ? 1 : 0;
}

gc_status gc_rng_import(gc_rng *r, const uint64_t words[GC_RNG_EXPORT_WORDS])
{
    if ((words[0] | words[1] | words[2] | words[3]) == 0)
        return GC_ERROR(GC_ERR_FORMAT, "random generator state is all zero");
    if (words[5] > 1)
        return GC_ERROR(GC_ERR_FORMAT, "random generator spare flag is %llu, expected 0 or 1",
                        (unsigned long long)words[5]);
    double spare = 0.0;
    if (words[5]) {
        memcpy(&spare, &words[4], sizeof spare);
        if (!isfinite(spare))
            return GC_ERROR(GC_ERR_FORMAT, "random generator spare normal is not finite");
    }
    for (int i = 0; i < 4; i++) r->state[i] = words[i];
    r->spare_normal = spare;
    r->has_spare = words[5];
    return GC_OK;
}
