/* A JIAJIA-style relaxation that checkpoints every 5 of its 20 sweeps (tag: sweeps done)
 * and, restarted (restart: latest), continues after the checkpoint it was restored from.
 * Private state is rebuilt from the tag. Rank 0 prints a checksum of the shared array.
 * argv[1] (optional): the last rank kills itself right after that checkpoint, in a run
 * that was not restarted. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <jia.h>

#define N 8192
#define SWEEPS 20

int main(int argc, char **argv) {
    jia_init(argc, argv);
    long kill_after = argc > 1 ? atol(argv[1]) : -1;
    double *a = (double *)jia_alloc3(N * sizeof(double), N * sizeof(double) / jiahosts, 0);
    long *sweeps_seen = (long *)jia_alloc(sizeof(long));
    long restored = jia_restarted();
    int begin = 0, end = N - 1;
    jia_divtask(&begin, &end);
    if (restored < 0) {
        for (int i = begin; i <= end; i++) a[i] = (double)((i * 13) % 101);
    }
    jia_barrier();
    if (jiapid == 0) printf("checkpoint.c restored %ld\n", restored);
    for (long sweep = restored < 0 ? 0 : restored; sweep < SWEEPS; sweep++) {
        for (int i = begin; i <= end; i++) {
            if (i > 0 && i < N - 1 && (i + sweep) % 2 == 0) a[i] = 0.5 * (a[i - 1] + a[i + 1]) + 0.001 * sweep;
        }
        jia_lock(0);
        *sweeps_seen += 1;
        jia_unlock(0);
        jia_barrier();
        if ((sweep + 1) % 5 == 0) {
            jia_checkpoint(sweep + 1);
            if (sweep + 1 == kill_after && restored < 0 && jiapid == jiahosts - 1) kill(getpid(), SIGKILL);
        }
    }
    if (jiapid == 0) {
        unsigned long long sum = 1469598103934665603ULL;
        const unsigned char *bytes = (const unsigned char *)a;
        for (size_t i = 0; i < N * sizeof(double); i++) sum = (sum ^ bytes[i]) * 1099511628211ULL;
        printf("checkpoint.c sweeps %ld checksum %llx\n", *sweeps_seen, sum);
    }
    jia_exit();
    return 0;
}
