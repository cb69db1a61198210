/* C = A x B with rows shared out by jia_divtask; integer-valued doubles, so the checksum
 * is exact on any number of ranks. Usage: matmul [n] */
#include <stdio.h>
#include <stdlib.h>
#include <jia.h>

int main(int argc, char **argv) {
    int n = 160, i, j, k, begin, end;
    double *a, *b, *c, sum;
    jia_init(argc, argv);
    if (argc > 1) n = atoi(argv[1]);
    a = (double *)jia_alloc3(n * n * sizeof(double), n * n * sizeof(double) / jiahosts + 1, 0);
    b = (double *)jia_alloc2(n * n * sizeof(double), 4096);
    c = (double *)jia_alloc3(n * n * sizeof(double), n * n * sizeof(double) / jiahosts + 1, 0);
    begin = 0; end = n - 1;
    jia_divtask(&begin, &end);
    for (i = begin; i <= end; i++)
        for (j = 0; j < n; j++) {
            a[i * n + j] = (double)((i + 2 * j) % 7);
            b[i * n + j] = (double)((i * j) % 5 - 2);
        }
    jia_barrier();
    for (i = begin; i <= end; i++)
        for (j = 0; j < n; j++) {
            sum = 0;
            for (k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
            c[i * n + j] = sum;
        }
    jia_barrier();
    if (jiapid == 0) {
        double checksum = 0;
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++) checksum += c[i * n + j] * (double)((i + j) % 3 + 1);
        printf("matmul %d checksum = %.0f\n", n, checksum);
    }
    jia_exit();
    return 0;
}
