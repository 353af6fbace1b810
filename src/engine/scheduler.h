/* The scheduler: starts the runs of schedules (store/store-schedules.h) when they are due,
 * and counts how each run ended (docs/api.md "Schedules").
 *
 * The database is the record: next_run_at says when a schedule is due, and a schedule's run
 * in flight is its current_execution_id, so a restart neither loses a due run nor starts one
 * twice. One CLOCK_REALTIME timer on the I/O thread's sd-event loop is armed for the earliest
 * next_run_at; the starts and the counting of runs the workers cannot count run there, with
 * the I/O thread's connection, in short statements. A run's end is counted on the thread
 * that ended it (engine_execution_ended()), which then wakes the I/O thread through an
 * eventfd so the timer follows. */
#pragma once

#include <systemd/sd-event.h>

#include "store/db.h"
#include "store/store-executions.h"

typedef struct Engine Engine;
typedef struct Scheduler Scheduler;

int scheduler_new(Engine *e, sd_event *event, Scheduler **ret);
Scheduler *scheduler_free(Scheduler *s);

/* Counts what ended while the daemon was down, starts the overdue runs (once each, soon)
 * and arms the timer; db is the I/O thread's connection. */
int scheduler_start(Scheduler *s, Db *db);
/* No more starts; the runs in flight are still counted when they end. */
void scheduler_stop(Scheduler *s);

/* On the I/O thread: schedules changed (created, edited, paused, resumed, deleted); look
 * again soon. */
void scheduler_poke(Scheduler *s);

/* On any thread, after execution_id ended with status (committed), with that thread's
 * connection: counts it when a schedule started it. Errors are logged; what is not counted
 * here is counted on the I/O thread. */
void scheduler_run_ended(Scheduler *s, Db *db, const char *execution_id, ExecutionStatus status);
