/* LU decomposition without pivoting of a diagonally dominant matrix, rows dealt out
 * cyclically, one barrier per step; rank 0 checks L*U = A and prints a checksum.
 * Usage: lu [n] */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <jia.h>

static double entry(int i, int j, int n) {
    return i == j ? 2.0 * n : (double)(((i * 37 + j * 11) % 19) - 9) / 10.0;
}

int main(int argc, char **argv) {
    int n = 120, i, j, k, me, hosts;
    double *a;
    jia_init(argc, argv);
    if (argc > 1) n = atoi(argv[1]);
    me = jiapid; hosts = jiahosts;
    a = (double *)jia_alloc3(n * n * sizeof(double), 4096, 0);
    for (i = me; i < n; i += hosts)
        for (j = 0; j < n; j++) a[i * n + j] = entry(i, j, n);
    jia_barrier();
    for (k = 0; k < n - 1; k++) {
        for (i = k + 1; i < n; i++) {
            if (i % hosts != me) continue;
            double factor = a[i * n + k] / a[k * n + k];
            a[i * n + k] = factor;
            for (j = k + 1; j < n; j++) a[i * n + j] -= factor * a[k * n + j];
        }
        jia_barrier();
    }
    if (me == 0) {
        double checksum = 0, worst = 0;
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++) {
                double sum = 0;
                for (k = 0; k <= (i < j ? i : j); k++)
                    sum += (k == i ? 1.0 : a[i * n + k]) * a[k * n + j];
                if (fabs(sum - entry(i, j, n)) > worst) worst = fabs(sum - entry(i, j, n));
                checksum += a[i * n + j] * (1 + (i + 2 * j) % 5);
            }
        printf("lu %d: L*U %s A, checksum = %.12e\n", n, worst < 1e-9 ? "equals" : "DIFFERS FROM", checksum);
    }
    jia_exit();
    return 0;
}
