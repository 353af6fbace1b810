/* What engine.c (life cycle, executions) and orchestrator.c (one node run) share. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "broker/broker.h"
#include "engine/engine.h"

/* Retries of a failing node, unless its extra_config says otherwise. */
#define NODE_RETRIES_DEFAULT 3
#define NODE_RETRIES_MAX 100
#define NODE_RETRY_BACKOFF_SECONDS_DEFAULT 1.0
/* The longest wait before a retry, whatever the backoff doubles up to. */
#define NODE_RETRY_DELAY_MAX_SECONDS 3600.0

typedef struct Worker {
        Engine *engine;
        unsigned index;
        pthread_t thread;
        bool started, exited;
        Db *db;

        /* The run in progress, under Engine.lock, so engine_cancel() can reach it. */
        char execution_id[EXECUTION_ID_LEN + 1];
        volatile bool cancelled;
        volatile bool interrupted;      /* stopped by engine_stop(), not by a user */
} Worker;

struct Engine {
        Broker *broker;
        char *database_url;
        unsigned n_workers;
        size_t max_output_size;

        pthread_mutex_t lock;
        pthread_cond_t exited;          /* a worker thread ended */
        Worker *workers;
        volatile bool stopping;
};

/* Runs one job of the queue to its commit. Errors are logged here. -EAGAIN when the job
 * could not be taken (a database error before anything changed): it should come back
 * later, on a fresh connection. */
int orchestrator_run_job(Worker *w, const BrokerJob *job);
/* Closes and reopens the worker's database connection. */
int engine_worker_reconnect(Worker *w);

/* Enqueues node runs the database has just committed as queued. */
void engine_enqueue(Engine *e, const char *execution_id, const int64_t *ids, size_t n, usec_t run_at);

/* Worker bookkeeping for cancellation. */
void engine_worker_begin(Worker *w, const char *execution_id);
void engine_worker_end(Worker *w);
