/* The broker: the run queue of node jobs and the pub/sub of events. One interface, two
 * backends: in-process (broker-local.c, the embedded default) and Redis (later). The
 * database stays the durable record; the broker's queue can always be rebuilt from it
 * (engine recovery re-enqueues every queued or running node at start). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "common/macro.h"
#include "common/time-util.h"

typedef struct Broker Broker;

typedef struct BrokerJob {
        char execution_id[40];
        int64_t node_run_id;    /* execution_nodes.id */
} BrokerJob;

/* In-process backend. Subscribers are called on event's thread (the I/O thread). */
int broker_new_local(sd_event *event, Broker **ret);
Broker *broker_free(Broker *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Broker *, broker_free);
const char *broker_name(const Broker *b);   /* "local" or "redis" */

/* Queue. run_at is CLOCK_REALTIME µs (0 = now); delayed jobs wait in the broker. */
int broker_enqueue(Broker *b, const BrokerJob *job, usec_t run_at);
/* A dedicated worker's queue (pipelit-worker): what its engine enqueues goes upstream to
 * pipelitd, which queues it and hands back, with broker_push(), the jobs this worker runs.
 * Set before the worker threads start. */
typedef int (*BrokerUpstreamFunc)(const BrokerJob *job, usec_t run_at, void *userdata);
void broker_set_upstream(Broker *b, BrokerUpstreamFunc f, void *userdata);
/* Queues job here, upstream or not. */
int broker_push(Broker *b, const BrokerJob *job, usec_t run_at);
/* Blocks a worker thread until a job is due: 0, -ETIMEDOUT after timeout_usec, or
 * -ESHUTDOWN once broker_shutdown() was called. */
int broker_dequeue(Broker *b, BrokerJob *ret, usec_t timeout_usec);
void broker_shutdown(Broker *b);
/* Jobs waiting (due or delayed), for status reports. */
size_t broker_queued(Broker *b);

/* Pub/sub. publish is thread-safe; the message is copied. The single subscriber (the
 * WebSocket hub) gets every message on the I/O thread. parsed, when not NULL, is the
 * message as the publisher built it: the broker keeps a reference and hands it to the
 * subscriber (borrowed) with the text, which then need not be parsed again. Nobody may
 * change it after publishing: two threads read it. */
typedef void (*BrokerMessageFunc)(const char *channel, const char *message, size_t len, json_t *parsed,
                                  void *userdata);
int broker_publish(Broker *b, const char *channel, const char *message, size_t len, json_t *parsed);
void broker_set_subscriber(Broker *b, BrokerMessageFunc f, void *userdata);
