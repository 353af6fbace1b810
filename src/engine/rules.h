/* The rule engine shared by switch, assertion and filter: one rule {field, operator, value}
 * tested against a JSON document (the run state, or one item of a filtered array).
 * Pure functions: no I/O, no global state, safe from any thread. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

typedef struct RuleResult {
        bool passed;
        json_t *actual;         /* the field's value, borrowed from the document; NULL when missing */
} RuleResult;

/* Evaluates rule {field, operator, value} against document.
 *
 * field is a dotted path ("node_outputs.cat_1.category"); a leading "state." is dropped,
 * array items are reached by index ("items.0.name"), and "" is the document itself.
 * A missing field and a JSON null are alike ("does not exist").
 * operator is one of rule_operators(); value may be any JSON, compared as each operator
 * says (strings compare in Python's str() form: 5 → "5", 5.0 → "5.0", true → "True",
 * null → "None"); an absent value counts as "". Unary operators ignore value.
 *
 * Returns 0 with *ret_passed set, or -EINVAL with a message in *ret_error (malloc'ed; may
 * be NULL to ignore it) when the rule is malformed: not an object, field or operator not a
 * string, an unknown operator, a bad regular expression, or a length operator whose value
 * is not an integer. Unlike the reference, which let an unknown operator silently not match,
 * a typo in a rule surfaces as an error instead of routing the run down the wrong branch.
 * -ENOMEM on allocation failure. */
int rule_evaluate(json_t *rule, json_t *document, bool *ret_passed, char **ret_error);

/* The same, also reporting the value the rule looked at (for the assertion node's results). */
int rule_evaluate_full(json_t *rule, json_t *document, RuleResult *ret, char **ret_error);

/* The value at dotted_path in document (borrowed), or NULL when some step is missing or
 * dotted_path is NULL. Same path rules as rule_evaluate(). */
json_t *json_path_get(json_t *document, const char *dotted_path);

bool rule_operator_is_known(const char *op);

/* Every operator, NULL-terminated, in the order the node-type schemas list them. */
const char *const *rule_operators(void);
