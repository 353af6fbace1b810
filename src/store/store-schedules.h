/* Schedules in the database (table scheduled_jobs), answered in the API's shapes
 * (docs/api.md "Schedules"), and what the scheduler (engine/scheduler.c) reads and records.
 *
 * A schedule is visible to the owner of its workflow and to admins, as the workflow's
 * executions are; for anyone else it does not exist (-ENOENT). Bodies handed in are already
 * validated by the API layer. Every change of a schedule's state happens in a transaction
 * that holds its row, so the API, the scheduler and the workers that count runs never undo
 * each other's work. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/time-util.h"
#include "store/db.h"
#include "store/store-executions.h"
#include "store/store-workflows.h"

typedef enum ScheduleStatus {
        SCHEDULE_ACTIVE,        /* fires when due */
        SCHEDULE_PAUSED,        /* paused by a person; resume makes it active again */
        SCHEDULE_DONE,          /* ran total_repeats times */
        SCHEDULE_DEAD,          /* failed more than max_retries times in a row */
        _SCHEDULE_STATUS_MAX,
        _SCHEDULE_STATUS_INVALID = -22,
} ScheduleStatus;

const char *schedule_status_to_string(ScheduleStatus s);
ScheduleStatus schedule_status_from_string(const char *s);

/* Limits of the settings (docs/api.md). */
#define SCHEDULE_NAME_MAX 255                           /* characters */
#define SCHEDULE_DESCRIPTION_MAX 65536                  /* characters */
#define SCHEDULE_INTERVAL_MAX (10LL * 366 * 24 * 3600)  /* ten years, in seconds */
#define SCHEDULE_REPEATS_MAX 1000000000LL
#define SCHEDULE_RETRIES_MAX 1000LL
#define SCHEDULE_TIMEOUT_MAX (366LL * 24 * 3600)        /* a year, in seconds */
#define SCHEDULE_PAYLOAD_MAX (256 * 1024)               /* bytes of trigger_payload as JSON */
#define SCHEDULE_RETRIES_DEFAULT 3
#define SCHEDULE_TIMEOUT_DEFAULT 600

/* How long after a failed run the retry-th retry (1, 2, …) comes: interval × 2^(retry − 1),
 * at most 10 × interval. */
usec_t schedule_retry_delay(int64_t interval_seconds, int64_t retry);

/* --- The API ------------------------------------------------------------------------------- */

typedef struct ScheduleFilter {
        const char *status;     /* NULL: any */
        int64_t workflow_id;    /* 0: any */
        int64_t limit, offset;
} ScheduleFilter;

/* ScheduleOut items the caller may see, newest first. */
int store_schedule_list(Db *db, const StoreCaller *caller, const ScheduleFilter *f, json_t **ret_items,
                        int64_t *ret_total);
/* ScheduleOut; -ENOENT when absent or not the caller's. */
int store_schedule_get(Db *db, const StoreCaller *caller, const char *id, json_t **ret);

/* Creates an active schedule of workflow_id for user_id from a validated create body whose
 * trigger_node_id is set; its first run is due one interval after now. Answers ScheduleOut. */
int store_schedule_create(Db *db, int64_t user_id, int64_t workflow_id, json_t *in, usec_t now, json_t **ret);
/* Applies the settings present in a validated patch body. A new interval_seconds counts
 * from now; a total_repeats the runs already reach makes the schedule done, and one that
 * leaves room makes a done schedule active again. Answers ScheduleOut. */
int store_schedule_update(Db *db, const StoreCaller *caller, const char *id, json_t *patch, usec_t now,
                          json_t **ret);
int store_schedule_delete(Db *db, const StoreCaller *caller, const char *id);
/* Deletes the schedules of ids (a JSON array of strings) the caller can see; the others are
 * skipped. */
int store_schedule_delete_many(Db *db, const StoreCaller *caller, json_t *ids, int64_t *ret_deleted);

/* Pause: an active schedule stops firing (a run in flight goes on and is counted). Resume: a
 * paused one fires again one interval after now. Both answer ScheduleOut; -ESTALE when the
 * schedule is not active (pause) or not paused (resume), *ret_status then saying what it is. */
int store_schedule_pause(Db *db, const StoreCaller *caller, const char *id, usec_t now, json_t **ret,
                         ScheduleStatus *ret_status);
int store_schedule_resume(Db *db, const StoreCaller *caller, const char *id, usec_t now, json_t **ret,
                          ScheduleStatus *ret_status);

/* --- The scheduler ------------------------------------------------------------------------- */

/* A schedule that is due: active, no run in flight, next_run_at passed. */
typedef struct DueSchedule {
        char id[EXECUTION_ID_LEN + 1];
        char *name;
        int64_t workflow_id;
        int64_t user_id;
        bool user_active;               /* its owner's account is enabled */
        char *trigger_node_id;          /* NULL: every entry node */
        json_t *trigger_payload;        /* an object */
        int64_t interval_seconds;
        int64_t timeout_seconds;
        int64_t run_count;
        int64_t current_retry;
        char *last_error;               /* NULL: none */
} DueSchedule;

void due_schedules_free(DueSchedule *list, size_t n);

/* At most max due schedules at now, the longest due first. */
int store_schedules_due(Db *db, usec_t now, size_t max, DueSchedule **ret, size_t *ret_n);
/* When the next schedule is due (CLOCK_REALTIME µs, maybe in the past); 0 when none is. */
int store_schedules_next_due(Db *db, usec_t *ret);

/* In a transaction, with the execution's insert: schedule id started execution_id at now,
 * its next run due at next. -ESTALE when it is no longer active or has a run in flight. */
int store_schedule_started(Db *db, const char *id, const char *execution_id, usec_t now, usec_t next);
/* Its run was skipped (why: a sentence, kept as last_error); due again at next. */
int store_schedule_skipped(Db *db, const char *id, const char *why, usec_t now, usec_t next);

/* What counting a run did. */
typedef struct ScheduleCount {
        char id[EXECUTION_ID_LEN + 1];
        char name[SCHEDULE_NAME_MAX * 4 + 1];
        ScheduleStatus status;          /* after the count */
        int64_t run_count, error_count;
        int64_t retry;                  /* consecutive failures now */
        usec_t next_run;                /* 0: none */
} ScheduleCount;

/* Counts the end of the run execution_id of a schedule: a completed run, or a failure (error:
 * the execution's error_message when NULL). Returns 1 with *ret (may be NULL) filled, 0 when
 * no schedule waits for that execution. */
int store_schedule_run_ended(Db *db, const char *execution_id, bool completed, const char *error, usec_t now,
                             ScheduleCount *ret);
/* A run of schedule id could not start (why): counted as a failed run. 1 with *ret, 0 when the
 * schedule is gone or has a run in flight. */
int store_schedule_start_failed(Db *db, const char *id, const char *why, usec_t now, ScheduleCount *ret);

/* Runs of schedules that ended without being counted (the daemon stopped between the end and
 * the count) or whose execution is gone: [[execution_id, status or null]]. */
int store_schedules_uncounted(Db *db, json_t **ret);

/* 1 when some schedule is active (a socket-activated daemon stays up for it), 0, or negative
 * errno. */
int store_schedules_active(Db *db);
