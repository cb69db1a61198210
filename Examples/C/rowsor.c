/* Red-black SOR written the plain way: every row is its own jia_alloc (so homes go
 * round-robin over the ranks, row by row), rows shared out in blocks with jia_divtask,
 * a barrier after each colour. Half of a rank's rows are homed elsewhere: the case home
 * migration (jia_config(HMIG, ON) or hmig: on) is for. The checksum is exact.
 * Usage: rowsor [m] [n] [iterations] */
#include <stdio.h>
#include <stdlib.h>
#include <jia.h>

int main(int argc, char **argv) {
    int m = 256, n = 1022, iterations = 20, it, i, j, colour, begin, end;
    double **row, omega = 1.25;
    jia_init(argc, argv);
    if (argc > 1) m = atoi(argv[1]);
    if (argc > 2) n = atoi(argv[2]);
    if (argc > 3) iterations = atoi(argv[3]);
    row = malloc((m + 2) * sizeof(double *));
    for (i = 0; i < m + 2; i++) row[i] = (double *)jia_alloc((n + 2) * sizeof(double));
    begin = 1; end = m;
    jia_divtask(&begin, &end);
    if (jiapid == 0)
        for (j = 0; j < n + 2; j++) { row[0][j] = 1.0; row[m + 1][j] = 0.0; }
    for (i = begin; i <= end; i++) {
        row[i][0] = (double)i / (m + 1);
        row[i][n + 1] = 0.5;
        for (j = 1; j <= n; j++) row[i][j] = 0.0;
    }
    jia_barrier();
    float start = jia_clock();
    for (it = 0; it < iterations; it++)
        for (colour = 0; colour < 2; colour++) {
            for (i = begin; i <= end; i++)
                for (j = 1 + (i + colour) % 2; j <= n; j += 2)
                    row[i][j] = (1 - omega) * row[i][j]
                        + omega * 0.25 * (row[i - 1][j] + row[i + 1][j] + row[i][j - 1] + row[i][j + 1]);
            jia_barrier();
        }
    float seconds = jia_clock() - start;
    if (jiapid == 0) {
        double checksum = 0;
        for (i = 0; i < m + 2; i++)
            for (j = 0; j < n + 2; j++) checksum += row[i][j] * (1 + (i * 7 + j) % 11);
        printf("rowsor %dx%d %d iterations checksum = %.12e\n", m, n, iterations, checksum);
        fprintf(stderr, "rowsor: %d ranks, %.4f s\n", jiahosts, seconds);
    }
    jia_exit();
    return 0;
}
