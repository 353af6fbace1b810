/* The in-process broker: a mutex-protected run queue (a binary heap ordered by due time)
 * that worker threads block on, and a pub/sub queue drained on the I/O thread through an
 * eventfd watched by sd-event. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>

#include "broker/broker.h"

typedef struct QueuedJob {
        BrokerJob job;
        usec_t run_at;
        uint64_t seq;          /* FIFO among jobs due at the same time */
} QueuedJob;

typedef struct Message {
        struct Message *next;
        json_t *parsed;
        size_t len;
        char *channel;
        char data[];
} Message;

struct Broker {
        pthread_mutex_t lock;
        pthread_cond_t wakeup;
        QueuedJob *heap;
        size_t n_jobs, n_alloc;
        uint64_t seq;
        bool shutdown;

        Message *head, *tail;  /* published, not yet delivered */
        int event_fd;
        sd_event_source *event_source;
        BrokerMessageFunc subscriber;
        void *subscriber_data;

        /* Set once before the workers start (a dedicated worker's pipelitd). */
        BrokerUpstreamFunc upstream;
        void *upstream_data;
};

static bool job_before(const QueuedJob *a, const QueuedJob *b) {
        return a->run_at < b->run_at || (a->run_at == b->run_at && a->seq < b->seq);
}

static void heap_swap(Broker *b, size_t i, size_t j) {
        QueuedJob t = b->heap[i];
        b->heap[i] = b->heap[j];
        b->heap[j] = t;
}

static void heap_up(Broker *b, size_t i) {
        while (i > 0 && job_before(&b->heap[i], &b->heap[(i - 1) / 2])) {
                heap_swap(b, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
}

static void heap_down(Broker *b, size_t i) {
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < b->n_jobs && job_before(&b->heap[l], &b->heap[m]))
                        m = l;
                if (r < b->n_jobs && job_before(&b->heap[r], &b->heap[m]))
                        m = r;
                if (m == i)
                        return;
                heap_swap(b, i, m);
                i = m;
        }
}

int broker_enqueue(Broker *b, const BrokerJob *job, usec_t run_at) {
        if (b->upstream)
                return b->upstream(job, run_at, b->upstream_data);
        return broker_push(b, job, run_at);
}

void broker_set_upstream(Broker *b, BrokerUpstreamFunc f, void *userdata) {
        b->upstream = f;
        b->upstream_data = userdata;
}

int broker_push(Broker *b, const BrokerJob *job, usec_t run_at) {
        int r = 0;

        pthread_mutex_lock(&b->lock);
        if (b->n_jobs == b->n_alloc) {
                size_t n = MAX(b->n_alloc * 2, (size_t) 64);
                QueuedJob *h = realloc(b->heap, n * sizeof *h);

                if (!h) {
                        r = -ENOMEM;
                        goto out;
                }
                b->heap = h;
                b->n_alloc = n;
        }
        b->heap[b->n_jobs] = (QueuedJob) { .job = *job, .run_at = run_at, .seq = b->seq++ };
        heap_up(b, b->n_jobs++);
        /* One sleeping worker takes it, or (a new earliest job later on) waits for it
         * instead. Waking them all for one job had each of them fight over the lock. */
        pthread_cond_signal(&b->wakeup);
out:
        pthread_mutex_unlock(&b->lock);
        return r;
}

static struct timespec realtime_after(usec_t usec) {
        struct timespec ts;

        ts.tv_sec = (time_t) (usec / 1000000);
        ts.tv_nsec = (long) (usec % 1000000) * 1000;
        return ts;
}

int broker_dequeue(Broker *b, BrokerJob *ret, usec_t timeout_usec) {
        usec_t give_up = now_realtime_usec() + timeout_usec;
        int r;

        pthread_mutex_lock(&b->lock);
        for (;;) {
                usec_t now = now_realtime_usec(), wake;
                struct timespec ts;

                if (b->shutdown) {
                        r = -ESHUTDOWN;
                        break;
                }
                if (b->n_jobs > 0 && b->heap[0].run_at <= now) {
                        *ret = b->heap[0].job;
                        b->heap[0] = b->heap[--b->n_jobs];
                        heap_down(b, 0);
                        r = 0;
                        break;
                }
                if (now >= give_up) {
                        r = -ETIMEDOUT;
                        break;
                }
                wake = b->n_jobs > 0 ? MIN(b->heap[0].run_at, give_up) : give_up;
                ts = realtime_after(wake);
                (void) pthread_cond_timedwait(&b->wakeup, &b->lock, &ts);
        }
        pthread_mutex_unlock(&b->lock);
        return r;
}

void broker_shutdown(Broker *b) {
        pthread_mutex_lock(&b->lock);
        b->shutdown = true;
        pthread_cond_broadcast(&b->wakeup);
        pthread_mutex_unlock(&b->lock);
}

size_t broker_queued(Broker *b) {
        size_t n;

        pthread_mutex_lock(&b->lock);
        n = b->n_jobs;
        pthread_mutex_unlock(&b->lock);
        return n;
}

static Message *message_free(Message *m) {
        Message *next = m->next;

        json_decref(m->parsed);
        free(m);
        return next;
}

int broker_publish(Broker *b, const char *channel, const char *message, size_t len, json_t *parsed) {
        size_t channel_len = strlen(channel);
        Message *m = malloc(sizeof *m + len + 1 + channel_len + 1);
        bool was_empty;

        if (!m)
                return -ENOMEM;
        m->next = NULL;
        m->parsed = json_incref(parsed);
        m->len = len;
        memcpy(m->data, message, len);
        m->data[len] = 0;
        m->channel = m->data + len + 1;
        memcpy(m->channel, channel, channel_len + 1);

        pthread_mutex_lock(&b->lock);
        was_empty = !b->head;
        if (b->tail)
                b->tail->next = m;
        else
                b->head = m;
        b->tail = m;
        pthread_mutex_unlock(&b->lock);

        /* One wakeup per batch: the I/O thread drains the whole list. */
        if (was_empty)
                (void) eventfd_write(b->event_fd, 1);
        return 0;
}

static int on_messages(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Broker *b = userdata;
        eventfd_t ignored;
        Message *m;

        (void) eventfd_read(fd, &ignored);
        pthread_mutex_lock(&b->lock);
        m = b->head;
        b->head = b->tail = NULL;
        pthread_mutex_unlock(&b->lock);

        while (m) {
                if (b->subscriber)
                        b->subscriber(m->channel, m->data, m->len, m->parsed, b->subscriber_data);
                m = message_free(m);
        }
        return 0;
}

void broker_set_subscriber(Broker *b, BrokerMessageFunc f, void *userdata) {
        b->subscriber = f;
        b->subscriber_data = userdata;
}

const char *broker_name(const Broker *b) {
        return "local";
}

int broker_new_local(sd_event *event, Broker **ret) {
        _cleanup_(broker_freep) Broker *b = NULL;
        int r;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->event_fd = -1;
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->wakeup, NULL);

        b->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->event_fd < 0)
                return -errno;
        if (event) {
                r = sd_event_add_io(event, &b->event_source, b->event_fd, EPOLLIN, on_messages, b);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

Broker *broker_free(Broker *b) {
        if (!b)
                return NULL;
        sd_event_source_disable_unref(b->event_source);
        if (b->event_fd >= 0)
                close(b->event_fd);
        while (b->head)
                b->head = message_free(b->head);
        free(b->heap);
        pthread_cond_destroy(&b->wakeup);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
}
