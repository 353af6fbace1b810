/* Running untrusted programs (the code node's snippets) in a sandbox.
 *
 * Three backends sit behind sandbox_run():
 *
 * - socket: we connect to the code socket (pipelit-code.socket, /run/pipelit/code.socket);
 *   systemd starts a fresh pipelit-code@.service instance for the connection, in which
 *   pipelit-code-runner runs the program and sends back its output and how it ended
 *   (code-protocol.h). The unit file is the sandbox, and the administrator's to tune with
 *   drop-ins: a dynamic user, no network (PrivateNetwork=, only AF_UNIX sockets), an empty
 *   root with the host's /usr read-only and nothing else of the host, no capabilities, no
 *   new privileges, a system call filter (@system-service), cgroup limits (MemoryMax=,
 *   TasksMax=, RuntimeMaxSec=) in pipelit.slice. We need no privilege: closing the
 *   connection kills the program.
 * - systemd: a transient service unit started over D-Bus (StartTransientUnit), named
 *   pipelit-code-<random>.service, with the same kind of confinement, our own pipes as its
 *   standard streams, bound to the daemon's own unit (BindsTo=). Only for root: for another
 *   user it needs a polkit grant, and StartTransientUnit lets its caller choose every
 *   property of the unit (User=root too), so such a grant would make that user root.
 * - bubblewrap: a read-only /usr, a private /proc, /dev and a small /tmp, every namespace
 *   unshared (so no network), all capabilities dropped, a cleared environment, resource
 *   limits, and a process group of its own that is killed whole. It needs unprivileged
 *   user namespaces, which pipelitd.service forbids (RestrictNamespaces=yes): under systemd
 *   the code socket is the way.
 *
 * Which one runs (the first rule that applies):
 *   1. options->backend, when not SANDBOX_BACKEND_AUTO;
 *   2. $PIPELIT_SANDBOX: "socket", "systemd", "bubblewrap" (or "bwrap"), "auto" or empty
 *      for the next rule; any other value makes sandbox_run() fail with -EINVAL;
 *   3. socket, when the code socket (options->socket_path, else $PIPELIT_CODE_SOCKET, else
 *      SANDBOX_CODE_SOCKET_DEFAULT) takes our connection, asked on every run;
 *   4. systemd, when the daemon runs as root in a service of the system manager
 *      (sd_booted() > 0, $INVOCATION_ID set, $MANAGERPID unset: that one marks a user
 *      manager's services) and systemd answers on the system bus (asked once per process);
 *   5. bubblewrap.
 * No backend falls back to another once chosen, nor to running unsandboxed: without the
 * chosen one (no bwrap binary, no reachable systemd, no code socket when asked for by name)
 * sandbox_run() fails and the caller must refuse.
 *
 * All backends behave alike: input written then closed, at most max_stdout bytes of output
 * (more kills the program), the timeout and should_stop() kill everything the program
 * started, and the same SandboxEnd for the same outcome. Where they differ: bubblewrap
 * reports a program killed by a signal as exited with 128 + the signal, and one that could
 * not be executed as exited with 1 (the others: SANDBOX_SIGNALED, SANDBOX_SETUP_FAILED);
 * with socket and systemd, /tmp is the unit's private /tmp, limited per file
 * (max_file_size) but not as a whole, and the unit's own limits (MemoryMax=, LimitAS=,
 * LimitFSIZE=, RuntimeMaxSec=) bound what the options ask for.
 *
 * Safe to call from any worker thread, several at a time. Blocks until the program ends. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/time-util.h"

typedef enum SandboxBackend {
        SANDBOX_BACKEND_AUTO,           /* see the rules above */
        SANDBOX_BACKEND_SOCKET,
        SANDBOX_BACKEND_SYSTEMD,
        SANDBOX_BACKEND_BUBBLEWRAP,
        _SANDBOX_BACKEND_MAX,
        _SANDBOX_BACKEND_INVALID = -EINVAL,
} SandboxBackend;

typedef struct SandboxOptions {
        /* The command inside the sandbox; argv[0] an absolute path (the sandbox sees the
         * host's /usr, with /bin, /lib and /lib64 pointing into it). */
        char *const *argv;
        /* Written to the program's standard input, which is then closed. */
        const char *input;
        size_t input_size;
        usec_t timeout_usec;            /* 0: none */
        size_t max_stdout;              /* more standard output kills the program; 0: 1 MiB */
        size_t max_stderr;              /* more standard error is dropped (and flagged); 0: 1 MiB */
        /* Bytes of virtual memory; 0: no limit. With systemd also the unit's MemoryMax=
         * (0: SANDBOX_MEMORY_MAX_DEFAULT). */
        uint64_t max_address_space;
        uint64_t max_file_size;         /* bytes, files the program writes and /tmp as a whole; 0: 64 MiB */
        /* Polled about every 50 ms; when it returns true the program is killed. */
        bool (*should_stop)(void *userdata);
        void *userdata;
        /* Which backend; SANDBOX_BACKEND_AUTO (0) follows the rules above. */
        SandboxBackend backend;
        /* The bwrap binary; NULL looks for it in $PATH. */
        const char *bwrap_path;
        /* The code socket; NULL: $PIPELIT_CODE_SOCKET, else SANDBOX_CODE_SOCKET_DEFAULT. */
        const char *socket_path;
        /* A workspace (see below) to work in: the folder workspace_root/workspace of the
         * host, the program's working directory and $HOME. NULL: none (/tmp, as ever). */
        const char *workspace_root;
        const char *workspace;
        /* Network access. Only bubblewrap and systemd can give it; with the code socket the
         * run fails to set up (SANDBOX_SETUP_FAILED, stderr says why). */
        bool allow_network;
} SandboxOptions;

/* Workspaces: folders kept across runs, where a program works and keeps its files; the
 * only place it may write to that outlives it. Each has a name of one or more components
 * ("12/agent_1": letters, digits, '_', '-' and inner '.') and lives in workspace_root (the
 * daemon's <StateDirectory>/workspaces) as
 *
 *   <root>/12/              0711: anyone may pass, no one else may list
 *   <root>/12/agent_1/      0700, the gate: only the daemon, and while a run of the code
 *                           socket uses it, that run's user (an ACL entry, for the run)
 *   <root>/12/agent_1/home  the folder itself, 0770; with the group pipelit-workspace, an
 *                           ACL gives that group and the daemon every file made in there
 *
 * and the program sees it as SANDBOX_WORKSPACES_DIR/12/agent_1/home with every backend.
 * bubblewrap runs the program as the daemon's user and binds only the folder. A transient
 * unit binds only the folder too, but runs a dynamic user, a new one for every run: it
 * joins the group pipelit-workspace, whose ACL entries let it use what earlier runs left.
 * The code socket's units bind the whole root (pipelit-code@.service: BindPaths=, with the
 * group as SupplementaryGroups=); a run's instance tells us its user, and is let through
 * the gate of its own workspace alone, until the run ends. */
#define SANDBOX_WORKSPACES_DIR "/run/workspaces"
#define SANDBOX_WORKSPACE_GROUP "pipelit-workspace"

/* Where pipelit-code.socket listens. */
#define SANDBOX_CODE_SOCKET_DEFAULT "/run/pipelit/code.socket"

/* The systemd backend's limits where the options give none. */
#define SANDBOX_MEMORY_MAX_DEFAULT (UINT64_C(1) << 30)
#define SANDBOX_TASKS_MAX 64

typedef enum SandboxEnd {
        SANDBOX_EXITED,                 /* exit_status holds its exit code */
        SANDBOX_SIGNALED,               /* exit_status holds the signal that killed it */
        SANDBOX_TIMED_OUT,              /* killed after timeout_usec */
        SANDBOX_STOPPED,                /* killed because should_stop() said so */
        SANDBOX_OUTPUT_LIMIT,           /* killed for writing more than max_stdout */
        SANDBOX_SETUP_FAILED,           /* the sandbox could not be set up; stderr says why */
        _SANDBOX_END_MAX,
} SandboxEnd;

typedef struct SandboxResult {
        SandboxEnd end;
        int exit_status;
        char *stdout_data;              /* NUL-terminated; may contain NULs */
        size_t stdout_size;
        char *stderr_data;              /* NUL-terminated; may contain NULs */
        size_t stderr_size;
        bool stderr_truncated;
        usec_t duration_usec;
} SandboxResult;

/* The bwrap binary this host would use, found in $PATH (or systemd's default path when
 * $PATH is unset), malloc'ed; -ENOENT when there is none. */
int sandbox_find_bwrap(char **ret_path);

/* Runs options->argv in the sandbox and waits for it. Returns 0 with *ret filled (also when
 * the program failed, timed out or was stopped, or systemd refused or failed to start the
 * unit, or the code socket's unit ended without an answer: see ret->end), -ENOENT when the
 * chosen backend is not there (no bwrap; no system bus; nothing listening on the code
 * socket), -EINVAL on bad options or a bad $PIPELIT_SANDBOX, or another negative errno when
 * the program could not be started. */
int sandbox_run(const SandboxOptions *options, SandboxResult *ret);

/* The backend sandbox_run() would use for these options (never SANDBOX_BACKEND_AUTO), by the
 * rules above (connecting to the code socket to see whether it answers); -EINVAL for a bad
 * $PIPELIT_SANDBOX. */
int sandbox_pick_backend(const SandboxOptions *options, SandboxBackend *ret);

const char *sandbox_backend_to_string(SandboxBackend backend);
/* "auto", "socket", "systemd", "bubblewrap" or "bwrap"; _SANDBOX_BACKEND_INVALID otherwise. */
SandboxBackend sandbox_backend_from_string(const char *s);

void sandbox_result_done(SandboxResult *result);

/* Whether name can name a workspace (see above). */
bool sandbox_workspace_name_is_valid(const char *name);
/* Removes the workspace name below root and all in it, as far as we may (what a sandboxed
 * program made its own and closed to the group stays); a name of a workspace's first
 * components removes all the workspaces below it. 0 when there is none. */
int sandbox_workspace_remove(const char *root, const char *name);
/* Takes back every gate's grants below root: at start, when no run can hold one (a crash
 * may have left them). */
int sandbox_workspaces_revoke_all(const char *root);

const char *sandbox_end_to_string(SandboxEnd end);
