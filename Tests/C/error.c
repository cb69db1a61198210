/* jia_error (and its alias jia_errexit) stops every rank with the formatted message. */
#include <stdio.h>
#include <jia.h>

int main(int argc, char **argv) {
    jia_init(argc, argv);
    printf("rank %d started\n", jiapid);
    jia_barrier();
    if (argc > 1) {
        if (jiapid == 0) jia_errexit("alias used by host %d", jiapid);
    } else if (jiapid == jiahosts - 1) {
        jia_error("bad value %d on host %d", 42, jiapid);
    }
    jia_barrier();
    printf("not reached\n");
    jia_exit();
    return 0;
}
