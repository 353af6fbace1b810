/* Schedules in the database: the API's reads and edits, and the scheduler's record of what
 * it started and how those runs ended. Timestamps are timestamp_format() text, which
 * compares in time order. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "store/store-schedules.h"

#define USEC_PER_SECOND 1000000ULL
/* A failed run's retry comes at most this many intervals later. */
#define RETRY_DELAY_MAX_INTERVALS 10

static const char *const schedule_status_table[_SCHEDULE_STATUS_MAX] = {
        [SCHEDULE_ACTIVE] = "active",
        [SCHEDULE_PAUSED] = "paused",
        [SCHEDULE_DONE] = "done",
        [SCHEDULE_DEAD] = "dead",
};

const char *schedule_status_to_string(ScheduleStatus s) {
        return s >= 0 && s < _SCHEDULE_STATUS_MAX ? schedule_status_table[s] : NULL;
}

ScheduleStatus schedule_status_from_string(const char *s) {
        for (ScheduleStatus i = 0; s && i < _SCHEDULE_STATUS_MAX; i++)
                if (streq(s, schedule_status_table[i]))
                        return i;
        return _SCHEDULE_STATUS_INVALID;
}

usec_t schedule_retry_delay(int64_t interval_seconds, int64_t retry) {
        int64_t intervals = 1;

        for (int64_t i = 1; i < retry && intervals < RETRY_DELAY_MAX_INTERVALS; i++)
                intervals *= 2;
        intervals = MIN(intervals, (int64_t) RETRY_DELAY_MAX_INTERVALS);
        return (usec_t) MAX(interval_seconds, (int64_t) 1) * (usec_t) intervals * USEC_PER_SECOND;
}

static const char *text_or_null(char buf[static TIMESTAMP_BUFSZ], usec_t t) {
        return t > 0 ? timestamp_format(buf, t) : NULL;
}

static usec_t usec_or_zero(const char *text) {
        usec_t t;

        return text && timestamp_parse(text, &t) >= 0 ? t : 0;
}

/* --- ScheduleOut -------------------------------------------------------------------------- */

#define SCHEDULE_COLUMNS                                                                          \
        "s.id, s.name, s.description, s.workflow_id, w.slug, s.trigger_node_id, s.user_id, "      \
        "s.interval_seconds, s.total_repeats, s.max_retries, s.timeout_seconds, s.trigger_payload, " \
        "s.status, s.current_repeat, s.current_retry, s.run_count, s.error_count, s.last_run_at, "  \
        "s.next_run_at, s.last_error, s.current_execution_id, s.last_execution_id, s.created_at, "  \
        "s.updated_at"

/* The JSON names of SCHEDULE_COLUMNS, in order, and how each is read. */
static const struct {
        const char *name;
        char kind;      /* 's' string, 'i' integer, 'j' JSON */
} schedule_fields[] = {
        { "id", 's' }, { "name", 's' }, { "description", 's' }, { "workflow_id", 'i' },
        { "workflow_slug", 's' }, { "trigger_node_id", 's' }, { "user_id", 'i' }, { "interval_seconds", 'i' },
        { "total_repeats", 'i' }, { "max_retries", 'i' }, { "timeout_seconds", 'i' }, { "trigger_payload", 'j' },
        { "status", 's' }, { "current_repeat", 'i' }, { "current_retry", 'i' }, { "run_count", 'i' },
        { "error_count", 'i' }, { "last_run_at", 's' }, { "next_run_at", 's' }, { "last_error", 's' },
        { "current_execution_id", 's' }, { "last_execution_id", 's' }, { "created_at", 's' },
        { "updated_at", 's' },
};

static json_t *schedule_from_row(const DbResult *r, size_t row) {
        _cleanup_json_ json_t *s = json_object(), *empty = json_object();

        if (!s || !empty)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(schedule_fields); i++) {
                json_t *v = schedule_fields[i].kind == 'i' ? store_column_integer(r, row, i)
                          : schedule_fields[i].kind == 'j' ? store_column_json(r, row, i, empty)
                          : store_column_string(r, row, i);

                if (json_object_set_new_nocheck(s, schedule_fields[i].name, v) < 0)
                        return NULL;
        }
        return TAKE_PTR(s);
}

/* The condition that makes a schedule visible to caller: its workflow is theirs. */
#define VISIBLE_TO_OWNER "EXISTS (SELECT 1 FROM workflows o WHERE o.id = s.workflow_id AND o.owner_id = ?)"

int store_schedule_list(Db *db, const StoreCaller *caller, const ScheduleFilter *f, json_t **ret_items,
                        int64_t *ret_total) {
        _cleanup_(db_result_freep) DbResult *count = NULL, *res = NULL;
        _cleanup_json_ json_t *items = NULL;
        _cleanup_free_ char *count_sql = NULL, *list_sql = NULL;
        char owner[DB_INT_BUFSZ], workflow[DB_INT_BUFSZ], limit[DB_INT_BUFSZ], offset[DB_INT_BUFSZ];
        char where[256] = "";
        const char *params[5];
        size_t n = 0;
        int r;

        if (!caller->is_admin) {
                strcat(where, " AND " VISIBLE_TO_OWNER);
                params[n++] = db_int(owner, caller->user_id);
        }
        if (f->status) {
                strcat(where, " AND s.status = ?");
                params[n++] = f->status;
        }
        if (f->workflow_id > 0) {
                strcat(where, " AND s.workflow_id = ?");
                params[n++] = db_int(workflow, f->workflow_id);
        }
        if (asprintf(&count_sql, "SELECT COUNT(*) FROM scheduled_jobs s WHERE 1 = 1%s", where) < 0 ||
            asprintf(&list_sql, "SELECT " SCHEDULE_COLUMNS " FROM scheduled_jobs s JOIN workflows w ON "
                     "w.id = s.workflow_id WHERE 1 = 1%s ORDER BY s.created_at DESC, s.id DESC LIMIT ? OFFSET ?",
                     where) < 0)
                return -ENOMEM;

        r = db_query(db, &count, count_sql, n, params);
        if (r < 0)
                return r;
        params[n] = db_int(limit, f->limit);
        params[n + 1] = db_int(offset, f->offset);
        r = db_query(db, &res, list_sql, n + 2, params);
        if (r < 0)
                return r;

        items = json_array();
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(items, schedule_from_row(res, i)) < 0)
                        return -ENOMEM;
        *ret_total = db_result_get_int64(count, 0, 0);
        *ret_items = TAKE_PTR(items);
        return 0;
}

int store_schedule_get(Db *db, const StoreCaller *caller, const char *id, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char owner[DB_INT_BUFSZ];
        json_t *s;
        int r;

        if (caller->is_admin)
                r = db_queryv(db, &res, "SELECT " SCHEDULE_COLUMNS " FROM scheduled_jobs s JOIN workflows w ON "
                              "w.id = s.workflow_id WHERE s.id = ?", id);
        else
                r = db_queryv(db, &res, "SELECT " SCHEDULE_COLUMNS " FROM scheduled_jobs s JOIN workflows w ON "
                              "w.id = s.workflow_id WHERE s.id = ? AND w.owner_id = ?", id,
                              db_int(owner, caller->user_id));
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;
        s = schedule_from_row(res, 0);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* --- Editing --------------------------------------------------------------------------------- */

/* What a change of state reads of the schedule, its row held until the transaction ends. */
typedef struct ScheduleRow {
        char id[EXECUTION_ID_LEN + 1];
        char name[SCHEDULE_NAME_MAX * 4 + 1];
        ScheduleStatus status;
        int64_t interval_seconds, total_repeats, max_retries;
        int64_t run_count, error_count, current_retry;
        bool in_flight;
        usec_t next_run;
} ScheduleRow;

#define ROW_COLUMNS                                                                                 \
        "s.id, s.name, s.status, s.interval_seconds, s.total_repeats, s.max_retries, s.run_count, "  \
        "s.error_count, s.current_retry, s.current_execution_id, s.next_run_at"

/* In a transaction: the row of the schedule whose column equals key (and that caller may
 * see, unless caller is NULL), held against every other writer. -ENOENT when none. */
static int schedule_lock(Db *db, const StoreCaller *caller, const char *column, const char *key,
                         ScheduleRow *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_free_ char *sql = NULL;
        char owner[DB_INT_BUFSZ];
        bool scoped = caller && !caller->is_admin;
        ScheduleStatus status;
        int r;

        /* SQLite's BEGIN IMMEDIATE already holds the writer lock; PostgreSQL takes the row. */
        if (asprintf(&sql, "SELECT " ROW_COLUMNS " FROM scheduled_jobs s WHERE s.%s = ?%s%s", column,
                     scoped ? " AND " VISIBLE_TO_OWNER : "",
                     db_backend(db) == DB_POSTGRES ? " FOR UPDATE" : "") < 0)
                return -ENOMEM;
        if (scoped)
                r = db_queryv(db, &res, sql, key, db_int(owner, caller->user_id));
        else
                r = db_queryv(db, &res, sql, key);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return -ENOENT;

        status = schedule_status_from_string(db_result_get(res, 0, 2));
        if (status < 0)
                return -EBADMSG;
        *ret = (ScheduleRow) {
                .status = status,
                .interval_seconds = db_result_get_int64(res, 0, 3),
                .total_repeats = db_result_get_int64(res, 0, 4),
                .max_retries = db_result_get_int64(res, 0, 5),
                .run_count = db_result_get_int64(res, 0, 6),
                .error_count = db_result_get_int64(res, 0, 7),
                .current_retry = db_result_get_int64(res, 0, 8),
                .in_flight = !db_result_is_null(res, 0, 9),
                .next_run = usec_or_zero(db_result_get(res, 0, 10)),
        };
        snprintf(ret->id, sizeof ret->id, "%s", db_result_get(res, 0, 0));
        snprintf(ret->name, sizeof ret->name, "%s", db_result_get(res, 0, 1) ?: "");
        return 0;
}

static bool repeats_reached(int64_t total_repeats, int64_t run_count) {
        return total_repeats > 0 && run_count >= total_repeats;
}

/* JSON text of an object, or "{}" for anything else. */
static char *payload_text(json_t *payload) {
        return json_is_object(payload) ? json_dumps_compact(payload) : strdup("{}");
}

int store_schedule_create(Db *db, int64_t user_id, int64_t workflow_id, json_t *in, usec_t now, json_t **ret) {
        _cleanup_free_ char *payload = NULL;
        char id[EXECUTION_ID_LEN + 1], user[DB_INT_BUFSZ], workflow[DB_INT_BUFSZ], interval[DB_INT_BUFSZ],
                repeats[DB_INT_BUFSZ], retries[DB_INT_BUFSZ], timeout[DB_INT_BUFSZ], at[TIMESTAMP_BUFSZ],
                next[TIMESTAMP_BUFSZ];
        int64_t interval_seconds = json_get_integer(in, "interval_seconds", 1);
        StoreCaller anyone = { .is_admin = true };
        int r;

        r = execution_id_new(id);
        if (r < 0)
                return r;
        payload = payload_text(json_object_get(in, "trigger_payload"));
        if (!payload)
                return -ENOMEM;
        timestamp_format(at, now);
        timestamp_format(next, now + (usec_t) interval_seconds * USEC_PER_SECOND);

        r = db_queryv(db, NULL,
                      "INSERT INTO scheduled_jobs (id, user_id, workflow_id, trigger_node_id, name, description, "
                      "interval_seconds, total_repeats, max_retries, timeout_seconds, trigger_payload, status, "
                      "next_run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
                      id, db_int(user, user_id), db_int(workflow, workflow_id),
                      json_get_string(in, "trigger_node_id", NULL), json_get_string(in, "name", ""),
                      json_get_string(in, "description", ""), db_int(interval, interval_seconds),
                      db_int(repeats, json_get_integer(in, "total_repeats", 0)),
                      db_int(retries, json_get_integer(in, "max_retries", SCHEDULE_RETRIES_DEFAULT)),
                      db_int(timeout, json_get_integer(in, "timeout_seconds", SCHEDULE_TIMEOUT_DEFAULT)), payload,
                      next, at, at);
        if (r < 0)
                return r;
        return store_schedule_get(db, &anyone, id, ret);
}

/* An UPDATE's SET list and its parameters, built a column at a time. */
typedef struct SetList {
        char sql[512];
        const char *params[16];
        size_t n;
        char ints[8][DB_INT_BUFSZ];
        size_t n_ints;
} SetList;

static void set_text(SetList *s, const char *column, const char *value) {
        size_t len = strlen(s->sql);

        snprintf(s->sql + len, sizeof s->sql - len, "%s%s = ?", len > 0 ? ", " : "", column);
        s->params[s->n++] = value;
}

static void set_int(SetList *s, const char *column, int64_t value) {
        set_text(s, column, db_int(s->ints[s->n_ints++], value));
}

int store_schedule_update(Db *db, const StoreCaller *caller, const char *id, json_t *patch, usec_t now,
                          json_t **ret) {
        _cleanup_free_ char *payload = NULL, *sql = NULL;
        char at[TIMESTAMP_BUFSZ], next[TIMESTAMP_BUFSZ];
        static const char *const integers[] = { "interval_seconds", "total_repeats", "max_retries", "timeout_seconds" };
        ScheduleStatus status;
        ScheduleRow row;
        SetList set = {};
        json_t *v;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        r = schedule_lock(db, caller, "id", id, &row);
        if (r < 0)
                goto fail;

        if ((v = json_object_get(patch, "name")))
                set_text(&set, "name", json_string_value(v));
        if ((v = json_object_get(patch, "description")))
                set_text(&set, "description", json_is_string(v) ? json_string_value(v) : "");
        if (json_object_get(patch, "trigger_node_id"))
                set_text(&set, "trigger_node_id", json_get_string(patch, "trigger_node_id", NULL));
        for (size_t i = 0; i < ELEMENTSOF(integers); i++)
                if ((v = json_object_get(patch, integers[i])))
                        set_int(&set, integers[i], json_integer_value(v));
        if ((v = json_object_get(patch, "trigger_payload"))) {
                payload = payload_text(v);
                if (!payload) {
                        r = -ENOMEM;
                        goto fail;
                }
                set_text(&set, "trigger_payload", payload);
        }

        /* What the new settings mean for the schedule's state. */
        row.interval_seconds = json_get_integer(patch, "interval_seconds", row.interval_seconds);
        row.total_repeats = json_get_integer(patch, "total_repeats", row.total_repeats);
        timestamp_format(next, now + (usec_t) row.interval_seconds * USEC_PER_SECOND);
        status = row.status;
        if ((row.status == SCHEDULE_ACTIVE || row.status == SCHEDULE_PAUSED) &&
            repeats_reached(row.total_repeats, row.run_count)) {
                status = SCHEDULE_DONE;
                set_text(&set, "next_run_at", NULL);
        } else if (row.status == SCHEDULE_DONE && json_object_get(patch, "total_repeats") &&
                   !repeats_reached(row.total_repeats, row.run_count)) {
                status = SCHEDULE_ACTIVE;
                set_text(&set, "next_run_at", next);
        } else if (row.status == SCHEDULE_ACTIVE && json_object_get(patch, "interval_seconds"))
                set_text(&set, "next_run_at", next);
        if (status != row.status)
                set_text(&set, "status", schedule_status_to_string(status));
        set_text(&set, "updated_at", timestamp_format(at, now));

        if (asprintf(&sql, "UPDATE scheduled_jobs SET %s WHERE id = ?", set.sql) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        set.params[set.n++] = row.id;
        r = db_query(db, NULL, sql, set.n, set.params);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0)
                goto fail;
        return store_schedule_get(db, caller, id, ret);

fail:
        (void) db_rollback(db);
        return r;
}

int store_schedule_delete(Db *db, const StoreCaller *caller, const char *id) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char owner[DB_INT_BUFSZ];
        int r;

        if (caller->is_admin)
                r = db_queryv(db, &res, "DELETE FROM scheduled_jobs WHERE id = ? RETURNING id", id);
        else
                r = db_queryv(db, &res, "DELETE FROM scheduled_jobs WHERE id = ? AND workflow_id IN "
                              "(SELECT id FROM workflows WHERE owner_id = ?) RETURNING id",
                              id, db_int(owner, caller->user_id));
        if (r < 0)
                return r;
        return db_result_rows(res) > 0 ? 0 : -ENOENT;
}

int store_schedule_delete_many(Db *db, const StoreCaller *caller, json_t *ids, int64_t *ret_deleted) {
        int64_t deleted = 0;
        json_t *id;
        size_t i;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        json_array_foreach(ids, i, id) {
                r = execution_id_is_valid(json_string_value(id)) ? store_schedule_delete(db, caller, json_string_value(id))
                                                                 : -ENOENT;
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        (void) db_rollback(db);
                        return r;
                }
                deleted++;
        }
        r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }
        *ret_deleted = deleted;
        return 0;
}

/* Moves a schedule from one status to another in a transaction; with due_in_an_interval
 * its next run is due one interval after now, else it has none. */
static int schedule_transition(Db *db, const StoreCaller *caller, const char *id, ScheduleStatus from,
                               ScheduleStatus to, bool due_in_an_interval, usec_t now, json_t **ret,
                               ScheduleStatus *ret_status) {
        char at[TIMESTAMP_BUFSZ], next[TIMESTAMP_BUFSZ];
        ScheduleRow row;
        int r;

        r = db_begin(db);
        if (r < 0)
                return r;
        r = schedule_lock(db, caller, "id", id, &row);
        if (r >= 0 && row.status != from) {
                if (ret_status)
                        *ret_status = row.status;
                r = -ESTALE;
        }
        if (r >= 0)
                r = db_queryv(db, NULL, "UPDATE scheduled_jobs SET status = ?, next_run_at = ?, updated_at = ? WHERE id = ?",
                              schedule_status_to_string(to),
                              due_in_an_interval ? timestamp_format(next, now + (usec_t) row.interval_seconds *
                                                                                      USEC_PER_SECOND)
                                                 : NULL,
                              timestamp_format(at, now), row.id);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0) {
                (void) db_rollback(db);
                return r;
        }
        return store_schedule_get(db, caller, id, ret);
}

int store_schedule_pause(Db *db, const StoreCaller *caller, const char *id, usec_t now, json_t **ret,
                         ScheduleStatus *ret_status) {
        return schedule_transition(db, caller, id, SCHEDULE_ACTIVE, SCHEDULE_PAUSED, false, now, ret, ret_status);
}

int store_schedule_resume(Db *db, const StoreCaller *caller, const char *id, usec_t now, json_t **ret,
                          ScheduleStatus *ret_status) {
        return schedule_transition(db, caller, id, SCHEDULE_PAUSED, SCHEDULE_ACTIVE, true, now, ret, ret_status);
}

/* --- The scheduler ------------------------------------------------------------------------- */

void due_schedules_free(DueSchedule *list, size_t n) {
        for (size_t i = 0; list && i < n; i++) {
                free(list[i].name);
                free(list[i].trigger_node_id);
                free(list[i].last_error);
                json_decref(list[i].trigger_payload);
        }
        free(list);
}

int store_schedules_due(Db *db, usec_t now, size_t max, DueSchedule **ret, size_t *ret_n) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char at[TIMESTAMP_BUFSZ], limit[DB_INT_BUFSZ];
        DueSchedule *list;
        size_t n;
        int r;

        r = db_queryv(db, &res,
                      "SELECT s.id, s.name, s.workflow_id, s.user_id, u.is_active, s.trigger_node_id, s.trigger_payload, "
                      "s.interval_seconds, s.timeout_seconds, s.run_count, s.current_retry, s.last_error FROM scheduled_jobs s "
                      "JOIN users u ON u.id = s.user_id WHERE s.status = 'active' AND s.current_execution_id IS NULL "
                      "AND s.next_run_at <= ? ORDER BY s.next_run_at, s.id LIMIT ?",
                      timestamp_format(at, now), db_int(limit, (int64_t) max));
        if (r < 0)
                return r;
        n = db_result_rows(res);
        list = calloc(MAX(n, (size_t) 1), sizeof(DueSchedule));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                DueSchedule *d = &list[i];

                snprintf(d->id, sizeof d->id, "%s", db_result_get(res, i, 0));
                d->name = strdup(db_result_get(res, i, 1) ?: "");
                d->workflow_id = db_result_get_int64(res, i, 2);
                d->user_id = db_result_get_int64(res, i, 3);
                d->user_active = db_result_get_bool(res, i, 4);
                d->trigger_node_id = db_result_is_null(res, i, 5) ? NULL : strdup(db_result_get(res, i, 5));
                d->trigger_payload = json_loads_or_null(db_result_get(res, i, 6));
                if (!json_is_object(d->trigger_payload)) {
                        json_decref(d->trigger_payload);
                        d->trigger_payload = json_object();
                }
                d->interval_seconds = db_result_get_int64(res, i, 7);
                d->timeout_seconds = db_result_get_int64(res, i, 8);
                d->run_count = db_result_get_int64(res, i, 9);
                d->current_retry = db_result_get_int64(res, i, 10);
                d->last_error = db_result_is_null(res, i, 11) ? NULL : strdup(db_result_get(res, i, 11));
                if (!d->name || (!db_result_is_null(res, i, 5) && !d->trigger_node_id) || !d->trigger_payload ||
                    (!db_result_is_null(res, i, 11) && !d->last_error)) {
                        due_schedules_free(list, n);
                        return -ENOMEM;
                }
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int store_schedules_next_due(Db *db, usec_t *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res,
                     "SELECT MIN(next_run_at) FROM scheduled_jobs WHERE status = 'active' AND current_execution_id IS NULL",
                     0, NULL);
        if (r < 0)
                return r;
        *ret = db_result_rows(res) > 0 ? usec_or_zero(db_result_get(res, 0, 0)) : 0;
        return 0;
}

int store_schedule_started(Db *db, const char *id, const char *execution_id, usec_t now, usec_t next) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        char at[TIMESTAMP_BUFSZ], next_text[TIMESTAMP_BUFSZ];
        int r;

        r = db_queryv(db, &res,
                      "UPDATE scheduled_jobs SET current_execution_id = ?, last_execution_id = ?, last_run_at = ?, "
                      "next_run_at = ?, updated_at = ? WHERE id = ? AND status = 'active' AND current_execution_id IS NULL "
                      "RETURNING id",
                      execution_id, execution_id, timestamp_format(at, now), timestamp_format(next_text, next), at, id);
        if (r < 0)
                return r;
        return db_result_rows(res) > 0 ? 0 : -ESTALE;
}

int store_schedule_skipped(Db *db, const char *id, const char *why, usec_t now, usec_t next) {
        char at[TIMESTAMP_BUFSZ], next_text[TIMESTAMP_BUFSZ];

        return db_queryv(db, NULL,
                         "UPDATE scheduled_jobs SET last_error = ?, next_run_at = ?, updated_at = ? "
                         "WHERE id = ? AND status = 'active' AND current_execution_id IS NULL",
                         why, timestamp_format(next_text, next), timestamp_format(at, now), id);
}

/* Why the run execution_id failed, for last_error. */
static int failure_text(Db *db, const char *execution_id, char **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        const char *status, *message;
        int r;

        r = db_queryv(db, &res, "SELECT status, error_message FROM executions WHERE execution_id = ?", execution_id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                r = asprintf(ret, "Execution %s was deleted before it ended.", execution_id);
        else {
                status = db_result_get(res, 0, 0);
                message = db_result_get(res, 0, 1);
                if (streq_ptr(status, "cancelled"))
                        r = asprintf(ret, "Execution %s was cancelled.", execution_id);
                else if (!isempty(message))
                        r = asprintf(ret, "Execution %s failed: %s", execution_id, message);
                else
                        r = asprintf(ret, "Execution %s failed.", execution_id);
        }
        return r < 0 ? -ENOMEM : 0;
}

/* Counts a run of the schedule whose column is key: completed, or failed for why (NULL: read
 * from the execution). With require_idle the schedule must have no run in flight. */
static int count_run(Db *db, const char *column, const char *key, bool require_idle, bool completed,
                     const char *why, usec_t now, ScheduleCount *ret) {
        _cleanup_free_ char *error = NULL;
        char at[TIMESTAMP_BUFSZ], next[TIMESTAMP_BUFSZ], runs[DB_INT_BUFSZ], errors[DB_INT_BUFSZ],
                retry[DB_INT_BUFSZ];
        ScheduleStatus status;
        ScheduleRow row;
        usec_t next_run;
        int r;

        if (!completed && !why) {
                r = failure_text(db, key, &error);
                if (r < 0)
                        return r;
                why = error;
        }

        r = db_begin(db);
        if (r < 0)
                return r;
        r = schedule_lock(db, NULL, column, key, &row);
        if (r == -ENOENT || (r >= 0 && require_idle && row.in_flight)) {
                (void) db_rollback(db);
                return 0;
        }
        if (r < 0)
                goto fail;

        status = row.status;
        next_run = row.next_run;
        if (completed) {
                row.run_count++;
                row.current_retry = 0;
                if (repeats_reached(row.total_repeats, row.run_count) && status != SCHEDULE_DEAD) {
                        status = SCHEDULE_DONE;
                        next_run = 0;
                } else if (status == SCHEDULE_ACTIVE && next_run == 0)
                        next_run = now + (usec_t) row.interval_seconds * USEC_PER_SECOND;
                r = db_queryv(db, NULL,
                              "UPDATE scheduled_jobs SET current_execution_id = NULL, run_count = ?, "
                              "current_repeat = current_repeat + 1, current_retry = 0, status = ?, next_run_at = ?, "
                              "updated_at = ? WHERE id = ?",
                              db_int(runs, row.run_count), schedule_status_to_string(status),
                              text_or_null(next, next_run), timestamp_format(at, now), row.id);
        } else {
                row.error_count++;
                row.current_retry++;
                if (status == SCHEDULE_ACTIVE && row.current_retry > row.max_retries) {
                        status = SCHEDULE_DEAD;
                        next_run = 0;
                } else if (status == SCHEDULE_ACTIVE)
                        next_run = now + schedule_retry_delay(row.interval_seconds, row.current_retry);
                r = db_queryv(db, NULL,
                              "UPDATE scheduled_jobs SET current_execution_id = NULL, error_count = ?, current_retry = ?, "
                              "last_error = ?, status = ?, next_run_at = ?, updated_at = ? WHERE id = ?",
                              db_int(errors, row.error_count), db_int(retry, row.current_retry), why,
                              schedule_status_to_string(status), text_or_null(next, next_run),
                              timestamp_format(at, now), row.id);
        }
        if (r >= 0)
                r = db_commit(db);
        if (r < 0)
                goto fail;

        if (ret) {
                *ret = (ScheduleCount) {
                        .status = status,
                        .run_count = row.run_count,
                        .error_count = row.error_count,
                        .retry = row.current_retry,
                        .next_run = next_run,
                };
                memcpy(ret->id, row.id, sizeof ret->id);
                memcpy(ret->name, row.name, sizeof ret->name);
        }
        return 1;

fail:
        (void) db_rollback(db);
        return r;
}

int store_schedule_run_ended(Db *db, const char *execution_id, bool completed, const char *error, usec_t now,
                             ScheduleCount *ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        /* Most executions are no schedule's: a read, without taking the writer lock. */
        r = db_queryv(db, &res, "SELECT 1 FROM scheduled_jobs WHERE current_execution_id = ?", execution_id);
        if (r < 0)
                return r;
        if (db_result_rows(res) == 0)
                return 0;
        return count_run(db, "current_execution_id", execution_id, false, completed, error, now, ret);
}

int store_schedule_start_failed(Db *db, const char *id, const char *why, usec_t now, ScheduleCount *ret) {
        return count_run(db, "id", id, true, false, why ?: "The run could not start.", now, ret);
}

int store_schedules_uncounted(Db *db, json_t **ret) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        _cleanup_json_ json_t *list = json_array();
        int r;

        if (!list)
                return -ENOMEM;
        r = db_query(db, &res,
                     "SELECT s.current_execution_id, e.status FROM scheduled_jobs s LEFT JOIN executions e ON "
                     "e.execution_id = s.current_execution_id WHERE s.current_execution_id IS NOT NULL AND "
                     "(e.execution_id IS NULL OR e.status IN ('completed', 'failed', 'cancelled'))",
                     0, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < db_result_rows(res); i++)
                if (json_array_append_new(list, json_pack("[o, o]", store_column_string(res, i, 0),
                                                          store_column_string(res, i, 1))) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(list);
        return 0;
}

int store_schedules_active(Db *db) {
        _cleanup_(db_result_freep) DbResult *res = NULL;
        int r;

        r = db_query(db, &res, "SELECT 1 FROM scheduled_jobs WHERE status = 'active' LIMIT 1", 0, NULL);
        if (r < 0)
                return r;
        return db_result_rows(res) > 0;
}
