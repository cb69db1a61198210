/* A program's own SIGSEGV handler next to the DSM's: installed with jia_set_segv_handler
 * after jia_init, it sees the faults outside the shared range (here on a private page it
 * protected, which it opens and retries), while shared memory still faults in as usual;
 * jia_prepare readies shared memory for read(2), which would fail with EFAULT otherwise. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <jia.h>

static char *private_page;
static volatile int caught;

static void on_segv(int signal_number, siginfo_t *info, void *context) {
    (void)signal_number;
    (void)context;
    if ((char *)info->si_addr >= private_page && (char *)info->si_addr < private_page + 4096) {
        caught++;
        mprotect(private_page, 4096, PROT_READ | PROT_WRITE);
    }
}

int main(int argc, char **argv) {
    jia_init(argc, argv);
    private_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    if (jia_set_segv_handler(&action, NULL) != 0) printf("jia_set_segv_handler failed\n");

    char *shared = (char *)jia_alloc3(jiahosts * 4096, 4096, 0);
    int other = (jiapid + 1) % jiahosts;
    /* A system call writing into another rank's page: prepared first. */
    jia_prepare(shared + other * 4096, 4096, 1);
    int fd = open("/dev/zero", O_RDONLY);
    ssize_t got = read(fd, shared + other * 4096, 4096);
    close(fd);
    shared[other * 4096] = (char)(1 + jiapid);
    private_page[0] = 7;  /* faults outside the shared range: the program's handler */
    jia_barrier();
    printf("segv rank %d read %zd caught %d private %d shared %d\n", jiapid, got, caught, private_page[0],
           shared[jiapid * 4096]);
    jia_exit();
    return 0;
}
