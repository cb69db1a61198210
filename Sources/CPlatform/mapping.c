// memfd and the mmap variants the shared address space needs.
#define _GNU_SOURCE
#include "cplatform.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#include <unistd.h>

int cplatform_memfd(const char *name, int64_t length, int *fd) {
    int opened = memfd_create(name, MFD_CLOEXEC);
    if (opened < 0) return errno;
    if (ftruncate(opened, (off_t)length) != 0) {
        int saved = errno;
        close(opened);
        return saved;
    }
    *fd = opened;
    return 0;
}

int cplatform_reserve_at(void *hint, size_t length, void **address) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (hint != NULL) flags |= MAP_FIXED_NOREPLACE;
    void *reserved = mmap(hint, length, PROT_NONE, flags, -1, 0);
    if (reserved == MAP_FAILED) return errno;
    if (hint != NULL && reserved != hint) {  // kernels before 4.17 treat the flag as a hint
        munmap(reserved, length);
        return EEXIST;
    }
    *address = reserved;
    return 0;
}

int cplatform_unmap_to_reserved(void *address, size_t length) {
    void *result = mmap(address, length, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return result == MAP_FAILED ? errno : 0;
}

int cplatform_map_shared_fixed(void *address, size_t length, int prot, int fd, int64_t offset, int populate) {
    int flags = MAP_SHARED | MAP_FIXED | (populate ? MAP_POPULATE : 0);
    void *result = mmap(address, length, prot, flags, fd, (off_t)offset);
    return result == MAP_FAILED ? errno : 0;
}

int cplatform_map_shared(size_t length, int fd, int64_t offset, void **address) {
    void *result = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, (off_t)offset);
    if (result == MAP_FAILED) return errno;
    *address = result;
    return 0;
}

int cplatform_protect(void *address, size_t length, int prot) {
    return mprotect(address, length, prot) == 0 ? 0 : errno;
}

int cplatform_punch_hole(int fd, int64_t offset, int64_t length) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length) == 0 ? 0 : errno;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int cplatform_populate_write(void *address, size_t length) {
    return madvise(address, length, MADV_POPULATE_WRITE) == 0 ? 0 : errno;
}
