/* pipeline_time.h - the monotonic clock the pipeline jobs time their steps with. */
#ifndef LQ_PIPELINE_TIME_H
#define LQ_PIPELINE_TIME_H

#include <time.h>

static inline double lqp_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
