/* JIAJIA 2.1's two-argument assert from its library (no <assert.h>): a true condition
 * passes, a false one stops every rank with the message. */
#include <stdio.h>
#include <jia.h>

int main(int argc, char **argv) {
    jia_init(argc, argv);
    assert(jiahosts > 0, "no ranks");
    jia_barrier();
    printf("rank %d passed the first assert\n", jiapid);
    jia_barrier();
    if (jiapid == jiahosts - 1) assert(jiapid < 0, "the last rank's check failed");
    jia_barrier();
    printf("not reached\n");
    jia_exit();
    return 0;
}
