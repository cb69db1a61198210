/* The second file of common_main.c: the same tentative definitions. */
#include <jia.h>

int tally;
int *shared_tally;

void add_to_tally(int amount) {
    tally += amount;
    jia_lock(0);
    *shared_tally += amount;
    jia_unlock(0);
}
