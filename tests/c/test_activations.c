/* Generic C test driver for the generated library, run under ASan + UBSan and valgrind.
 *
 * It knows no activation by name: kernels.inc (written by tests/test_c.py from
 * generated/activations.h) defines KERNELS[], one entry per kernel, with wrappers that pass each
 * parameter's default. For every kernel and every special input (+-0, +-inf, NaN, subnormals,
 * +-DBL_MAX, +-FLT_MAX, a grid) it checks:
 *   - scalar double: NaN exactly for NaN input; deterministic (two calls, same bits);
 *   - scalar float: NaN exactly for NaN input; within 1 float ULP of the double result rounded
 *     to float (the documented bar: the float variants round the double result once);
 *   - _array / _arrayf: bit-equal to the scalar calls, for n = 0 (NULL pointers), odd lengths,
 *     and buffers offset by one element (not vector-aligned), each in an exactly sized malloc'd
 *     block, so an out-of-bounds read or write is caught by ASan / valgrind;
 *   - nothing written past y[n-1] (canary) when the output has room beyond n.
 * Prints "kernels=K checks=C failures=F" and exits 1 on any failure.
 *
 * Build: cc -std=c99 -I<dir with kernels.inc> -Igenerated tests/c/test_activations.c
 *        generated/activations.c -lm
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"

typedef double (*scalar_d)(double);
typedef float (*scalar_f)(float);
typedef void (*array_d)(const double *, double *, size_t);
typedef void (*array_f)(const float *, float *, size_t);

struct kernel {
    const char *name;
    scalar_d d;
    scalar_f f;
    array_d ad;
    array_f af;
};

#include "kernels.inc" /* static const struct kernel KERNELS[]; N_KERNELS */

static long checks, failures;

static void fail(const char *kernel, const char *what, double x, double got, double want)
{
    ++failures;
    if (failures <= 50) {
        printf("FAIL %s: %s at x=%a: got %a, want %a\n", kernel, what, x, got, want);
    }
}

static uint64_t bits_d(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static uint32_t bits_f(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static int same_d(double a, double b)
{
    return (isnan(a) && isnan(b)) || bits_d(a) == bits_d(b);
}

static int same_f(float a, float b)
{
    return (isnan(a) && isnan(b)) || bits_f(a) == bits_f(b);
}

/* |a - b| <= 1 float ULP: b is a, or a neighbour of a. */
static int within_1ulp_f(float a, float b)
{
    if (isnan(a) || isnan(b)) {
        return isnan(a) && isnan(b);
    }
    return a == b || nextafterf(a, INFINITY) == b || nextafterf(a, -INFINITY) == b;
}

#define MAX_INPUTS 4096
static double inputs[MAX_INPUTS];
static size_t n_inputs;

static void add(double v)
{
    if (n_inputs < MAX_INPUTS) {
        inputs[n_inputs++] = v;
    }
}

static void make_inputs(void)
{
    const double specials[] = {
        0.0, 1.0, 0.5, 2.0, 1e-300, 1e-30, 1e-8, 1e-4, 0.1, 10.0, 20.0, 36.0, 40.0, 100.0,
        700.0, 709.78, 710.0, 745.2, 800.0, 1e4, 1e10, 1e30, 1e300,
        DBL_MIN, 4.9406564584124654e-324, DBL_MIN / 3.0, DBL_MAX, DBL_MAX / 2.0,
        (double)FLT_MIN, (double)FLT_MAX, (double)FLT_EPSILON, DBL_EPSILON, 1.401298464324817e-45,
        INFINITY,
    };
    size_t k;
    add(NAN);
    add(-NAN);
    for (k = 0; k < sizeof specials / sizeof specials[0]; ++k) {
        add(specials[k]);
        add(-specials[k]);
        add(nextafter(specials[k], 0.0));
        add(-nextafter(specials[k], INFINITY));
    }
    for (k = 0; k <= 2000; ++k) { /* grid on [-50, 50] */
        add(-50.0 + 0.05 * (double)k);
    }
    for (k = 0; k <= 600; ++k) { /* +-2^e over the whole exponent range */
        double e = -1074.0 + 3.6 * (double)k;
        add(ldexp(1.0, (int)e));
        add(-ldexp(1.5, (int)e));
    }
}

static void check_scalars(const struct kernel *k)
{
    size_t i;
    for (i = 0; i < n_inputs; ++i) {
        const double x = inputs[i];
        const double y = k->d(x);
        ++checks;
        if (isnan(x) != isnan(y)) {
            fail(k->name, "double NaN iff input NaN", x, y, isnan(x) ? NAN : 0.0);
        }
        if (!same_d(y, k->d(x))) {
            fail(k->name, "double deterministic", x, k->d(x), y);
        }
        {
            const float xf = (float)x;
            const float yf = k->f(xf);
            const float want = (float)k->d((double)xf);
            if (isnan(xf) != isnan(yf)) {
                fail(k->name, "float NaN iff input NaN", (double)xf, (double)yf, (double)want);
            }
            if (!within_1ulp_f(want, yf)) {
                fail(k->name, "float within 1 ULP of rounded double", (double)xf, (double)yf,
                     (double)want);
            }
        }
    }
}

static void check_array_d(const struct kernel *k, size_t n, size_t offset)
{
    /* exactly sized blocks: x[offset .. offset+n), y the same, plus one canary after y[n-1] */
    double *xb = n ? malloc((n + offset) * sizeof *xb) : NULL;
    double *yb = malloc((n + offset + 1) * sizeof *yb);
    double *x = xb ? xb + offset : NULL;
    double *y = yb + offset;
    const double canary = -12345.678;
    size_t i;
    if ((n && !xb) || !yb) {
        fail(k->name, "malloc", 0.0, 0.0, 0.0);
        free(xb);
        free(yb);
        return;
    }
    for (i = 0; i < n; ++i) {
        x[i] = inputs[(i * 7 + n) % n_inputs];
    }
    y[n] = canary;
    k->ad(n ? x : NULL, n ? y : NULL, n);
    ++checks;
    for (i = 0; i < n; ++i) {
        if (!same_d(y[i], k->d(x[i]))) {
            fail(k->name, "_array equals scalar", x[i], y[i], k->d(x[i]));
        }
    }
    if (bits_d(y[n]) != bits_d(canary)) {
        fail(k->name, "_array wrote past y[n-1]", (double)n, y[n], canary);
    }
    free(xb);
    free(yb);
}

static void check_array_f(const struct kernel *k, size_t n, size_t offset)
{
    float *xb = n ? malloc((n + offset) * sizeof *xb) : NULL;
    float *yb = malloc((n + offset + 1) * sizeof *yb);
    float *x = xb ? xb + offset : NULL;
    float *y = yb + offset;
    const float canary = -12345.678f;
    size_t i;
    if ((n && !xb) || !yb) {
        fail(k->name, "malloc", 0.0, 0.0, 0.0);
        free(xb);
        free(yb);
        return;
    }
    for (i = 0; i < n; ++i) {
        x[i] = (float)inputs[(i * 7 + n) % n_inputs];
    }
    y[n] = canary;
    k->af(n ? x : NULL, n ? y : NULL, n);
    ++checks;
    for (i = 0; i < n; ++i) {
        if (!same_f(y[i], k->f(x[i]))) {
            fail(k->name, "_arrayf equals scalar", (double)x[i], (double)y[i],
                 (double)k->f(x[i]));
        }
    }
    if (bits_f(y[n]) != bits_f(canary)) {
        fail(k->name, "_arrayf wrote past y[n-1]", (double)n, (double)y[n], (double)canary);
    }
    free(xb);
    free(yb);
}

int main(void)
{
    const size_t lengths[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 100, 1001};
    size_t i, j, offset;
    make_inputs();
    for (i = 0; i < N_KERNELS; ++i) {
        const struct kernel *k = &KERNELS[i];
        check_scalars(k);
        for (j = 0; j < sizeof lengths / sizeof lengths[0]; ++j) {
            for (offset = 0; offset < 2; ++offset) {
                check_array_d(k, lengths[j], offset);
                check_array_f(k, lengths[j], offset);
            }
        }
        check_array_d(k, n_inputs, 0); /* every input through the array path */
        check_array_f(k, n_inputs, 1);
    }
    printf("kernels=%lu checks=%ld failures=%ld\n", (unsigned long)N_KERNELS, checks, failures);
    return failures ? 1 : 0;
}
