/* categorizer: asks the model which of extra_config.categories the text belongs to and
 * routes on the answer.
 *
 * categories = [{name, description?}] (or plain names): at most 100, names unique in any
 * case. The text is extra_config.input_template when set, else the input's text, an
 * upstream agent's output, or the last message of its messages. The model gets a system
 * prompt listing the categories (after config.system_prompt, when set) and the text as the
 * user's message, and is asked for the name alone. Its answer is read leniently
 * (output_match_choice(): JSON such as {"category": …}, quotes, any case, a sentence around
 * the name); one that names no category gives "__other__".
 *
 * Output: {"category": the name or "__other__", "raw": the model's answer, "token_usage":
 * {input_tokens, output_tokens, total_tokens, llm_calls}, "parsed": … with an output
 * parser}. The route is the category: conditional edges whose condition_value is a
 * category's name (or "__other__") run, and a switch after it can test
 * node_outputs.<id>.category. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/json-util.h"
#include "engine/components/components.h"
#include "engine/components/llm-node.h"
#include "engine/output-parse.h"

#define CHOICES_MAX 100
#define CHOICE_NAME_MAX 200

typedef struct Choices {
        char **names;
        size_t n;
        const char *port;
} Choices;

static void choices_free(void *userdata) {
        Choices *c = userdata;

        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                free(c->names[i]);
        free(c->names);
        free(c);
}

static void choices_freep(Choices **c) {
        choices_free(*c);
}

/* Reads the options and writes the prompt's list of them. */
static int choices_load(NodeRun *run, const char *setting, Choices *c, char **ret_list) {
        json_t *options = node_run_setting(run, setting), *option;
        _cleanup_free_ char *list = NULL;
        size_t i;

        if (!json_is_array(options) || json_array_size(options) == 0)
                return node_run_fail_config(run, "%s must be a non-empty list of {name, description}", setting);
        if (json_array_size(options) > CHOICES_MAX)
                return node_run_fail_config(run, "%s lists %zu options; at most %d", setting,
                                            json_array_size(options), CHOICES_MAX);
        c->names = calloc(json_array_size(options), sizeof(char *));
        if (!c->names)
                return node_run_fail_oom(run);

        json_array_foreach(options, i, option) {
                const char *name = json_is_string(option) ? json_string_value(option) : json_get_string(option, "name", NULL);
                const char *description = json_get_string(option, "description", NULL);
                char *longer = NULL;

                if (isempty(name))
                        return node_run_fail_config(run, "%s item %zu has no name", setting, i + 1);
                if (strlen(name) > CHOICE_NAME_MAX || strpbrk(name, "\n\r"))
                        return node_run_fail_config(run, "%s item %zu: a name is one line of at most %d characters",
                                                    setting, i + 1, CHOICE_NAME_MAX);
                if (streq(name, LLM_NODE_OTHER_ROUTE))
                        return node_run_fail_config(run, "%s item %zu: '%s' is the route of answers that name no "
                                                    "option; choose another name", setting, i + 1, name);
                for (size_t k = 0; k < c->n; k++)
                        if (strcasecmp(c->names[k], name) == 0)
                                return node_run_fail_config(run, "%s names '%s' twice", setting, name);
                c->names[c->n] = strdup(name);
                if (!c->names[c->n])
                        return node_run_fail_oom(run);
                c->n++;

                if (asprintf(&longer, "%s- %s%s%s\n", list ?: "", name, isempty(description) ? "" : ": ",
                             description ?: "") < 0)
                        return node_run_fail_oom(run);
                free(list);
                list = longer;
        }
        *ret_list = TAKE_PTR(list);
        return 0;
}

static int choice_answered(NodeRun *run, LlmNode *n, const LlmResponse *response) {
        const Choices *c = n->userdata;
        const char *raw = response->text ?: "";
        ssize_t i = output_match_choice(raw, (const char *const *) c->names, c->n);
        const char *chosen = i >= 0 ? c->names[i] : LLM_NODE_OTHER_ROUTE;

        free(run->route);
        run->route = strdup(chosen);
        if (!run->route ||
            node_run_output(run, c->port, json_string(chosen)) < 0 ||
            node_run_output(run, "raw", json_string(raw)) < 0 ||
            llm_node_output_usage(run, n) < 0)
                return node_run_fail_oom(run);
        return llm_node_apply_output_parser(run, raw);
}

int llm_node_choose(NodeRun *run, const char *setting, const char *port, char *text) {
        _cleanup_free_ char *owned_text = text, *list = NULL, *instructions = NULL;
        _cleanup_(choices_freep) Choices *c = calloc(1, sizeof(Choices));
        _cleanup_(llm_node_freep) LlmNode *n = NULL;
        bool route = streq(port, "route");
        const char *what = route ? "route" : "category", *whats = route ? "routes" : "categories", *json_hint = "";
        int r;

        if (!c)
                return node_run_fail_oom(run);
        c->port = port;
        r = choices_load(run, setting, c, &list);
        if (r < 0)
                return r;
        r = llm_node_new(run, &n);
        if (r < 0)
                return r;

        /* An ai_model that sets a response_format gets JSON, which OpenAI wants named. */
        if (n->model.request.response_format)
                json_hint = route ? ", as JSON: {\"route\": \"<name>\"}" : ", as JSON: {\"category\": \"<name>\"}";
        if (asprintf(&instructions,
                     "Choose the %s of the user's message. The %s are:\n%s\n"
                     "Answer with exactly one %s name as written above, and nothing else%s. "
                     "If none of them fits, answer %s.", what, whats, list, what, json_hint, LLM_NODE_OTHER_ROUTE) < 0)
                return node_run_fail_oom(run);
        if (llm_node_set_system_prompt(run, n, instructions) < 0 ||
            llm_node_add_message(n, LLM_ROLE_USER, owned_text) < 0)
                return node_run_fail_oom(run);
        n->answered = choice_answered;
        n->userdata = TAKE_PTR(c);
        n->free_userdata = choices_free;
        return llm_node_call(run, TAKE_PTR(n));
}

int component_categorizer(NodeRun *run) {
        char *text = NULL;
        int r;

        r = llm_node_input_text(run, true, &text);
        if (r < 0)
                return r;
        return llm_node_choose(run, "categories", "category", text);
}
