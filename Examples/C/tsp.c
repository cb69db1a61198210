/* Travelling salesman by branch and bound: the tours' first cities form jobs in a shared
 * queue, taken under a lock; the best length so far is shared under another lock and
 * bounds every rank's search. Prints the optimal length. Usage: tsp [cities] [seed] */
#include <stdio.h>
#include <stdlib.h>
#include <jia.h>

#define MAXC 16
#define QUEUE_LOCK 1
#define BEST_LOCK 2

typedef struct {
    int next;                 /* next job to hand out */
    int njobs;
    int best;
    int jobs[MAXC * MAXC * MAXC][3];
} shared_t;

static int n, dist[MAXC][MAXC], local_best;
static shared_t *sh;

static void search(int *path, int depth, int length, int used) {
    int c;
    if (length >= local_best) return;
    if (depth == n) {
        length += dist[path[n - 1]][0];
        if (length < local_best) {
            jia_lock(BEST_LOCK);
            if (length < sh->best) sh->best = length;
            local_best = sh->best;
            jia_unlock(BEST_LOCK);
        }
        return;
    }
    for (c = 1; c < n; c++) {
        if (used & (1 << c)) continue;
        path[depth] = c;
        search(path, depth + 1, length + dist[path[depth - 1]][c], used | (1 << c));
    }
}

int main(int argc, char **argv) {
    int i, j, k, seed = 7, path[MAXC], job, done = 0;
    jia_init(argc, argv);
    n = argc > 1 ? atoi(argv[1]) : 11;
    if (argc > 2) seed = atoi(argv[2]);
    if (n > MAXC || n < 4) jia_error("tsp: %d cities, must be 4..%d", n, MAXC);
    for (i = 0; i < n; i++)                     /* same distances on every rank */
        for (j = 0; j < n; j++) {
            unsigned int x = (unsigned int)((i < j ? i * 131 + j : j * 131 + i) * 2654435761u + seed);
            dist[i][j] = i == j ? 0 : 10 + (int)((x >> 8) % 90);
        }
    sh = (shared_t *)jia_alloc1(sizeof(shared_t));
    if (jiapid == 0) {
        sh->next = 0; sh->njobs = 0; sh->best = 1 << 30;
        for (i = 1; i < n; i++)
            for (j = 1; j < n; j++)
                for (k = 1; k < n; k++)
                    if (i != j && j != k && i != k) {
                        sh->jobs[sh->njobs][0] = i; sh->jobs[sh->njobs][1] = j; sh->jobs[sh->njobs][2] = k;
                        sh->njobs++;
                    }
    }
    jia_barrier();
    local_best = 1 << 30;
    for (;;) {
        jia_lock(QUEUE_LOCK);
        job = sh->next < sh->njobs ? sh->next++ : -1;
        jia_unlock(QUEUE_LOCK);
        if (job < 0) break;
        jia_lock(BEST_LOCK);
        if (sh->best < local_best) local_best = sh->best;
        jia_unlock(BEST_LOCK);
        path[0] = 0;
        path[1] = sh->jobs[job][0]; path[2] = sh->jobs[job][1]; path[3] = sh->jobs[job][2];
        search(path, 4, dist[0][path[1]] + dist[path[1]][path[2]] + dist[path[2]][path[3]],
               1 | (1 << path[1]) | (1 << path[2]) | (1 << path[3]));
        done++;
    }
    jia_barrier();
    jia_reduce((char *)&done, (char *)&job, 1, SUM_INT, 0);
    if (jiapid == 0) printf("tsp %d cities: optimal tour length = %d (%s)\n", n, sh->best,
                            job == sh->njobs ? "every job done once" : "JOBS LOST");
    jia_exit();
    return 0;
}
