/* The parts of a provider request that need no network: the URL, headers and JSON body of
 * each dialect, parsing answers and errors, the server-sent-events reader, and retry
 * timing. llm-client.c drives them; tests/unit/test-llm.c covers them byte by byte.
 * Nothing here logs or touches the network. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "llm/llm.h"

/* A growing NUL-terminated byte buffer. */
typedef struct LlmBuf {
        char *data;
        size_t len, allocated;
} LlmBuf;

int llm_buf_append(LlmBuf *b, const char *s, size_t n);
void llm_buf_clear(LlmBuf *b);
void llm_buf_done(LlmBuf *b);
/* The text, handed over ("" when empty); NULL on ENOMEM. */
char *llm_buf_steal(LlmBuf *b);

/* --- server-sent events (text/event-stream) ------------------------------------------------ */

/* One event: event is its "event:" field or NULL, data its "data:" lines joined with \n.
 * A negative return stops the reader and is returned by llm_sse_feed(). */
typedef int (*LlmSseEventFunc)(const char *event, const char *data, void *userdata);

#define LLM_SSE_MAX_EVENT ((size_t) 8 * 1024 * 1024)

typedef struct LlmSse {
        LlmBuf line;
        LlmBuf data;
        char *event;
        bool has_data;
        bool after_cr;          /* the last byte was \r: a following \n belongs to it */
} LlmSse;

/* Reads n bytes cut anywhere (inside a line, a \r\n pair, a UTF-8 character), calling cb
 * for each complete event. -E2BIG when one event grows over LLM_SSE_MAX_EVENT. */
int llm_sse_feed(LlmSse *s, const char *buf, size_t n, LlmSseEventFunc cb, void *userdata);
/* At the end of the stream: a last line without its newline, and an event not closed by
 * an empty line, are still delivered (some servers end that way). */
int llm_sse_finish(LlmSse *s, LlmSseEventFunc cb, void *userdata);
void llm_sse_done(LlmSse *s);

/* --- requests ---------------------------------------------------------------------------------- */

#define LLM_OPENAI_BASE_URL "https://api.openai.com/v1"
#define LLM_ANTHROPIC_BASE_URL "https://api.anthropic.com"

/* OpenAI style: base_url + "/chat/completions"; Anthropic: base_url + "/v1/messages" (a
 * base_url that already ends in /v1 gets no second one). */
int llm_request_url(const LlmRequest *req, char **ret);
/* The header lines ("Name: value"), NULL-terminated: content type, auth, versions, the
 * request's own headers (replacing ours of the same name). */
int llm_request_headers(const LlmRequest *req, char ***ret);
void llm_strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, llm_strv_free);
/* The JSON body in the request's dialect. -EINVAL for text that is not UTF-8. */
int llm_request_body(const LlmRequest *req, json_t **ret);

int llm_openai_body(const LlmRequest *req, json_t **ret);
int llm_anthropic_body(const LlmRequest *req, json_t **ret);

/* --- answers ----------------------------------------------------------------------------------- */

/* A plain (not streamed) answer. -EBADMSG when it is not the dialect's shape. */
int llm_parse_response(LlmProvider provider, json_t *body, LlmResponse **ret);
int llm_openai_parse_response(json_t *body, LlmResponse **ret);
int llm_anthropic_parse_response(json_t *body, LlmResponse **ret);

/* Fills e (zeroed first) for an HTTP error answer: kind from the status, the provider's
 * message and error type from the body when it has the dialect's shape, else a message
 * made of the status and the start of the body. -ENOMEM. */
int llm_parse_error(LlmProvider provider, int http_status, const char *body, size_t len, LlmError *e);
LlmErrorKind llm_error_kind_from_status(int http_status);
/* Sets e->message to a formatted text (and kind); frees what it held. -ENOMEM. */
int llm_error_set(LlmError *e, LlmErrorKind kind, const char *format, ...) _printf_(3, 4);

/* A stream being read: the events of either dialect folded into a response. */
typedef struct LlmStreamCall {
        int64_t index;          /* OpenAI: tool_calls[].index; Anthropic: the content block */
        char *id, *name;
        LlmBuf arguments;
} LlmStreamCall;

typedef struct LlmStream {
        LlmProvider provider;
        LlmSse sse;
        LlmBuf text;
        LlmStreamCall *calls;
        size_t n_calls;
        char *id, *model, *stop_reason;
        LlmUsage usage;
        bool has_usage;
        bool finished;          /* the end marker ([DONE], message_stop) arrived */
        bool failed;            /* error tells why */
        LlmError error;
        LlmTextFunc on_text;
        void *userdata;
} LlmStream;

void llm_stream_init(LlmStream *s, LlmProvider provider, LlmTextFunc on_text, void *userdata);
/* Reads n bytes of the stream, cut anywhere. Returns < 0 when the stream cannot go on:
 * s->error says why (an error event from the provider, a malformed event, ENOMEM). */
int llm_stream_feed(LlmStream *s, const char *buf, size_t n);
/* At the end of the body: the response, or < 0 with *ret_error filled (an error seen
 * before, or a stream that ended before the provider's end marker). */
int llm_stream_finish(LlmStream *s, LlmResponse **ret, LlmError *ret_error);
void llm_stream_done(LlmStream *s);

/* Dialect event handlers behind llm_stream_feed(). */
int llm_openai_stream_event(LlmStream *s, const char *event, const char *data);
int llm_anthropic_stream_event(LlmStream *s, const char *event, const char *data);
/* Marks the stream failed with the provider's message (and error type); returns -EPROTO. */
int llm_stream_fail(LlmStream *s, LlmErrorKind kind, const char *message, const char *type);
/* Hands text to the stream: appended to the answer and passed to on_text. */
int llm_stream_text(LlmStream *s, const char *text, size_t len);
/* The call being assembled at index, created when missing (NULL on ENOMEM). */
LlmStreamCall *llm_stream_call(LlmStream *s, int64_t index, bool *ret_created);

static inline LlmResponse *llm_response_new(void) {
        return calloc(1, sizeof(LlmResponse));
}

/* The stop reason for the provider's word. */
LlmStopReason llm_stop_reason_from_openai(const char *s);
LlmStopReason llm_stop_reason_from_anthropic(const char *s);

/* Small JSON helpers shared by the dialects. */
int llm_json_set_string(json_t *obj, const char *key, const char *value);
char *llm_json_strdup(json_t *obj, const char *key);
uint64_t llm_json_uint(json_t *obj, const char *key);

/* --- retries ------------------------------------------------------------------------------------- */

/* A Retry-After value: delta seconds ("2", also "1.5") or an HTTP date, measured from now
 * (CLOCK_REALTIME µs). A date in the past is 0. -EINVAL when unreadable. */
int llm_parse_retry_after(const char *value, usec_t now, usec_t *ret);
/* The wait before attempt number attempt + 1 (attempt >= 1): initial doubled per attempt,
 * capped at max, then shortened by up to a quarter by jitter (0..1). */
usec_t llm_backoff_delay(unsigned attempt, usec_t initial, usec_t max, double jitter);
