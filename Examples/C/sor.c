/* Red-black successive over-relaxation on an (m+2) x (n+2) grid with fixed borders: rows
 * shared out with jia_divtask, a barrier after each colour. Each point's value does not
 * depend on who computes it, so the checksum is exact. Usage: sor [m] [n] [iterations] */
#include <stdio.h>
#include <stdlib.h>
#include <jia.h>

int main(int argc, char **argv) {
    int m = 200, n = 200, iterations = 20, it, i, j, colour, begin, end;
    double *grid, omega = 1.25;
    jia_init(argc, argv);
    if (argc > 1) m = atoi(argv[1]);
    if (argc > 2) n = atoi(argv[2]);
    if (argc > 3) iterations = atoi(argv[3]);
#define G(i, j) grid[(i) * (n + 2) + (j)]
    grid = (double *)jia_alloc3((m + 2) * (n + 2) * sizeof(double),
                                ((m + 2) * (n + 2) * sizeof(double) + jiahosts - 1) / jiahosts, 0);
    begin = 1; end = m;
    jia_divtask(&begin, &end);
    if (jiapid == 0)
        for (j = 0; j < n + 2; j++) { G(0, j) = 1.0; G(m + 1, j) = 0.0; }
    for (i = begin; i <= end; i++) {
        G(i, 0) = (double)i / (m + 1);
        G(i, n + 1) = 0.5;
        for (j = 1; j <= n; j++) G(i, j) = 0.0;
    }
    jia_barrier();
    for (it = 0; it < iterations; it++)
        for (colour = 0; colour < 2; colour++) {
            for (i = begin; i <= end; i++)
                for (j = 1 + (i + colour) % 2; j <= n; j += 2)
                    G(i, j) = (1 - omega) * G(i, j)
                        + omega * 0.25 * (G(i - 1, j) + G(i + 1, j) + G(i, j - 1) + G(i, j + 1));
            jia_barrier();
        }
    if (jiapid == 0) {
        double checksum = 0;
        for (i = 0; i < m + 2; i++)
            for (j = 0; j < n + 2; j++) checksum += G(i, j) * (1 + (i * 7 + j) % 11);
        printf("sor %dx%d %d iterations checksum = %.12e\n", m, n, iterations, checksum);
    }
    jia_exit();
    return 0;
}
