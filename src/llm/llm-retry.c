/* What an HTTP error answer means, and how long to wait before asking again. */

#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "llm/llm-dialect.h"

#define ERROR_BODY_EXCERPT 200

/* Both dialects answer {"error": {"message", "type"}} (Anthropic adds "type": "error"
 * around it); servers copying OpenAI also send {"error": "text"}, {"message": …} or
 * {"detail": …}. */
static int error_from_json(json_t *body, LlmError *e) {
        json_t *error = json_object_get(body, "error");
        const char *message = NULL, *type = NULL;

        if (json_is_object(error)) {
                message = json_string_value(json_object_get(error, "message"));
                type = json_string_value(json_object_get(error, "type")) ?:
                       json_string_value(json_object_get(error, "code"));
        } else if (json_is_string(error))
                message = json_string_value(error);
        if (!message)
                message = json_string_value(json_object_get(body, "message")) ?:
                          json_string_value(json_object_get(body, "detail"));
        if (isempty(message))
                return 0;

        e->message = strdup(message);
        if (!e->message)
                return -ENOMEM;
        if (type && !(e->provider_type = strdup(type)))
                return -ENOMEM;
        return 1;
}

int llm_parse_error(LlmProvider provider, int http_status, const char *body, size_t len, LlmError *e) {
        _cleanup_json_ json_t *json = NULL;
        char excerpt[ERROR_BODY_EXCERPT + 1];
        size_t n = 0;
        int r;

        *e = (LlmError) {
                .kind = llm_error_kind_from_status(http_status),
                .http_status = http_status,
        };
        if (body && len > 0) {
                json = json_loadb(body, len, 0, NULL);
                r = error_from_json(json, e);
                if (r != 0)
                        return r < 0 ? r : 0;
        }

        /* No message we can read: the status and the start of the body, as plain ASCII. */
        for (size_t i = 0; body && i < len && n < ERROR_BODY_EXCERPT; i++) {
                unsigned char c = (unsigned char) body[i];

                excerpt[n++] = c >= 0x80 ? '?' : (isprint(c) ? (char) c : ' ');
        }
        while (n > 0 && excerpt[n - 1] == ' ')
                n--;
        excerpt[n] = '\0';
        return llm_error_set(e, e->kind, "%s answered HTTP %d%s%s",
                             llm_provider_is_openai_style(provider) ? "the provider" : "Anthropic",
                             http_status, n > 0 ? ": " : "", excerpt);
}

int llm_parse_retry_after(const char *value, usec_t now, usec_t *ret) {
        const char *p;
        char *end;
        double seconds;
        time_t when;

        if (isempty(value))
                return -EINVAL;
        p = value;
        while (*p == ' ')
                p++;
        if (isdigit((unsigned char) *p)) {
                errno = 0;
                seconds = strtod(p, &end);
                while (*end == ' ')
                        end++;
                if (errno != 0 || *end || !isfinite(seconds) || seconds < 0 || seconds > 365.0 * 24 * 3600)
                        return -EINVAL;
                *ret = (usec_t) (seconds * USEC_PER_SECOND);
                return 0;
        }

        /* An HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"). */
        when = curl_getdate(p, NULL);
        if (when < 0)
                return -EINVAL;
        *ret = (usec_t) when * USEC_PER_SECOND > now ? (usec_t) when * USEC_PER_SECOND - now : 0;
        return 0;
}

usec_t llm_backoff_delay(unsigned attempt, usec_t initial, usec_t max, double jitter) {
        usec_t d = initial;

        for (unsigned i = 1; i < attempt && d < max; i++)
                d *= 2;
        d = MIN(d, max);
        jitter = jitter < 0 ? 0 : jitter > 1 ? 1 : jitter;
        return (usec_t) ((double) d * (1.0 - 0.25 * jitter));
}
