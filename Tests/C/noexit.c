/* A JIAJIA-era program that returns from main without jia_exit: the DSM ends with the
 * process, every rank's work done, and the job exits cleanly. */
#include <stdio.h>
#include <jia.h>

int main(int argc, char **argv) {
    jia_init(argc, argv);
    int *counts = (int *)jia_alloc(jiahosts * sizeof(int));
    counts[jiapid] = jiapid + 1;
    jia_barrier();
    int sum = 0;
    for (int rank = 0; rank < jiahosts; rank++) sum += counts[rank];
    printf("noexit rank %d sum %d\n", jiapid, sum);
    return 0;
}
