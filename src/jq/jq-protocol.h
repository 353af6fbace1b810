/* The socket protocol between pipelitd and its jq evaluator processes (pipelit-jq).
 *
 * A request: a JqRequestHeader, then the program and the input (JSON text). An answer: a
 * JqAnswerHeader, then its text — the results as a JSON array for JQ_OK, else a message.
 * Each is sent with one write, so the other end wakes once per message and finds all of it
 * there. Integers in the machine's byte order: both ends are the same build on the same
 * machine. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef enum JqStatus {
        JQ_OK,
        JQ_COMPILE_ERROR,       /* the program does not compile */
        JQ_RUNTIME_ERROR,       /* it failed while running (error/1, halt_error, …) */
        JQ_OUTPUT_LIMIT,        /* its results grew past the limit */
        JQ_BAD_INPUT,           /* the input is not JSON jq can read */
        _JQ_STATUS_MAX,
} JqStatus;

typedef struct JqRequestHeader {
        uint64_t program_len;
        uint64_t input_len;
        uint64_t output_limit;  /* bytes of results */
} JqRequestHeader;

typedef struct JqAnswerHeader {
        uint64_t status;        /* JqStatus */
        uint64_t text_len;
} JqAnswerHeader;

/* Reads messages from fd in as few read() calls as it can: each takes whatever has
 * arrived, up to the buffer's size, so a small message is usually one call. */
typedef struct JqReader {
        int fd;
        size_t start, end;      /* of what buf holds that was not taken yet */
        char buf[16384];
} JqReader;

/* Reads exactly n bytes, retrying on EINTR and short reads. -EPIPE when the other end
 * closed first. */
int jq_read_full(JqReader *reader, void *buf, size_t n);
/* Reads len bytes into a new NUL-terminated buffer. */
int jq_read_text(JqReader *reader, size_t len, char **ret);
/* Sends the n buffers of iov in order, continuing after short writes; never raises SIGPIPE
 * (-EPIPE instead). Changes iov. */
int jq_send_all(int fd, struct iovec *iov, size_t n);
