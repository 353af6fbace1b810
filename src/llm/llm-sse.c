/* A reader of server-sent events (the text/event-stream format both providers stream in).
 * Bytes arrive cut anywhere: lines are collected whole before they are read, so a cut
 * inside a line, inside a \r\n pair or inside a UTF-8 character changes nothing. */

#include <string.h>

#include "llm/llm-dialect.h"

static int sse_dispatch(LlmSse *s, LlmSseEventFunc cb, void *userdata) {
        int r = 0;

        /* An event without data lines is no event (the format's rule). */
        if (s->has_data)
                r = cb(s->event, s->data.data ?: "", userdata);
        llm_buf_clear(&s->data);
        s->has_data = false;
        free(s->event);
        s->event = NULL;
        return r;
}

static int sse_line(LlmSse *s, LlmSseEventFunc cb, void *userdata) {
        const char *line = s->line.data ?: "", *colon, *value;
        size_t len = s->line.len, name_len;
        int r = 0;

        if (len == 0)
                return sse_dispatch(s, cb, userdata);
        if (line[0] == ':')             /* a comment, used as keep-alive */
                goto done;

        colon = memchr(line, ':', len);
        name_len = colon ? (size_t) (colon - line) : len;
        value = colon ? colon + 1 : line + len;
        if (*value == ' ')
                value++;

        if (name_len == 4 && memcmp(line, "data", 4) == 0) {
                if (s->has_data)
                        r = llm_buf_append(&s->data, "\n", 1);
                if (r >= 0)
                        r = llm_buf_append(&s->data, value, (size_t) (line + len - value));
                s->has_data = true;
        } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
                free(s->event);
                s->event = strndup(value, (size_t) (line + len - value));
                if (!s->event)
                        r = -ENOMEM;
        }
        /* id and retry only matter to a browser reconnecting; others are ignored. */
done:
        llm_buf_clear(&s->line);
        return r;
}

int llm_sse_feed(LlmSse *s, const char *buf, size_t n, LlmSseEventFunc cb, void *userdata) {
        size_t i = 0;
        int r;

        if (n == 0)
                return 0;
        if (s->after_cr && buf[0] == '\n')
                i = 1;
        s->after_cr = false;

        while (i < n) {
                size_t start = i;

                while (i < n && buf[i] != '\n' && buf[i] != '\r')
                        i++;
                if (s->line.len + s->data.len + (i - start) > LLM_SSE_MAX_EVENT)
                        return -E2BIG;
                r = llm_buf_append(&s->line, buf + start, i - start);
                if (r < 0)
                        return r;
                if (i == n)
                        break;

                /* A line ends at \n, \r or \r\n; the \n of a \r\n may come in the next piece. */
                if (buf[i] == '\r') {
                        if (i + 1 < n) {
                                if (buf[i + 1] == '\n')
                                        i++;
                        } else
                                s->after_cr = true;
                }
                i++;
                r = sse_line(s, cb, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int llm_sse_finish(LlmSse *s, LlmSseEventFunc cb, void *userdata) {
        int r;

        if (s->line.len > 0) {
                r = sse_line(s, cb, userdata);
                if (r < 0)
                        return r;
        }
        return sse_dispatch(s, cb, userdata);
}

void llm_sse_done(LlmSse *s) {
        llm_buf_done(&s->line);
        llm_buf_done(&s->data);
        free(s->event);
        *s = (LlmSse) {};
}
