/* Framing of the jq evaluator's pipe protocol (jq-protocol.h). */

#include <errno.h>
#include <stdlib.h>
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

int jq_write_full(int fd, const void *buf, size_t n) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int jq_read_block(int fd, size_t max, char **ret, size_t *ret_len) {
        uint64_t len;
        char *data;
        int r;

        r = jq_read_full(fd, &len, sizeof len);
        if (r < 0)
                return r;
        if (len > max)
                return -EMSGSIZE;
        data = malloc((size_t) len + 1);
        if (!data)
                return -ENOMEM;
        r = jq_read_full(fd, data, (size_t) len);
        if (r < 0) {
                free(data);
                return r;
        }
        data[len] = '\0';
        *ret = data;
        if (ret_len)
                *ret_len = (size_t) len;
        return 0;
}

int jq_write_block(int fd, const char *data, size_t len) {
        uint64_t n = len;
        int r;

        r = jq_write_full(fd, &n, sizeof n);
        if (r < 0)
                return r;
        return jq_write_full(fd, data, len);
}
