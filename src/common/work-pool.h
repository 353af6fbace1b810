/* Blocking calls kept off the event loop: a few worker threads run the work submitted, and
 * each piece of work comes back to the thread that runs the sd-event loop (woken through an
 * eventfd, as the broker's messages are), where its done callback runs.
 *
 * The I/O thread submits, say, a call to an LLM provider and answers the HTTP request
 * from the done callback (http_defer() / http_deferred_complete()). Threads are started as
 * work arrives, up to max_threads, and stay until the pool is freed; at most max_pending
 * pieces of work may be queued, running or waiting for their done callback at once.
 *
 * work_pool_free() asks running work to give up (work polls work_pool_stopping()), waits
 * for the threads, and calls the done callback of every piece of work that did not get it
 * yet with cancelled = true (also of work that never ran). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "common/macro.h"

typedef struct WorkPool WorkPool;

/* Runs on a worker thread: may block, must not touch what belongs to the I/O thread. */
typedef void (*WorkFunc)(WorkPool *pool, void *userdata);
/* Runs on the event loop's thread once work is over (cancelled: it may not have run, or
 * finished while the pool was being freed). Owns userdata from then on. */
typedef void (*WorkDoneFunc)(void *userdata, bool cancelled);

int work_pool_new(sd_event *event, unsigned max_threads, size_t max_pending, WorkPool **ret);
WorkPool *work_pool_free(WorkPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(WorkPool *, work_pool_free);

/* Queues work; from the event loop's thread. -EAGAIN when max_pending pieces are already
 * under way (nothing is queued then, and done will not be called). */
int work_pool_submit(WorkPool *p, WorkFunc work, WorkDoneFunc done, void *userdata);
/* True once work_pool_free() began: long work should give up. Any thread. */
bool work_pool_stopping(const WorkPool *p);
/* Pieces of work submitted whose done callback has not run yet. */
size_t work_pool_pending(WorkPool *p);
