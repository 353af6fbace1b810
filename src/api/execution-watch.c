/* Watches for the end of executions (see execution-watch.h): a hash table of watchers by
 * execution id, each with a timer of its own on the I/O thread's sd-event loop. */

#include <errno.h>
#include <stdio.h>

#include "api/execution-watch.h"
#include "common/json-util.h"

#define N_BUCKETS 256                   /* execution ids are random: an even spread */
#define EXECUTION_ID_MAX 63
#define CHANNEL_PREFIX "execution:"
/* A timeout a few ms late is as good as one on time, and cheaper to wake for. */
#define TIMER_ACCURACY_USEC (10ULL * 1000)

struct ExecutionWatcher {
        ExecutionWatch *watch;
        ExecutionWatcher *prev, *next;  /* in its bucket */
        char execution_id[EXECUTION_ID_MAX + 1];
        sd_event_source *timer;
        ExecutionWatchFunc done;
        void *userdata;
};

struct ExecutionWatch {
        sd_event *event;
        ExecutionWatcher *buckets[N_BUCKETS];
        size_t n_watchers;
};

/* The envelopes' text starts with the type (events.c writes it first). */
static const char *const ending_events[] = {
        "{\"type\":\"execution_completed\"",
        "{\"type\":\"execution_failed\"",
        "{\"type\":\"execution_cancelled\"",
};

static size_t bucket_of(const char *id) {
        uint32_t h = 2166136261u;       /* FNV-1a */

        for (const char *p = id; *p; p++)
                h = (h ^ (uint8_t) *p) * 16777619u;
        return h % N_BUCKETS;
}

int execution_watch_new(sd_event *event, ExecutionWatch **ret) {
        ExecutionWatch *w = calloc(1, sizeof *w);

        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        *ret = w;
        return 0;
}

static void watcher_unlink(ExecutionWatcher *x) {
        ExecutionWatch *w = x->watch;

        if (x->prev)
                x->prev->next = x->next;
        else
                w->buckets[bucket_of(x->execution_id)] = x->next;
        if (x->next)
                x->next->prev = x->prev;
        x->prev = x->next = NULL;
        w->n_watchers--;
}

static void watcher_free(ExecutionWatcher *x) {
        sd_event_source_disable_unref(x->timer);
        free(x);
}

/* Unlinks x, then tells its owner why; the owner may add or remove other watches. */
static void watcher_end(ExecutionWatcher *x, ExecutionWatchReason reason, json_t *event) {
        char id[EXECUTION_ID_MAX + 1];
        ExecutionWatchFunc done = x->done;
        void *userdata = x->userdata;

        memcpy(id, x->execution_id, sizeof id);
        watcher_unlink(x);
        watcher_free(x);
        done(id, reason, event, userdata);
}

ExecutionWatch *execution_watch_free(ExecutionWatch *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < N_BUCKETS; i++)
                while (w->buckets[i])
                        watcher_end(w->buckets[i], EXECUTION_WATCH_ABORTED, NULL);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        watcher_end(userdata, EXECUTION_WATCH_TIMEOUT, NULL);
        return 0;
}

int execution_watch_add(ExecutionWatch *w, const char *execution_id, usec_t timeout_usec, ExecutionWatchFunc done,
                        void *userdata, ExecutionWatcher **ret) {
        ExecutionWatcher *x;
        uint64_t now;
        size_t b;
        int r;

        if (isempty(execution_id) || strlen(execution_id) > EXECUTION_ID_MAX || !done)
                return -EINVAL;
        x = calloc(1, sizeof *x);
        if (!x)
                return -ENOMEM;
        *x = (ExecutionWatcher) { .watch = w, .done = done, .userdata = userdata };
        strcpy(x->execution_id, execution_id);

        r = sd_event_now(w->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(w->event, &x->timer, CLOCK_MONOTONIC, now + timeout_usec, TIMER_ACCURACY_USEC,
                                      on_timeout, x);
        if (r < 0) {
                free(x);
                return r;
        }

        b = bucket_of(execution_id);
        x->next = w->buckets[b];
        if (x->next)
                x->next->prev = x;
        w->buckets[b] = x;
        w->n_watchers++;
        if (ret)
                *ret = x;
        return 0;
}

void execution_watcher_remove(ExecutionWatcher *x) {
        if (!x)
                return;
        watcher_unlink(x);
        watcher_free(x);
}

size_t execution_watch_count(const ExecutionWatch *w) {
        return w ? w->n_watchers : 0;
}

static bool is_ending_event(const char *message, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(ending_events); i++) {
                size_t n = strlen(ending_events[i]);

                if (len >= n && memcmp(message, ending_events[i], n) == 0)
                        return true;
        }
        return false;
}

void execution_watch_message(ExecutionWatch *w, const char *channel, const char *message, size_t len, json_t *parsed) {
        _cleanup_json_ json_t *event = NULL;
        const char *id;
        size_t n = 0;

        if (!w || w->n_watchers == 0 || strncmp(channel, CHANNEL_PREFIX, strlen(CHANNEL_PREFIX)) != 0 ||
            !is_ending_event(message, len))
                return;
        id = channel + strlen(CHANNEL_PREFIX);

        for (ExecutionWatcher *x = w->buckets[bucket_of(id)]; x; x = x->next)
                n += streq(x->execution_id, id);
        /* What the watchers learn from it (how it ended, its output) saves them a read. */
        if (n > 0)
                event = parsed ? json_incref(parsed) : json_loadb(message, len, 0, NULL);
        /* One at a time, since an owner's callback may change the table; at most as many
         * as were there when the event came. */
        while (n-- > 0) {
                ExecutionWatcher *x = w->buckets[bucket_of(id)];

                while (x && !streq(x->execution_id, id))
                        x = x->next;
                if (!x)
                        return;
                watcher_end(x, EXECUTION_WATCH_ENDED, event);
        }
}
