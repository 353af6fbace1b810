/* The agents' workspaces (workspaces.h). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

#include "common/log.h"
#include "common/macro.h"
#include "engine/workspaces.h"
#include "sandbox/sandbox.h"
#include "store/store-workflows.h"

/* A removed workflow's workspaces, moved out of the way until they are gone. */
#define DELETED_PREFIX "deleted-"

/* Set once, before any worker runs; read only after that. */
static char *root;

int workspaces_init(const char *state_directory) {
        char *path;
        int r;

        if (!state_directory || state_directory[0] != '/')
                return -EINVAL;
        if (asprintf(&path, "%s/workspaces", state_directory) < 0)
                return -ENOMEM;
        free(root);
        root = path;

        r = sandbox_workspaces_revoke_all(root);
        if (r < 0)
                log_warning_errno(r, "Cannot take back the workspaces' grants in %s: %m", root);
        return 0;
}

const char *workspaces_root(void) {
        return root;
}

int workspaces_name(int64_t workflow_id, const char *node_id, char **ret) {
        char *name;

        if (workflow_id <= 0 || !node_id || strchr(node_id, '/'))
                return -EINVAL;
        if (asprintf(&name, "%" PRIi64 "/%s", workflow_id, node_id) < 0)
                return -ENOMEM;
        if (!sandbox_workspace_name_is_valid(name)) {
                free(name);
                return -EINVAL;
        }
        *ret = name;
        return 0;
}

static void *remove_thread(void *userdata) {
        _cleanup_free_ char *name = userdata;
        int r;

        r = sandbox_workspace_remove(root, name);
        if (r < 0)
                log_warning_errno(r, "Cannot remove all of %s/%s (a removed workflow's workspaces): %m", root, name);
        return NULL;
}

/* Removes root/name on a thread of its own (here when there can be none). */
static void remove_later(char *name) {
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        r = pthread_attr_init(&attr);
        if (r == 0) {
                (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                r = pthread_create(&thread, &attr, remove_thread, name);
                (void) pthread_attr_destroy(&attr);
        }
        if (r != 0)
                (void) remove_thread(name);
}

/* Moves root/<entry> out of the way, to be removed: one rename, so that nothing finds it
 * any more, however long removing takes. */
static int retire(const char *entry) {
        _cleanup_free_ char *old = NULL, *new = NULL, *name = NULL;
        sd_id128_t id;
        int r;

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        if (asprintf(&name, DELETED_PREFIX "%s-" SD_ID128_FORMAT_STR, entry, SD_ID128_FORMAT_VAL(id)) < 0 ||
            asprintf(&old, "%s/%s", root, entry) < 0 || asprintf(&new, "%s/%s", root, name) < 0)
                return -ENOMEM;
        if (rename(old, new) < 0)
                return errno == ENOENT ? 0 : -errno;
        remove_later(TAKE_PTR(name));
        return 1;
}

void workspaces_remove_workflow(int64_t workflow_id) {
        char entry[32];
        int r;

        if (!root)
                return;
        (void) snprintf(entry, sizeof(entry), "%" PRIi64, workflow_id);
        r = retire(entry);
        if (r < 0)
                log_warning_errno(r, "Cannot remove the workspaces of workflow %" PRIi64 " in %s: %m", workflow_id,
                                  root);
}

static bool is_workflow_id(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (!s[0] || s[0] == '0' || strspn(s, "0123456789") != strlen(s))
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end)
                return false;
        *ret = v;
        return true;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static void strv_free(char **l) {
        for (char **p = l; p && *p; p++)
                free(*p);
        free(l);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);

/* The entries of root, read before any is renamed. */
static int list_root(char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0;
        struct dirent *de;

        d = opendir(root);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while ((de = readdir(d))) {
                char **grown;

                if (de->d_name[0] == '.')
                        continue;
                grown = realloc(l, (n + 2) * sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                l = grown;
                l[n] = strdup(de->d_name);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int workspaces_sweep(Db *db) {
        _cleanup_(strv_freep) char **entries = NULL;
        int r;

        if (!root)
                return 0;
        r = list_root(&entries);
        if (r < 0 || !entries)
                return r;

        for (char **e = entries; *e; e++) {
                int64_t id, version;
                int k;

                if (strncmp(*e, DELETED_PREFIX, strlen(DELETED_PREFIX)) == 0) {
                        /* Left by a removal the daemon did not live to finish. */
                        char *name = strdup(*e);

                        if (!name)
                                return -ENOMEM;
                        remove_later(name);
                        continue;
                }
                if (!is_workflow_id(*e, &id))
                        continue;
                k = store_workflow_graph_version(db, id, &version);
                if (k == -ENOENT)
                        k = retire(*e);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}
