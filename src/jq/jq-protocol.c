/* Framing of the jq evaluator's socket protocol (jq-protocol.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"
#include "jq/jq-protocol.h"

/* One read(): what has arrived, up to n bytes. */
static ssize_t read_some(int fd, void *buf, size_t n) {
        for (;;) {
                ssize_t k = read(fd, buf, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EPIPE;
                return k;
        }
}

int jq_read_full(JqReader *reader, void *buf, size_t n) {
        char *p = buf;

        while (n > 0) {
                size_t have = reader->end - reader->start, k;
                ssize_t got;

                if (have == 0 && n >= sizeof reader->buf) {
                        /* Big: straight into place. */
                        got = read_some(reader->fd, p, n);
                        if (got < 0)
                                return (int) got;
                        p += got;
                        n -= (size_t) got;
                        continue;
                }
                if (have == 0) {
                        got = read_some(reader->fd, reader->buf, sizeof reader->buf);
                        if (got < 0)
                                return (int) got;
                        reader->start = 0;
                        reader->end = (size_t) got;
                        have = (size_t) got;
                }
                k = MIN(have, n);
                memcpy(p, reader->buf + reader->start, k);
                reader->start += k;
                p += k;
                n -= k;
        }
        return 0;
}

int jq_read_text(JqReader *reader, size_t len, char **ret) {
        char *data = malloc(len + 1);
        int r;

        if (!data)
                return -ENOMEM;
        r = jq_read_full(reader, data, len);
        if (r < 0) {
                free(data);
                return r;
        }
        data[len] = '\0';
        *ret = data;
        return 0;
}

int jq_send_all(int fd, struct iovec *iov, size_t n) {
        while (n > 0) {
                struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n };
                ssize_t k = sendmsg(fd, &msg, MSG_NOSIGNAL);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                /* Skip what went out: whole buffers, then the start of the next. */
                while (n > 0 && (size_t) k >= iov->iov_len) {
                        k -= (ssize_t) iov->iov_len;
                        iov++;
                        n--;
                }
                if (n > 0) {
                        iov->iov_base = (char *) iov->iov_base + k;
                        iov->iov_len -= (size_t) k;
                }
        }
        return 0;
}
