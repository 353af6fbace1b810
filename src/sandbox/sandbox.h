/* Running untrusted programs (the code node's snippets) in a sandbox.
 *
 * Today the sandbox is bubblewrap: a read-only /usr, a private /proc, /dev and a small
 * /tmp, every namespace unshared (so no network), all capabilities dropped, a cleared
 * environment, resource limits, and a process group of its own that is killed whole on a
 * timeout or when the caller asks to stop. Without bwrap nothing runs: the caller gets
 * -ENOENT and must refuse, never fall back to running unsandboxed.
 *
 * A systemd transient unit with strict sandboxing properties (when the daemon runs under
 * systemd) is a second backend still to come, behind this same interface.
 *
 * Safe to call from any worker thread, several at a time. Blocks until the program ends. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/time-util.h"

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
        uint64_t max_address_space;     /* bytes of virtual memory; 0: no limit */
        uint64_t max_file_size;         /* bytes, files the program writes and /tmp as a whole; 0: 64 MiB */
        /* Polled about every 50 ms; when it returns true the program is killed. */
        bool (*should_stop)(void *userdata);
        void *userdata;
        /* The bwrap binary; NULL looks for it in $PATH. */
        const char *bwrap_path;
} SandboxOptions;

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
 * the program failed, timed out or was stopped: see ret->end), -ENOENT when bwrap is not
 * installed, -EINVAL on bad options, or another negative errno when the process could not
 * be started. */
int sandbox_run(const SandboxOptions *options, SandboxResult *ret);

void sandbox_result_done(SandboxResult *result);

const char *sandbox_end_to_string(SandboxEnd end);
