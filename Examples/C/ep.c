/* Embarrassingly parallel (NPB EP style): Gaussian pairs by the polar method from a
 * linear congruential generator that jumps to each batch's seed, counts per annulus.
 * Per-batch results in shared memory, summed in batch order by rank 0; the counts are also
 * reduced with jia_reduce. Usage: ep [log2 pairs] */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <jia.h>

#define BATCHES 64
#define NQ 10

static unsigned long long lcg_jump(unsigned long long seed, unsigned long long steps) {
    unsigned long long a = 6364136223846793005ull, c = 1442695040888963407ull, ra = 1, rc = 0;
    while (steps) {                       /* (a, c)^steps by squaring */
        if (steps & 1) { ra *= a; rc = rc * a + c; }
        c = c * a + c; a *= a; steps >>= 1;
    }
    return seed * ra + rc;
}

static double next(unsigned long long *state) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*state >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv) {
    int logpairs = 18, b, l, begin = 0, end = BATCHES - 1;
    long pairs, per, i;
    double *sums;
    int *counts, q[NQ] = { 0 }, qtotal[NQ];
    jia_init(argc, argv);
    if (argc > 1) logpairs = atoi(argv[1]);
    pairs = 1L << logpairs;
    per = pairs / BATCHES;
    sums = (double *)jia_alloc(BATCHES * 2 * sizeof(double));
    counts = (int *)jia_alloc(BATCHES * NQ * sizeof(int));
    jia_divtask(&begin, &end);
    for (b = begin; b <= end; b++) {
        unsigned long long state = lcg_jump(271828183ull, (unsigned long long)(2 * per * b));
        double sx = 0, sy = 0;
        int bq[NQ] = { 0 };
        for (i = 0; i < per; i++) {
            double x = 2 * next(&state) - 1, y = 2 * next(&state) - 1, t = x * x + y * y;
            if (t <= 1.0 && t > 0) {
                double f = sqrt(-2.0 * log(t) / t), gx = x * f, gy = y * f;
                l = (int)fmax(fabs(gx), fabs(gy));
                if (l < NQ) bq[l]++;
                sx += gx; sy += gy;
            }
        }
        sums[2 * b] = sx; sums[2 * b + 1] = sy;
        for (l = 0; l < NQ; l++) { counts[b * NQ + l] = bq[l]; q[l] += bq[l]; }
    }
    jia_reduce((char *)q, (char *)qtotal, NQ, SUM_INT, 0);
    jia_barrier();
    if (jiapid == 0) {
        double sx = 0, sy = 0;
        int total = 0, ok = 1;
        for (b = 0; b < BATCHES; b++) { sx += sums[2 * b]; sy += sums[2 * b + 1]; }
        for (l = 0; l < NQ; l++) {
            int c = 0;
            for (b = 0; b < BATCHES; b++) c += counts[b * NQ + l];
            if (c != qtotal[l]) ok = 0;
            total += c;
        }
        printf("ep 2^%d pairs: sx = %.12e sy = %.12e gaussians = %d counts %s\n", logpairs, sx, sy, total,
               ok ? "agree" : "DISAGREE");
    }
    jia_exit();
    return 0;
}
