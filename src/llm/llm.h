/* LLM providers: one provider-neutral model of a chat request and its answer, and a client
 * that sends requests to OpenAI's chat completions API (and every server that speaks it:
 * Ollama, vLLM, llama.cpp's server, OpenRouter, …) or Anthropic's messages API.
 *
 * The client runs all its transfers on ONE thread of its own with libcurl's multi
 * interface, so thousands of requests can wait on the network at once without a thread
 * each. A caller submits a request with a completion callback (and, to see the answer
 * while it streams, a text callback), then goes on with other work.
 *
 * Thread-safety:
 *   - llm_client_submit(), llm_client_cancel() and llm_complete_sync() may be called from
 *     any thread, also from inside the client's callbacks.
 *   - llm_client_new()/llm_client_start()/llm_client_stop()/llm_client_free() belong to
 *     the client's owner; stop and free must not be called from a callback, and free not
 *     while another thread may still submit or cancel.
 *   - Callbacks run on the client's thread, one at a time: they must return quickly and
 *     never block (no database statement, no waiting on another request). Hand the result
 *     to a queue of your own and wake your thread.
 *   - The value types (LlmRequest, LlmMessage, LlmResponse, LlmError) are plain data with
 *     no locking; one thread uses one at a time. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"
#include "common/time-util.h"

#ifndef USEC_PER_MSEC
#define USEC_PER_MSEC ((usec_t) 1000)
#endif
#ifndef USEC_PER_SECOND
#define USEC_PER_SECOND ((usec_t) 1000000)
#endif

typedef enum LlmProvider {
        LLM_PROVIDER_OPENAI,            /* api.openai.com, chat completions */
        LLM_PROVIDER_OPENAI_COMPATIBLE, /* any server speaking chat completions; base_url required */
        LLM_PROVIDER_ANTHROPIC,         /* api.anthropic.com or a proxy speaking messages */
        _LLM_PROVIDER_MAX,
        _LLM_PROVIDER_INVALID = -EINVAL,
} LlmProvider;

/* "openai", "openai_compatible", "anthropic" (the credential's provider names). */
const char *llm_provider_to_string(LlmProvider p);
LlmProvider llm_provider_from_string(const char *s);
/* Whether the provider speaks OpenAI's chat completions dialect. */
bool llm_provider_is_openai_style(LlmProvider p);

typedef enum LlmRole {
        LLM_ROLE_SYSTEM,
        LLM_ROLE_USER,
        LLM_ROLE_ASSISTANT,
        LLM_ROLE_TOOL,          /* the result of one tool call */
        _LLM_ROLE_MAX,
        _LLM_ROLE_INVALID = -EINVAL,
} LlmRole;

const char *llm_role_to_string(LlmRole r);
LlmRole llm_role_from_string(const char *s);

/* A tool call the model asked for. arguments is JSON text as the model wrote it (an
 * object, "{}" when it gave none; OpenAI-style models may write invalid JSON). */
typedef struct LlmToolCall {
        char *id;
        char *name;
        char *arguments;
} LlmToolCall;

/* One message of a conversation. Strings are owned by the message.
 *   system, user:  text
 *   assistant:     text (may be empty) and the tool calls it made
 *   tool:          text = the tool's result, tool_call_id = the call it answers,
 *                  is_error = the tool failed (Anthropic shows the model that flag) */
typedef struct LlmMessage {
        LlmRole role;
        char *text;
        LlmToolCall *tool_calls;
        size_t n_tool_calls;
        char *tool_call_id;
        bool is_error;
} LlmMessage;

/* A tool the model may call: parameters is its JSON schema (an object). Borrowed. */
typedef struct LlmTool {
        const char *name;
        const char *description;
        json_t *parameters;
} LlmTool;

/* A chat request, the fields of an ai_model node and its credential. Everything is
 * borrowed from the caller and only read while llm_client_submit() (or a body builder)
 * runs: the client keeps its own copy of what it sends. */
typedef struct LlmRequest {
        LlmProvider provider;
        const char *base_url;           /* NULL: the provider's public endpoint. OpenAI
                                         * style: up to and including "/v1"
                                         * ("http://localhost:11434/v1"); Anthropic: the
                                         * host ("https://api.anthropic.com"). Required for
                                         * openai_compatible. */
        const char *api_key;            /* NULL or "": no auth header (local servers) */
        const char *organization;       /* OpenAI-Organization, OpenAI style only */
        json_t *headers;                /* object of extra headers {name: value}; they
                                         * replace ours of the same name */
        const char *model;
        const char *system_prompt;      /* OpenAI: a first system message; Anthropic: "system" */
        const LlmMessage *messages;
        size_t n_messages;
        const LlmTool *tools;
        size_t n_tools;
        double temperature;             /* NAN: the provider's default (so for all doubles) */
        double top_p;
        double frequency_penalty;       /* OpenAI style only */
        double presence_penalty;        /* OpenAI style only */
        int64_t max_tokens;             /* 0: OpenAI none, Anthropic LLM_ANTHROPIC_DEFAULT_MAX_TOKENS */
        const char *const *stop;        /* NULL-terminated stop sequences, or NULL */
        json_t *response_format;        /* OpenAI style only, sent as is ({"type": "json_object"}) */
        bool stream;                    /* stream the answer (text callbacks while it comes) */
        usec_t timeout;                 /* longest wait for the provider's next byte in one
                                         * attempt (the whole answer of a plain request);
                                         * 0: LLM_DEFAULT_TIMEOUT */
        unsigned max_attempts;          /* ai_model's max_retries + 1; 0: the client's default */
        usec_t deadline;                /* CLOCK_MONOTONIC µs by which the request ends, retries
                                         * included (then LLM_ERROR_TIMEOUT); 0: none */
} LlmRequest;

#define LLM_ANTHROPIC_DEFAULT_MAX_TOKENS 4096
#define LLM_ANTHROPIC_VERSION "2023-06-01"
#define LLM_DEFAULT_TIMEOUT (600 * USEC_PER_SECOND)

/* Zeroes r and sets the doubles to NAN (unset). */
void llm_request_init(LlmRequest *r);
/* Checks what every dialect needs (provider, model, base_url for openai_compatible, URL
 * scheme, header names and values, tools, tool results with their call ids): 0, or
 * -EINVAL with a static explanation for a person in *ret_why (optional). */
int llm_request_validate(const LlmRequest *req, const char **ret_why);

typedef enum LlmStopReason {
        LLM_STOP_END,           /* the model finished its turn */
        LLM_STOP_TOOL_USE,      /* it wants tool results */
        LLM_STOP_MAX_TOKENS,
        LLM_STOP_STOP_SEQUENCE,
        LLM_STOP_CONTENT_FILTER, /* OpenAI's content_filter, Anthropic's refusal */
        LLM_STOP_OTHER,         /* anything else; stop_reason_raw says what */
        _LLM_STOP_MAX,
        _LLM_STOP_INVALID = -EINVAL,
} LlmStopReason;

const char *llm_stop_reason_to_string(LlmStopReason r);

typedef struct LlmUsage {
        /* All prompt tokens, cached ones included (Anthropic's input_tokens +
         * cache_read_input_tokens + cache_creation_input_tokens). */
        uint64_t input_tokens;
        uint64_t output_tokens;
        uint64_t cache_read_tokens;
        uint64_t cache_write_tokens;
} LlmUsage;

/* The model's answer. */
typedef struct LlmResponse {
        char *text;             /* all text of the answer; "" when there is none */
        LlmToolCall *tool_calls;
        size_t n_tool_calls;
        LlmStopReason stop_reason;
        char *stop_reason_raw;  /* the provider's word ("stop", "end_turn", …) or NULL */
        LlmUsage usage;
        bool has_usage;         /* the provider reported usage */
        char *model;            /* the model id the provider reports, or NULL */
        char *id;               /* the provider's id of this answer, or NULL */
        unsigned attempts;      /* requests it took, retries included */
        /* How long the answering request took, from sending it to the last byte of the
         * answer (libcurl's total time; earlier attempts and waits between them not
         * counted): the provider's share of a model call. */
        usec_t transfer_usec;
} LlmResponse;

LlmResponse *llm_response_free(LlmResponse *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(LlmResponse *, llm_response_free);

typedef enum LlmErrorKind {
        LLM_ERROR_AUTH,         /* 401, 403: the key is wrong or lacks permission */
        LLM_ERROR_RATE_LIMIT,   /* 429 */
        LLM_ERROR_SERVER,       /* 5xx, an error event in a stream, a malformed answer */
        LLM_ERROR_CLIENT,       /* other 4xx: the request is wrong; never retried */
        LLM_ERROR_NETWORK,      /* no connection, connection lost, stream cut short */
        LLM_ERROR_TIMEOUT,      /* the provider was silent longer than the timeout */
        LLM_ERROR_CANCELLED,    /* llm_client_cancel(), or the client stopped */
        LLM_ERROR_INTERNAL,     /* out of memory, a local failure, an answer over the size limit */
        _LLM_ERROR_MAX,
        _LLM_ERROR_INVALID = -EINVAL,
} LlmErrorKind;

/* "auth", "rate_limit", "server", "client", "network", "timeout", "cancelled", "internal" */
const char *llm_error_kind_to_string(LlmErrorKind k);

/* Why a request failed. */
typedef struct LlmError {
        LlmErrorKind kind;
        int http_status;        /* the last answer's status, 0 when there was none */
        char *message;          /* the provider's message, or what failed here */
        char *provider_type;    /* the provider's error type ("rate_limit_error", …) or NULL */
        usec_t retry_after;     /* how long the provider asked us to wait, 0 when it did not say */
        unsigned attempts;      /* requests made, retries included */
} LlmError;

/* Frees what e holds and zeroes it. */
void llm_error_done(LlmError *e);
/* Copies src into *dst (zeroed first). -ENOMEM. */
int llm_error_copy(LlmError *dst, const LlmError *src);
/* Whether another attempt may succeed: rate limits, server, network and timeout errors. */
bool llm_error_is_retryable(const LlmError *e);

/* --- building conversations ------------------------------------------------------------ */

void llm_tool_call_done(LlmToolCall *c);
void llm_message_done(LlmMessage *m);
/* Frees an array of n messages (and the array). */
void llm_messages_free(LlmMessage *messages, size_t n);

/* Appends a message with a copy of text (NULL is ""), growing *messages; returns the new
 * message or NULL on ENOMEM (the array is unchanged then). */
LlmMessage *llm_messages_add(LlmMessage **messages, size_t *n, LlmRole role, const char *text);
/* Appends a tool result answering tool_call_id. */
LlmMessage *llm_messages_add_tool_result(LlmMessage **messages, size_t *n, const char *tool_call_id,
                                         const char *content, bool is_error);
/* Appends the assistant turn of a response (its text and tool calls), as a tool-calling
 * loop sends it back with the results. */
LlmMessage *llm_messages_add_response(LlmMessage **messages, size_t *n, const LlmResponse *r);
/* Adds a tool call to an assistant message; arguments NULL is "{}". -ENOMEM. */
int llm_message_add_tool_call(LlmMessage *m, const char *id, const char *name, const char *arguments);

/* A tool call's arguments parsed: a new reference to an object ({} when the model gave
 * none), or NULL when they are not a JSON object. */
json_t *llm_tool_call_arguments(const LlmToolCall *c);

/* --- the client -------------------------------------------------------------------------- */

typedef struct LlmClient LlmClient;

typedef struct LlmClientOptions {
        unsigned max_attempts;          /* per request unless the request says; default 3 */
        usec_t backoff_initial;         /* first wait before a retry; default 500 ms */
        usec_t backoff_max;             /* waits double up to this; default 8 s */
        usec_t max_retry_after;         /* a provider asking for a longer wait than this
                                         * ends the request (its error carries the wait);
                                         * default 60 s */
        size_t max_response_size;       /* bytes of one answer; default 32 MiB */
        unsigned max_connections;       /* open connections at once, 0: no limit */
} LlmClientOptions;

/* opts NULL: the defaults. The client does nothing until llm_client_start(). */
int llm_client_new(const LlmClientOptions *opts, LlmClient **ret);
/* Starts the client's thread. -EALREADY when it runs. */
int llm_client_start(LlmClient *c);
/* Ends every request still open (their callbacks run with LLM_ERROR_CANCELLED, on the
 * client's thread, before this returns) and joins the thread. Idempotent. -EDEADLK when
 * called from a callback. */
int llm_client_stop(LlmClient *c);
/* Stops the client and frees it. NULL-safe. */
LlmClient *llm_client_free(LlmClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(LlmClient *, llm_client_free);

/* The answer of a request. Exactly one of response/error is non-NULL. response is handed
 * over (free it with llm_response_free()); error is borrowed for the call's duration (copy
 * it with llm_error_copy() to keep it). Runs on the client's thread, exactly once per
 * submitted request. */
typedef void (*LlmDoneFunc)(LlmResponse *response, const LlmError *error, void *userdata);
/* A piece of the answer's text as it streams in (valid UTF-8, never empty), in order,
 * before the completion callback. Runs on the client's thread. */
typedef void (*LlmTextFunc)(const char *text, size_t len, void *userdata);

typedef uint64_t LlmHandle;     /* never 0 */

/* Sends a request; done (required) runs when it ends, on_text (optional, only used when
 * req->stream) for each piece of text. Returns 0 and the request's handle, or -EINVAL for
 * a request that cannot be sent (missing model, base_url, bad header), -ESHUTDOWN when the
 * client is not running, -ENOMEM; done is not called then. */
int llm_client_submit(LlmClient *c, const LlmRequest *req, LlmDoneFunc done, LlmTextFunc on_text,
                      void *userdata, LlmHandle *ret_handle);
/* Aborts a request: its transfer stops and its done callback runs with
 * LLM_ERROR_CANCELLED, soon, on the client's thread. A request that already ended is left
 * alone (its callback ran or is about to run with its real result). */
int llm_client_cancel(LlmClient *c, LlmHandle handle);
/* Requests submitted and not yet ended. */
size_t llm_client_pending(LlmClient *c);

/* Blocking helper for simple callers: sends req on c (c NULL: on a client started and
 * stopped for this call) and waits for the answer. on_text runs on the client's thread.
 * When *cancelled (optional) becomes true, the request is cancelled within ~50 ms.
 * Returns 0 with *ret_response, or a negative errno with *ret_error filled when the
 * provider's answer was an error (-ECANCELED, -ETIMEDOUT, -EIO) or the request could not
 * be sent (-EINVAL, -ENOMEM; *ret_error describes it). */
int llm_complete_sync(LlmClient *c, const LlmRequest *req, LlmTextFunc on_text, void *userdata,
                      const volatile bool *cancelled, LlmResponse **ret_response, LlmError *ret_error);
