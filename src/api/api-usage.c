/* What model calls used and cost, from the usage ledger: a workflow's (its owner and
 * admins), one's own, and (for admins) any user's, with the budgets they are held to. */

#include <errno.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/budget-limits.h"
#include "store/store-flow.h"
#include "store/store-usage.h"
#include "store/store-users.h"

#define USAGE_DAYS_DEFAULT 31
#define USAGE_DAYS_MAX 366

/* {period, input_tokens, …, cost_usd} of the period. */
static int period_usage(Db *db, UsageScope scope, int64_t id, const BudgetPeriod *p, UsageTotals *ret_totals,
                        json_t **ret) {
        json_t *j;
        int r;

        r = store_usage_sum(db, scope, id, p->first_day, p->next_day, ret_totals);
        if (r < 0)
                return r;
        j = usage_totals_to_json(ret_totals);
        if (!j || json_object_set_new(j, "period", json_string(p->label)) < 0) {
                json_decref(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

/* [{limit, period, spent, allowed, remaining, exceeded, resets_at}] of the limits set. */
static json_t *limits_json(json_t *budget, const BudgetPeriod periods[static 2], const UsageTotals totals[static 2]) {
        _cleanup_json_ json_t *items = json_array();
        BudgetLimits l;

        if (!items)
                return NULL;
        budget_limits_from_json(budget, &l);
        for (BudgetLimitKind k = 0; k < _BUDGET_LIMIT_MAX; k++) {
                bool monthly = budget_limit_is_monthly(k), usd = budget_limit_is_usd(k);
                double spent = usd ? totals[monthly].cost_usd : (double) totals[monthly].total_tokens;
                char resets[TIMESTAMP_BUFSZ];
                json_t *item;

                if (!l.set[k])
                        continue;
                item = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:s}",
                                 "limit", budget_limit_to_string(k),
                                 "period", periods[monthly].label,
                                 "spent", usd ? json_real(spent) : json_integer((json_int_t) spent),
                                 "allowed", usd ? json_real(l.allowed[k]) : json_integer((json_int_t) l.allowed[k]),
                                 "remaining", usd ? json_real(MAX(l.allowed[k] - spent, 0.0))
                                                  : json_integer((json_int_t) MAX(l.allowed[k] - spent, 0.0)),
                                 "exceeded", spent >= l.allowed[k],
                                 "resets_at", timestamp_format(resets, periods[monthly].resets_at));
                if (json_array_append_new(items, item) < 0)
                        return NULL;
        }
        return TAKE_PTR(items);
}

/* The answer of the usage endpoints: into out (which holds who it is about), budget and
 * what was spent today, this month, per day and per model. */
static int reply_usage(HttpRequest *req, HttpResponse *resp, UsageScope scope, int64_t id, json_t *budget,
                       json_t *out) {
        Db *db = req->manager->db;
        usec_t now = now_realtime_usec();
        BudgetPeriod periods[2], window;
        UsageTotals totals[2];
        json_t *today = NULL, *month = NULL, *days = NULL, *models = NULL;
        int64_t n_days;
        int r;

        if (http_request_query_int(req, resp, "days", USAGE_DAYS_DEFAULT, 1, USAGE_DAYS_MAX, &n_days) < 0)
                return 0;
        for (int monthly = 0; monthly < 2; monthly++) {
                r = budget_period(now, monthly, &periods[monthly]);
                if (r < 0)
                        return r;
        }
        /* The last n_days days, today included. */
        r = budget_period(now - (usec_t) (n_days - 1) * 86400 * UINT64_C(1000000), false, &window);
        if (r < 0)
                return r;

        r = period_usage(db, scope, id, &periods[0], &totals[0], &today);
        if (r >= 0)
                r = json_object_set_new(out, "today", today) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = period_usage(db, scope, id, &periods[1], &totals[1], &month);
        if (r >= 0)
                r = json_object_set_new(out, "this_month", month) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = store_usage_by_day(db, scope, id, window.first_day, periods[0].next_day, &days);
        if (r >= 0)
                r = json_object_set_new(out, "days", days) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = store_usage_by_model(db, scope, id, periods[1].first_day, periods[1].next_day, &models);
        if (r >= 0)
                r = json_object_set_new(out, "models", models) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = json_object_set_new(out, "budget", budget_normalize(budget)) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = json_object_set_new(out, "limits", limits_json(budget, periods, totals)) < 0 ? -ENOMEM : 0;
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, json_incref(out));
}

static int workflow_usage_get(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *settings = NULL, *out = NULL;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;
        r = store_workflow_settings(req->manager->db, id, &settings);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        out = json_pack("{s:s, s:I}", "workflow", http_request_param(req, "slug"), "workflow_id", (json_int_t) id);
        if (!out)
                return -ENOMEM;
        return reply_usage(req, resp, USAGE_WORKFLOW, id, json_object_get(settings, "budget"), out);
}

static int user_usage(HttpRequest *req, HttpResponse *resp, int64_t id) {
        _cleanup_json_ json_t *user = NULL, *out = NULL;
        int r;

        r = store_user_get(req->manager->db, id, &user);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "User not found.");
        if (r < 0)
                return r;
        out = json_pack("{s:I, s:O}", "user_id", (json_int_t) id, "username",
                        json_object_get(user, "username") ?: json_null());
        if (!out)
                return -ENOMEM;
        return reply_usage(req, resp, USAGE_USER, id, json_object_get(user, "budget"), out);
}

static int users_me_usage_get(HttpRequest *req, HttpResponse *resp) {
        return user_usage(req, resp, req->user.id);
}

static int users_id_usage_get(HttpRequest *req, HttpResponse *resp) {
        const char *s = http_request_param(req, "id");
        char *end = NULL;
        long long id;

        /* Path ids are positive decimal numbers; anything else names nobody. */
        errno = 0;
        id = isempty(s) || *s < '0' || *s > '9' ? 0 : strtoll(s, &end, 10);
        if (id <= 0 || errno != 0 || !end || *end)
                return http_reply_error(resp, 404, "User not found.");
        return user_usage(req, resp, id);
}

const Route usage_routes[] = {
        { HTTP_GET, "/api/v1/workflows/{slug}/usage/", workflow_usage_get, AUTH_USER },
        { HTTP_GET, "/api/v1/users/me/usage/", users_me_usage_get, AUTH_USER },
        { HTTP_GET, "/api/v1/users/{id}/usage/", users_id_usage_get, AUTH_ADMIN },
        {}
};
