/*
 * jia.h: the C interface of JIAJIA 2.1, implemented by SwiftDSM (libjia.so).
 *
 * Programs written for JIAJIA 2.1 build against this header unchanged:
 *
 *     scripts/jiacc prog.c -o prog
 *     mpirun -np 4 ./prog
 *
 * Every function keeps JIAJIA 2.1's name, types and meaning. Where SwiftDSM differs
 * (limits, .jiahosts, jia_config options, header bugs of 2.1), docs/JIAJIA-API.md says
 * what it does and why. This header is SwiftDSM's own; it declares the same interface.
 */
#ifndef JIA_PUBLIC
#define JIA_PUBLIC

#include <stdarg.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- identity -------------------------------------------------------------------- */

/* This rank (0..jiahosts-1) and the number of ranks. In JIAJIA they are macros over the
 * globals jia_pid and hostc; here they are macros over calls, usable wherever JIAJIA's
 * ints were read (not assigned). Before jia_init they read 0 and 1. */
int jia_getpid(void);
int jia_gethosts(void);
#define jia_pid   (jia_getpid())
#define jiapid    (jia_getpid())
#define jiahosts  (jia_gethosts())

/* ---- start and end --------------------------------------------------------------- */

/* Collective. Ranks come from mpirun; a .jiahosts file is ignored (rank 0 says so once).
 * argv is not changed: --jia-<setting>=<value> flags are read, the program's own
 * arguments are left alone. */
void jia_init(int argc, char **argv);
/* Collective. Prints the statistics table (--jia-statistics=on) and finalizes MPI if
 * jia_init initialized it. Does not exit the process. */
void jia_exit(void);

/* ---- shared memory (collective; JIAJIA returns addresses as unsigned long) ---------- */

unsigned long jia_alloc3(int size, int block, int starthost);
unsigned long jia_alloc2(int size, int block);       /* jia_alloc3(size, block, 0)        */
unsigned long jia_alloc2p(int size, int proc);       /* jia_alloc3(size, size, proc)      */
unsigned long jia_alloc1(int size);                  /* jia_alloc3(size, size, 0)         */
unsigned long jia_alloc(int size);                   /* whole region on the next rank     */

/* SwiftDSM (not in 2.1): collective, a barrier first. Releases the allocation `address`
 * starts: its pages return to the system at their homes and in every cache, and later
 * allocations may reuse its range. Any access to it afterwards, a second free, or an
 * address that starts no allocation stops every rank naming the allocation. */
void jia_free(void *address);

/* ---- synchronization -------------------------------------------------------------- */

void jia_lock(int lockid);
void jia_unlock(int lockid);
void jia_barrier(void);
void jia_wait(void);                                 /* rendezvous without coherence      */
void jia_setcv(int cv);
void jia_resetcv(int cv);
void jia_waitcv(int cv);

/* ---- time, statistics, errors ------------------------------------------------------- */

float jia_clock(void);                               /* seconds since jia_init            */
unsigned int jia_startstat(void);                    /* clears and starts the counters    */
unsigned int jia_stopstat(void);                     /* freezes the counters              */

/* Stops every rank with the message (JIAJIA's jia_error is variadic; the formatting
 * happens here, the stop in the library). */
void jia_error_message(const char *message);
static inline void jia_error(char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((noreturn, format(printf, 1, 2), unused))
#endif
    ;
static inline void jia_error(char *fmt, ...) {
    char jia_error_text[4096];
    va_list jia_error_args;
    va_start(jia_error_args, fmt);
    vsnprintf(jia_error_text, sizeof jia_error_text, fmt, jia_error_args);
    va_end(jia_error_args);
    jia_error_message(jia_error_text);
    for (;;) {}
}
#define jia_errexit jia_error

/* Not in JIAJIA 2.1. jia_prepare makes [address, address+length) ready for reading
 * (writing != 0: for writing) without faults: for shared memory handed to MPI or to a
 * system call, which fails with EFAULT on a page the DSM protects (the kernel raises no
 * SIGSEGV for it). jia_set_segv_handler installs the program's SIGSEGV handler for faults
 * outside the shared range, keeping SwiftDSM's in front (a sigaction(SIGSEGV, ...) after
 * jia_init would replace it); the handler it replaces goes to old. 0 or an errno. */
struct sigaction;
void jia_prepare(void *address, size_t length, int writing);
int jia_set_segv_handler(const struct sigaction *action, struct sigaction *old);

/* Not in JIAJIA 2.1: copies length bytes of shared memory at source into private memory
 * at destination, as reading them would, but without faults: pages this rank holds are
 * copied from where they are, the others straight from their homes, and nothing is
 * cached. For data another rank published (a halo, a block of an exchange) read once. */
void jia_read(void *destination, const void *source, size_t length);

/* JIAJIA 2.1's library also exported assert(condition, message) (its tools.c), which its
 * applications call: a false condition stops every rank with the message. Declared only
 * where <assert.h>'s one-argument macro is not in effect. */
#ifndef assert
void assert(int condition, char *message);
#endif

/* ---- configuration ------------------------------------------------------------------ */

void jia_config(int option, int value);

#ifndef ON
#define OFF  0
#define ON   1
#endif
/* JIAJIA's water application calls jia_config(WVEC, ON2), which 2.1's header never
 * defined; it evidently means "on". */
#ifndef ON2
#define ON2  ON
#endif

#define HMIG       0
#define ADWD       1
#define BROADCAST  2
#define LOADBAL    3
#define WVEC       4

/* ---- message passing (buffered sends; -1 is a wildcard for frompid and tag) ---------- */

void jia_send(char *buf, int len, int topid, int tag);
int  jia_recv(char *buf, int len, int frompid, int tag);
void jia_bcast(char *buf, int len, int root);
void jia_reduce(char *snd, char *rcv, int cnt, int op, int root);

#define MSG_PROC_ALL  (-1)
#define MSG_TAG_ALL   (-1)

/* Operations of jia_reduce (JIAJIA 2.1 kept them in an unexported header). */
#define SUM_INT     0
#define MAX_INT     1
#define MIN_INT     2
#define SUM_FLOAT   10
#define MAX_FLOAT   11
#define MIN_FLOAT   12
#define SUM_DOUBLE  20
#define MAX_DOUBLE  21
#define MIN_DOUBLE  22

/* ---- load balancing ----------------------------------------------------------------- */

/* [*begin, *end] is an inclusive iteration range; it becomes this rank's inclusive share
 * (an even split, the last rank taking the remainder; with jia_config(LOADBAL, ON) a split
 * proportional to the power measured by jia_loadcheck). */
void jia_divtask(int *begin, int *end);
void jia_loadcheck(void);                            /* collective when LOADBAL is on     */

/* SwiftDSM (JIAJIA 3.0's plan): collective. COMPUTING: jia_divtask splits by each rank's
 * measured computing time since the last balance; MEMORY: with a barrier's coherence, a
 * page homed elsewhere that one rank fetched most often (at least twice) since the last
 * balance moves its home there; HYBRID: both. */
#define JIA_BALANCE_COMPUTING 1
#define JIA_BALANCE_MEMORY    2
#define JIA_BALANCE_HYBRID    3
void jia_balance(int mode);

/* ---- checkpoint and restart -------------------------------------------------------- */

/* SwiftDSM (JIAJIA 3.0's plan): collective, a barrier first. Saves every rank's home pages,
 * the allocation table and the set condition variables, with `tag` (say, the iteration),
 * to the checkpoint-dir setting's directory. A run started with restart: latest (or a tag)
 * repeats its allocation calls, which then return memory holding the checkpoint's
 * contents; jia_restarted() is that checkpoint's tag, or -1 for a fresh start. Private
 * variables are not saved: rebuild them from shared memory and the tag. */
void jia_checkpoint(long tag);
long jia_restarted(void);

/* ---- write detection hooks (empty in JIAJIA 2.1) ------------------------------------- */

#define jia_wtnt(a, b)
#define jia_wtntw(a)
#define jia_wtntd(a)

/* ---- Argonne (ANL/SPLASH) macros ----------------------------------------------------- */

/* The counter LOCKINIT draws lock ids from (an int in JIAJIA; here an lvalue over the
 * library's counter). */
int *jia_lock_index_location(void);
#define jia_lock_index (*jia_lock_index_location())

#ifndef Maxlocks
#define Maxlocks 64
#endif

#define LOCKDEC(x)        int x;
#define LOCKINIT(x)       (x) = (jia_lock_index++) % Maxlocks;
#define LOCK(x)           jia_lock(x);
#define UNLOCK(x)         jia_unlock(x);

#define ALOCKDEC(x, y)    int x[y];
#define ALOCKINIT(x, y)   {                                                    \
                              int jia_alock_i;                                 \
                              for (jia_alock_i = 0; jia_alock_i < (y); jia_alock_i++) \
                                  (x)[jia_alock_i] = (jia_lock_index++) % Maxlocks; \
                          }
#define ALOCK(x, y)       jia_lock((x)[y]);
#define AULOCK(x, y)      jia_unlock((x)[y]);

#define BARDEC(x)         int x;
#define BARINIT(x)
#define BARRIER(x, y)     jia_barrier();

#define EXTERN_ENV
#define MAIN_ENV
#define MAIN_INITENV(x, y)
#define MAIN_END
#define WAIT_FOR_END(x)   jia_barrier();

#define PAUSEDEC(x)       int x;
#define PAUSEINIT(x)
#define PAUSE_POLL(x)
#define PAUSE_SET(x, y)
#define PAUSE_RESET(x)
#define PAUSE_ACCEPT(x)

#define GSDEC(x)          int x;
#define GSINIT(x)
#define GETSUB(x, y, z, zz)

#define G_MALLOC(x)       jia_alloc1((x));
/* JIAJIA 2.1 expands G2_MALLOC(x, y) to jia_alloc3(x), a call with one argument of three.
 * Evidently meant: x bytes in blocks of y bytes, homes cyclic from rank 0. */
#define G2_MALLOC(x, y)   jia_alloc3((x), (y), 0);

#define CLOCK(x)          x = jia_clock();

#ifdef __cplusplus
}
#endif

#endif /* JIA_PUBLIC */
