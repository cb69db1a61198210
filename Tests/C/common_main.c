/* Two files that share tentative definitions (`int tally;` in both, no extern), as that
 * era's C did: scripts/jiacc links them. */
#include <stdio.h>
#include <jia.h>

int tally;
int *shared_tally;
void add_to_tally(int amount);

int main(int argc, char **argv) {
    jia_init(argc, argv);
    shared_tally = (int *)jia_alloc(sizeof(int));
    if (jiapid == 0) *shared_tally = 0;
    jia_barrier();
    add_to_tally(jiapid + 1);
    jia_barrier();
    if (jiapid == 0) printf("common tally %d local %d\n", *shared_tally, tally);
    jia_exit();
    return 0;
}
