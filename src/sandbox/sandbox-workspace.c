/* Workspaces (sandbox.h): making them, letting a run of the code socket through a gate,
 * taking the grants back, removing them.
 *
 * The gates and the group's share are POSIX ACLs, written as the kernel's extended
 * attributes (system.posix_acl_access, system.posix_acl_default): a header with the
 * version, then entries of tag, permissions and id, sorted by tag and then id. */

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/macro.h"
#include "sandbox/code-protocol.h"
#include "sandbox/sandbox-internal.h"

#define ACL_XATTR_ACCESS "system.posix_acl_access"
#define ACL_XATTR_DEFAULT "system.posix_acl_default"
#define ACL_XATTR_VERSION UINT32_C(2)

#define ACL_READ 4
#define ACL_WRITE 2
#define ACL_EXECUTE 1
#define ACL_RWX (ACL_READ | ACL_WRITE | ACL_EXECUTE)

/* How deep removing a workspace goes; what a program nested deeper stays. */
#define REMOVE_DEPTH_MAX 256

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* One lock for every gate: granting is read, change, write. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- ACLs ----------------------------------------------------------------------------------- */

static bool acl_tag_is_valid(uint16_t tag) {
        switch (tag) {
        case SANDBOX_ACL_USER_OBJ:
        case SANDBOX_ACL_USER:
        case SANDBOX_ACL_GROUP_OBJ:
        case SANDBOX_ACL_GROUP:
        case SANDBOX_ACL_MASK:
        case SANDBOX_ACL_OTHER:
                return true;
        default:
                return false;
        }
}

int sandbox_acl_parse(const void *data, size_t size, SandboxAcl *ret) {
        const uint8_t *p = data;
        uint32_t version;

        if (size < 4 || (size - 4) % 8 != 0 || (size - 4) / 8 > SANDBOX_ACL_ENTRIES_MAX)
                return -EBADMSG;
        memcpy(&version, p, 4);
        if (le32toh(version) != ACL_XATTR_VERSION)
                return -EBADMSG;

        *ret = (SandboxAcl) {};
        for (size_t off = 4; off < size; off += 8) {
                uint16_t tag, perm;
                uint32_t id;

                memcpy(&tag, p + off, 2);
                memcpy(&perm, p + off + 2, 2);
                memcpy(&id, p + off + 4, 4);
                tag = le16toh(tag);
                if (!acl_tag_is_valid(tag))
                        return -EBADMSG;
                ret->entries[ret->n++] = (SandboxAclEntry) {
                        .tag = tag,
                        .perm = le16toh(perm) & ACL_RWX,
                        .id = le32toh(id),
                };
        }
        return 0;
}

size_t sandbox_acl_format(const SandboxAcl *acl, uint8_t *buf) {
        uint32_t version = htole32(ACL_XATTR_VERSION);

        memcpy(buf, &version, 4);
        for (size_t i = 0; i < acl->n; i++) {
                uint16_t tag = htole16(acl->entries[i].tag), perm = htole16(acl->entries[i].perm);
                /* The owner, owning group, mask and others carry no id. */
                bool named = acl->entries[i].tag == SANDBOX_ACL_USER || acl->entries[i].tag == SANDBOX_ACL_GROUP;
                uint32_t id = htole32(named ? acl->entries[i].id : UINT32_MAX);

                memcpy(buf + 4 + 8 * i, &tag, 2);
                memcpy(buf + 4 + 8 * i + 2, &perm, 2);
                memcpy(buf + 4 + 8 * i + 4, &id, 4);
        }
        return 4 + 8 * acl->n;
}

void sandbox_acl_from_mode(mode_t mode, SandboxAcl *ret) {
        *ret = (SandboxAcl) {
                .entries = {
                        { SANDBOX_ACL_USER_OBJ, (mode >> 6) & ACL_RWX, UINT32_MAX },
                        { SANDBOX_ACL_GROUP_OBJ, (mode >> 3) & ACL_RWX, UINT32_MAX },
                        { SANDBOX_ACL_OTHER, mode & ACL_RWX, UINT32_MAX },
                },
                .n = 3,
        };
}

static int acl_entry_compare(const void *a, const void *b) {
        const SandboxAclEntry *x = a, *y = b;

        if (x->tag != y->tag)
                return x->tag < y->tag ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorted as the kernel wants them, with a mask exactly when there are named entries: the
 * union of what the group class grants. With an ACL that has a mask, the mask is what
 * stands for the group's permissions in the file's mode. */
static void acl_normalize(SandboxAcl *acl) {
        uint16_t mask = 0;
        bool named = false;
        size_t j = 0;

        for (size_t i = 0; i < acl->n; i++) {
                SandboxAclEntry *e = &acl->entries[i];

                if (e->tag == SANDBOX_ACL_MASK)
                        continue;
                if (e->tag == SANDBOX_ACL_USER || e->tag == SANDBOX_ACL_GROUP)
                        named = true;
                if (e->tag == SANDBOX_ACL_USER || e->tag == SANDBOX_ACL_GROUP || e->tag == SANDBOX_ACL_GROUP_OBJ)
                        mask |= e->perm;
                acl->entries[j++] = *e;
        }
        acl->n = j;
        if (named)
                acl->entries[acl->n++] = (SandboxAclEntry) { SANDBOX_ACL_MASK, mask, UINT32_MAX };
        qsort(acl->entries, acl->n, sizeof(SandboxAclEntry), acl_entry_compare);
}

int sandbox_acl_set(SandboxAcl *acl, uint16_t tag, uint32_t id, uint16_t perm) {
        bool named = tag == SANDBOX_ACL_USER || tag == SANDBOX_ACL_GROUP;

        if (!acl_tag_is_valid(tag) || tag == SANDBOX_ACL_MASK)
                return -EINVAL;
        if (!named)
                id = UINT32_MAX;
        for (size_t i = 0; i < acl->n; i++)
                if (acl->entries[i].tag == tag && acl->entries[i].id == id) {
                        acl->entries[i].perm = perm & ACL_RWX;
                        acl_normalize(acl);
                        return 0;
                }
        /* Room for the mask too. */
        if (acl->n + 2 > SANDBOX_ACL_ENTRIES_MAX)
                return -E2BIG;
        acl->entries[acl->n++] = (SandboxAclEntry) { tag, perm & ACL_RWX, id };
        acl_normalize(acl);
        return 0;
}

void sandbox_acl_remove_named(SandboxAcl *acl, uint16_t tag, uint32_t id, bool all) {
        size_t j = 0;

        for (size_t i = 0; i < acl->n; i++)
                if (!(acl->entries[i].tag == tag && (all || acl->entries[i].id == id)))
                        acl->entries[j++] = acl->entries[i];
        acl->n = j;
        acl_normalize(acl);
}

static int acl_read(int fd, const char *name, SandboxAcl *ret) {
        uint8_t buf[4 + 8 * SANDBOX_ACL_ENTRIES_MAX];
        struct stat st;
        ssize_t n;

        n = fgetxattr(fd, name, buf, sizeof(buf));
        if (n >= 0)
                return sandbox_acl_parse(buf, (size_t) n, ret);
        if (errno != ENODATA)
                return -errno;
        /* No ACL: the mode is all there is. */
        if (fstat(fd, &st) < 0)
                return -errno;
        sandbox_acl_from_mode(st.st_mode, ret);
        return 0;
}

static int acl_write(int fd, const char *name, const SandboxAcl *acl) {
        uint8_t buf[4 + 8 * SANDBOX_ACL_ENTRIES_MAX];
        size_t n = sandbox_acl_format(acl, buf);

        return fsetxattr(fd, name, buf, n, 0) < 0 ? -errno : 0;
}

bool sandbox_workspace_name_is_valid(const char *name) {
        return code_workspace_name_is_valid(name);
}

/* --- making a workspace ----------------------------------------------------------------- */

int sandbox_workspace_group(gid_t *ret) {
        struct group g, *found = NULL;
        char buf[4096];
        int r;

        r = getgrnam_r(SANDBOX_WORKSPACE_GROUP, &g, buf, sizeof(buf), &found);
        if (r != 0)
                return -r;
        if (!found)
                return -ESRCH;
        *ret = found->gr_gid;
        return 0;
}

/* A directory below dirfd with exactly this mode (when we made it now): its fd. */
static int make_dir_at(int dirfd, const char *name, mode_t mode) {
        int fd;

        if (mkdirat(dirfd, name, mode) == 0) {
                /* Past the daemon's umask. */
                if (fchmodat(dirfd, name, mode, 0) < 0)
                        return -errno;
        } else if (errno != EEXIST)
                return -errno;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* The folder's ACLs: the group shares it, and whatever is made in there is the group's and
 * the daemon's too (a later run is another dynamic user; the daemon removes it all). */
static int share_home(int fd, gid_t group) {
        SandboxAcl access, inherited;
        int r;

        sandbox_acl_from_mode(0770, &access);
        r = sandbox_acl_set(&access, SANDBOX_ACL_GROUP, group, ACL_RWX);
        if (r < 0)
                return r;
        sandbox_acl_from_mode(0700, &inherited);
        r = sandbox_acl_set(&inherited, SANDBOX_ACL_USER, geteuid(), ACL_RWX);
        if (r < 0)
                return r;
        r = sandbox_acl_set(&inherited, SANDBOX_ACL_GROUP, group, ACL_RWX);
        if (r < 0)
                return r;
        r = acl_write(fd, ACL_XATTR_ACCESS, &access);
        if (r < 0)
                return r;
        return acl_write(fd, ACL_XATTR_DEFAULT, &inherited);
}

int sandbox_workspace_prepare(const SandboxOptions *o, bool shared, SandboxBuffer *err, char **ret_home,
                              char **ret_inside) {
        _cleanup_free_ char *name = NULL, *home = NULL, *inside = NULL;
        _cleanup_close_ int fd = -1;
        gid_t group = 0;
        bool have_group;
        char *component, *save = NULL;
        int r;

        if (isempty(o->workspace_root) || o->workspace_root[0] != '/' || !code_workspace_name_is_valid(o->workspace))
                return -EINVAL;

        have_group = sandbox_workspace_group(&group) >= 0;
        if (shared && !have_group) {
                (void) sandbox_buffer_note(err, "pipelit: the group %s does not exist; this sandbox needs it for "
                                           "workspaces (systemd-sysusers creates it from pipelit's sysusers.d file)\n",
                                           SANDBOX_WORKSPACE_GROUP);
                return -ESRCH;
        }

        if (mkdir(o->workspace_root, 0711) == 0)
                (void) chmod(o->workspace_root, 0711);
        else if (errno != EEXIST)
                goto fail;
        fd = open(o->workspace_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                goto fail;

        name = strdup(o->workspace);
        if (!name)
                return -ENOMEM;
        /* Anyone may pass on the way, the last component is the gate. */
        for (component = strtok_r(name, "/", &save); component; ) {
                char *next = strtok_r(NULL, "/", &save);
                int child = make_dir_at(fd, component, next ? 0711 : 0700);

                if (child < 0) {
                        errno = -child;
                        goto fail;
                }
                close(fd);
                fd = child;
                component = next;
        }
        r = make_dir_at(fd, "home", 0770);
        if (r < 0) {
                errno = -r;
                goto fail;
        }
        close(fd);
        fd = r;

        if (have_group) {
                r = share_home(fd, group);
                if (r < 0 && shared) {
                        (void) sandbox_buffer_note(err, "pipelit: cannot share the workspace %s/%s with the group %s "
                                                   "(%s): the file system must support POSIX ACLs\n",
                                                   o->workspace_root, o->workspace, SANDBOX_WORKSPACE_GROUP,
                                                   strerror(-r));
                        return r;
                }
        }

        if (asprintf(&home, "%s/%s/home", o->workspace_root, o->workspace) < 0 ||
            asprintf(&inside, "%s/%s/home", SANDBOX_WORKSPACES_DIR, o->workspace) < 0)
                return -ENOMEM;
        *ret_home = TAKE_PTR(home);
        *ret_inside = TAKE_PTR(inside);
        return 0;

fail:
        r = -errno;
        (void) sandbox_buffer_note(err, "pipelit: cannot make the workspace %s/%s: %s\n", o->workspace_root,
                                   o->workspace, strerror(errno));
        return r;
}

/* --- the gates ------------------------------------------------------------------------------ */

static int gate_open(const char *root, const char *name) {
        _cleanup_free_ char *path = NULL;
        int fd;

        if (!code_workspace_name_is_valid(name))
                return -EINVAL;
        if (asprintf(&path, "%s/%s", root, name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int gate_change(const char *root, const char *name, uid_t uid, bool grant) {
        _cleanup_close_ int fd = -1;
        SandboxAcl acl;
        int r;

        fd = gate_open(root, name);
        if (fd < 0)
                return fd;

        pthread_mutex_lock(&gate_lock);
        r = acl_read(fd, ACL_XATTR_ACCESS, &acl);
        if (r >= 0) {
                /* Passing is all the run needs here. */
                if (grant)
                        r = sandbox_acl_set(&acl, SANDBOX_ACL_USER, uid, ACL_EXECUTE);
                else
                        sandbox_acl_remove_named(&acl, SANDBOX_ACL_USER, uid, false);
        }
        if (r >= 0)
                r = acl_write(fd, ACL_XATTR_ACCESS, &acl);
        pthread_mutex_unlock(&gate_lock);
        return r;
}

int sandbox_workspace_grant(const char *root, const char *name, uid_t uid) {
        /* Never the daemon's own user, nor root: only a run's. */
        if (uid == 0 || uid == geteuid())
                return -EPERM;
        return gate_change(root, name, uid, true);
}

int sandbox_workspace_revoke(const char *root, const char *name, uid_t uid) {
        return gate_change(root, name, uid, false);
}

/* Takes every user's entry off the gates below parent (not into the folders themselves). */
static int revoke_below(int parent, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = 0, fd;

        if (depth > CODE_WORKSPACE_NAME_MAX / 2)
                return -ELOOP;
        fd = dup(parent);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_close_ int child = -1;
                SandboxAcl acl;
                int k;

                if (de->d_name[0] == '.' || streq(de->d_name, "home"))
                        continue;
                child = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (child < 0)
                        continue;
                k = acl_read(child, ACL_XATTR_ACCESS, &acl);
                if (k >= 0) {
                        size_t before = acl.n;

                        sandbox_acl_remove_named(&acl, SANDBOX_ACL_USER, 0, true);
                        if (acl.n != before)
                                k = acl_write(child, ACL_XATTR_ACCESS, &acl);
                }
                if (k < 0 && k != -EOPNOTSUPP && r == 0)
                        r = k;
                k = revoke_below(child, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

int sandbox_workspaces_revoke_all(const char *root) {
        _cleanup_close_ int fd = -1;
        int r;

        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        pthread_mutex_lock(&gate_lock);
        r = revoke_below(fd, 0);
        pthread_mutex_unlock(&gate_lock);
        return r;
}

/* --- removing ------------------------------------------------------------------------------- */

/* Removes name below parent and everything in it, without following symbolic links; goes on
 * past what it may not remove, and returns the first error. */
static int remove_tree_at(int parent, const char *name, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        struct stat st;
        int fd, r = 0;

        if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return -errno;
        if (depth >= REMOVE_DEPTH_MAX)
                return -ELOOP;

        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        /* Ours but closed to us (a program's chmod with bubblewrap, which runs as us). */
        if (fd < 0 && errno == EACCES && fchmodat(parent, name, 0700, 0) == 0)
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 0700) != 0700)
                (void) fchmod(fd, 0700);
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                int k;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                k = remove_tree_at(dirfd(d), de->d_name, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int sandbox_workspace_remove(const char *root, const char *name) {
        _cleanup_close_ int fd = -1;

        if (!code_workspace_name_is_valid(name))
                return -EINVAL;
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return remove_tree_at(fd, name, 0);
}
