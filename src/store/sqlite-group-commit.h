/* Group commit of the write transactions on a shared SQLite connection (db-sqlite.c).
 *
 * The process's write transactions run on one connection per database file, one at a time:
 * a thread takes the turn (a process-wide lock) for each. Every COMMIT writes the pages it
 * changed to the WAL, and transactions appending to the same tables change the same few
 * pages, so one COMMIT for several transactions writes a fraction of the frames.
 *
 * The first transaction opens the connection's real transaction (the group); each later one
 * is a savepoint inside it. When a transaction ends while another thread waits for the
 * turn, it stays in the group (its savepoint released), the turn passes on and the thread
 * sleeps until the group's COMMIT, whose result its db_commit() returns: no caller sees
 * success before its writes are in the database for every connection to read. The member
 * nobody waits behind commits. A group also commits at GROUP_MEMBERS_MAX members, or
 * GROUP_HANDOVER_USEC_MAX after it was first handed over (sqlite-group-commit.c), which
 * bounds what its first member waits and how long other processes find the database locked.
 *
 * A member that rolls back undoes its own writes only. When SQLite rolled back the whole
 * transaction itself (a full disk, an I/O error, ON CONFLICT ROLLBACK…), every member of
 * the group fails. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlite3;

/* The groups of one connection and the statements they run on it. */
typedef struct WriteGroup WriteGroup;

/* The turn to write, for all files of the process: 0, or -EDEADLK when the calling thread
 * has it already. */
int write_turn_take(void);
/* Gives the turn up without having joined a group (opening the connection failed, or
 * joining did). */
void write_turn_give(void);

/* With the turn: commits a group left open for the threads queued behind it (they were
 * handed it), so that what runs next runs outside any transaction. */
void write_turn_close_group(void);

/* Prepares the group statements on handle, the shared connection. SQLite result code. */
int write_group_new(struct sqlite3 *handle, WriteGroup **ret);
/* Before the connection closes. No group is open by then: every member has ended. */
void write_group_free(WriteGroup *g);

/* With the turn: begins a member (a savepoint), opening the group first, and committing a
 * group open on another connection before. SQLite result code; error gets the text of a
 * failure. The turn stays taken either way. */
int write_group_join(WriteGroup *g, char *error, size_t error_size);

/* Ends the member the thread began and gives up the turn. commit releases its savepoint
 * and waits for the group's COMMIT, returning its result; else the member rolls back to its
 * savepoint and returns at once. may_hand_over false commits the group now (the Db goes
 * away). SQLite result code; error gets the text of a failure. */
int write_group_leave(WriteGroup *g, bool commit, bool may_hand_over, char *error, size_t error_size);

typedef struct WriteGroupStats {
        uint64_t commits;       /* real COMMITs that succeeded */
        uint64_t members;       /* transactions that ended in a group, to be committed */
        unsigned waiting;       /* threads waiting for the turn now */
} WriteGroupStats;

/* Counters since the process started, for tests and diagnostics. */
void write_group_stats(WriteGroupStats *ret);
