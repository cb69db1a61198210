/* jia_error (and its alias jia_errexit) stops every rank with the formatted message; so
 * does a jia_read into shared memory (argument "read"). */
#include <stdio.h>
#include <string.h>
#include <jia.h>

int main(int argc, char **argv) {
    char *shared;
    jia_init(argc, argv);
    shared = (char *)jia_alloc3(8192, 4096, 0);
    printf("rank %d started\n", jiapid);
    jia_barrier();
    if (argc > 1 && strcmp(argv[1], "read") == 0) {
        if (jiapid == 0) jia_read(shared + 4096, shared, 4096);
    } else if (argc > 1) {
        if (jiapid == 0) jia_errexit("alias used by host %d", jiapid);
    } else if (jiapid == jiahosts - 1) {
        jia_error("bad value %d on host %d", 42, jiapid);
    }
    jia_barrier();
    printf("not reached\n");
    jia_exit();
    return 0;
}
