/* The floor under the dashboard's key-to-screen latency: how late a normal thread that sleeps
 * 10 ms wakes up while N threads spin, at idle priority (SCHED_IDLE, as the dashboard's workers
 * run) or at normal priority. No concur-tui code: what the kernel gives any program here.
 *
 *   gcc -O2 -pthread benches/wake_floor.c -o /tmp/wake_floor && /tmp/wake_floor 1000 idle
 *   /tmp/wake_floor 1000 normal; /tmp/wake_floor 0 idle
 *
 * Prints the p50, p99 and max of 300 wake-ups' lateness beyond the 10 ms asked for. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

int main(int argc, char **argv) {
    int spinners = argc > 1 ? atoi(argv[1]) : 1000;
    int idle = argc > 2 ? strcmp(argv[2], "normal") != 0 : 1;
    if (spinners < 0 || spinners > MAX_SPINNERS) {
        fprintf(stderr, "wake_floor: between 0 and %d spinning threads\n", MAX_SPINNERS);
        return 2;
    }
    static pthread_t threads[MAX_SPINNERS];
    for (int i = 0; i < spinners; i++) pthread_create(&threads[i], NULL, spin, idle ? (void *)1 : NULL);
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
    printf("%d %s spinners: a 10 ms sleep wakes late by p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", spinners,
           idle ? "idle-priority" : "normal-priority", late[WAKES / 2], late[WAKES * 99 / 100], late[WAKES - 1]);
    return 0;
}
