/* Worker threads for blocking calls, results delivered on the event loop (see work-pool.h). */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "common/work-pool.h"

typedef struct WorkItem {
        struct WorkItem *next;
        WorkFunc work;
        WorkDoneFunc done;
        void *userdata;
} WorkItem;

typedef struct WorkList {
        WorkItem *head, *tail;
} WorkList;

struct WorkPool {
        pthread_mutex_t lock;
        pthread_cond_t wakeup;
        WorkList queued;        /* waiting for a thread */
        size_t n_queued;
        WorkList finished;      /* waiting for the event loop */
        size_t n_pending;       /* submitted, done callback not run yet */
        size_t max_pending;
        pthread_t *threads;
        unsigned n_threads, max_threads, n_idle;
        bool stopping;          /* read without the lock by work_pool_stopping() */

        int event_fd;
        sd_event_source *event_source;
};

static void list_push(WorkList *l, WorkItem *item) {
        item->next = NULL;
        if (l->tail)
                l->tail->next = item;
        else
                l->head = item;
        l->tail = item;
}

static WorkItem *list_pop(WorkList *l) {
        WorkItem *item = l->head;

        if (item) {
                l->head = item->next;
                if (!l->head)
                        l->tail = NULL;
        }
        return item;
}

static void *worker_main(void *userdata) {
        WorkPool *p = userdata;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                WorkItem *item;
                bool was_empty;

                while (!p->queued.head && !p->stopping) {
                        p->n_idle++;
                        pthread_cond_wait(&p->wakeup, &p->lock);
                        p->n_idle--;
                }
                /* Work that has not started when the pool stops is cancelled by the free. */
                if (p->stopping)
                        break;
                item = list_pop(&p->queued);
                p->n_queued--;
                pthread_mutex_unlock(&p->lock);

                item->work(p, item->userdata);

                pthread_mutex_lock(&p->lock);
                was_empty = !p->finished.head;
                list_push(&p->finished, item);
                /* One wakeup per batch: the loop takes the whole list. */
                if (was_empty)
                        (void) eventfd_write(p->event_fd, 1);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static void deliver(WorkPool *p, WorkItem *items, bool cancelled) {
        while (items) {
                WorkItem *next = items->next;

                items->done(items->userdata, cancelled);
                free(items);
                items = next;
                pthread_mutex_lock(&p->lock);
                p->n_pending--;
                pthread_mutex_unlock(&p->lock);
        }
}

static int on_finished(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WorkPool *p = userdata;
        eventfd_t ignored;
        WorkItem *items;

        (void) eventfd_read(fd, &ignored);
        pthread_mutex_lock(&p->lock);
        items = p->finished.head;
        p->finished = (WorkList) {};
        pthread_mutex_unlock(&p->lock);

        deliver(p, items, false);
        return 0;
}

int work_pool_new(sd_event *event, unsigned max_threads, size_t max_pending, WorkPool **ret) {
        _cleanup_(work_pool_freep) WorkPool *p = NULL;
        int r;

        if (!event || max_threads == 0 || max_pending == 0 || !ret)
                return -EINVAL;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->event_fd = -1;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->wakeup, NULL);
        p->max_threads = max_threads;
        p->max_pending = max_pending;
        p->threads = calloc(max_threads, sizeof *p->threads);
        if (!p->threads)
                return -ENOMEM;

        p->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->event_fd < 0)
                return -errno;
        r = sd_event_add_io(event, &p->event_source, p->event_fd, EPOLLIN, on_finished, p);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}

WorkPool *work_pool_free(WorkPool *p) {
        WorkItem *queued, *finished;

        if (!p)
                return NULL;

        pthread_mutex_lock(&p->lock);
        __atomic_store_n(&p->stopping, true, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&p->wakeup);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->n_threads; i++)
                (void) pthread_join(p->threads[i], NULL);

        sd_event_source_disable_unref(p->event_source);
        queued = p->queued.head;
        finished = p->finished.head;
        p->queued = p->finished = (WorkList) {};
        p->n_queued = 0;
        deliver(p, finished, true);
        deliver(p, queued, true);

        if (p->event_fd >= 0)
                close(p->event_fd);
        free(p->threads);
        pthread_cond_destroy(&p->wakeup);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
}

int work_pool_submit(WorkPool *p, WorkFunc work, WorkDoneFunc done, void *userdata) {
        WorkItem *item;
        int r = 0;

        if (!p || !work || !done)
                return -EINVAL;

        item = malloc(sizeof *item);
        if (!item)
                return -ENOMEM;
        *item = (WorkItem) { .work = work, .done = done, .userdata = userdata };

        pthread_mutex_lock(&p->lock);
        if (p->stopping)
                r = -ESHUTDOWN;
        else if (p->n_pending >= p->max_pending)
                r = -EAGAIN;
        /* An idle thread that was signalled may not have woken yet: it takes work already
         * queued. A new thread is due unless more threads idle than work waits. */
        else if (p->n_idle <= p->n_queued && p->n_threads < p->max_threads) {
                r = -pthread_create(&p->threads[p->n_threads], NULL, worker_main, p);
                if (r == 0)
                        p->n_threads++;
                else if (p->n_threads > 0)
                        r = 0; /* the threads there are will get to it */
        }
        if (r == 0) {
                list_push(&p->queued, item);
                p->n_queued++;
                p->n_pending++;
                pthread_cond_signal(&p->wakeup);
        }
        pthread_mutex_unlock(&p->lock);

        if (r < 0)
                free(item);
        return r;
}

bool work_pool_stopping(const WorkPool *p) {
        return __atomic_load_n(&p->stopping, __ATOMIC_ACQUIRE);
}

size_t work_pool_pending(WorkPool *p) {
        size_t n;

        pthread_mutex_lock(&p->lock);
        n = p->n_pending;
        pthread_mutex_unlock(&p->lock);
        return n;
}
