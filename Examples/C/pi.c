/* pi by the midpoint rule: blocks of intervals shared out with jia_divtask, one partial
 * sum per block in shared memory, summed in block order by rank 0 (so the printed value
 * does not depend on the number of ranks). Usage: pi [intervals] */
#include <stdio.h>
#include <stdlib.h>
#include <jia.h>

#define BLOCKS 256

int main(int argc, char **argv) {
    long n = 2000000, i, per;
    int b, begin = 0, end = BLOCKS - 1;
    double *partial, h, sum, pi, check = 0;
    jia_init(argc, argv);
    if (argc > 1) n = atol(argv[1]);
    per = n / BLOCKS;
    h = 1.0 / (double)(per * BLOCKS);
    partial = (double *)jia_alloc(BLOCKS * sizeof(double));
    jia_divtask(&begin, &end);
    for (b = begin; b <= end; b++) {
        sum = 0;
        for (i = b * per; i < (b + 1) * per; i++) {
            double x = h * ((double)i + 0.5);
            sum += 4.0 / (1.0 + x * x);
        }
        partial[b] = sum * h;
        check += sum * h;
    }
    jia_barrier();
    jia_reduce((char *)&check, (char *)&sum, 1, SUM_DOUBLE, 0);
    if (jiapid == 0) {
        pi = 0;
        for (b = 0; b < BLOCKS; b++) pi += partial[b];
        if (sum < pi - 1e-9 || sum > pi + 1e-9) printf("pi: FAIL reduce %.12f\n", sum);
        printf("pi = %.12f (error %.2e)\n", pi, pi - 3.14159265358979323846);
    }
    jia_exit();
    return 0;
}
