/*
 * What the libFuzzer harnesses share.  Each harness (fuzz-<name>.c) feeds
 * one decoder whatever bytes it is given and checks invariants that must
 * hold for every input; a broken invariant aborts, which libFuzzer (and
 * fuzz-main.c, the same harness run on saved inputs by `make check`)
 * reports as a crash with the input that caused it.  Sanitizers catch the
 * rest (memory errors, leaks, undefined behaviour).
 */
#ifndef VMSCOPE_TESTS_FUZZ_H
#define VMSCOPE_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                      \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: invariant broken: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
            abort();                                                               \
        }                                                                          \
    } while (0)

#endif
