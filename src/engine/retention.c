/* Retention: what finished runs keep, so the database does not grow without bound.
 *
 * A workflow's settings.retention ({keep_successful: "all"|"none", max_age_days,
 * max_count}) over the [Retention] defaults. keep_successful "none" drops a completed run's
 * data in the transaction that completes it (orchestrator-commit.c). Pruning deletes
 * finished runs older than max_age_days or beyond the max_count newest, per workflow: a
 * pass at start and then every hour, on the I/O thread in short batches (a few workflows
 * and at most PRUNE_BATCH runs a tick, the next tick soon after) so requests are not held
 * up. Runs still going are never pruned. The stored graphs of a workflow's older versions
 * go once no run points at them (execution_graphs). */

#include <errno.h>
#include <inttypes.h>

#include "common/json-util.h"
#include "common/log.h"
#include "engine/engine-internal.h"
#include "store/store-flow.h"

#define PRUNE_INTERVAL_USEC (3600ULL * 1000 * 1000)
#define PRUNE_NEXT_TICK_USEC (50ULL * 1000)
#define PRUNE_WORKFLOWS_PER_TICK 50
#define PRUNE_BATCH 200
#define USEC_PER_DAY (24ULL * 3600 * 1000 * 1000)

/* A limit from the settings: absent keeps the default, null means none, else a positive
 * integer (the API accepts nothing else). */
static int64_t setting_limit(json_t *retention, const char *key, int64_t def) {
        json_t *v = json_object_get(retention, key);

        if (!v)
                return def;
        if (json_is_integer(v) && json_integer_value(v) > 0)
                return json_integer_value(v);
        return 0;
}

RetentionPolicy retention_policy(const Engine *e, json_t *settings) {
        json_t *retention = json_object_get(settings, "retention");
        RetentionPolicy p = e->retention;
        const char *keep;

        if (!json_is_object(retention))
                return p;
        keep = json_get_string(retention, "keep_successful", NULL);
        if (keep)
                p.keep_successful = !streq(keep, "none");
        p.max_age_days = setting_limit(retention, "max_age_days", p.max_age_days);
        p.max_count = setting_limit(retention, "max_count", p.max_count);
        return p;
}

/* Prunes one workflow by its policy: 1 when a whole batch went (more may be left), 0. */
static int prune_workflow(Engine *e, int64_t workflow_id, json_t *settings, int64_t *deleted_total) {
        RetentionPolicy p = retention_policy(e, settings);
        usec_t now = now_realtime_usec(), before = 0;
        int64_t deleted = 0;
        int r;

        if (p.max_age_days > 0 && (usec_t) p.max_age_days * USEC_PER_DAY < now)
                before = now - (usec_t) p.max_age_days * USEC_PER_DAY;
        if (p.max_age_days > 0 || p.max_count > 0) {
                r = store_executions_prune(e->io_db, workflow_id, p.max_count > 0 ? p.max_count : -1, before,
                                           PRUNE_BATCH, &deleted);
                if (r < 0)
                        return r;
                *deleted_total += deleted;
        }
        /* Whatever the limits: graphs of older versions that no run needs any more. */
        r = store_execution_graphs_prune(e->io_db, workflow_id, NULL);
        if (r < 0)
                return r;
        return deleted >= PRUNE_BATCH;
}

/* One tick: returns when to come back (µs from now). */
static usec_t prune_tick(Engine *e) {
        _cleanup_json_ json_t *page = NULL;
        int64_t deleted = 0;
        json_t *item;
        size_t i;
        int r;

        r = store_workflows_settings_page(e->io_db, e->prune_cursor, PRUNE_WORKFLOWS_PER_TICK, &page);
        if (r < 0) {
                log_warning_errno(r, "Cannot read workflows to prune old executions: %m (%s)", db_last_error(e->io_db));
                e->prune_cursor = 0;
                return PRUNE_INTERVAL_USEC;
        }
        json_array_foreach(page, i, item) {
                int64_t id = json_integer_value(json_array_get(item, 0));

                r = prune_workflow(e, id, json_array_get(item, 1), &deleted);
                if (r < 0) {
                        log_warning_errno(r, "Cannot prune old executions of workflow %" PRIi64 ": %m (%s)", id,
                                          db_last_error(e->io_db));
                        r = 0;
                }
                if (r > 0)
                        break;  /* more of this one in the next tick */
                e->prune_cursor = id;
        }
        if (deleted > 0)
                log_info("Pruned %" PRIi64 " finished execution(s) by the retention settings.", deleted);
        if (r > 0 || json_array_size(page) == PRUNE_WORKFLOWS_PER_TICK)
                return PRUNE_NEXT_TICK_USEC;
        e->prune_cursor = 0;
        return PRUNE_INTERVAL_USEC;
}

static int on_prune(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = userdata;
        uint64_t now;

        (void) sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(s, now + prune_tick(e));
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int retention_start(Engine *e, Db *db) {
        uint64_t now;
        int r;

        if (!e->event || e->prune_timer)
                return 0;
        e->io_db = db;
        r = sd_event_now(e->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        return sd_event_add_time(e->event, &e->prune_timer, CLOCK_MONOTONIC, now, 0, on_prune, e);
}

void retention_stop(Engine *e) {
        e->prune_timer = sd_event_source_disable_unref(e->prune_timer);
}
