/* The scheduler's timer, its starts and its counting (scheduler.h). A schedule has at most
 * one run in flight: it is not due again before that run ended and was counted, and a run
 * that was due meanwhile starts right after. A schedule due while the daemon was down runs
 * once soon after the start, then one interval later: missed runs are not made up. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/json-util.h"
#include "common/log.h"
#include "engine/engine-internal.h"
#include "engine/scheduler.h"
#include "store/store-schedules.h"

/* Starts per pass: more due schedules go on in the next pass, so requests are served between. */
#define STARTS_PER_PASS 32
/* After a database error the scheduler looks again this much later. */
#define RETRY_AFTER_ERROR_USEC (5ULL * USEC_PER_SECOND)
/* A run a few ms late is as good as one on time. */
#define TIMER_ACCURACY_USEC (1ULL * 1000)

struct Scheduler {
        Engine *engine;
        sd_event *event;
        Db *db;                         /* the I/O thread's, from scheduler_start() */
        sd_event_source *timer;         /* CLOCK_REALTIME, at the earliest next_run_at */
        sd_event_source *wake_source;
        int wake_fd;                    /* written by the threads that counted a run */
};

Scheduler *scheduler_free(Scheduler *s) {
        if (!s)
                return NULL;
        scheduler_stop(s);
        if (s->wake_fd >= 0)
                close(s->wake_fd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int scheduler_new(Engine *e, sd_event *event, Scheduler **ret) {
        Scheduler *s;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->engine = e;
        s->event = sd_event_ref(event);
        s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->wake_fd < 0) {
                int r = -errno;

                scheduler_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static void scheduler_arm(Scheduler *s, usec_t at) {
        int r;

        if (!s->timer)
                return;
        if (at == 0) {
                (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
                return;
        }
        r = sd_event_source_set_time(s->timer, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Cannot arm the scheduler's timer: %m; schedules do not fire until the next change.");
}

void scheduler_poke(Scheduler *s) {
        if (s)
                scheduler_arm(s, now_realtime_usec());
}

static void log_count(const ScheduleCount *c, const char *execution_id) {
        char next[TIMESTAMP_BUFSZ];

        switch (c->status) {
        case SCHEDULE_DONE:
                log_execution(LOG_INFO, NULL, execution_id, NULL, NULL,
                              "Schedule '%s' (%s) is done after %" PRIi64 " run(s).", c->name, c->id, c->run_count);
                break;
        case SCHEDULE_DEAD:
                log_execution(LOG_WARNING, NULL, execution_id, NULL, NULL,
                              "Schedule '%s' (%s) failed %" PRIi64 " time(s) in a row and stops: it is dead.",
                              c->name, c->id, c->retry);
                break;
        default:
                if (c->retry > 0 && c->next_run > 0)
                        log_execution(LOG_NOTICE, NULL, execution_id, NULL, NULL,
                                      "Schedule '%s' (%s): its run failed; retry %" PRIi64 " at %s.", c->name, c->id,
                                      c->retry, timestamp_format(next, c->next_run));
        }
}

void scheduler_run_ended(Scheduler *s, Db *db, const char *execution_id, ExecutionStatus status) {
        ScheduleCount count;
        int r;

        if (!s)
                return;
        r = store_schedule_run_ended(db, execution_id, status == EXECUTION_COMPLETED, NULL, now_realtime_usec(), &count);
        if (r == 0)
                return;
        if (r < 0)
                log_execution_errno(LOG_WARNING, r, NULL, execution_id, NULL, NULL,
                                    "Cannot count the end of scheduled execution %s: %m (%s); trying again on the "
                                    "I/O thread.", execution_id, db_last_error(db));
        else
                log_count(&count, execution_id);
        /* The schedule may be due now: the I/O thread arms the timer anew. */
        (void) eventfd_write(s->wake_fd, 1);
}

/* Runs that ended without being counted here (the daemon stopped first, or a worker could
 * not count them). */
static int count_uncounted(Scheduler *s, usec_t now) {
        _cleanup_json_ json_t *list = NULL;
        json_t *item;
        size_t i;
        int r;

        r = store_schedules_uncounted(s->db, &list);
        if (r < 0)
                return r;
        json_array_foreach(list, i, item) {
                const char *id = json_string_value(json_array_get(item, 0));
                ScheduleCount count;

                r = store_schedule_run_ended(s->db, id, streq_ptr(json_string_value(json_array_get(item, 1)), "completed"),
                                             NULL, now, &count);
                if (r < 0)
                        return r;
                if (r > 0)
                        log_count(&count, id);
        }
        return 0;
}

/* The trigger's settings as the workflow has them now; NULL when it is not in the graph. */
static json_t *trigger_config(const CachedGraph *g, const char *node_id) {
        json_t *node;
        size_t i;

        json_array_foreach(g->nodes, i, node)
                if (streq(json_get_string(node, "node_id", ""), node_id))
                        return json_object_get(node, "config");
        return NULL;
}

/* No run this time (why: "workflow 'x' is not active."): due again an interval from now, and
 * why kept as last_error. */
static int schedule_skip(Scheduler *s, const DueSchedule *d, usec_t now, const char *why) {
        _cleanup_free_ char *text = NULL;

        if (asprintf(&text, "Run skipped: %s", why) < 0)
                return -ENOMEM;
        /* Said once, not every interval while it lasts. */
        log_full_errno(streq_ptr(d->last_error, text) ? LOG_DEBUG : LOG_INFO, 0, "Schedule '%s' (%s): %s", d->name,
                       d->id, text);
        return store_schedule_skipped(s->db, d->id, text, now, now + (usec_t) d->interval_seconds * USEC_PER_SECOND);
}

/* Starts the run of a due schedule, or counts why it cannot start. Negative errno only for
 * database errors (the schedule stays due). */
static int schedule_start(Scheduler *s, const DueSchedule *d, usec_t now) {
        _cleanup_(execution_start_done) ExecutionStart start = {};
        _cleanup_json_ json_t *payload = NULL;
        _cleanup_free_ char *error = NULL, *why = NULL;
        char id[EXECUTION_ID_LEN + 1], at[TIMESTAMP_BUFSZ];
        Engine *e = s->engine;
        const char *slug;
        ScheduleCount count;
        int r;

        if (!d->user_active)
                return schedule_skip(s, d, now, "its owner's account is disabled.");

        /* The trigger_schedule node's outputs (timestamp, payload), and text for a manual trigger. */
        payload = json_pack("{s:s, s:O, s:s, s:s, s:I, s:I, s:s}", "text", "", "payload", d->trigger_payload,
                            "scheduled_job_id", d->id, "scheduled_job_name", d->name,
                            "repeat_number", (json_int_t) d->run_count + 1,
                            "retry_number", (json_int_t) d->current_retry, "timestamp", timestamp_format(at, now));
        if (!payload)
                return -ENOMEM;
        EngineRequest req = {
                .workflow_id = d->workflow_id,
                .user_id = d->user_id,
                .trigger_node_id = d->trigger_node_id,
                .trigger_payload = payload,
                .max_seconds = d->timeout_seconds,
        };

        r = execution_start_prepare(e, s->db, &req, &start, &error);
        if (r == -EINVAL || r == -ENOENT) {
                if (asprintf(&why, "The run could not start: %s", error ?: "the workflow is gone.") < 0)
                        return -ENOMEM;
                r = store_schedule_start_failed(s->db, d->id, why, now, &count);
                if (r > 0) {
                        log_notice("Schedule '%s' (%s): %s", d->name, d->id, why);
                        log_count(&count, NULL);
                }
                return r < 0 ? r : 0;
        }
        if (r < 0)
                return r;

        slug = json_get_string(start.workflow, "slug", "");
        if (!json_get_bool(start.workflow, "is_active", true)) {
                if (asprintf(&why, "workflow '%s' is not active.", slug) < 0)
                        return -ENOMEM;
                return schedule_skip(s, d, now, why);
        }
        if (d->trigger_node_id && !json_get_bool(trigger_config(start.graph, d->trigger_node_id), "is_active", true)) {
                if (asprintf(&why, "its trigger '%s' is not active.", d->trigger_node_id) < 0)
                        return -ENOMEM;
                return schedule_skip(s, d, now, why);
        }

        r = execution_id_new(id);
        if (r < 0)
                return r;
        r = db_begin(s->db);
        if (r < 0)
                return r;
        r = execution_start_insert(s->db, &req, NULL, &start, id);
        if (r >= 0)
                r = store_schedule_started(s->db, d->id, id, now, now + (usec_t) d->interval_seconds * USEC_PER_SECOND);
        if (r >= 0)
                r = db_commit(s->db);
        if (r < 0) {
                (void) db_rollback(s->db);
                /* Paused or started meanwhile: nothing to do. */
                return r == -ESTALE ? 0 : r;
        }

        execution_start_announce(e, &req, &start, id);
        log_execution(LOG_DEBUG, slug, id, NULL, NULL, "Schedule '%s' (%s) started execution %s of workflow '%s'.",
                      d->name, d->id, id, slug);
        return 0;
}

/* One pass: count what ended uncounted, start what is due, arm the timer for what comes. */
static void scheduler_pass(Scheduler *s) {
        DueSchedule *due = NULL;
        usec_t now = now_realtime_usec(), next;
        size_t n = 0;
        int r;

        r = count_uncounted(s, now);
        if (r >= 0)
                r = store_schedules_due(s->db, now, STARTS_PER_PASS, &due, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = schedule_start(s, &due[i], now);
        due_schedules_free(due, n);
        if (r < 0) {
                log_warning_errno(r, "Cannot start the due schedules: %m (%s); trying again in %llu s.",
                                  db_last_error(s->db), (unsigned long long) (RETRY_AFTER_ERROR_USEC / USEC_PER_SECOND));
                scheduler_arm(s, now + RETRY_AFTER_ERROR_USEC);
                return;
        }
        if (n == STARTS_PER_PASS) {
                /* More are due: go on after the loop served what waits. */
                scheduler_arm(s, now);
                return;
        }
        r = store_schedules_next_due(s->db, &next);
        if (r < 0) {
                log_warning_errno(r, "Cannot read when the next schedule is due: %m (%s)", db_last_error(s->db));
                next = now + RETRY_AFTER_ERROR_USEC;
        }
        scheduler_arm(s, next);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        scheduler_pass(userdata);
        return 0;
}

static int on_wake(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        eventfd_t ignored;

        (void) eventfd_read(fd, &ignored);
        scheduler_poke(userdata);
        return 0;
}

int scheduler_start(Scheduler *s, Db *db) {
        int r;

        if (!s || s->timer)
                return 0;
        s->db = db;
        r = sd_event_add_io(s->event, &s->wake_source, s->wake_fd, EPOLLIN, on_wake, s);
        if (r < 0)
                return r;
        /* The first pass as soon as the loop runs: what was due while the daemon was down. */
        r = sd_event_add_time(s->event, &s->timer, CLOCK_REALTIME, 1, TIMER_ACCURACY_USEC, on_timer, s);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

void scheduler_stop(Scheduler *s) {
        if (!s)
                return;
        s->timer = sd_event_source_disable_unref(s->timer);
        s->wake_source = sd_event_source_disable_unref(s->wake_source);
}
