/* Integer sort (bucket counting, as NPB IS): keys made from their index, histograms per
 * rank in shared memory, global key counts accumulated under a lock, every rank places its
 * keys, rank 0 checks the order. Usage: is [keys] [maxkey] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jia.h>

static unsigned int key_of(unsigned int i, unsigned int maxkey) {
    unsigned int x = i * 2654435761u + 12345u;
    x ^= x >> 13; x *= 0x5bd1e995u; x ^= x >> 15;
    return (x % maxkey + (x >> 7) % maxkey) / 2;      /* a hump, like NPB's keys */
}

int main(int argc, char **argv) {
    int nkeys = 1 << 18, maxkey = 1 << 11, begin, end, i, k, p, hosts, me;
    int *keys, *sorted, *hist, *total, *local, *offset;
    jia_init(argc, argv);
    if (argc > 1) nkeys = atoi(argv[1]);
    if (argc > 2) maxkey = atoi(argv[2]);
    hosts = jiahosts; me = jiapid;
    keys = (int *)jia_alloc3(nkeys * sizeof(int), (nkeys * sizeof(int) + hosts - 1) / hosts, 0);
    sorted = (int *)jia_alloc3(nkeys * sizeof(int), (nkeys * sizeof(int) + hosts - 1) / hosts, 0);
    hist = (int *)jia_alloc3(hosts * maxkey * sizeof(int), maxkey * sizeof(int), 0);
    total = (int *)jia_alloc1(maxkey * sizeof(int));
    local = calloc(maxkey, sizeof(int));
    offset = calloc(maxkey, sizeof(int));
    if (me == 0) memset(total, 0, maxkey * sizeof(int));
    begin = 0; end = nkeys - 1;
    jia_divtask(&begin, &end);
    for (i = begin; i <= end; i++) { keys[i] = key_of(i, maxkey); local[keys[i]]++; }
    memcpy(&hist[me * maxkey], local, maxkey * sizeof(int));
    jia_barrier();                                    /* total was cleared */
    jia_lock(0);
    for (k = 0; k < maxkey; k++) total[k] += local[k];
    jia_unlock(0);
    jia_barrier();
    /* where this rank's keys of each value start: all smaller keys, then lower ranks' */
    {
        int start = 0;
        for (k = 0; k < maxkey; k++) {
            offset[k] = start;
            for (p = 0; p < me; p++) offset[k] += hist[p * maxkey + k];
            start += total[k];
        }
        if (start != nkeys) printf("is: FAIL key count %d\n", start);
    }
    for (i = begin; i <= end; i++) sorted[offset[keys[i]]++] = keys[i];
    jia_barrier();
    if (me == 0) {
        unsigned int checksum = 0;
        int ordered = 1;
        for (i = 0; i < nkeys; i++) {
            if (i > 0 && sorted[i] < sorted[i - 1]) ordered = 0;
            checksum = checksum * 31u + (unsigned int)sorted[i];
        }
        printf("is %d keys: %s checksum = %u\n", nkeys, ordered ? "sorted" : "NOT SORTED", checksum);
    }
    free(local); free(offset);
    jia_exit();
    return 0;
}
