/* The floor under the dashboard's key-to-screen latency: how late a normal thread that sleeps
 * 10 ms wakes up while N threads spin, at idle priority (SCHED_IDLE), at normal priority, or at
 * idle priority in a cpu cgroup of their own (as the dashboard's workers run where it may make
 * one: cgroup v1, as root). No concur-tui code: what the kernel gives any program here.
 *
 *   gcc -O2 -pthread benches/wake_floor.c -o /tmp/wake_floor && /tmp/wake_floor 1000 idle
 *   /tmp/wake_floor 1000 normal; /tmp/wake_floor 1000 pen; /tmp/wake_floor 0 idle
 *
 * Prints the p50, p99 and max of 300 wake-ups' lateness beyond the 10 ms asked for; with pen,
 * also what moving the calling thread into the cgroup and back costs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SPINNERS 4096
#define WAKES 300

static atomic_int stop;

static void *spin(void *idle) {
    if (idle) {
        struct sched_param param = {0};
        sched_setscheduler(0, SCHED_IDLE, &param);
    }
    volatile unsigned long count = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) count++;
    return NULL;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Moves the calling thread into the cgroup whose tasks file is `tasks`. */
static int move_self(const char *tasks) {
    FILE *file = fopen(tasks, "w");
    if (!file) return -1;
    int written = fprintf(file, "%ld\n", (long)syscall(SYS_gettid));
    return (fclose(file) == 0 && written > 0) ? 0 : -1;
}

int main(int argc, char **argv) {
    int spinners = argc > 1 ? atoi(argv[1]) : 1000;
    const char *mode = argc > 2 ? argv[2] : "idle";
    int idle = strcmp(mode, "normal") != 0;
    int pen = strcmp(mode, "pen") == 0;
    char pen_dir[64], pen_tasks[80];
    const char *home_tasks = "/sys/fs/cgroup/cpu/tasks";
    snprintf(pen_dir, sizeof pen_dir, "/sys/fs/cgroup/cpu/wake-floor-%d", (int)getpid());
    snprintf(pen_tasks, sizeof pen_tasks, "%s/tasks", pen_dir);
    if (pen && (mkdir(pen_dir, 0755) != 0 || move_self(pen_tasks) != 0)) {
        perror("wake_floor: a cpu cgroup of the spinners' own (cgroup v1, as root)");
        rmdir(pen_dir);
        return 2;
    }
    if (spinners < 0 || spinners > MAX_SPINNERS) {
        fprintf(stderr, "wake_floor: between 0 and %d spinning threads\n", MAX_SPINNERS);
        return 2;
    }
    static pthread_t threads[MAX_SPINNERS];
    for (int i = 0; i < spinners; i++) pthread_create(&threads[i], NULL, spin, idle ? (void *)1 : NULL);
    if (pen) move_self(home_tasks); /* the spinners stay in the pen they were born in */
    usleep(500000);
    double late[WAKES];
    for (int i = 0; i < WAKES; i++) {
        double before = now_ms();
        usleep(10000);
        late[i] = now_ms() - before - 10.0;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < spinners; i++) pthread_join(threads[i], NULL);
    qsort(late, WAKES, sizeof late[0], by_value);
    printf("%d %s spinners%s: a 10 ms sleep wakes late by p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", spinners,
           idle ? "idle-priority" : "normal-priority", pen ? " in a cpu cgroup of their own" : "", late[WAKES / 2],
           late[WAKES * 99 / 100], late[WAKES - 1]);
    if (pen) {
        double before = now_ms();
        for (int i = 0; i < 100; i++) move_self(pen_tasks), move_self(home_tasks);
        printf("moving this thread into the cgroup and back: %.3f ms\n", (now_ms() - before) / 100);
        rmdir(pen_dir);
    }
    return 0;
}
