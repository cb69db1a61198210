/* Every function and macro of jia.h, checked. Rank 0 prints "ok <part>" lines and
 * "coverage: all ok"; a failed check prints "FAIL ..." and stops with exit status 1.
 * Run: scripts/jiacc Tests/C/coverage.c -o coverage && mpirun -np 4 ./coverage alpha 7 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jia.h>

EXTERN_ENV
MAIN_ENV

#define N 8192               /* ints per array: 32 KB, 8 pages */

static int failures = 0;

#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL rank %d line %d: ", jiapid, __LINE__); \
    printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static void ok(const char *part) {
    jia_barrier();
    if (jiapid == 0) printf("ok %s\n", part);
}

/* Marks this rank's jia_divtask share of 0..count-1 in mark[], then checks that the shares
 * of all ranks cover every index exactly once. */
static void check_partition(int *mark, int count, const char *what) {
    int i, begin = 0, end = count - 1;
    jia_divtask(&begin, &end);
    CHECK(begin >= 0 && end <= count - 1, "%s: share %d..%d", what, begin, end);
    for (i = begin; i <= end; i++) mark[i] += 1;
    jia_barrier();
    for (i = 0; i < count; i++) CHECK(mark[i] == 1, "%s: index %d covered %d times", what, i, mark[i]);
    jia_barrier();
    for (i = begin; i <= end; i++) mark[i] = 0;
    jia_barrier();
}

int main(int argc, char **argv) {
    int i, me, hosts, before, begin, end, length, total;
    int *a, *b, *c, *d, *e, *f, *g, *mark;
    float t0, t1;
    unsigned int s0, s1;
    char text[64], big_name[32];
    char *big;
    LOCKDEC(counter_lock)
    ALOCKDEC(slot_locks, 4)
    BARDEC(bar)
    GSDEC(gs)
    PAUSEDEC(pause_flag)

    MAIN_INITENV(, 0)
    (void)bar; (void)gs; (void)pause_flag;
    jia_init(argc, argv);

    /* identity, arguments */
    me = jiapid;
    hosts = jiahosts;
    CHECK(me >= 0 && me < hosts, "jiapid %d of %d", me, hosts);
    CHECK(jia_pid == me, "jia_pid %d", jia_pid);
    CHECK(argc == 3 && strcmp(argv[1], "alpha") == 0 && atoi(argv[2]) == 7, "arguments changed (argc %d)", argc);
    if (jiapid == 0) printf("hosts %d args %d %s %s\n", jiahosts, argc, argv[1], argv[2]);
    ok("identity");

    /* allocation family */
    a = (int *)jia_alloc3(N * sizeof(int), 4096, hosts > 1 ? 1 : 0);
    b = (int *)jia_alloc2(N * sizeof(int), 8192);
    c = (int *)jia_alloc2p(N * sizeof(int), hosts - 1);
    d = (int *)jia_alloc1(4096);
    e = (int *)jia_alloc(4096);
    f = (int *)G_MALLOC(4096)
    g = (int *)G2_MALLOC(N * sizeof(int), 4096)
    mark = (int *)jia_alloc(N * sizeof(int));
    CHECK(a && b && c && d && e && f && g && mark, "allocation returned 0");
    CHECK((unsigned long)b >= (unsigned long)a + N * sizeof(int), "regions overlap");
    if (me == 0) { memset(d, 0, 4096); memset(e, 0, 4096); memset(f, 0, 4096); memset(mark, 0, N * sizeof(int)); }
    jia_barrier();
    begin = 0; end = N - 1;
    jia_divtask(&begin, &end);
    for (i = begin; i <= end; i++) { a[i] = 3 * i + 1; b[i] = 5 * i; c[i] = i ^ 0x55; g[i] = -i; }
    jia_barrier();
    for (i = 0; i < N; i++) {
        CHECK(a[i] == 3 * i + 1 && b[i] == 5 * i && c[i] == (i ^ 0x55) && g[i] == -i, "element %d", i);
        if (a[i] != 3 * i + 1) break;
    }
    ok("alloc3 alloc2 alloc2p alloc1 alloc G_MALLOC G2_MALLOC");

    /* jia_divtask, even split */
    check_partition(mark, 1000, "divtask");
    check_partition(mark, 3, "divtask small");
    ok("divtask");

    /* locks: plain, nested, ANL LOCK and ALOCK */
    LOCKINIT(counter_lock)
    ALOCKINIT(slot_locks, 4)
    CHECK(counter_lock >= 0 && counter_lock < Maxlocks, "LOCKINIT gave %d", counter_lock);
    for (i = 0; i < 50; i++) {
        jia_lock(3);
        d[0] += 1;
        jia_lock(4);           /* nested */
        d[1] += 2;
        jia_unlock(4);
        jia_unlock(3);
        LOCK(counter_lock)
        d[2] += 1;
        UNLOCK(counter_lock)
        ALOCK(slot_locks, i % 4)
        d[3 + i % 4] += 1;
        AULOCK(slot_locks, i % 4)
    }
    BARRIER(bar, hosts)
    CHECK(d[0] == 50 * hosts && d[1] == 100 * hosts && d[2] == 50 * hosts, "lock counters %d %d %d", d[0], d[1], d[2]);
    for (i = 0; i < 4; i++) CHECK(d[3 + i] == hosts * (50 / 4 + (i < 50 % 4)), "ALOCK slot %d: %d", i, d[3 + i]);
    ok("lock unlock LOCK UNLOCK ALOCK AULOCK BARRIER");

    /* condition variables: data published under a lock, read under it after the wait */
    if (me == 0) {
        jia_lock(7);
        e[0] = 42;
        jia_unlock(7);
        jia_setcv(2);
    } else {
        jia_waitcv(2);
        jia_lock(7);
        CHECK(e[0] == 42, "value after waitcv: %d", e[0]);
        jia_unlock(7);
    }
    jia_wait();
    if (me == 0) jia_resetcv(2);
    /* set, reset and set again by one rank (its messages arrive in order): the variable
     * ends set, everyone passes. (A reset by one rank and a set by another are not ordered
     * by jia_wait: JIAJIA's RESETCV has no reply, and neither has SwiftDSM's.) */
    if (me == hosts - 1) { jia_setcv(3); jia_resetcv(3); jia_setcv(3); }
    jia_waitcv(3);
    jia_wait();
    if (me == hosts - 1) jia_resetcv(3);
    ok("setcv resetcv waitcv wait");

    /* time and statistics */
    t0 = jia_clock();
    CLOCK(t1)
    CHECK(t0 >= 0 && t1 >= t0, "jia_clock %f %f", t0, t1);
    s0 = jia_startstat();
    for (i = 0; i < 5; i++) jia_barrier();
    s1 = jia_stopstat();
    CHECK(s1 - s0 < 600000000u, "stat timestamps %u %u", s0, s1);
    jia_barrier();             /* after jia_stopstat: not counted */
    ok("clock CLOCK startstat stopstat");

    /* configuration: unimplemented options are accepted and reported once */
    jia_config(HMIG, ON);
    jia_config(HMIG, ON);
    jia_config(ADWD, ON);
    jia_config(BROADCAST, ON);
    jia_config(WVEC, ON2);
    jia_config(HMIG, OFF);
    jia_config(WVEC, OFF);
    ok("config");

    /* message passing: a ring, wildcards, truncation, a large buffered send, shared buffers */
    jia_send((char *)&me, sizeof me, (me + 1) % hosts, 5);
    CHECK(jia_recv((char *)&before, sizeof before, (me + hosts - 1) % hosts, 5) == (int)sizeof before, "ring length");
    CHECK(before == (me + hosts - 1) % hosts, "ring got %d", before);
    if (me != 0) {
        int value = 100 + me;
        jia_send((char *)&value, sizeof value, 0, 10 + me);
    } else {
        total = 0;
        for (i = 1; i < hosts; i++) {
            int value = 0;
            CHECK(jia_recv((char *)&value, sizeof value, MSG_PROC_ALL, MSG_TAG_ALL) == 4, "wildcard length");
            total += value;
        }
        CHECK(total == 100 * (hosts - 1) + hosts * (hosts - 1) / 2, "wildcard sum %d", total);
    }
    strcpy(text, "0123456789abcdef");
    jia_send(text, 16, me, 6);
    memset(text, 0, sizeof text);
    CHECK(jia_recv(text, 8, me, -1) == 8 && strncmp(text, "01234567", 8) == 0 && text[8] == 0, "truncation");
    length = 300000;
    big = malloc(length);
    for (i = 0; i < length; i++) big[i] = (char)(i * 7 + me);
    jia_send(big, length, me, 7);     /* to itself, no receive posted: must not block */
    memset(big, 0, length);
    CHECK(jia_recv(big, length, -1, 7) == length, "large length");
    for (i = 0; i < length; i++) if (big[i] != (char)(i * 7 + me)) { CHECK(0, "large byte %d", i); break; }
    free(big);
    jia_barrier();
    /* from shared memory into shared memory: rank r sends a[r*64 ..] to the next rank,
     * which receives into its own part of f (ints 64*r ...) */
    jia_send((char *)&a[me * 64], 64 * sizeof(int), (me + 1) % hosts, 8);
    CHECK(jia_recv((char *)&f[me * 64], 64 * sizeof(int), -1, 8) == 64 * (int)sizeof(int), "shared length");
    jia_barrier();
    for (i = 0; i < 64 * hosts && i < 1024; i++) {
        int from = (i / 64 + hosts - 1) % hosts;
        CHECK(f[i] == 3 * (from * 64 + i % 64) + 1, "shared message int %d: %d", i, f[i]);
        if (f[i] != 3 * (from * 64 + i % 64) + 1) break;
    }
    ok("send recv");

    /* broadcast */
    sprintf(big_name, me == hosts - 1 ? "from the last rank" : "not yet");
    jia_bcast(big_name, sizeof big_name, hosts - 1);
    CHECK(strcmp(big_name, "from the last rank") == 0, "bcast got '%s'", big_name);
    if (me == 0) { for (i = 0; i < 256; i++) mark[i] = i * i; }
    jia_barrier();
    {
        int copy[256];
        if (me == 0) memcpy(copy, mark, sizeof copy);
        jia_bcast((char *)copy, sizeof copy, 0);
        for (i = 0; i < 256; i++) CHECK(copy[i] == i * i, "bcast int %d", i);
        jia_barrier();
        if (me == 0) memset(mark, 0, 256 * sizeof(int));
        jia_barrier();
    }
    ok("bcast");

    /* reduce: the nine operations, and snd == rcv */
    {
        int is[2] = { me + 1, -me }, ir[2];
        float fs[2] = { (float)me + 0.5f, (float)(10 - me) }, fr[2];
        double ds[2] = { me * 0.25, 1000.0 - me }, dr[2];
        int isum = hosts * (hosts + 1) / 2;
        jia_reduce((char *)is, (char *)ir, 2, SUM_INT, 0);
        if (me == 0) CHECK(ir[0] == isum && ir[1] == -(hosts * (hosts - 1) / 2), "SUM_INT %d %d", ir[0], ir[1]);
        jia_reduce((char *)is, (char *)ir, 2, MAX_INT, 0);
        if (me == 0) CHECK(ir[0] == hosts && ir[1] == 0, "MAX_INT %d %d", ir[0], ir[1]);
        jia_reduce((char *)is, (char *)ir, 2, MIN_INT, 0);
        if (me == 0) CHECK(ir[0] == 1 && ir[1] == -(hosts - 1), "MIN_INT %d %d", ir[0], ir[1]);
        jia_reduce((char *)fs, (char *)fr, 2, SUM_FLOAT, 0);
        if (me == 0) CHECK(fr[0] == (float)(hosts * (hosts - 1) / 2) + 0.5f * hosts, "SUM_FLOAT %f", fr[0]);
        jia_reduce((char *)fs, (char *)fr, 2, MAX_FLOAT, 0);
        if (me == 0) CHECK(fr[0] == hosts - 0.5f && fr[1] == 10.0f, "MAX_FLOAT %f %f", fr[0], fr[1]);
        jia_reduce((char *)fs, (char *)fr, 2, MIN_FLOAT, 0);
        if (me == 0) CHECK(fr[0] == 0.5f && fr[1] == (float)(11 - hosts), "MIN_FLOAT %f %f", fr[0], fr[1]);
        jia_reduce((char *)ds, (char *)dr, 2, SUM_DOUBLE, hosts - 1);
        if (me == hosts - 1) CHECK(dr[0] == 0.25 * (hosts * (hosts - 1) / 2), "SUM_DOUBLE %f", dr[0]);
        jia_reduce((char *)ds, (char *)dr, 2, MAX_DOUBLE, 0);
        if (me == 0) CHECK(dr[0] == 0.25 * (hosts - 1) && dr[1] == 1000.0, "MAX_DOUBLE %f %f", dr[0], dr[1]);
        jia_reduce((char *)ds, (char *)dr, 2, MIN_DOUBLE, 0);
        if (me == 0) CHECK(dr[0] == 0.0 && dr[1] == 1001.0 - hosts, "MIN_DOUBLE %f %f", dr[0], dr[1]);
        jia_reduce((char *)is, (char *)is, 1, SUM_INT, 0);
        if (me == 0) CHECK(is[0] == isum, "in-place SUM_INT %d", is[0]);
    }
    ok("reduce");

    /* load balancing: rank 0 works longer, jia_loadcheck gives it a smaller share */
    jia_config(LOADBAL, ON);
    check_partition(mark, 1000, "divtask LOADBAL before loadcheck");
    jia_loadcheck();           /* starts a measured interval */
    {
        volatile double x = 0;
        long spin = me == 0 ? 60000000L : 3000000L;
        long k;
        for (k = 0; k < spin; k++) x += k * 0.5;
    }
    jia_loadcheck();
    check_partition(mark, 1000, "divtask LOADBAL after loadcheck");
    begin = 0; end = 999;
    jia_divtask(&begin, &end);
    if (hosts > 1 && me == 0) CHECK(end - begin + 1 < 1000 / hosts, "LOADBAL share of the slow rank: %d", end - begin + 1);
    jia_config(LOADBAL, OFF);
    begin = 0; end = 999;
    jia_divtask(&begin, &end);
    CHECK(begin == me * (1000 / hosts), "even split after LOADBAL OFF: %d", begin);
    ok("LOADBAL loadcheck");

    /* jia_balance: a split that covers the range once, and a page rank 0 homes that the
     * last rank alone fetched twice (a write by rank 0 in between) moves to the last rank */
    {
        int *pages = (int *)jia_alloc3(4096 * 4, 4096 * 4, 0), round, sum = 0, lo, hi, covered = 0;
        jia_balance(JIA_BALANCE_COMPUTING);
        lo = 0; hi = 999;
        jia_divtask(&lo, &hi);
        covered = hi - lo + 1;
        jia_reduce((char *)&covered, (char *)&total, 1, SUM_INT, 0);
        if (me == 0) CHECK(total == 1000, "balanced divtask covers %d of 1000", total);
        for (round = 0; round < 2; round++) {
            if (me == 0) pages[0] = round + 1;
            jia_barrier();
            if (me == hosts - 1) sum += pages[0];
            jia_barrier();
        }
        jia_balance(JIA_BALANCE_HYBRID);
        if (me == hosts - 1) pages[1] = 7;
        jia_barrier();
        CHECK(pages[0] == 2 && pages[1] == 7, "pages after balance: %d %d", pages[0], pages[1]);
        jia_balance(JIA_BALANCE_MEMORY);
        if (me == hosts - 1) CHECK(sum == 3, "sum of what rank %d read: %d", me, sum);
    }
    ok("balance");

    /* jia_free: the range comes back for the next allocation of its size, zero-filled;
     * jia_restarted: -1 in a run that was not restored from a checkpoint */
    {
        int *scratch = (int *)jia_alloc3(N * sizeof(int), 4096, 0);
        for (i = me; i < N; i += hosts) scratch[i] = i + 1;
        jia_barrier();
        CHECK(scratch[N - 1] == N, "scratch before the free: %d", scratch[N - 1]);
        jia_free(scratch);
        int *again = (int *)jia_alloc3(N * sizeof(int), 4096, 0);
        CHECK(again == scratch, "the freed range is reused (%p, %p)", (void *)again, (void *)scratch);
        CHECK(again[N - 1] == 0 && again[me] == 0, "reused memory reads %d", again[N - 1]);
        jia_free(again);
        CHECK(jia_restarted() == -1, "jia_restarted() %ld", jia_restarted());
    }
    ok("free restarted");

    /* jia_read (not in 2.1): another rank's block copied out without faults, from a word
     * inside its first page to one inside its last; a length of 0 copies nothing */
    {
        int *blocks = (int *)jia_alloc3(hosts * 2048 * sizeof(int), 2048 * sizeof(int), 0);
        int *copy = (int *)malloc(2048 * sizeof(int));
        int from = (me + 1) % hosts;
        for (i = 0; i < 2048; i++) blocks[me * 2048 + i] = me * 100000 + i;
        jia_barrier();
        copy[0] = copy[2047] = -1;
        jia_read(copy + 1, blocks + from * 2048 + 1, 2046 * sizeof(int));
        for (i = 1; i < 2047; i++) CHECK(copy[i] == from * 100000 + i, "jia_read word %d: %d", i, copy[i]);
        CHECK(copy[0] == -1 && copy[2047] == -1, "jia_read wrote outside its range: %d %d", copy[0], copy[2047]);
        jia_read(copy, blocks, 0);
        CHECK(copy[0] == -1, "jia_read of 0 bytes wrote %d", copy[0]);
        free(copy);
        jia_free(blocks);
    }
    ok("read");

    /* macros that expand to nothing */
    jia_wtnt(&a[0], 4);
    jia_wtntw(&a[0]);
    jia_wtntd(&a[0]);
    BARINIT(bar)
    GSINIT(gs)
    GETSUB(gs, i, 0, 1)
    PAUSEINIT(pause_flag)
    PAUSE_SET(pause_flag, 1)
    PAUSE_POLL(pause_flag)
    PAUSE_RESET(pause_flag)
    PAUSE_ACCEPT(pause_flag)
    WAIT_FOR_END(hosts - 1)
    ok("wtnt PAUSE GS MAIN_ENV WAIT_FOR_END");

    jia_reduce((char *)&failures, (char *)&total, 1, SUM_INT, 0);
    if (me == 0) {
        if (total == 0) printf("coverage: all ok\n");
        else printf("coverage: %d failures\n", total);
    }
    MAIN_END
    jia_exit();
    /* identity stays readable after jia_exit, as JIAJIA's globals did */
    if (jiapid == 0 && jiahosts != hosts) printf("FAIL jiahosts after jia_exit\n");
    return failures ? 1 : 0;
}
