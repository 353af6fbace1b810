/* The agent's model: the ai_model node attached through an 'llm' edge gives the model name
 * and settings, its llm_credential_id the provider, key and endpoint. */

#include <errno.h>
#include <math.h>
#include <string.h>

#include "common/json-util.h"
#include "engine/components/agent.h"
#include "engine/components/components.h"

/* A nullable numeric setting of the ai_model config; NAN when unset. */
static double config_double(json_t *config, const char *key) {
        json_t *v = json_object_get(config, key);

        return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *find_model_node(NodeRun *run, size_t *ret_count) {
        json_t *attachment, *found = NULL;
        size_t i, count = 0;

        json_array_foreach(run->attachments, i, attachment)
                if (streq_ptr(json_get_string(attachment, "edge_label", NULL), "llm")) {
                        count++;
                        found = found ?: attachment;
                }
        *ret_count = count;
        return found;
}

static int credential_into_request(NodeRun *run, AgentModel *m) {
        json_t *detail = m->credential->detail, *headers;
        const char *provider = json_get_string(detail, "provider_type", NULL);

        m->request.provider = llm_provider_from_string(provider);
        if (m->request.provider < 0)
                return node_run_fail_config(run, "The credential '%s' names an unknown provider '%s'",
                                            m->credential->name, provider ?: "(none)");
        m->request.api_key = json_get_string(detail, "api_key", NULL);
        m->request.base_url = json_get_string(detail, "base_url", NULL);
        m->request.organization = json_get_string(detail, "organization_id", NULL);
        headers = json_object_get(detail, "custom_headers");
        m->request.headers = json_is_object(headers) ? headers : NULL;
        return 0;
}

static int config_into_request(NodeRun *run, AgentModel *m) {
        LlmRequest *req = &m->request;
        double timeout = config_double(m->config, "timeout");
        json_t *max_tokens = json_object_get(m->config, "max_tokens");
        json_t *max_retries = json_object_get(m->config, "max_retries");
        json_t *response_format = json_object_get(m->config, "response_format");

        req->model = json_get_string(m->config, "model_name", NULL);
        if (isempty(req->model))
                return node_run_fail_config(run, "The AI model node '%s' has no model_name", m->node_id);
        req->temperature = config_double(m->config, "temperature");
        req->top_p = config_double(m->config, "top_p");
        req->frequency_penalty = config_double(m->config, "frequency_penalty");
        req->presence_penalty = config_double(m->config, "presence_penalty");
        if (json_is_integer(max_tokens) && json_integer_value(max_tokens) > 0)
                req->max_tokens = json_integer_value(max_tokens);
        if (json_is_integer(max_retries) && json_integer_value(max_retries) >= 0)
                req->max_attempts = (unsigned) MIN(json_integer_value(max_retries), (json_int_t) 10) + 1;
        if (timeout > 0)
                req->timeout = (usec_t) (timeout * USEC_PER_SECOND);
        /* The answer must come before the execution's deadline. */
        req->deadline = run->deadline;
        if (run->deadline > 0) {
                usec_t now = now_monotonic_usec(), left = run->deadline > now ? run->deadline - now : 1;

                if (req->timeout == 0 || req->timeout > left)
                        req->timeout = left;
        }
        if (json_is_object(response_format))
                req->response_format = response_format;
        return 0;
}

int agent_model_load(NodeRun *run, AgentModel *ret) {
        _cleanup_(agent_model_done) AgentModel m = {};
        json_t *node, *credential_id;
        const char *why = NULL;
        size_t count;
        int r;

        llm_request_init(&m.request);
        node = find_model_node(run, &count);
        if (!node)
                return node_run_fail_config(run, "The %s has no AI model: connect an ai_model node to it "
                                            "through an 'llm' edge", run->component_type);
        if (count > 1)
                return node_run_fail_config(run, "The %s has %zu AI models; connect exactly one", run->component_type,
                                            count);
        if (!streq_ptr(json_get_string(node, "component_type", NULL), "ai_model"))
                return node_run_fail_config(run, "The node on the %s's 'llm' edge is not an ai_model",
                                            run->component_type);
        m.node_id = json_get_string(node, "node_id", "");
        m.config = json_incref(json_object_get(node, "config"));

        credential_id = json_object_get(m.config, "llm_credential_id");
        if (!json_is_integer(credential_id))
                return node_run_fail_config(run, "The AI model node '%s' has no credential (llm_credential_id)",
                                            m.node_id);
        if (!run->db || !run->vault)
                return node_run_fail(run, "internal", "Credentials cannot be read here");

        r = store_credential_load(run->db, run->vault, NULL, json_integer_value(credential_id), &m.credential);
        if (r == -ENOENT)
                return node_run_fail_config(run, "The credential %" JSON_INTEGER_FORMAT " of AI model node '%s' "
                                            "no longer exists", json_integer_value(credential_id), m.node_id);
        if (r == -EBADMSG)
                return node_run_fail_config(run, "The secrets of credential %" JSON_INTEGER_FORMAT " cannot be "
                                            "opened with this daemon's key: create the credential again",
                                            json_integer_value(credential_id));
        if (r < 0)
                return node_run_fail(run, "internal", "Cannot read the credential: %s", strerror(-r));
        if (!streq_ptr(m.credential->type, "llm"))
                return node_run_fail_config(run, "The credential '%s' is not an LLM credential", m.credential->name);

        r = credential_into_request(run, &m);
        if (r < 0)
                return r;
        r = config_into_request(run, &m);
        if (r < 0)
                return r;
        if (llm_request_validate(&m.request, &why) < 0)
                return node_run_fail_config(run, "The AI model's settings cannot be used: %s", why);

        *ret = m;
        m = (AgentModel) {};
        return 0;
}

void agent_model_done(AgentModel *m) {
        credential_free(m->credential);
        json_decref(m->config);
        *m = (AgentModel) {};
}

/* text with every occurrence of secret replaced, in place: the mask is never longer than
 * the secrets it hides (shorter ones are not looked for). */
static void replace_all(char *text, const char *secret) {
        size_t n = strlen(secret), mask = strlen(CREDENTIAL_MASK);
        char *found;

        if (n < mask)
                return;
        while ((found = strstr(text, secret))) {
                memcpy(found, CREDENTIAL_MASK, mask);
                memmove(found + mask, found + n, strlen(found + n) + 1);
                text = found + mask;
        }
}

char *agent_model_scrub(const AgentModel *m, const char *text) {
        char *out = strdup(text ?: "");
        const char *name;
        json_t *value;

        if (!out)
                return NULL;
        if (!isempty(m->request.api_key))
                replace_all(out, m->request.api_key);
        json_object_foreach(m->request.headers, name, value)
                if (json_is_string(value))
                        replace_all(out, json_string_value(value));
        return out;
}

int agent_model_fail(NodeRun *run, const AgentModel *m, int r, const LlmError *e) {
        _cleanup_free_ char *message = agent_model_scrub(m, e->message ?: strerror(-r));
        int k;

        if (e->kind == LLM_ERROR_CANCELLED || node_run_should_stop(run))
                return node_run_fail_stopped(run);
        if (!message)
                return node_run_fail_oom(run);
        switch (e->kind) {
        case LLM_ERROR_AUTH:
                k = node_run_fail(run, "llm_auth", "The provider rejected the credential (authentication failed, "
                                  "HTTP %d): %s", e->http_status, message);
                break;
        case LLM_ERROR_CLIENT:
                k = node_run_fail(run, "llm", "The provider refused the request (HTTP %d): %s", e->http_status,
                                  message);
                break;
        case LLM_ERROR_RATE_LIMIT:
                k = node_run_fail(run, "llm_rate_limit", "The provider's rate limit was reached after %u attempts: %s",
                                  e->attempts, message);
                break;
        case LLM_ERROR_TIMEOUT:
                k = node_run_fail(run, "timeout", "The provider did not answer in time: %s", message);
                break;
        default:
                k = node_run_fail(run, "llm", "The model call failed (%s%s%.0d): %s",
                                  llm_error_kind_to_string(e->kind), e->http_status ? ", HTTP " : "",
                                  e->http_status, message);
        }
        run->retryable = llm_error_is_retryable(e);
        return k;
}
