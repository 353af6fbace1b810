/* Checkpoints of an SQLite database's WAL on a thread of their own.
 *
 * SQLite checkpoints from the commit that grows the WAL past its limit: that commit copies
 * the WAL into the database and syncs it while holding the write lock, and every other
 * writer waits. A checkpointer runs PASSIVE checkpoints on a connection of its own instead,
 * when the write connection's WAL hook pokes it: readers and writers go on meanwhile. */
#pragma once

#include "common/macro.h"

typedef struct Checkpointer Checkpointer;

/* Starts the thread (it opens path itself). -errno. */
int checkpointer_start(const char *path, Checkpointer **ret);
/* From a WAL hook (any thread): the WAL now holds n_frames frames. */
void checkpointer_poke(Checkpointer *c, int n_frames);
/* Stops and joins the thread; NULL is fine. */
void checkpointer_stop(Checkpointer *c);
