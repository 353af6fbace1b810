/* Framing of the jq evaluator's socket protocol (jq-protocol.h). */

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jq/jq-protocol.h"

int jq_read_full(int fd, void *buf, size_t n) {
        char *p = buf;

        while (n > 0) {
                ssize_t k = read(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EPIPE;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int jq_read_text(int fd, size_t len, char **ret) {
        char *data = malloc(len + 1);
        int r;

        if (!data)
                return -ENOMEM;
        r = jq_read_full(fd, data, len);
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
