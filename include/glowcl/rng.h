/* The general-purpose random number generator of glowcl (parameter init, dequantisation noise,
 * sampling): xoshiro256** seeded through splitmix64, held in a plain struct so that a run can
 * be checkpointed and resumed with exactly the same random stream. */
#ifndef GLOWCL_RNG_H
#define GLOWCL_RNG_H

#include <stdint.h>

#include "glowcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Plain data: copying the struct forks an identical stream. Every field is 64 bits wide so the
 * struct has no padding and can be written to a checkpoint byte for byte (same endianness) or
 * portably through gc_rng_export / gc_rng_import. */
typedef struct gc_rng {
    uint64_t state[4];   /* xoshiro256** state; never all zero */
    double spare_normal; /* second value of the last polar-method pair */
    uint64_t has_spare;  /* 1 if spare_normal is still unused, else 0 */
} gc_rng;

/* Number of uint64_t words in the portable form of a gc_rng. */
#define GC_RNG_EXPORT_WORDS 6

/* Same as gc_rng_seed_stream(r, seed, 0). */
void gc_rng_seed(gc_rng *r, uint64_t seed);

/* Seeds one of 2^64 streams of a seed; different (seed, stream) pairs give unrelated sequences,
 * so e.g. each worker or each purpose can use its own stream of one user-given seed. */
void gc_rng_seed_stream(gc_rng *r, uint64_t seed, uint64_t stream);

/* Seeds `child` from 128 bits drawn from `parent` (which advances), giving an independent
 * generator without having to invent stream numbers. */
void gc_rng_split(gc_rng *parent, gc_rng *child);

/* 64 uniformly random bits. */
uint64_t gc_rng_u64(gc_rng *r);

/* Uniform double in [0, 1) with 53 random bits (a multiple of 2^-53). */
double gc_rng_uniform(gc_rng *r);

/* Standard normal N(0, 1) by the Marsaglia polar method; the second value of each pair is kept
 * in the struct, so the sequence depends only on the struct's contents. */
double gc_rng_normal(gc_rng *r);

/* Uniform integer in [0, n), exactly unbiased; returns 0 when n is 0 or 1. */
uint32_t gc_rng_below(gc_rng *r, uint32_t n);

/* Portable (endianness-independent) form of the generator, for checkpoints. */
void gc_rng_export(const gc_rng *r, uint64_t words[GC_RNG_EXPORT_WORDS]);

/* Restores an exported generator; GC_ERR_FORMAT if the words cannot come from gc_rng_export
 * (all-zero state, bad flag), in which case *r is left unchanged. */
gc_status gc_rng_import(gc_rng *r, const uint64_t words[GC_RNG_EXPORT_WORDS]);

#ifdef __cplusplus
}
#endif

#endif
