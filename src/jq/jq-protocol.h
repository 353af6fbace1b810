/* The pipe protocol between pipelitd and its jq evaluator processes (pipelit-jq).
 *
 * A request: u64 program length, the program, u64 input length, the input (JSON text),
 * u64 output limit in bytes. An answer: u8 JqStatus, u64 length, text — the results as a
 * JSON array for JQ_OK, else a message. Integers in the machine's byte order: both ends
 * are the same build on the same machine. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum JqStatus {
        JQ_OK,
        JQ_COMPILE_ERROR,       /* the program does not compile */
        JQ_RUNTIME_ERROR,       /* it failed while running (error/1, halt_error, …) */
        JQ_OUTPUT_LIMIT,        /* its results grew past the limit */
        JQ_BAD_INPUT,           /* the input is not JSON jq can read */
        _JQ_STATUS_MAX,
} JqStatus;

/* Reads or writes exactly n bytes, retrying on EINTR and short transfers. -EPIPE when the
 * other end closed first. */
int jq_read_full(int fd, void *buf, size_t n);
int jq_write_full(int fd, const void *buf, size_t n);

/* A length-prefixed block; *ret is malloc'ed and NUL-terminated. -EMSGSIZE past max. */
int jq_read_block(int fd, size_t max, char **ret, size_t *ret_len);
int jq_write_block(int fd, const char *data, size_t len);
