/* The protocol on the code socket, between pipelitd (sandbox-socket.c) and
 * pipelit-code-runner (code-runner.c), which systemd starts for each connection in a fresh
 * pipelit-code@.service instance.
 *
 * pipelitd sends one request: a CodeRequestHeader, then argv_size bytes holding argc
 * NUL-terminated arguments, then workspace_size bytes naming the workspace to work in (see
 * sandbox.h; NUL-terminated, none when 0), then input_size bytes of standard input for the
 * program. With a workspace, the runner first sends a CODE_FRAME_HELLO with its user, and
 * waits for one byte, CODE_WORKSPACE_GRANTED, which pipelitd sends (before the input) once
 * it let that user through the workspace's gate; then it runs the program in there. The
 * runner answers with frames, a CodeFrameHeader followed by its payload: CODE_FRAME_STDOUT
 * and CODE_FRAME_STDERR carry output as the program writes it (at most
 * CODE_FRAME_DATA_MAX bytes each), and one CODE_FRAME_END (a CodeEndPayload) says how the
 * program ended; then the runner exits. pipelitd closing the connection at any point kills
 * the program: that is how it cancels.
 *
 * Integers in the machine's byte order: both ends are the same build on the same machine.
 * The magic number carries the version; a runner that does not know it closes the
 * connection without an answer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CODE_PROTOCOL_MAGIC UINT32_C(0x32434c50)        /* "PLC2" */

/* The runner refuses larger requests; pipelitd never sends them. */
#define CODE_ARGC_MAX 4096
#define CODE_ARGV_SIZE_MAX ((uint64_t) 4 * 1024 * 1024)
#define CODE_FRAME_DATA_MAX 65536

typedef struct CodeRequestHeader {
        uint32_t magic;
        uint32_t argc;
        uint64_t timeout_usec;          /* 0: none */
        uint64_t max_stdout;            /* more kills the program */
        uint64_t max_stderr;            /* more is dropped */
        uint64_t max_address_space;     /* RLIMIT_AS; 0: the runner's own */
        uint64_t max_file_size;         /* RLIMIT_FSIZE; 0: the runner's own */
        uint64_t argv_size;
        uint64_t input_size;
        uint32_t workspace_size;        /* 0: no workspace */
        uint32_t reserved;
} CodeRequestHeader;

/* Where the runner finds the workspaces (pipelit-code@.service binds them there). */
#define CODE_WORKSPACES_DIR "/run/workspaces"
#define CODE_WORKSPACE_NAME_MAX 255
#define CODE_WORKSPACE_GRANTED '\x01'

typedef struct CodeHelloPayload {
        uint32_t uid;                   /* the runner's user, to let through the gate */
        uint32_t reserved;
} CodeHelloPayload;

typedef enum CodeFrameType {
        CODE_FRAME_STDOUT = 1,
        CODE_FRAME_STDERR = 2,
        CODE_FRAME_END = 3,
        CODE_FRAME_HELLO = 4,
} CodeFrameType;

typedef struct CodeFrameHeader {
        uint32_t type;                  /* CodeFrameType */
        uint32_t size;                  /* of the payload that follows */
} CodeFrameHeader;

typedef enum CodeEnd {
        CODE_END_EXITED,                /* status: its exit code */
        CODE_END_SIGNALED,              /* status: the signal that killed it */
        CODE_END_TIMED_OUT,             /* killed after timeout_usec */
        CODE_END_OUTPUT_LIMIT,          /* killed for writing more than max_stdout */
        CODE_END_SETUP_FAILED,          /* it could not be started; standard error says why */
        _CODE_END_MAX,
} CodeEnd;

#define CODE_END_STDERR_TRUNCATED UINT32_C(1)

typedef struct CodeEndPayload {
        uint32_t end;                   /* CodeEnd */
        int32_t status;
        uint32_t flags;                 /* CODE_END_STDERR_TRUNCATED */
        uint32_t reserved;
} CodeEndPayload;

/* The request for these arguments and limits, without the input (which follows it on the
 * connection as it is): header and arguments in one malloc'ed block. -EINVAL for arguments
 * the protocol cannot carry (none, too many, too long). */
int code_request_build(const CodeRequestHeader *limits, char *const *argv, const char *workspace,
                       uint64_t input_size, char **ret, size_t *ret_size);

/* Whether name can name a workspace: one or more components of letters, digits, '_', '-'
 * and '.' (not first), separated by single '/', at most CODE_WORKSPACE_NAME_MAX bytes. */
bool code_workspace_name_is_valid(const char *name);

/* Checks a received header: -EPROTO for a wrong magic number, -E2BIG past the limits above. */
int code_request_check(const CodeRequestHeader *h);

/* The arguments of a request (argv_size bytes of data), as a NULL-terminated malloc'ed
 * array whose strings point into data. -EPROTO when they are not argc NUL-terminated
 * strings with an absolute path first. */
int code_request_split_argv(const char *data, size_t size, uint32_t argc, char ***ret);

/* Checks a received frame header: -EPROTO for an unknown type or a wrong size. */
int code_frame_check(const CodeFrameHeader *h);
