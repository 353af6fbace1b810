/* The graph of one execution: what is in it, what runs first and next, when a node with
 * several parents may run, which branches routing rules out, loops, and the stored form. */

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "engine/topology.h"

/* --- Building workflows tersely -------------------------------------------------------
 * Nodes: "id:type" separated by spaces; a trailing '!' sets is_entry_point.
 * Edges: "src>dst" separated by spaces, then optionally "?value" (conditional edge with that
 * condition_value), "@label" (edge_label) and "#priority". */

static json_t *make_nodes(const char *spec) {
        _cleanup_free_ char *copy = strdup(spec);
        json_t *nodes = json_array();
        char *save = NULL;

        ck_assert_ptr_nonnull(copy);
        for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                char *colon = strchr(tok, ':');
                size_t len;
                bool entry;

                ck_assert_msg(colon, "bad node spec %s", tok);
                *colon = '\0';
                len = strlen(colon + 1);
                entry = len > 0 && colon[len] == '!';
                if (entry)
                        colon[len] = '\0';
                json_array_append_new(nodes, json_pack("{s:s, s:s, s:b, s:s, s:n}", "node_id", tok,
                                                       "component_type", colon + 1, "is_entry_point", entry,
                                                       "label", tok, "config"));
        }
        return nodes;
}

static json_t *make_edges(const char *spec) {
        _cleanup_free_ char *copy = strdup(spec);
        json_t *edges = json_array();
        char *save = NULL;
        int id = 1;

        ck_assert_ptr_nonnull(copy);
        for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                char *gt = strchr(tok, '>'), *value, *label, *prio;
                long priority = 0;

                ck_assert_msg(gt, "bad edge spec %s", tok);
                *gt = '\0';
                prio = strchr(gt + 1, '#');
                if (prio) {
                        *prio = '\0';
                        priority = strtol(prio + 1, NULL, 10);
                }
                label = strchr(gt + 1, '@');
                if (label)
                        *label++ = '\0';
                value = strchr(gt + 1, '?');
                if (value)
                        *value++ = '\0';

                json_array_append_new(edges, json_pack("{s:i, s:s, s:s, s:s, s:s, s:s?, s:i}", "id", id++,
                                                       "source_node_id", tok, "target_node_id", gt + 1,
                                                       "edge_type", value ? "conditional" : "direct",
                                                       "edge_label", label ?: "", "condition_value", value,
                                                       "priority", (int) priority));
        }
        return edges;
}

static Topology *build_ok(const char *nodes, const char *edges, const char *trigger) {
        _cleanup_json_ json_t *n = make_nodes(nodes), *e = make_edges(edges);
        _cleanup_free_ char *error = NULL;
        Topology *t = NULL;
        int r;

        r = topology_build(n, e, trigger, &t, &error);
        ck_assert_msg(r == 0, "build failed: %d %s", r, error ?: "");
        ck_assert_ptr_nonnull(t);
        return t;
}

static void assert_build_fails_json(json_t *nodes, json_t *edges, const char *trigger, const char *message) {
        _cleanup_free_ char *error = NULL;
        Topology *t = NULL;

        ck_assert_int_eq(topology_build(nodes, edges, trigger, &t, &error), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_msg(error && strstr(error, message), "got '%s', wanted '%s'", error ?: "(null)", message);
}

static void assert_build_fails(const char *nodes, const char *edges, const char *trigger, const char *message) {
        _cleanup_json_ json_t *n = make_nodes(nodes), *e = make_edges(edges);

        assert_build_fails_json(n, e, trigger, message);
}

/* "a b c" for a list of ids, to compare lists in one assertion. */
static char *join(const char *const *ids, size_t n) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i > 0 ? " " : "", ids[i]);
        fclose(f);
        return s;
}

static size_t strv_length(const char **v) {
        size_t n = 0;

        while (v[n])
                n++;
        return n;
}

#define assert_list(getter, t, id, expected)                                    \
        do {                                                                    \
                const char *const *_l;                                          \
                size_t _n = getter(t, id, &_l);                                 \
                _cleanup_free_ char *_s = join(_l, _n);                         \
                ck_assert_ptr_null(_l[_n]);                                     \
                ck_assert_msg(streq(_s, expected), "%s(%s) = '%s', wanted '%s'", \
                              #getter, id, _s, expected);                       \
        } while (0)

static void assert_entries(const Topology *t, const char *expected) {
        const char *const *l;
        size_t n = topology_entry_nodes(t, &l);
        _cleanup_free_ char *s = join(l, n);

        ck_assert_msg(streq(s, expected), "entries '%s', wanted '%s'", s, expected);
}

static void assert_successors(const Topology *t, const char *id, const char *route, const char *expected) {
        _cleanup_free_ const char **l = NULL;
        _cleanup_free_ char *s = NULL;

        ck_assert_int_eq(topology_successors(t, id, route, &l), 0);
        s = join(l, strv_length(l));
        ck_assert_msg(streq(s, expected), "successors(%s, %s) = '%s', wanted '%s'", id, route ?: "NULL", s,
                      expected);
}

/* --- A run's node state, as the orchestrator would keep it ----------------------------- */

typedef struct RunState {
        const char *finished[32], *ruled_out[32], *offered[32];
        size_t n_finished, n_ruled_out, n_offered;
} RunState;

static bool in_set(const char *const *set, size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (streq(set[i], id))
                        return true;
        return false;
}

static bool is_finished(const char *id, void *userdata) {
        RunState *s = userdata;
        return in_set(s->finished, s->n_finished, id);
}

static bool is_ruled_out(const char *id, void *userdata) {
        RunState *s = userdata;
        return in_set(s->ruled_out, s->n_ruled_out, id);
}

static bool is_offered(const char *id, void *userdata) {
        RunState *s = userdata;
        return in_set(s->offered, s->n_offered, id);
}

static bool ready(const Topology *t, RunState *s, const char *id) {
        return topology_ready(t, id, is_finished, is_ruled_out, s);
}

/* Node id finished with route: what the orchestrator records. Returns the ruled-out list. */
static char *finish(const Topology *t, RunState *s, const char *id, const char *route, bool exact) {
        _cleanup_free_ const char **succ = NULL, **out = NULL;
        char *joined;

        s->finished[s->n_finished++] = id;
        ck_assert_int_eq(topology_successors(t, id, route, &succ), 0);
        for (size_t i = 0; succ[i]; i++)
                s->offered[s->n_offered++] = succ[i];
        if (exact)
                ck_assert_int_eq(topology_rule_out_offered(t, id, route, is_ruled_out, is_finished, is_offered, s,
                                                           &out), 0);
        else
                ck_assert_int_eq(topology_rule_out(t, id, route, is_ruled_out, s, &out), 0);
        for (size_t i = 0; out[i]; i++)
                s->ruled_out[s->n_ruled_out++] = out[i];
        joined = join(out, strv_length(out));
        return joined;
}

/* --- Tests ------------------------------------------------------------------------------ */

START_TEST(test_linear_chain) {
        _cleanup_(topology_freep) Topology *t = build_ok("t:trigger_manual a:code b:agent c:reply_chat",
                                                         "t>a a>b b>c", "t");
        const char *const *all;

        assert_entries(t, "a");
        ck_assert_uint_eq(topology_nodes(t, &all), 3);
        ck_assert(topology_contains(t, "a"));
        ck_assert(!topology_contains(t, "t"));
        ck_assert(!topology_contains(t, "nope"));
        ck_assert(!topology_contains(t, NULL));
        ck_assert_str_eq(topology_component_type(t, "b"), "agent");
        ck_assert_ptr_null(topology_component_type(t, "t"));
        ck_assert_str_eq(topology_trigger_node_id(t), "t");

        assert_successors(t, "a", NULL, "b");
        assert_successors(t, "b", "ignored", "c");
        assert_successors(t, "c", NULL, "");
        assert_successors(t, "nope", NULL, "");
        assert_list(topology_parents, t, "b", "a");
        assert_list(topology_parents, t, "a", "");
        assert_list(topology_children, t, "b", "c");
}
END_TEST

START_TEST(test_fan_out_and_priority) {
        _cleanup_(topology_freep) Topology *t = build_ok("t:trigger_chat a:code b:code c:code d:code",
                                                         "t>a a>b#5 a>c#1 a>d#3 a>c", "t");

        /* Priority orders them; a doubled edge runs its target once. */
        assert_successors(t, "a", NULL, "c d b");
        assert_list(topology_parents, t, "c", "a");
}
END_TEST

START_TEST(test_fan_in_waits_for_all_parents) {
        _cleanup_(topology_freep) Topology *t = build_ok("t:trigger_manual a:code b:code c:code d:code",
                                                         "t>a a>b a>c b>d c>d", "t");
        RunState s = {};
        _cleanup_free_ char *out1 = NULL, *out2 = NULL, *out3 = NULL;

        assert_list(topology_parents, t, "d", "b c");
        ck_assert(ready(t, &s, "a"));
        out1 = finish(t, &s, "a", NULL, true);
        ck_assert_str_eq(out1, "");
        ck_assert(ready(t, &s, "b"));
        ck_assert(!ready(t, &s, "d"));
        out2 = finish(t, &s, "b", NULL, true);
        ck_assert(!ready(t, &s, "d"));   /* c is still running */
        out3 = finish(t, &s, "c", NULL, true);
        ck_assert(ready(t, &s, "d"));
        ck_assert(!topology_ready(t, "nope", is_finished, is_ruled_out, &s));
}
END_TEST

START_TEST(test_merge_after_switch) {
        const char *nodes = "t:trigger_chat s:switch x:agent y:code m:merge r:reply_chat";
        const char *edges = "t>s s>x?r1 s>y?r2 x>m y>m m>r";
        _cleanup_(topology_freep) Topology *t = build_ok(nodes, edges, "t");

        for (int taken = 0; taken < 2; taken++) {
                const char *route = taken == 0 ? "r1" : "r2", *run = taken == 0 ? "x" : "y";
                const char *skipped = taken == 0 ? "y" : "x";
                _cleanup_free_ char *out = NULL, *out2 = NULL;
                RunState s = {};

                assert_successors(t, "s", route, run);
                out = finish(t, &s, "s", route, false);
                ck_assert_str_eq(out, skipped);
                /* The merge waits for the branch that runs, not for the one that never will. */
                ck_assert(!ready(t, &s, "m"));
                out2 = finish(t, &s, run, NULL, false);
                ck_assert_str_eq(out2, "");
                ck_assert(ready(t, &s, "m"));
        }

        /* No rule matched: both branches, the merge and what follows it are ruled out. */
        RunState s = {};
        _cleanup_free_ char *out = finish(t, &s, "s", "", false);
        ck_assert_str_eq(out, "x y m r");
        assert_successors(t, "s", NULL, "");
        assert_successors(t, "s", "r3", "");
}
END_TEST

START_TEST(test_conditional_edges) {
        _cleanup_(topology_freep) Topology *t = build_ok(
                "t:trigger_manual s:switch a:code b:code c:code d:code",
                "t>s s>a?yes#2 s>b?yes#1 s>c?__other__ s>__end__?stop s>d", "t");

        /* The first edge by priority wins; other values pick nothing. */
        assert_successors(t, "s", "yes", "b");
        assert_successors(t, "s", "__other__", "c");
        assert_successors(t, "s", "stop", "");
        assert_successors(t, "s", "YES", "");
        /* With conditional edges the direct one is not followed. */
        assert_list(topology_children, t, "s", "c d b a");

        RunState st = {};
        _cleanup_free_ char *out = finish(t, &st, "s", "yes", false);
        ck_assert_str_eq(out, "c d a");
}
END_TEST

START_TEST(test_chained_rule_out) {
        _cleanup_(topology_freep) Topology *t = build_ok(
                "t:trigger_manual s:switch a:code b:code c:code d:code m:merge e:code",
                "t>s s>a?yes s>b?no b>c c>d a>m d>m m>e", "t");
        RunState s = {};
        _cleanup_free_ char *out = NULL, *out2 = NULL;

        out = finish(t, &s, "s", "yes", false);
        ck_assert_str_eq(out, "b c d");
        ck_assert(!ready(t, &s, "m"));
        out2 = finish(t, &s, "a", NULL, false);
        ck_assert(ready(t, &s, "m"));
}
END_TEST

START_TEST(test_join_after_switch) {
        /* "translate first if needed, then reply": the reply runs on either branch. */
        _cleanup_(topology_freep) Topology *t = build_ok(
                "t:trigger_chat s:switch tr:agent re:reply_chat", "t>s s>tr?foreign s>re?native tr>re", "t");

        {
                RunState s = {};
                _cleanup_free_ char *out = finish(t, &s, "s", "foreign", false);
                _cleanup_free_ char *out2 = NULL;

                ck_assert_str_eq(out, "");      /* re still waits on tr */
                ck_assert(!ready(t, &s, "re"));
                out2 = finish(t, &s, "tr", NULL, false);
                ck_assert(ready(t, &s, "re"));
        }
        {
                RunState s = {};
                _cleanup_free_ char *out = finish(t, &s, "s", "native", false);

                ck_assert_str_eq(out, "tr");
                ck_assert(ready(t, &s, "re"));
        }
}
END_TEST

START_TEST(test_rule_out_two_routers) {
        /* T hangs off two switches and neither picks it: only the exact form, which knows
         * that T was never offered, rules it (and so unblocks the merge). */
        const char *nodes = "t:trigger_manual s1:switch s2:switch T:code u:code m:merge";
        const char *edges = "t>s1 s1>s2?a s1>T?b s2>T?c s2>u?d T>m u>m";
        _cleanup_(topology_freep) Topology *t = build_ok(nodes, edges, "t");

        for (int exact = 0; exact < 2; exact++) {
                RunState s = {};
                _cleanup_free_ char *o1 = finish(t, &s, "s1", "a", exact);
                _cleanup_free_ char *o2 = finish(t, &s, "s2", "d", exact);
                _cleanup_free_ char *o3 = NULL;

                ck_assert_str_eq(o1, "");
                ck_assert_str_eq(o2, exact ? "T" : "");
                o3 = finish(t, &s, "u", NULL, exact);
                ck_assert(ready(t, &s, "m") == (bool) exact);
        }

        /* When s1 did offer T, the exact form keeps it. */
        RunState s = {};
        _cleanup_free_ char *o1 = finish(t, &s, "s1", "b", true);
        ck_assert_str_eq(o1, "s2 u");
        ck_assert(ready(t, &s, "T"));
}
END_TEST

START_TEST(test_entry_nodes) {
        {
                /* Every direct target of the trigger; a target that also has a flow parent
                 * is still offered at the start and never ruled out. */
                _cleanup_(topology_freep) Topology *t = build_ok(
                        "t:trigger_manual a:code s:switch b:code", "t>a t>s t>b s>b?x", "t");
                RunState st = {};
                _cleanup_free_ char *out = NULL;

                assert_entries(t, "a s b");
                assert_list(topology_parents, t, "b", "s");
                out = finish(t, &st, "s", "y", false);
                ck_assert_str_eq(out, "");
                ck_assert(ready(t, &st, "b"));
        }
        {
                /* is_entry_point wins over the trigger's targets. */
                _cleanup_(topology_freep) Topology *t = build_ok("t:trigger_manual a:code b:code!",
                                                                 "t>a a>b", "t");
                assert_entries(t, "b");
        }
        {
                /* Without a trigger: nodes without a flow parent, loop bodies aside. */
                _cleanup_(topology_freep) Topology *t = build_ok(
                        "t:trigger_manual a:code b:code l:loop body:code z:code",
                        "t>a a>b l>body@loop_body body>l@loop_return", NULL);

                assert_entries(t, "a l z");
                ck_assert_ptr_null(topology_trigger_node_id(t));
        }
}
END_TEST

START_TEST(test_loops) {
        _cleanup_(topology_freep) Topology *t = build_ok(
                "t:trigger_manual l:loop b1:code b2:agent b3:code after:reply_chat",
                "t>l l>b1@loop_body b1>b2 b1>b3 b2>l@loop_return b3>l@loop_return l>after", "t");

        assert_entries(t, "l");
        assert_list(topology_loop_body, t, "l", "b1");
        assert_list(topology_loop_completions, t, "l", "b2 b3");
        assert_list(topology_loop_members, t, "l", "b1 b2 b3");
        ck_assert(topology_in_loop_body(t, "l", "b3"));
        ck_assert(!topology_in_loop_body(t, "l", "after"));
        ck_assert(!topology_in_loop_body(t, "l", "l"));
        ck_assert(!topology_in_loop_body(t, "b1", "b2"));
        ck_assert(!topology_in_loop_body(t, "l", NULL));
        /* The loop's own edges: done goes on, the body is not a successor, return is no edge
         * to follow, and it is no parent of the loop either. */
        assert_successors(t, "l", NULL, "after");
        assert_successors(t, "b2", NULL, "");
        assert_list(topology_parents, t, "l", "");
        assert_list(topology_parents, t, "b1", "");
        assert_list(topology_loop_body, t, "b1", "");

        /* Without loop_return edges the body entries complete the iteration. */
        _cleanup_(topology_freep) Topology *t2 = build_ok("t:trigger_manual l:loop x:code y:code",
                                                          "t>l l>x@loop_body l>y@loop_body", "t");
        assert_list(topology_loop_completions, t2, "l", "x y");
        assert_list(topology_loop_members, t2, "l", "x y");
}
END_TEST

START_TEST(test_trigger_scope) {
        const char *nodes = "chat:trigger_chat tg:trigger_telegram a:agent b:reply_chat c:code scratch:code "
                            "model:ai_model tool:calculator";
        const char *edges = "chat>a a>b tg>c c>b model>a@llm tool>a@tool";
        _cleanup_(topology_freep) Topology *t1 = build_ok(nodes, edges, "chat");
        _cleanup_(topology_freep) Topology *t2 = build_ok(nodes, edges, "tg");
        _cleanup_(topology_freep) Topology *all = build_ok(nodes, edges, NULL);
        const char *const *ids;
        size_t n;

        /* The other trigger's branch, scratch nodes and attachments are not in the run. */
        n = topology_nodes(t1, &ids);
        _cleanup_free_ char *s1 = join(ids, n);
        ck_assert_str_eq(s1, "a b");
        assert_list(topology_parents, t1, "b", "a");
        assert_entries(t1, "a");

        n = topology_nodes(t2, &ids);
        _cleanup_free_ char *s2 = join(ids, n);
        ck_assert_str_eq(s2, "b c");
        assert_entries(t2, "c");

        n = topology_nodes(all, &ids);
        _cleanup_free_ char *s3 = join(ids, n);
        ck_assert_str_eq(s3, "a b c scratch");
        assert_entries(all, "a c scratch");
        assert_list(topology_parents, all, "b", "a c");
}
END_TEST

START_TEST(test_cycles) {
        assert_build_fails("t:trigger_manual a:code b:code c:code", "t>a a>b b>c c>a", "t",
                           "cycle through node 'a' ('a' → 'b' → 'c' → 'a')");
        assert_build_fails("t:trigger_manual a:code", "t>a a>a", "t", "cycle through node 'a'");
        assert_build_fails("t:trigger_manual s:switch a:code", "t>s s>a?retry a>s", "t", "cycle through node 's'");
        /* A loop closes only through loop_return. */
        assert_build_fails("t:trigger_manual l:loop b:code", "t>l l>b@loop_body b>l", "t", "cycle through node 'l'");
        /* Unreachable cycles do not matter for this trigger's run. */
        Topology *t = build_ok("t:trigger_manual a:code x:code y:code", "t>a x>y y>x", "t");
        topology_free(t);
}
END_TEST

static void assert_same_graph(const Topology *a, const Topology *b) {
        const char *const *ids;
        size_t n = topology_nodes(a, &ids);

        for (size_t i = 0; i < n; i++) {
                static const char *const routes[] = { NULL, "r1", "r2", "__other__" };

                ck_assert(topology_contains(b, ids[i]));
                ck_assert_str_eq(topology_component_type(a, ids[i]), topology_component_type(b, ids[i]));
                for (size_t k = 0; k < ELEMENTSOF(routes); k++) {
                        _cleanup_free_ const char **x = NULL, **y = NULL;
                        _cleanup_free_ char *sx = NULL, *sy = NULL;

                        ck_assert_int_eq(topology_successors(a, ids[i], routes[k], &x), 0);
                        ck_assert_int_eq(topology_successors(b, ids[i], routes[k], &y), 0);
                        sx = join(x, strv_length(x));
                        sy = join(y, strv_length(y));
                        ck_assert_str_eq(sx, sy);
                }
        }
}

START_TEST(test_json_round_trip) {
        _cleanup_(topology_freep) Topology *t = build_ok(
                "t:trigger_chat s:switch x:agent y:code m:merge l:loop b:code end:reply_chat model:ai_model",
                "t>s s>x?r1#2 s>y?r2#1 s>__end__?r3 x>m y>m m>l l>b@loop_body b>l@loop_return l>end model>x@llm",
                "t");
        _cleanup_(topology_freep) Topology *restored = NULL;
        _cleanup_json_ json_t *j = NULL, *j2 = NULL;
        _cleanup_free_ char *error = NULL, *text = NULL;

        j = topology_to_json(t);
        ck_assert_ptr_nonnull(j);
        text = json_dumps(j, JSON_COMPACT);
        ck_assert_int_eq(topology_from_json(j, &restored, &error), 0);
        j2 = topology_to_json(restored);
        ck_assert_msg(json_equal(j, j2), "round trip changed %s", text);

        ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 1);
        ck_assert_str_eq(json_string_value(json_object_get(j, "trigger_node_id")), "t");
        ck_assert_uint_eq(json_array_size(json_object_get(j, "nodes")), 7);
        assert_entries(restored, "s");
        assert_same_graph(t, restored);
        assert_same_graph(restored, t);
        assert_list(topology_loop_completions, restored, "l", "b");
        assert_list(topology_parents, restored, "m", "x y");

        /* A stored graph is checked as strictly as a new one. */
        json_t *edges = json_object_get(j, "edges");
        json_array_append_new(edges, json_pack("{s:s, s:s}", "source_node_id", "end", "target_node_id", "s"));
        topology_free(restored);
        restored = NULL;
        ck_assert_int_eq(topology_from_json(j, &restored, &error), -EINVAL);
        ck_assert_ptr_nonnull(strstr(error, "cycle"));
}
END_TEST

static void assert_from_json_fails(const char *text, const char *message) {
        _cleanup_json_ json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
        _cleanup_free_ char *error = NULL;
        Topology *t = NULL;

        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(topology_from_json(j, &t, &error), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_msg(error && strstr(error, message), "%s: got '%s', wanted '%s'", text, error ?: "(null)",
                      message);
}

START_TEST(test_hostile_input) {
        _cleanup_json_ json_t *nodes = make_nodes("t:trigger_manual a:code"), *edges = make_edges("t>a");
        _cleanup_json_ json_t *obj = json_object(), *str = json_string("x");

        assert_build_fails_json(obj, edges, "t", "nodes must be an array");
        assert_build_fails_json(nodes, str, "t", "edges must be an array");
        assert_build_fails_json(NULL, edges, "t", "nodes must be an array");
        assert_build_fails_json(nodes, NULL, NULL, "edges must be an array");

        _cleanup_json_ json_t *bad_nodes = json_pack("[{s:s}, i]", "component_type", "code", 5);
        assert_build_fails_json(bad_nodes, edges, NULL, "node 0 has no node_id");
        json_array_remove(bad_nodes, 0);
        assert_build_fails_json(bad_nodes, edges, NULL, "node 0 is not an object");
        _cleanup_json_ json_t *no_type = json_pack("[{s:s}]", "node_id", "a");
        assert_build_fails_json(no_type, edges, NULL, "node 'a' has no component_type");
        _cleanup_json_ json_t *bad_flag = json_pack("[{s:s, s:s, s:s}]", "node_id", "a", "component_type", "code",
                                                    "is_entry_point", "yes");
        assert_build_fails_json(bad_flag, edges, NULL, "is_entry_point must be a boolean");

        assert_build_fails("t:trigger_manual a:code a:agent", "t>a", "t", "node id 'a' appears twice");
        assert_build_fails("t:trigger_manual a:code", "t>a a>ghost", "t", "ends at unknown node 'ghost'");
        assert_build_fails("t:trigger_manual a:code", "t>a ghost>a", NULL, "starts at unknown node 'ghost'");
        assert_build_fails("t:trigger_manual a:code", "t>a", "nope", "trigger node 'nope' is not in the workflow");
        assert_build_fails("t:trigger_manual a:code", "t>a", "a", "'a' is not a trigger");
        assert_build_fails("t:trigger_manual a:code", "", "t", "nothing to run");
        assert_build_fails("t:trigger_manual m:ai_model", "t>m", "t", "nothing to run");
        assert_build_fails("t:trigger_manual", "", NULL, "nothing to run");
        assert_build_fails("t:trigger_manual a:teleporter", "t>a", "t", "node 'a' has unknown type 'teleporter'");
        assert_build_fails("t:trigger_manual l:loop", "t>l l>__end__@loop_body", "t", "must end at a node");

        _cleanup_json_ json_t *e1 = json_pack("[{s:s}]", "source_node_id", "t");
        assert_build_fails_json(nodes, e1, "t", "edge 0 needs source_node_id and target_node_id");
        _cleanup_json_ json_t *e2 = json_pack("[s]", "t>a");
        assert_build_fails_json(nodes, e2, "t", "edge 0 is not an object");
        _cleanup_json_ json_t *e3 = json_pack("[{s:s, s:s, s:s}]", "source_node_id", "t", "target_node_id", "a",
                                              "edge_type", "sometimes");
        assert_build_fails_json(nodes, e3, "t", "edge_type must be");
        _cleanup_json_ json_t *e4 = json_pack("[{s:s, s:s, s:s}]", "source_node_id", "t", "target_node_id", "a",
                                              "priority", "high");
        assert_build_fails_json(nodes, e4, "t", "priority must be an integer");
        _cleanup_json_ json_t *e5 = json_pack("[{s:s, s:s, s:i}]", "source_node_id", "t", "target_node_id", "a",
                                              "edge_label", 3);
        assert_build_fails_json(nodes, e5, "t", "edge_label must be a string");
        _cleanup_json_ json_t *e6 = json_pack("[{s:s, s:s, s:i}]", "source_node_id", "t", "target_node_id", "a",
                                              "condition_value", 3);
        assert_build_fails_json(nodes, e6, "t", "condition_value must be a string");

        /* Missing optional fields take their defaults; unknown labels are attachments. */
        _cleanup_json_ json_t *e7 = json_pack("[{s:s, s:s}, {s:s, s:s, s:s}]", "source_node_id", "t",
                                              "target_node_id", "a", "source_node_id", "a", "target_node_id", "t",
                                              "edge_label", "telepathy");
        Topology *t = NULL;
        ck_assert_int_eq(topology_build(nodes, e7, "t", &t, NULL), 0);
        assert_entries(t, "a");
        topology_free(t);
        ck_assert_ptr_null(topology_free(NULL));

        assert_from_json_fails("[]", "must be an object");
        assert_from_json_fails("{\"version\": 2, \"nodes\": [], \"edges\": []}", "unknown version");
        assert_from_json_fails("{\"version\": 1, \"edges\": []}", "nodes must be an array");
        assert_from_json_fails("{\"version\": 1, \"nodes\": [], \"edges\": []}", "no node");
        assert_from_json_fails("{\"version\": 1, \"trigger_node_id\": 4, \"nodes\": [], \"edges\": []}",
                               "trigger_node_id must be a string");
        assert_from_json_fails("{\"version\": 1, \"nodes\": [{\"node_id\": \"a\", \"component_type\": \"code\"}],"
                               " \"edges\": []}", "no entry node");
        assert_from_json_fails("{\"version\": 1, \"nodes\": [{\"node_id\": \"a\", \"component_type\": \"code\","
                               " \"entry\": true}], \"edges\": [{\"source_node_id\": \"m\", \"target_node_id\": \"a\","
                               " \"edge_label\": \"llm\"}]}", "'llm' is not a flow edge label");
        assert_from_json_fails("{\"version\": 1, \"nodes\": [{\"node_id\": \"a\", \"component_type\": \"code\","
                               " \"entry\": true}], \"edges\": [{\"source_node_id\": \"a\", \"target_node_id\": \"b\"}]}",
                               "ends at unknown node 'b'");
}
END_TEST

START_TEST(test_larger_graph) {
        /* A wide fan-out into one merge and a long chain stay quick and correct. */
        _cleanup_json_ json_t *nodes = json_array(), *edges = json_array();
        _cleanup_(topology_freep) Topology *t = NULL;
        const char *const *parents;
        char id[32], prev[32] = "t";

        json_array_append_new(nodes, json_pack("{s:s, s:s}", "node_id", "t", "component_type", "trigger_manual"));
        json_array_append_new(nodes, json_pack("{s:s, s:s}", "node_id", "m", "component_type", "merge"));
        for (int i = 0; i < 500; i++) {
                snprintf(id, sizeof id, "w%d", i);
                json_array_append_new(nodes, json_pack("{s:s, s:s}", "node_id", id, "component_type", "code"));
                json_array_append_new(edges, json_pack("{s:s, s:s}", "source_node_id", "t", "target_node_id", id));
                json_array_append_new(edges, json_pack("{s:s, s:s}", "source_node_id", id, "target_node_id", "m"));
        }
        for (int i = 0; i < 490; i++) {
                snprintf(id, sizeof id, "c%d", i);
                json_array_append_new(nodes, json_pack("{s:s, s:s}", "node_id", id, "component_type", "code"));
                json_array_append_new(edges, json_pack("{s:s, s:s}", "source_node_id", streq(prev, "t") ? "m" : prev,
                                                       "target_node_id", id));
                strcpy(prev, id);
        }
        ck_assert_int_eq(topology_build(nodes, edges, "t", &t, NULL), 0);
        ck_assert_uint_eq(topology_parents(t, "m", &parents), 500);
        ck_assert_uint_eq(topology_entry_nodes(t, &parents), 500);
        assert_successors(t, "c488", NULL, "c489");
}
END_TEST

static Suite *topology_suite(void) {
        Suite *s = suite_create("topology");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_linear_chain);
        tcase_add_test(tc, test_fan_out_and_priority);
        tcase_add_test(tc, test_fan_in_waits_for_all_parents);
        tcase_add_test(tc, test_merge_after_switch);
        tcase_add_test(tc, test_conditional_edges);
        tcase_add_test(tc, test_chained_rule_out);
        tcase_add_test(tc, test_join_after_switch);
        tcase_add_test(tc, test_rule_out_two_routers);
        tcase_add_test(tc, test_entry_nodes);
        tcase_add_test(tc, test_loops);
        tcase_add_test(tc, test_trigger_scope);
        tcase_add_test(tc, test_cycles);
        tcase_add_test(tc, test_json_round_trip);
        tcase_add_test(tc, test_hostile_input);
        tcase_add_test(tc, test_larger_graph);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(topology_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
