/* What the sandbox backends share: the program's standard streams, the result, and the
 * pure parts of choosing a backend and describing a systemd unit (unit tests use them). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/macro.h"
#include "sandbox/sandbox.h"

#define SANDBOX_POLL_MSEC 50
#define SANDBOX_FILE_SIZE_DEFAULT (UINT64_C(64) * 1024 * 1024)
#define SANDBOX_OUTPUT_DEFAULT ((size_t) 1024 * 1024)

/* --- the program's standard input, output and error ------------------------------------ */

typedef struct SandboxBuffer {
        char *data;
        size_t size, allocated;
        size_t max;
        bool overflowed;
} SandboxBuffer;

int sandbox_buffer_append(SandboxBuffer *b, const char *p, size_t n);
/* Appends a message of ours, past the buffer's limit too: it explains how the run ended. */
int sandbox_buffer_note(SandboxBuffer *b, const char *format, ...) _printf_(2, 3);
/* Reads what *fd has now (non-blocking). Closes it (*fd = -1) at end of file. */
int sandbox_buffer_drain(SandboxBuffer *b, int *fd);

typedef struct SandboxStreams {
        int in_fd, out_fd, err_fd;      /* our ends, non-blocking; -1 once closed */
        size_t input_written;
        SandboxBuffer out, err;
} SandboxStreams;

#define SANDBOX_STREAMS_INIT { .in_fd = -1, .out_fd = -1, .err_fd = -1 }

/* Creates the three channels. ret_child gets the program's ends (input, output, error),
 * which the caller hands over and closes. Input is a socket, so that writing to a program
 * that stopped reading gives EPIPE (MSG_NOSIGNAL), never SIGPIPE in the daemon. */
int sandbox_streams_open(SandboxStreams *s, const SandboxOptions *o, int ret_child[3]);
/* Writes what input the program takes now; closes our end when all is written or the
 * program stopped reading. */
void sandbox_streams_feed(SandboxStreams *s, const SandboxOptions *o);
/* Reads what output and error the program wrote so far. */
int sandbox_streams_collect(SandboxStreams *s);
void sandbox_streams_done(SandboxStreams *s);

/* Fills *ret from the streams (taking their buffers) and how it ended. */
int sandbox_result_fill(SandboxResult *ret, SandboxStreams *s, SandboxEnd end, int exit_status, usec_t start);

/* --- choosing a backend ------------------------------------------------------------------ */

typedef struct SandboxHost {
        int booted;                     /* sd_booted() */
        bool root;                      /* geteuid() == 0 */
        const char *invocation_id;      /* $INVOCATION_ID: we are a unit's process */
        const char *manager_pid;        /* $MANAGERPID: set for a user manager's services */
        const char *forced;             /* $PIPELIT_SANDBOX */
} SandboxHost;

/* What the rules ask of the system, only when they get that far. */
typedef struct SandboxProbes {
        bool (*code_socket)(void *userdata);    /* the code socket takes a connection */
        bool (*systemd)(void *userdata);        /* systemd answers on the system bus */
        void *userdata;
} SandboxProbes;

/* The rules of sandbox.h without looking at the system. */
int sandbox_backend_select(SandboxBackend requested, const SandboxHost *host, const SandboxProbes *probes,
                           SandboxBackend *ret);

/* --- workspaces (sandbox-workspace.c) --------------------------------------------------- */

/* The group that shares the workspaces with the sandboxes' dynamic users: -ESRCH when the
 * system has none. */
int sandbox_workspace_group(gid_t *ret);
/* Makes o's workspace (what exists already stays): ret_home gets the folder on the host,
 * ret_inside where the program sees it. shared: a user other than ours will work in it
 * (the code socket, a transient unit), which needs the group and ACLs. On failure a note
 * in err says why. */
int sandbox_workspace_prepare(const SandboxOptions *o, bool shared, SandboxBuffer *err, char **ret_home,
                              char **ret_inside);
/* Lets uid through the gate of the workspace name below root, or takes that back. */
int sandbox_workspace_grant(const char *root, const char *name, uid_t uid);
int sandbox_workspace_revoke(const char *root, const char *name, uid_t uid);

/* POSIX ACLs as the kernel stores them in extended attributes. */
enum {
        SANDBOX_ACL_USER_OBJ = 0x01,
        SANDBOX_ACL_USER = 0x02,
        SANDBOX_ACL_GROUP_OBJ = 0x04,
        SANDBOX_ACL_GROUP = 0x08,
        SANDBOX_ACL_MASK = 0x10,
        SANDBOX_ACL_OTHER = 0x20,
};
/* A gate holds an entry per run of the code socket (MaxConnections=64) and four more. */
#define SANDBOX_ACL_ENTRIES_MAX 128

typedef struct SandboxAclEntry {
        uint16_t tag;
        uint16_t perm;                  /* 4 read, 2 write, 1 execute */
        uint32_t id;                    /* named entries only; else UINT32_MAX */
} SandboxAclEntry;

typedef struct SandboxAcl {
        SandboxAclEntry entries[SANDBOX_ACL_ENTRIES_MAX];
        size_t n;
} SandboxAcl;

/* -EBADMSG for what is not an ACL of ours to change. */
int sandbox_acl_parse(const void *data, size_t size, SandboxAcl *ret);
/* Writes the attribute's bytes (4 + 8 per entry) to buf; returns how many. */
size_t sandbox_acl_format(const SandboxAcl *acl, uint8_t *buf);
/* The ACL that says what mode's permission bits say. */
void sandbox_acl_from_mode(mode_t mode, SandboxAcl *ret);
/* Adds or changes an entry (never the mask, which follows the group class): sorted, with
 * the mask kept right. -E2BIG when full. */
int sandbox_acl_set(SandboxAcl *acl, uint16_t tag, uint32_t id, uint16_t perm);
/* Removes the named entry of tag for id, or all of tag's. */
void sandbox_acl_remove_named(SandboxAcl *acl, uint16_t tag, uint32_t id, bool all);

/* --- the code socket backend --------------------------------------------------------------- */

/* options->socket_path, else $PIPELIT_CODE_SOCKET, else SANDBOX_CODE_SOCKET_DEFAULT. */
const char *sandbox_code_socket_path(const SandboxOptions *o);
/* A connection to the code socket (close-on-exec, non-blocking); -ENOENT when there is no
 * socket or nobody listens on it. */
int sandbox_code_socket_connect(const char *path, int *ret_fd);
/* Runs the program over a connection to the code socket: fd (which it takes over), or a
 * new one when fd is -1. */
int sandbox_run_socket(const SandboxOptions *o, int fd, SandboxResult *ret);

/* --- the systemd backend ------------------------------------------------------------------- */

/* A fresh "pipelit-code-<32 hex digits>.service", malloc'ed. */
int sandbox_unit_name_new(char **ret);

/* The names below root ("/" for real) that a unit hides behind an empty read-only tmpfs:
 * every directory but usr, the /bin, /lib… links into it, proc, dev, sys and tmp.
 * NULL-terminated, malloc'ed. */
int sandbox_unit_hidden_dirs(const char *root, char ***ret);
void sandbox_strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, sandbox_strv_free);

/* The numbers the unit gets from the options. */
typedef struct SandboxUnitLimits {
        uint64_t memory_max;            /* MemoryMax=, also LimitAS= when the options set one */
        uint64_t limit_as;              /* 0: none */
        uint64_t limit_fsize;
        uint64_t tasks_max;
        uint64_t runtime_max_usec;      /* UINT64_MAX: none */
} SandboxUnitLimits;

void sandbox_unit_limits(const SandboxOptions *o, SandboxUnitLimits *ret);

/* Whether systemd answers on the system bus. */
bool sandbox_systemd_reachable(void);

int sandbox_run_systemd(const SandboxOptions *o, SandboxResult *ret);
int sandbox_run_bwrap(const SandboxOptions *o, SandboxResult *ret);
