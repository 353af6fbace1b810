/* Group commit of the write transactions on a shared SQLite connection
 * (sqlite-group-commit.h). Everything about a group is read and changed with the turn held,
 * except the tickets' results, which sleeping members read under done_lock. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/time-util.h"
#include "store/sqlite-group-commit.h"

/* Past this, a group commits even though another thread waits. The members are threads
 * that write, each in one transaction at a time: a handful in the daemon. */
#define GROUP_MEMBERS_MAX 16
/* A transaction holds the turn for a fraction of a millisecond, so by then the threads that
 * were waiting have joined. This bounds what the first member waits beyond the others'
 * transactions, and how long other processes find SQLite's lock taken. */
#define GROUP_HANDOVER_USEC_MAX 2000

#define ERROR_MAX 256

/* A member waiting for its group's COMMIT, on its own stack. */
typedef struct Ticket Ticket;
struct Ticket {
        Ticket *next;
        int rc;
        bool done;
        char error[ERROR_MAX];
};

struct WriteGroup {
        sqlite3 *handle;
        sqlite3_stmt *begin, *savepoint, *release, *rollback_to, *commit, *rollback;
        bool open;              /* BEGIN IMMEDIATE ran; COMMIT or ROLLBACK has not */
        bool failed;            /* the group is to roll back; error says why */
        /* The member that opened the group has no savepoint: while it is the only one,
         * rolling it back is rolling the transaction back. Most groups have no other. */
        bool first_member_active;
        unsigned n_members;
        usec_t handed_over;     /* when the turn first passed on within the group; 0: never */
        Ticket *waiting;        /* released members waiting for the COMMIT */
        char error[ERROR_MAX];
};

/* SQLite lets one connection write at a time, and a connection that finds the lock taken
 * sleeps in its busy handler (1, 2, 5, 10… ms) instead of being woken when the lock is
 * free. The process's own transactions queue here instead, so one starts the moment the
 * previous one ends; the busy handler stays for other processes. */
static pthread_mutex_t turn = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
/* Threads blocked on turn: the holder hands a group over only when one is. */
static unsigned turn_waiting;
/* At most one group is open in the process: the turn is one for all files. */
static WriteGroup *open_group;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

static uint64_t n_commits, n_members;

/* Runs one of the group's statements. */
static int step(WriteGroup *g, sqlite3_stmt *stmt, char *error, size_t error_size) {
        int rc = sqlite3_step(stmt);

        if (rc == SQLITE_DONE)
                rc = SQLITE_OK;
        else if (error)
                snprintf(error, error_size, "%s", sqlite3_errmsg(g->handle));
        sqlite3_reset(stmt);
        return rc;
}

/* No member of the group may be committed. */
static void group_fail(WriteGroup *g, const char *error) {
        if (g->failed)
                return;
        g->failed = true;
        snprintf(g->error, sizeof g->error, "%s", error);
}

/* Whether the group is to roll back. SQLite ends the transaction itself on some errors: the
 * connection is back in autocommit mode then, and every savepoint is gone. */
static bool group_failed(WriteGroup *g) {
        if (!g->failed && sqlite3_get_autocommit(g->handle))
                group_fail(g, sqlite3_errmsg(g->handle));
        return g->failed;
}

/* Wakes the waiting members with rc; the tickets are theirs again once done_lock is free. */
static void publish(WriteGroup *g, int rc, const char *error) {
        pthread_mutex_lock(&done_lock);
        for (Ticket *t = g->waiting, *next; t; t = next) {
                next = t->next;
                t->rc = rc;
                if (rc != SQLITE_OK)
                        snprintf(t->error, sizeof t->error, "%s", error);
                t->done = true;
        }
        g->waiting = NULL;
        pthread_cond_broadcast(&done_cond);
        pthread_mutex_unlock(&done_lock);
}

static void group_end(WriteGroup *g) {
        char error[ERROR_MAX] = "";
        int rc;

        if (group_failed(g)) {
                rc = SQLITE_ABORT_ROLLBACK;
                snprintf(error, sizeof error,
                         "The transaction was rolled back with the others committed along with it: %.160s",
                         g->error);
        } else {
                rc = step(g, g->commit, error, sizeof error);
                if (rc == SQLITE_OK)
                        __atomic_add_fetch(&n_commits, 1, __ATOMIC_RELAXED);
        }
        /* A failed COMMIT may leave the transaction open. */
        if (!sqlite3_get_autocommit(g->handle))
                (void) step(g, g->rollback, NULL, 0);

        publish(g, rc, error);
        g->open = false;
        g->failed = false;
        g->first_member_active = false;
        g->n_members = 0;
        g->handed_over = 0;
        g->error[0] = 0;
        open_group = NULL;
}

/* Whether the group may stay open while the turn passes on: somebody waits for the turn to
 * join, and the group is below its limits. */
static bool may_stay_open(WriteGroup *g) {
        usec_t now;

        if (__atomic_load_n(&turn_waiting, __ATOMIC_RELAXED) == 0 || g->n_members >= GROUP_MEMBERS_MAX ||
            group_failed(g))
                return false;
        now = now_monotonic_usec();
        if (g->handed_over == 0)
                g->handed_over = now;
        return now - g->handed_over < GROUP_HANDOVER_USEC_MAX;
}

/* The group stays open only for a thread that waits for the turn: it will join, or give the
 * turn up the same way. So an open group always has a thread that will end it. */
static void turn_give(bool may_hand_over) {
        WriteGroup *g = open_group;

        if (g && !(may_hand_over && may_stay_open(g)))
                group_end(g);
        (void) pthread_mutex_unlock(&turn);
}

int write_turn_take(void) {
        int r;

        /* Counted before blocking and until the turn is ours, so a holder that reads 0 after
         * taking the turn knows nobody is queued behind it. */
        __atomic_add_fetch(&turn_waiting, 1, __ATOMIC_RELAXED);
        r = pthread_mutex_lock(&turn);
        __atomic_sub_fetch(&turn_waiting, 1, __ATOMIC_RELAXED);
        return -r;
}

void write_turn_give(void) {
        turn_give(true);
}

void write_turn_close_group(void) {
        if (open_group)
                group_end(open_group);
}

void write_group_free(WriteGroup *g) {
        if (!g)
                return;
        assert(!g->open);
        sqlite3_finalize(g->begin);
        sqlite3_finalize(g->savepoint);
        sqlite3_finalize(g->release);
        sqlite3_finalize(g->rollback_to);
        sqlite3_finalize(g->commit);
        sqlite3_finalize(g->rollback);
        free(g);
}

int write_group_new(sqlite3 *handle, WriteGroup **ret) {
        WriteGroup *g;
        struct {
                const char *sql;
                sqlite3_stmt **stmt;
        } statements[6];
        int rc = SQLITE_OK;

        g = calloc(1, sizeof(WriteGroup));
        if (!g)
                return SQLITE_NOMEM;
        g->handle = handle;

        /* A member's savepoint keeps the pages it changes in a sub-journal, which SQLite
         * spills to a temporary file past 64 KiB: the pages were written there as well as to
         * the WAL. In memory, it is a copy. (Temporary tables and sorts of this connection
         * stay in memory too; write transactions make small ones.) */
        rc = sqlite3_exec(handle, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                free(g);
                return rc;
        }

        /* IMMEDIATE takes SQLite's write lock up front, waiting for it under the busy
         * timeout: a deferred transaction that read first would fail at its first write
         * when another process wrote in between. */
        statements[0].sql = "BEGIN IMMEDIATE", statements[0].stmt = &g->begin;
        statements[1].sql = "SAVEPOINT member", statements[1].stmt = &g->savepoint;
        statements[2].sql = "RELEASE member", statements[2].stmt = &g->release;
        statements[3].sql = "ROLLBACK TO member", statements[3].stmt = &g->rollback_to;
        statements[4].sql = "COMMIT", statements[4].stmt = &g->commit;
        statements[5].sql = "ROLLBACK", statements[5].stmt = &g->rollback;
        for (size_t i = 0; i < 6 && rc == SQLITE_OK; i++)
                rc = sqlite3_prepare_v3(handle, statements[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
                                        statements[i].stmt, NULL);
        if (rc != SQLITE_OK) {
                write_group_free(g);
                return rc;
        }
        *ret = g;
        return SQLITE_OK;
}

int write_group_join(WriteGroup *g, char *error, size_t error_size) {
        int rc;

        /* One open at a time; and a failed one is over. */
        if (open_group && (open_group != g || group_failed(open_group)))
                group_end(open_group);

        if (!g->open) {
                rc = step(g, g->begin, error, error_size);
                if (rc != SQLITE_OK)
                        return rc;
                g->open = true;
                open_group = g;
                g->first_member_active = true;
                g->n_members = 1;
                return SQLITE_OK;
        }

        rc = step(g, g->savepoint, error, error_size);
        if (rc != SQLITE_OK)
                return rc;
        g->n_members++;
        return SQLITE_OK;
}

int write_group_leave(WriteGroup *g, bool commit, bool may_hand_over, char *error, size_t error_size) {
        Ticket ticket = {};
        int rc;

        assert(g->open && open_group == g);

        if (group_failed(g)) {
                g->first_member_active = false;
                if (commit)
                        snprintf(error, error_size, "The transaction was rolled back: %s", g->error);
                turn_give(false);
                return commit ? SQLITE_ABORT_ROLLBACK : SQLITE_OK;
        }

        if (g->first_member_active) {
                g->first_member_active = false;
                if (!commit) {
                        /* Nobody else is in the group yet. */
                        group_fail(g, "rolled back");
                        turn_give(false);
                        return SQLITE_OK;
                }
                rc = SQLITE_OK;
        } else if (commit)
                rc = step(g, g->release, error, error_size);
        else {
                rc = step(g, g->rollback_to, error, error_size);
                if (rc == SQLITE_OK)
                        rc = step(g, g->release, error, error_size);
        }
        if (rc != SQLITE_OK) {
                /* The member's changes cannot be told from the others' any more: none
                 * may be committed. */
                group_fail(g, error);
                turn_give(false);
                return rc;
        }
        if (!commit) {
                turn_give(may_hand_over);
                return SQLITE_OK;
        }

        __atomic_add_fetch(&n_members, 1, __ATOMIC_RELAXED);
        ticket.next = g->waiting;
        g->waiting = &ticket;
        turn_give(may_hand_over);

        pthread_mutex_lock(&done_lock);
        while (!ticket.done)
                pthread_cond_wait(&done_cond, &done_lock);
        pthread_mutex_unlock(&done_lock);

        if (ticket.rc != SQLITE_OK)
                snprintf(error, error_size, "%s", ticket.error);
        return ticket.rc;
}

void write_group_stats(WriteGroupStats *ret) {
        *ret = (WriteGroupStats) {
                .commits = __atomic_load_n(&n_commits, __ATOMIC_RELAXED),
                .members = __atomic_load_n(&n_members, __ATOMIC_RELAXED),
                .waiting = __atomic_load_n(&turn_waiting, __ATOMIC_RELAXED),
        };
}
