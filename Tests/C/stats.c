/* jia_startstat / jia_stopstat and the statistics table of jia_exit (JIA_STATISTICS=on):
 * the work between the two calls is counted, the work after jia_stopstat is not. */
#include <stdio.h>
#include <jia.h>

int main(int argc, char **argv) {
    int i, value = 0, *shared;
    jia_init(argc, argv);
    shared = (int *)jia_alloc3(16 * 4096, 4096, 0);
    jia_barrier();
    jia_startstat();
    for (i = 0; i < 16 * 1024; i += 1024) value += shared[i];   /* read remote pages */
    jia_barrier();
    jia_lock(1);
    shared[jiapid * 1024 + 1] = jiapid;                      /* write one page each */
    jia_unlock(1);
    jia_send((char *)&i, sizeof i, (jiapid + 1) % jiahosts, 3);
    jia_recv((char *)&value, sizeof value, -1, 3);
    for (i = 0; i < 3; i++) jia_barrier();
    jia_stopstat();
    for (i = 0; i < 50; i++) jia_barrier();                 /* not counted */
    if (jiapid == 0) printf("stats: done %d\n", value);
    jia_exit();
    return 0;
}
