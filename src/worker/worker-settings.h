/* A workflow's settings.worker: whether its node runs go to a dedicated worker process
 * (pipelit-worker@<slug>.service) and with which limits:
 *
 *   {"dedicated": true, "memory_max": "256M", "cpu_quota": "50%", "tasks_max": 64,
 *    "runtime_max_sec": 3600}
 *
 * Every key may be left out or null. memory_max is bytes, or a number with K, M, G or T
 * (powers of 1024); cpu_quota a percentage of one CPU ("150%": one and a half). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The bounds the API accepts: outside them a value is a mistake, not a limit. */
#define WORKER_MEMORY_MIN (16ULL * 1024 * 1024)
#define WORKER_MEMORY_MAX (1ULL << 50)
#define WORKER_CPU_PERCENT_MAX 100000
#define WORKER_TASKS_MIN 8
#define WORKER_TASKS_MAX 4194304
#define WORKER_RUNTIME_SEC_MAX (10LL * 365 * 86400)

typedef struct WorkerLimits {
        bool dedicated;
        uint64_t memory_max;            /* bytes; 0: no limit of its own */
        uint64_t cpu_quota_per_sec_usec;/* CPU time per second; 0: none */
        uint64_t tasks_max;             /* 0: none */
        uint64_t runtime_max_usec;      /* 0: none */
} WorkerLimits;

/* Checks settings.worker given to the API (NULL or null: none). Appends {"loc": loc + [key],
 * "msg", "type"} to errors per problem; loc is borrowed. */
void worker_settings_check_json(json_t *worker, json_t *loc, json_t *errors);

/* The limits of a workflow's stored settings object (may be NULL); what the API would refuse
 * is left out. */
void worker_limits_from_settings(json_t *settings, WorkerLimits *ret);
bool worker_limits_equal(const WorkerLimits *a, const WorkerLimits *b);
/* The limits as settings.worker says them (for ListWorkers and the logs). */
json_t *worker_limits_to_json(const WorkerLimits *l);
