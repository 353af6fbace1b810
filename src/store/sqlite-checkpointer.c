/* A thread that checkpoints one database's WAL (sqlite-checkpointer.h). */

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/sqlite-checkpointer.h"

/* SQLite's own autocheckpoint threshold. */
#define CHECKPOINT_FRAMES 1000
#define BUSY_TIMEOUT_MSEC 5000

struct Checkpointer {
        char *path;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool wanted, stopping;
};

static void *checkpointer_main(void *userdata) {
        Checkpointer *c = userdata;
        sqlite3 *handle = NULL;
        int rc;

        rc = sqlite3_open_v2(c->path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                sqlite3_busy_timeout(handle, BUSY_TIMEOUT_MSEC);
        else
                log_warning("Cannot open SQLite database '%s' for checkpoints: %s", c->path, sqlite3_errstr(rc));

        pthread_mutex_lock(&c->lock);
        for (;;) {
                while (!c->wanted && !c->stopping)
                        pthread_cond_wait(&c->wake, &c->lock);
                if (c->stopping)
                        break;
                c->wanted = false;
                pthread_mutex_unlock(&c->lock);

                if (rc == SQLITE_OK) {
                        int r = sqlite3_wal_checkpoint_v2(handle, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

                        /* Busy: another checkpoint runs (a foreign process); the next poke comes soon. */
                        if (r != SQLITE_OK && r != SQLITE_BUSY)
                                log_warning("Checkpoint of SQLite database '%s' failed: %s", c->path,
                                            sqlite3_errmsg(handle));
                }
                pthread_mutex_lock(&c->lock);
        }
        pthread_mutex_unlock(&c->lock);
        sqlite3_close(handle);
        return NULL;
}

int checkpointer_start(const char *path, Checkpointer **ret) {
        Checkpointer *c;
        int r;

        c = calloc(1, sizeof(Checkpointer));
        if (!c)
                return -ENOMEM;
        c->path = strdup(path);
        if (!c->path) {
                free(c);
                return -ENOMEM;
        }
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->wake, NULL);
        r = -pthread_create(&c->thread, NULL, checkpointer_main, c);
        if (r < 0) {
                pthread_cond_destroy(&c->wake);
                pthread_mutex_destroy(&c->lock);
                free(c->path);
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void checkpointer_poke(Checkpointer *c, int n_frames) {
        if (n_frames < CHECKPOINT_FRAMES)
                return;
        pthread_mutex_lock(&c->lock);
        c->wanted = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
}

void checkpointer_stop(Checkpointer *c) {
        if (!c)
                return;
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        (void) pthread_join(c->thread, NULL);
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        free(c->path);
        free(c);
}
