/* Dedicated workers, pipelitd's side: the workflows whose settings.worker asks for a process
 * of their own (pipelit-worker@<slug>.service), the socket those processes connect to, and
 * the routing of node runs to them.
 *
 * While a workflow's worker is connected, every due node run of its executions goes to it
 * (pipelitd's own threads take none of them); the jobs the worker's commits make and the
 * events it publishes come back here, into pipelitd's queue and out to the WebSocket clients
 * and the bus as if pipelitd's threads had made them. A dedicated workflow with work and no
 * worker gets one started (WorkerLauncher=: systemd, or a child process); one that cannot
 * start, or keeps dying, has its runs taken by pipelitd's threads for a while. When a worker
 * goes away, the node runs it held go back to pipelitd's queue, those cut off mid-way as
 * after a crash. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct Manager Manager;
typedef struct WorkerPool WorkerPool;

/* Listens on [Engine] WorkerSocket=, reads which workflows want a worker and hooks into
 * the engine and the events. After the engine exists; on the I/O thread. */
int worker_pool_new(Manager *m, WorkerPool **ret);
/* Closes the connections (their workers exit) and the socket. After the engine's threads. */
WorkerPool *worker_pool_free(WorkerPool *p);

/* Workflows were created, edited, imported or deleted: look again at their settings.worker
 * soon. On the I/O thread; p may be NULL. */
void worker_pool_workflows_changed(WorkerPool *p);

/* StartWorker(): starts the workflow's worker now and keeps it (also for a workflow that is
 * not dedicated); 0, or 1 when it is already running or starting. */
int worker_pool_start_worker(WorkerPool *p, int64_t workflow_id, const char *slug);
/* StopWorker(): stops it; a dedicated workflow's runs stay with pipelitd's threads until
 * StartWorker() or a restart of pipelitd. -ESRCH when the workflow has no worker. */
int worker_pool_stop_worker(WorkerPool *p, int64_t workflow_id);

/* ListWorkers(): [{"slug", "unit", "state", "pid", "node_runs", "dedicated", "limits"}]. */
json_t *worker_pool_list(WorkerPool *p);
