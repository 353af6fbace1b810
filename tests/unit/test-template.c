/* The template engine: every construct, filter and test, the error messages (what and
 * where), undefined values with default, value passthrough, JSON rendering with paths,
 * the limits, hostile nesting, and thousands of garbage templates that must fail cleanly. */

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "engine/template.h"

static const char context_text[] =
        "{"
        "  \"agent_1\": {\"output\": \"Hello\", \"count\": 3, \"ratio\": 0.5, \"tags\": [\"a\", \"b\", \"c\"],"
        "              \"meta\": {\"k\": \"v\", \"n\": null}},"
        "  \"trigger\": {\"text\": \"/start now\", \"chat_id\": 42, \"payload\": {\"x\": 1, \"y\": [1, 2]}},"
        "  \"items\": [3, 1, 2],"
        "  \"words\": [\"banana\", \"Apple\", \"cherry\", \"apple\"],"
        "  \"people\": [{\"name\": \"Ann\", \"age\": 31}, {\"name\": \"Bob\", \"age\": 25}],"
        "  \"empty\": [],"
        "  \"nothing\": null,"
        "  \"flag\": true,"
        "  \"text\": \"  Hello World  \","
        "  \"unicode\": \"h\\u00e9llo\","
        "  \"big\": 9223372036854775807"
        "}";

static json_t *context(void) {
        json_error_t error;
        json_t *c = json_loads(context_text, 0, &error);

        ck_assert_msg(c, "test context: %s", error.text);
        return c;
}

#define assert_render(text, expected)                                                   \
        do {                                                                            \
                _cleanup_json_ json_t *_c = context();                                  \
                _cleanup_free_ char *_out = NULL;                                       \
                TemplateError _e = {};                                                  \
                int _r = template_render((text), _c, &_out, &_e);                       \
                ck_assert_msg(_r == 0, "%s: failed with %d: %s", (text), _r, _e.message); \
                ck_assert_msg(streq(_out, (expected)), "%s: got \"%s\", expected \"%s\"", \
                              (text), _out, (expected));                                \
        } while (0)

#define assert_render_error(text, expected_r, expected_message)                         \
        do {                                                                            \
                _cleanup_json_ json_t *_c = context();                                  \
                char *_out = NULL;                                                      \
                TemplateError _e = {};                                                  \
                int _r = template_render((text), _c, &_out, &_e);                       \
                ck_assert_msg(_r == (expected_r), "%s: returned %d (\"%s\"), expected %d", \
                              (text), _r, _out ?: _e.message, (expected_r));            \
                ck_assert_ptr_null(_out);                                               \
                ck_assert_msg(_e.message && streq(_e.message, (expected_message)),      \
                              "%s: message \"%s\", expected \"%s\"", (text), _e.message, \
                              (expected_message));                                      \
                template_error_done(&_e);                                               \
        } while (0)

/* The message is not pinned down, only that it fails the right way and says something. */
#define assert_render_fails(text, expected_r)                                           \
        do {                                                                            \
                _cleanup_json_ json_t *_c = context();                                  \
                char *_out = NULL;                                                      \
                TemplateError _e = {};                                                  \
                int _r = template_render((text), _c, &_out, &_e);                       \
                ck_assert_msg(_r == (expected_r), "%s: returned %d (\"%s\"), expected %d", \
                              (text), _r, _out ?: _e.message, (expected_r));            \
                ck_assert_msg(!isempty(_e.message), "%s: no message", (text));          \
                template_error_done(&_e);                                               \
        } while (0)

START_TEST(test_plain_text) {
        assert_render("", "");
        assert_render("no tags at all", "no tags at all");
        assert_render("a { b } c {# not a template #} %} }}", "a { b } c {# not a template #} %} }}");
        assert_render("{{ 'x' }} and {# gone #}", "x and ");
        assert_render("line\n{{ 1 }}\n", "line\n1\n");   /* the trailing newline stays */
}
END_TEST

START_TEST(test_output_conversion) {
        assert_render("{{ agent_1.output }}", "Hello");
        assert_render("{{ 1 }} {{ -7 }} {{ 1.5 }} {{ 2.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-05 }} {{ 1234.5e3 }}",
                      "1 -7 1.5 2.0 0.30000000000000004 1e+20 1e-05 1234500.0");
        assert_render("{{ true }} {{ false }} {{ none }} {{ True }} {{ False }} {{ None }}",
                      "True False None True False None");
        assert_render("{{ nothing }} {{ flag }}", "None True");
        /* objects and lists print as compact JSON */
        assert_render("{{ agent_1.meta }}", "{\"k\":\"v\",\"n\":null}");
        assert_render("{{ [1, 'a', 2.5, none, true] }}", "[1,\"a\",2.5,null,true]");
        assert_render("{{ {'q': \"say \\\"hi\\\"\\n\"} }}", "{\"q\":\"say \\\"hi\\\"\\n\"}");
        assert_render("{{ unicode }}", "h\xc3\xa9llo");
}
END_TEST

START_TEST(test_access) {
        assert_render("{{ agent_1.tags[0] }}{{ agent_1.tags[-1] }}{{ agent_1.tags.1 }}", "acb");
        assert_render("{{ agent_1['output'] }} {{ agent_1[\"meta\"].k }}", "Hello v");
        assert_render("{{ people[1].name }} {{ people.0.age }}", "Bob 31");
        assert_render("{{ trigger.payload.y[1] }}", "2");
        assert_render("{{ 'hello'[1] }} {{ unicode[1] }} {{ unicode[-1] }}", "e \xc3\xa9 o");
        assert_render("{{ items[1:] }} {{ items[:-1] }} {{ items[::-1] }} {{ items[::2] }} {{ items[5:] }}",
                      "[1,2] [3,1] [2,1,3] [3,2] []");
        assert_render("{{ unicode[1:3] }} {{ 'abcdef'[-2:] }} {{ 'abc'[::-1] }}", "\xc3\xa9l ef cba");
        /* the key wins over a method of the same name */
        assert_render("{{ {'items': 5}.items }}", "5");
}
END_TEST

START_TEST(test_literals) {
        assert_render("{{ 'it\\'s' }} {{ \"tab\\there\" }} {{ '\\u00e9\\x41' }}", "it's tab\there \xc3\xa9" "A");
        assert_render("{{ 'unknown \\q escape' }}", "unknown \\q escape");
        assert_render("{{ 1_000 }} {{ 0.25 }} {{ 1e3 }}", "1000 0.25 1000.0");
        assert_render("{{ [] }} {{ [1, [2, 3],] }} {{ {} }} {{ {'a': {'b': 1}} }}", "[] [1,[2,3]] {} {\"a\":{\"b\":1}}");
        assert_render("{{ {'k' ~ 1: 'v'} }}", "{\"k1\":\"v\"}");
}
END_TEST

START_TEST(test_arithmetic) {
        assert_render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 - 10 }}", "7 9 -3");
        assert_render("{{ 7 / 2 }} {{ 6 / 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }}",
                      "3.5 2.0 3 -4 1 2 -2");
        assert_render("{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2.0 ** 3 }}",
                      "3.0 0.5 1024 0.5 8.0");
        /* as in Jinja, ** is left-associative and binds looser than unary minus */
        assert_render("{{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}", "64 4");
        assert_render("{{ agent_1.count * agent_1.ratio }} {{ agent_1.count + 1 }}", "1.5 4");
        assert_render("{{ 'ab' + 'cd' }} {{ [1] + [2, 3] }} {{ 'ab' * 3 }} {{ 2 * [0] }} {{ 'x' * -1 }}",
                      "abcd [1,2,3] ababab [0,0] ");
        /* repeating nothing takes no time, however many times */
        assert_render("{{ 0 * items * 5500025500002 }}[{{ '' * 9223372036854775807 }}]", "[][]");
        assert_render("{{ 'n=' ~ 1 ~ ', ' ~ none ~ ', ' ~ 2.0 ~ ', ' ~ [1] }}", "n=1, None, 2.0, [1]");
        assert_render("{{ -agent_1.count }} {{ +1.5 }}", "-3 1.5");

        assert_render_error("{{ 1 / 0 }}", -EINVAL, "division by zero in {{ 1 / 0 }} at line 1, column 6");
        assert_render_fails("{{ 1 // 0 }}", -EINVAL);
        assert_render_fails("{{ 1.5 % 0 }}", -EINVAL);
        assert_render_error("{{ big + 1 }}", -EINVAL, "integer overflow in '+' in {{ big + 1 }} at line 1, column 8");
        assert_render_fails("{{ 10 ** 100 }}", -EINVAL);
        assert_render_fails("{{ 1e308 * 10 }}", -EINVAL);
        assert_render_error("{{ 'a' + 1 }}", -EINVAL,
                            "unsupported operands for '+': a string and an integer in {{ 'a' + 1 }} at line 1, column 8");
        assert_render_fails("{{ -'a' }}", -EINVAL);
        assert_render_fails("{{ true + 1 }}", -EINVAL);
}
END_TEST

START_TEST(test_logic) {
        assert_render("{{ 1 < 2 }} {{ 2 <= 1 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ [1, 2] == [1, 2] }}",
                      "True False True True True");
        assert_render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'abc' < 'abd' }} {{ [1, 2] < [1, 3] }}", "True False True True");
        assert_render("{{ 'art' in trigger.text }} {{ 2 in items }} {{ 'payload' in trigger }} {{ 5 not in items }}",
                      "True True True True");
        assert_render("{{ not flag }} {{ not 1 == 2 }} {{ flag and 'yes' }} {{ 0 or 'fallback' }} {{ empty or 'none' }}",
                      "False True yes fallback none");
        assert_render("{{ 'big' if agent_1.count > 2 else 'small' }} [{{ 'x' if false }}]", "big []");
        assert_render("{{ 'a' if false else 'b' if false else 'c' }}", "c");
        /* and/or short-circuit: the undefined side is never looked at */
        assert_render("{{ false and missing }} {{ true or missing }}", "False True");

        assert_render_error("{{ 'a' < 1 }}", -EINVAL,
                            "cannot compare a string with an integer using '<' in {{ 'a' < 1 }} at line 1, column 8");
        assert_render_fails("{{ 1 in 5 }}", -EINVAL);
        assert_render_fails("{{ 1 in 'abc' }}", -EINVAL);
}
END_TEST

START_TEST(test_undefined) {
        assert_render_error("{{ agent_2.output }}", -EINVAL,
                            "undefined name 'agent_2' in {{ agent_2.output }} at line 1, column 4");
        /* nothing is printed when something fails further on */
        assert_render_error("{{ agent_1.output }} {{ agent_2.output }}", -EINVAL,
                            "undefined name 'agent_2' in {{ agent_2.output }} at line 1, column 25");
        assert_render_error("{{ agent_1.missing }}", -EINVAL,
                            "'agent_1' has no attribute 'missing' in {{ agent_1.missing }} at line 1, column 12");
        assert_render_error("{{ agent_1['nope'] }}", -EINVAL,
                            "'agent_1' has no key 'nope' in {{ agent_1['nope'] }} at line 1, column 11");
        assert_render_error("{{ items[3] }}", -EINVAL,
                            "'items' has no index 3 (it has 3 items) in {{ items[3] }} at line 1, column 9");
        assert_render_error("{{ agent_1.output.x }}", -EINVAL,
                            "'agent_1.output' is a string, it has no attribute 'x' in {{ agent_1.output.x }} at line 1, column 19");
        assert_render_error("first line\n  second {{ trigger.nope }}\n", -EINVAL,
                            "'trigger' has no attribute 'nope' in {{ trigger.nope }} at line 2, column 21");
        assert_render_error("{% if missing %}x{% endif %}", -EINVAL,
                            "undefined name 'missing' in {% if missing %} at line 1, column 7");
        assert_render_error("{% for x in items %}{{ y }}{% endfor %}", -EINVAL,
                            "undefined name 'y' in {{ y }} at line 1, column 24");
        /* using an undefined value in any way but default or defined is an error */
        assert_render_fails("{{ missing ~ 'x' }}", -EINVAL);
        assert_render_fails("{{ missing | upper }}", -EINVAL);
        assert_render_fails("{{ missing is none }}", -EINVAL);
        assert_render_fails("{{ [] | first }}", -EINVAL);
}
END_TEST

START_TEST(test_default) {
        assert_render("{{ x.y | default('n/a') }}", "n/a");
        assert_render("{{ agent_1.nope | default('n/a') }}", "n/a");
        assert_render("{{ agent_1.meta.k.deeper[0] | d('n/a') }}", "n/a");
        assert_render("{{ agent_1.output | default('n/a') }}", "Hello");
        assert_render("[{{ missing | default }}]", "[]");
        assert_render("{{ nothing | default('x') }} {{ nothing | default('x', true) }} {{ '' | d('e', boolean=true) }}",
                      "None x e");
        assert_render("{{ missing | default(agent_1.count) + 1 }}", "4");
        assert_render("{{ [] | first | default('none') }} {{ empty | max | default(0) }}", "none 0");
        assert_render("{{ x is defined }} {{ agent_1.output is defined }} {{ x.y is undefined }} {{ x is not defined }}",
                      "False True True True");
        assert_render("{% if trigger.payload is defined and trigger.payload.x %}yes{% endif %}", "yes");
        assert_render("{{ x if x is defined else 'unset' }}", "unset");
        assert_render_fails("{{ missing | default(other) }}", -EINVAL);
}
END_TEST

START_TEST(test_if) {
        assert_render("{% if flag %}yes{% endif %}", "yes");
        assert_render("{% if not flag %}yes{% else %}no{% endif %}", "no");
        assert_render("{% if agent_1.count > 5 %}a{% elif agent_1.count > 2 %}b{% elif true %}c{% else %}d{% endif %}",
                      "b");
        assert_render("{% if empty %}a{% elif nothing %}b{% else %}c{% endif %}", "c");
        assert_render("{% if flag %}{% if items %}nested{% endif %}{% endif %}", "nested");
}
END_TEST

START_TEST(test_for) {
        assert_render("{% for x in items %}{{ x }}{% endfor %}", "312");
        assert_render("{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
                      "{{ loop.length }}{{ loop.revindex }};{% endfor %}",
                      "10TrueFalse33;21FalseFalse32;32FalseTrue31;");
        assert_render("{% for x in empty %}{{ x }}{% else %}none{% endfor %}", "none");
        assert_render("{% for k in agent_1.meta %}{{ k }},{% endfor %}", "k,n,");
        assert_render("{% for k, v in agent_1.meta.items() %}{{ k }}={{ v }};{% endfor %}", "k=v;n=None;");
        assert_render("{% for k, v in trigger.payload | items %}{{ k }}{% endfor %}", "xy");
        assert_render("{% for c in unicode %}[{{ c }}]{% endfor %}", "[h][\xc3\xa9][l][l][o]");
        assert_render("{% for p in people %}{{ p.name }} is {{ p.age }}{% if not loop.last %}, {% endif %}{% endfor %}",
                      "Ann is 31, Bob is 25");
        /* the inner loop's variables hide the outer ones, and come back after it */
        assert_render("{% for a in [1, 2] %}{% for a in ['x'] %}{{ a }}{{ loop.length }}{% endfor %}{{ a }}"
                      "{{ loop.length }}{% endfor %}",
                      "x112x122");
        assert_render("{% for i in range(3) %}{{ i }}{% endfor %} {{ range(2, 8, 3) }} {{ range(3, 0, -1) }}",
                      "012 [2,5] [3,2,1]");
        /* a condition after the items filters them before the loop counts them */
        assert_render("{% for x in items if x > 1 %}{{ x }}{{ loop.index }}/{{ loop.length }} {% endfor %}",
                      "31/2 22/2 ");
        assert_render("{% for p in people if p.age > 99 %}{{ p }}{% else %}nobody{% endfor %}", "nobody");
        assert_render("{% for k, v in agent_1.meta | items if v is not none %}{{ k }}{% endfor %}", "k");
        assert_render_fails("{% for x in items if x > 1 else 'no' %}{% endfor %}", -EINVAL);
        /* loop variables disappear after the loop */
        assert_render_fails("{% for x in items %}{% endfor %}{{ x }}", -EINVAL);
        assert_render_error("{% for k, v in items %}{% endfor %}", -EINVAL,
                            "cannot unpack an integer into k, v in {% for k, v in items %} at line 1, column 4");
        assert_render_error("{% for x in 5 %}{% endfor %}", -EINVAL,
                            "cannot iterate over an integer in {% for x in 5 %} at line 1, column 13");
}
END_TEST

START_TEST(test_whitespace_control) {
        assert_render("a  {{- 'b' -}}  c", "abc");
        assert_render("a \n {%- if true -%} \n b \n {%- endif -%} \n c", "abc");
        assert_render("a {#- comment -#} b{{ '' }}", "ab");
        assert_render("<ul>\n{%- for x in items %}\n  <li>{{ x }}</li>\n{%- endfor %}\n</ul>",
                      "<ul>\n  <li>3</li>\n  <li>1</li>\n  <li>2</li>\n</ul>");
        /* without the minus, whitespace stays */
        assert_render("a {% if true %} b {% endif %} c", "a  b  c");
        assert_render("{{ 5 -}} \n {{ 3 }}", "53");
        assert_render("{{ 5 - 3 }}", "2");
}
END_TEST

START_TEST(test_comments_and_raw) {
        assert_render("a{# {{ undefined }} {% if %} #}b", "ab");
        assert_render("{% raw %}{{ not rendered }} {% if %}{% endraw %} {{ 1 }}", "{{ not rendered }} {% if %} 1");
        assert_render("{%- raw -%}  {{ x }}  {%- endraw -%}", "{{ x }}");
        assert_render_error("{% raw %}{{ x }}", -EINVAL, "missing {% endraw %} in {% raw %} at line 1, column 1");
        assert_render_error("{{ 1 }} {# never closed", -EINVAL, "missing '#}' in {# never closed at line 1, column 9");
}
END_TEST

START_TEST(test_filters_text) {
        assert_render("{{ 'hello WORLD' | upper }} {{ 'Hello' | lower }} {{ 'hello wORLD' | capitalize }}",
                      "HELLO WORLD hello Hello world");
        assert_render("{{ 'hello big-world (of [things])' | title }}", "Hello Big-World (Of [Things])");
        assert_render("[{{ text | trim }}] [{{ text | strip }}] [{{ 'xxhixx' | trim('x') }}] [{{ 5 | trim }}]",
                      "[Hello World] [Hello World] [hi] [5]");
        assert_render("{{ 'a-b-c' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'ab' | replace('', '.') }}",
                      "a+b+c bba .a.b.");
        assert_render("{{ 'The quick brown fox jumps' | truncate(15) }}", "The quick...");
        assert_render("{{ 'The quick brown fox jumps' | truncate(15, true) }}", "The quick br...");
        assert_render("{{ 'The quick brown fox' | truncate(18) }}", "The quick brown fox");  /* within leeway */
        assert_render("{{ 'The quick brown fox jumps' | truncate(12, end='!', leeway=0) }}", "The quick!");
        assert_render("{{ 'abc' | truncate(2, killwords=true, end='', leeway=0) }}", "ab");
        assert_render("{{ 'a, b;c' | split(',') }} {{ ' a  b ' | split }} {{ 'a,b,c' | split(',', 1) }}",
                      "[\"a\",\" b;c\"] [\"a\",\"b\"] [\"a\",\"b,c\"]");
        assert_render("{{ 'a b&c/d' | urlencode }} {{ {'q': 'x y', 'n': 1} | urlencode }} {{ [['a', 'b c']] | urlencode }}",
                      "a%20b%26c/d q=x+y&n=1 a=b+c");
        assert_render("{{ unicode | urlencode }}", "h%C3%A9llo");
        assert_render("{{ 'one two, three-four' | wordcount }} {{ '' | wordcount }}", "4 0");
        assert_render("{{ 42 | string ~ '!' }} {{ [1] | string }}", "42! [1]");
        assert_render_fails("{{ 'abc' | truncate(1) }}", -EINVAL);   /* shorter than "..." */
        assert_render_fails("{{ 'abc' | split('') }}", -EINVAL);
        assert_render_fails("{{ 'abc' | replace('a') }}", -EINVAL);   /* new is required */
}
END_TEST

START_TEST(test_filters_numbers) {
        assert_render("{{ '42' | int }} {{ ' -7 ' | int }} {{ '3.9' | int }} {{ 3.9 | int }} {{ 'x' | int }} {{ 'x' | int(5) }}",
                      "42 -7 3 3 0 5");
        assert_render("{{ 'ff' | int(base=16) }} {{ nothing | int }} {{ true | int }}", "255 0 1");
        assert_render("{{ '2.5' | float }} {{ 3 | float }} {{ 'x' | float }} {{ 'nan' | float }} {{ 'x' | float(1.5) }}",
                      "2.5 3.0 0.0 0.0 1.5");
        assert_render("{{ 2.675 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 7 | round }} {{ 1234 | round(-2) }}",
                      "2.67 2.0 4.0 7 1200");
        assert_render("{{ 3.14159 | round(2, 'floor') }} {{ 3.14159 | round(1, 'ceil') }} {{ -2.5 | round(method='ceil') }}",
                      "3.14 3.2 -2.0");
        /* as in Jinja, a filter applies to the negated number */
        assert_render("{{ -5 | abs }} {{ -2.5 | abs }} {{ 0 - 5 | abs }}", "5 2.5 -5");
        assert_render_fails("{{ 'x' | abs }}", -EINVAL);
        assert_render_fails("{{ 1.5 | round(method='up') }}", -EINVAL);
}
END_TEST

START_TEST(test_filters_collections) {
        assert_render("{{ items | length }} {{ 'h\xc3\xa9' | length }} {{ agent_1.meta | count }}", "3 2 2");
        assert_render("{{ items | join }} {{ items | join(', ') }} {{ people | join(' & ', attribute='name') }}",
                      "312 3, 1, 2 Ann & Bob");
        assert_render("{{ items | first }} {{ items | last }} {{ 'abc' | first }} {{ people | last | tojson }}",
                      "3 2 a {\"name\":\"Bob\",\"age\":25}");
        assert_render("{{ items | sort }} {{ items | sort(reverse=true) }} {{ words | sort }}",
                      "[1,2,3] [3,2,1] [\"Apple\",\"apple\",\"banana\",\"cherry\"]");
        assert_render("{{ words | sort(case_sensitive=true) }}", "[\"Apple\",\"apple\",\"banana\",\"cherry\"]");
        assert_render("{{ ['b', 'B', 'a'] | sort(case_sensitive=true) }}", "[\"B\",\"a\",\"b\"]");
        assert_render("{% for p in people | sort(attribute='age') %}{{ p.name }}{% endfor %}", "BobAnn");
        assert_render("{{ items | reverse }} {{ unicode | reverse }} {{ items | list }} {{ 'ab' | list }}",
                      "[2,1,3] oll\xc3\xa9h [3,1,2] [\"a\",\"b\"]");
        assert_render("{{ [1, 2, 1.0, 'a', 'A', 2] | unique }} {{ ['a', 'A'] | unique(case_sensitive=true) }}",
                      "[1,2,\"a\"] [\"a\",\"A\"]");
        assert_render("{{ items | min }} {{ items | max }} {{ words | max }} {{ people | min(attribute='age') | tojson }}",
                      "1 3 cherry {\"name\":\"Bob\",\"age\":25}");
        assert_render("{{ items | sum }} {{ [0.5, 1] | sum }} {{ people | sum(attribute='age') }} {{ items | sum(start=10) }}",
                      "6 1.5 56 16");
        assert_render("{{ agent_1.meta | keys }} {{ agent_1.meta | values }} {{ agent_1.meta | items }}",
                      "[\"k\",\"n\"] [\"v\",null] [[\"k\",\"v\"],[\"n\",null]]");
        assert_render("{{ trigger.payload | tojson }} {{ trigger.payload | tojson(2) }}",
                      "{\"x\":1,\"y\":[1,2]} {\n  \"x\": 1,\n  \"y\": [\n    1,\n    2\n  ]\n}");
        assert_render("{{ 'a\"b' | tojson }} {{ nothing | tojson }}", "\"a\\\"b\" null");
        assert_render("{{ ('{\"a\": [1, 2]}' | fromjson).a[1] }} {{ '3' | fromjson + 1 }}", "2 4");
        assert_render_error("{{ '{bad' | fromjson }}", -EINVAL,
                            "invalid JSON: string or '}' expected near 'bad' (line 1, column 4) "
                            "in {{ '{bad' | fromjson }} at line 1, column 13");
        assert_render_error("{{ [1, 'a'] | sort }}", -EINVAL,
                            "cannot compare a string with an integer in {{ [1, 'a'] | sort }} at line 1, column 15");
        assert_render_fails("{{ items | keys }}", -EINVAL);
        assert_render_fails("{{ 5 | length }}", -EINVAL);
        assert_render_fails("{{ 5 | join }}", -EINVAL);
}
END_TEST

START_TEST(test_filter_arguments) {
        assert_render_error("{{ x | nosuch }}", -EINVAL, "unknown filter 'nosuch' in {{ x | nosuch }} at line 1, column 8");
        assert_render_error("{{ 'a' | upper(1) }}", -EINVAL,
                            "filter 'upper' takes at most 0 arguments in {{ 'a' | upper(1) }} at line 1, column 16");
        assert_render_error("{{ 'a' | truncate(foo=1) }}", -EINVAL,
                            "filter 'truncate' has no parameter 'foo' in {{ 'a' | truncate(foo=1) }} at line 1, column 23");
        assert_render_fails("{{ 'a' | truncate(3, length=4) }}", -EINVAL);
        assert_render_fails("{{ 'a' | truncate('x') }}", -EINVAL);
        assert_render_error("{{ 'a' | truncate(length=5, 1) }}", -EINVAL,
                            "positional argument after keyword argument in {{ 'a' | truncate(length=5, 1) }} "
                            "at line 1, column 29");
        assert_render_error("{{ x is nosuch }}", -EINVAL, "unknown test 'nosuch' in {{ x is nosuch }} at line 1, column 9");
}
END_TEST

START_TEST(test_tests) {
        assert_render("{{ nothing is none }} {{ 1 is none }} {{ 1 is not none }}", "True False True");
        assert_render("{{ 'a' is string }} {{ 1 is number }} {{ 1.5 is number }} {{ 1 is integer }} {{ 1.5 is float }}",
                      "True True True True True");
        assert_render("{{ flag is boolean }} {{ flag is true }} {{ 1 is true }} {{ false is false }}", "True True False True");
        assert_render("{{ agent_1 is mapping }} {{ items is sequence }} {{ 'a' is iterable }} {{ 1 is iterable }}",
                      "True True True False");
        assert_render("{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby(3) }} {{ 9 is divisibleby(2) }}",
                      "True True True False");
        assert_render("{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }} {{ '12' is lower }}",
                      "True True False False");
        assert_render_fails("{{ 'a' is even }}", -EINVAL);
        assert_render_fails("{{ 1 is divisibleby(0) }}", -EINVAL);
}
END_TEST

START_TEST(test_methods) {
        assert_render("{{ trigger.text.startswith('/') }} {{ trigger.text.endswith('now') }} {{ 'x'.startswith('xy') }}",
                      "True True False");
        assert_render("{{ 'a b'.upper() }} {{ ' x '.strip() }}|{{ '--x--'.lstrip('-') }}|{{ '--x--'.rstrip('-') }}",
                      "A B x|x--|--x");
        assert_render("{{ 'a,b'.split(',') }} {{ 'aXbX'.replace('X', '-') }} {{ ', '.join(['a', 'b']) }}",
                      "[\"a\",\"b\"] a-b- a, b");
        assert_render("{{ agent_1.meta.keys() }} {{ agent_1.meta.values() }} {{ agent_1.meta.get('k') }} "
                      "{{ agent_1.meta.get('z', 'dflt') }} {{ agent_1.meta.get('z') }}",
                      "[\"k\",\"n\"] [\"v\",null] v dflt None");
        assert_render_error("{{ agent_1.output.nosuch() }}", -EINVAL,
                            "'agent_1.output' is a string, it has no method 'nosuch' in {{ agent_1.output.nosuch() }} "
                            "at line 1, column 19");
        assert_render_error("{{ foo() }}", -EINVAL, "unknown function 'foo' in {{ foo() }} at line 1, column 4");
        assert_render_fails("{{ (1)() }}", -EINVAL);
        assert_render_fails("{{ 'x'.startswith() }}", -EINVAL);
}
END_TEST

START_TEST(test_syntax_errors) {
        assert_render_error("{{ 1 + }}", -EINVAL, "expected an expression, got '}}' in {{ 1 + }} at line 1, column 8");
        assert_render_error("Hi {{ name", -EINVAL, "missing '}}' in {{ name at line 1, column 4");
        assert_render_error("{{ (1 }}", -EINVAL, "unexpected '}', expected ')' in {{ (1 }} at line 1, column 7");
        assert_render_error("{{ [1, 2 }}", -EINVAL, "unexpected '}', expected ']' in {{ [1, 2 }} at line 1, column 10");
        assert_render_error("{{ 1 2 }}", -EINVAL, "expected '}}', got '2' in {{ 1 2 }} at line 1, column 6");
        assert_render_error("{{ 'a' @ 1 }}", -EINVAL, "unexpected character '@' in {{ 'a' @ 1 }} at line 1, column 8");
        assert_render_error("{% if x %}yes", -EINVAL, "missing {% endif %} in {% if x %} at line 1, column 1");
        assert_render_error("{% for x in y %}", -EINVAL, "missing {% endfor %} in {% for x in y %} at line 1, column 1");
        assert_render_error("a\n{% endif %}", -EINVAL, "unexpected 'endif' in {% endif %} at line 2, column 4");
        assert_render_error("{% if 1 %}{% endfor %}{% endif %}", -EINVAL,
                            "unexpected 'endfor' (the innermost open block is 'if') in {% endfor %} at line 1, column 14");
        assert_render_error("{% set x = 1 %}", -EINVAL, "unknown tag 'set' in {% set x = 1 %} at line 1, column 4");
        assert_render_error("{% for in items %}{% endfor %}", -EINVAL,
                            "expected a loop variable, got 'in' in {% for in items %} at line 1, column 8");
        assert_render_error("{{ 'abc }}", -EINVAL, "unterminated string in {{ 'abc }} at line 1, column 4");
        assert_render_error("{{ (1, 2) }}", -EINVAL, "tuples are not supported, use a list in {{ (1, 2) }} at line 1, column 6");
        assert_render_error("{{ if }}", -EINVAL, "unexpected 'if' in {{ if }} at line 1, column 4");
        assert_render_error("{{ '\\x0' }}", -EINVAL, "truncated \\x escape in string in {{ '\\x0' }} at line 1, column 4");
        assert_render_error("{{ '\\u0000' }}", -EINVAL, "NUL characters are not allowed in strings in {{ '\\u0000' }} "
                            "at line 1, column 4");
        assert_render_error("{{ 99999999999999999999 }}", -EINVAL,
                            "integer 99999999999999999999 is too large in {{ 99999999999999999999 }} at line 1, column 4");
        assert_render_fails("{{ }}", -EINVAL);
        assert_render_fails("{{ 'a' | }}", -EINVAL);
        assert_render_fails("{% %}", -EINVAL);
        assert_render_fails("{% if %}{% endif %}", -EINVAL);
        assert_render_fails("{{ x. }}", -EINVAL);
        assert_render_fails("{{ {1: 2} }}", -EINVAL);
        /* column counts characters, not bytes */
        assert_render_error("\xc3\xa9\xc3\xa9 {{ nope }}", -EINVAL, "undefined name 'nope' in {{ nope }} at line 1, column 7");
}
END_TEST

START_TEST(test_error_struct) {
        _cleanup_json_ json_t *c = context(), *list = json_array();
        TemplateError e = {};
        char *out = NULL;

        ck_assert_int_eq(template_render("x\n  {{ nope }}", c, &out, &e), -EINVAL);
        ck_assert_ptr_null(out);
        ck_assert_uint_eq(e.line, 2);
        ck_assert_uint_eq(e.column, 6);
        template_error_done(&e);
        ck_assert_ptr_null(e.message);
        template_error_done(&e);
        template_error_done(NULL);

        /* no error structure: still fails cleanly */
        ck_assert_int_eq(template_render("{{ nope }}", c, &out, NULL), -EINVAL);
        ck_assert_int_eq(template_render("{{ x }}", list, &out, &e), -EINVAL);
        ck_assert_str_eq(e.message, "the context is not an object");
        template_error_done(&e);

        /* a NULL context is an empty one */
        ck_assert_int_eq(template_render("{{ 1 }}", NULL, &out, NULL), 0);
        ck_assert_str_eq(out, "1");
        free(out);
}
END_TEST

START_TEST(test_render_value) {
        _cleanup_json_ json_t *c = context();
        TemplateError e = {};
        json_t *v;

        /* one expression: its own value, whatever the whitespace around it */
        ck_assert_int_eq(template_render_value("{{ trigger.payload }}", c, &v, &e), 0);
        ck_assert(json_equal(v, json_object_get(json_object_get(c, "trigger"), "payload")));
        json_decref(v);
        ck_assert_int_eq(template_render_value("  \n{{ agent_1.count }}\t ", c, &v, &e), 0);
        ck_assert(json_is_integer(v) && json_integer_value(v) == 3);
        json_decref(v);
        ck_assert_int_eq(template_render_value("{{- items | sort -}}", c, &v, &e), 0);
        ck_assert(json_is_array(v) && json_array_size(v) == 3 && json_integer_value(json_array_get(v, 0)) == 1);
        json_decref(v);
        ck_assert_int_eq(template_render_value("{{ nothing }}", c, &v, &e), 0);
        ck_assert(json_is_null(v));
        json_decref(v);
        ck_assert_int_eq(template_render_value("{{ agent_1.ratio * 2 }}", c, &v, &e), 0);
        ck_assert(json_is_real(v) && json_real_value(v) == 1.0);
        json_decref(v);

        /* anything else: a string */
        ck_assert_int_eq(template_render_value("{{ agent_1.count }} items", c, &v, &e), 0);
        ck_assert_str_eq(json_string_value(v), "3 items");
        json_decref(v);
        ck_assert_int_eq(template_render_value("{{ 1 }}{{ 2 }}", c, &v, &e), 0);
        ck_assert_str_eq(json_string_value(v), "12");
        json_decref(v);
        ck_assert_int_eq(template_render_value("{% if true %}{{ items }}{% endif %}", c, &v, &e), 0);
        ck_assert_str_eq(json_string_value(v), "[3,1,2]");
        json_decref(v);
        ck_assert_int_eq(template_render_value("plain", c, &v, &e), 0);
        ck_assert_str_eq(json_string_value(v), "plain");
        json_decref(v);

        ck_assert_int_eq(template_render_value("{{ agent_9.output }}", c, &v, &e), -EINVAL);
        ck_assert_str_eq(e.message, "undefined name 'agent_9' in {{ agent_9.output }} at line 1, column 4");
        template_error_done(&e);
        ck_assert_int_eq(template_render_value("plain \xff", c, &v, &e), -EINVAL);
        template_error_done(&e);
}
END_TEST

START_TEST(test_render_json) {
        _cleanup_json_ json_t *c = context(), *config = NULL, *result = NULL, *expected = NULL, *copy = NULL;
        TemplateError e = {};
        json_t *v;

        config = json_pack("{s:s, s:{s:[{s:s, s:i}, {s:s, s:b}], s:s, s:n, s:f}, s:s}",
                           "system_prompt", "You answer {{ trigger.text }}",
                           "extra_config",
                           "rules", "value", "{{ agent_1.count + 1 }}", "id", 7, "value", "{{ agent_1.meta }}", "on", 1,
                           "url", "https://x/{{ trigger.chat_id }}", "nothing", "ratio", 2.5,
                           "{{ key }}", "{% raw %}{{ kept }}{% endraw %}");
        ck_assert_ptr_nonnull(config);
        copy = json_deep_copy(config);

        ck_assert_int_eq(template_render_json(config, c, &result, &e), 0);
        expected = json_pack("{s:s, s:{s:[{s:s, s:i}, {s:s, s:b}], s:s, s:n, s:f}, s:s}",
                             "system_prompt", "You answer /start now",
                             "extra_config",
                             "rules", "value", "4", "id", 7, "value", "{\"k\":\"v\",\"n\":null}", "on", 1,
                             "url", "https://x/42", "nothing", "ratio", 2.5,
                             "{{ key }}", "{{ kept }}");
        ck_assert(json_equal(result, expected));
        /* the input is untouched */
        ck_assert(json_equal(config, copy));
        json_decref(result);
        result = NULL;

        /* errors say where */
        json_object_set_new(json_array_get(json_object_get(json_object_get(config, "extra_config"), "rules"), 0),
                            "value", json_string("{{ agent_1.nope }}"));
        ck_assert_int_eq(template_render_json(config, c, &v, &e), -EINVAL);
        ck_assert_str_eq(e.message, "extra_config.rules[0].value: 'agent_1' has no attribute 'nope' "
                                    "in {{ agent_1.nope }} at line 1, column 12");
        ck_assert_uint_eq(e.line, 1);
        ck_assert_uint_eq(e.column, 12);
        template_error_done(&e);

        /* a bare string has no path */
        v = json_string("{{ nope }}");
        ck_assert_int_eq(template_render_json(v, c, &result, &e), -EINVAL);
        ck_assert_str_eq(e.message, "undefined name 'nope' in {{ nope }} at line 1, column 4");
        template_error_done(&e);
        json_decref(v);

        /* scalars come back as they are */
        v = json_integer(5);
        ck_assert_int_eq(template_render_json(v, c, &result, &e), 0);
        ck_assert_int_eq(json_integer_value(result), 5);
        json_decref(result);
        result = NULL;
        json_decref(v);
}
END_TEST

START_TEST(test_limits) {
        _cleanup_json_ json_t *c = context();
        TemplateLimits small = { .max_output = 10, .max_iterations = 5 };
        TemplateError e = {};
        char *out = NULL;
        json_t *v = NULL, *result = NULL;

        /* the defaults: 1 MiB of output, 10000 iterations */
        ck_assert_int_eq(template_render("{{ 'x' * 2000000 }}", c, &out, &e), -E2BIG);
        ck_assert_str_eq(e.message, "repetition would exceed the limit of 1048576 bytes "
                                    "in {{ 'x' * 2000000 }} at line 1, column 8");
        template_error_done(&e);
        ck_assert_int_eq(template_render("{% for i in range(1000) %}{{ 'x' * 1100 }}{% endfor %}", c, &out, &e), -E2BIG);
        ck_assert_str_eq(e.message, "output exceeds the limit of 1048576 bytes in {{ 'x' * 1100 }} at line 1, column 34");
        template_error_done(&e);
        ck_assert_int_eq(template_render("{% for i in range(200) %}{% for j in range(100) %}{% endfor %}{% endfor %}",
                                         c, &out, &e), -E2BIG);
        ck_assert_str_eq(e.message, "more than 10000 loop iterations in {% for j in range(100) %} at line 1, column 29");
        template_error_done(&e);
        ck_assert_int_eq(template_render("{{ range(10001) | length }}", c, &out, &e), -E2BIG);
        template_error_done(&e);
        /* 100 + 100 * 99 iterations: just within */
        ck_assert_int_eq(template_render("{% for i in range(100) %}{% for j in range(99) %}{% endfor %}{% endfor %}",
                                         c, &out, &e), 0);
        free(out);

        /* lists built from text are bounded too */
        ck_assert_int_eq(template_render("{{ (',' * 200000) | split(',') | length }}", c, &out, &e), -E2BIG);
        template_error_done(&e);
        ck_assert_int_eq(template_render("{{ ('x' * 200000) | list | length }}", c, &out, &e), -E2BIG);
        template_error_done(&e);
        ck_assert_int_eq(template_render("{{ [0] * 200000 }}", c, &out, &e), -E2BIG);
        template_error_done(&e);
        ck_assert_int_eq(template_render("{{ (',' * 90000) | split(',') | length }}", c, &out, &e), 0);
        ck_assert_str_eq(out, "90001");
        free(out);

        /* explicit limits */
        ck_assert_int_eq(template_render_full("0123456789", c, &small, &out, &e), 0);
        free(out);
        ck_assert_int_eq(template_render_full("{{ '0123456789' }}", c, &small, &out, &e), 0);
        free(out);
        ck_assert_int_eq(template_render_full("{{ '0123456789' }}!", c, &small, &out, &e), -E2BIG);
        ck_assert_str_eq(e.message, "output exceeds the limit of 10 bytes at line 1, column 19");
        template_error_done(&e);
        ck_assert_int_eq(template_render_full("{{ 'abcdef' ~ 'ghijkl' }}", c, &small, &out, &e), -E2BIG);
        template_error_done(&e);
        ck_assert_int_eq(template_render_full("{% for x in [1,2,3,4,5] %}{% endfor %}", c, &small, &out, &e), 0);
        free(out);
        ck_assert_int_eq(template_render_full("{% for x in [1,2,3,4,5,6] %}{% endfor %}", c, &small, &out, &e), -E2BIG);
        template_error_done(&e);
        ck_assert_int_eq(template_render_value_full("{{ 'abcdef' ~ 'ghijkl' }}", c, &small, &v, &e), -E2BIG);
        template_error_done(&e);
        /* passing a value through is not output */
        ck_assert_int_eq(template_render_value_full("{{ words }}", c, &small, &v, &e), 0);
        json_decref(v);

        /* for a JSON document, the limits hold for all its strings together */
        v = json_pack("[s, s]", "{{ '012345' }}", "{{ '012345' }}");
        ck_assert_int_eq(template_render_json_full(v, c, &small, &result, &e), -E2BIG);
        ck_assert_msg(strstr(e.message, "[1]: output exceeds the limit of 10 bytes"), "%s", e.message);
        template_error_done(&e);
        json_decref(v);
}
END_TEST

static char *repeat_string(const char *s, size_t n) {
        size_t length = strlen(s);
        char *r = malloc(length * n + 1);

        ck_assert_ptr_nonnull(r);
        for (size_t i = 0; i < n; i++)
                memcpy(r + i * length, s, length);
        r[length * n] = '\0';
        return r;
}

static char *wrap(const char *before, const char *middle, const char *after) {
        char *s;

        ck_assert_int_ge(asprintf(&s, "%s%s%s", before, middle, after), 0);
        return s;
}

START_TEST(test_nesting) {
        _cleanup_json_ json_t *c = context();
        _cleanup_free_ char *open = repeat_string("(", 100000), *template = wrap("{{ ", open, "1 }}");
        _cleanup_free_ char *ok_open = repeat_string("(", 30), *ok_close = repeat_string(")", 30);
        _cleanup_free_ char *ok = NULL, *s = NULL, *t = NULL;
        TemplateError e = {};
        char *out = NULL;

        ck_assert_int_eq(template_render(template, c, &out, &e), -EINVAL);
        ck_assert_msg(strstr(e.message, "brackets nested more than 64 deep"), "%s", e.message);
        template_error_done(&e);

        s = wrap(ok_open, "1", ok_close);
        ok = wrap("{{ ", s, " }}");
        ck_assert_int_eq(template_render(ok, c, &out, &e), 0);
        ck_assert_str_eq(out, "1");
        free(out);

        free(s);
        free(t);
        s = repeat_string("not ", 100000);
        t = wrap("{{ ", s, "1 }}");
        ck_assert_int_eq(template_render(t, c, &out, &e), -EINVAL);
        ck_assert_msg(strstr(e.message, "expression nested more than 64 deep"), "%s", e.message);
        template_error_done(&e);

        free(s);
        free(t);
        s = repeat_string("- ", 100000);
        t = wrap("{{ ", s, "1 }}");
        ck_assert_int_eq(template_render(t, c, &out, &e), -EINVAL);
        template_error_done(&e);

        free(s);
        free(t);
        s = repeat_string("1 + ", 100000);
        t = wrap("{{ ", s, "1 }}");
        ck_assert_int_eq(template_render(t, c, &out, &e), -EINVAL);
        ck_assert_msg(strstr(e.message, "expression is too complex"), "%s", e.message);
        template_error_done(&e);

        free(s);
        free(t);
        s = repeat_string("x.", 100000);
        t = wrap("{{ ", s, "y | default(1) }}");
        ck_assert_int_eq(template_render(t, c, &out, &e), -EINVAL);
        template_error_done(&e);

        free(s);
        free(t);
        s = repeat_string("a if b else ", 100000);
        t = wrap("{{ ", s, "1 }}");
        ck_assert_int_eq(template_render(t, c, &out, &e), -EINVAL);
        template_error_done(&e);

        free(s);
        free(t);
        s = repeat_string("{% if true %}", 100000);
        t = wrap(s, "x", "");
        ck_assert_int_eq(template_render(t, c, &out, &e), -EINVAL);
        ck_assert_msg(strstr(e.message, "blocks nested more than 64 deep"), "%s", e.message);
        template_error_done(&e);

        /* 100 terms are fine */
        free(s);
        free(t);
        s = repeat_string("1 + ", 99);
        t = wrap("{{ ", s, "1 }}");
        ck_assert_int_eq(template_render(t, c, &out, &e), 0);
        ck_assert_str_eq(out, "100");
        free(out);
}
END_TEST

START_TEST(test_nested_data) {
        _cleanup_json_ json_t *c = context(), *deep = json_array(), *result = NULL;
        _cleanup_free_ char *open = repeat_string("[", 1000), *text = NULL;
        TemplateError e = {};
        char *out = NULL;
        json_t *v = deep;

        /* a value nested deeper than the engine walks: printing it fails cleanly */
        for (int i = 0; i < 1000; i++) {
                json_t *inner = json_array();
                json_array_append_new(v, inner);
                v = inner;
        }
        json_object_set(c, "deep", deep);
        ck_assert_int_eq(template_render("{{ deep }}", c, &out, &e), -EINVAL);
        ck_assert_msg(strstr(e.message, "nested more than 256 deep"), "%s", e.message);
        template_error_done(&e);
        ck_assert_int_eq(template_render("{{ deep | tojson }}", c, &out, &e), -EINVAL);
        template_error_done(&e);
        ck_assert_int_eq(template_render("{{ deep == deep }}", c, &out, &e), -EINVAL);
        template_error_done(&e);
        ck_assert_int_eq(template_render("{{ deep | length }}", c, &out, &e), 0);
        ck_assert_str_eq(out, "1");
        free(out);

        /* and so does rendering it as a document */
        ck_assert_int_eq(template_render_json(deep, c, &result, &e), -EINVAL);
        ck_assert_msg(strstr(e.message, "nested more than 256 deep"), "%s", e.message);
        template_error_done(&e);

        /* values nested deeper still can be read and counted */
        text = wrap("{{ ('", open, "' ~ ']' * 1000) | fromjson | length }}");
        ck_assert_int_eq(template_render(text, c, &out, &e), 0);
        ck_assert_str_eq(out, "1");
        free(out);
}
END_TEST

/* Templates assembled at random from template fragments, and raw bytes: every one must
 * come back rendered or refused with a message, never crash (run under ASan). */
static const char *const fragments[] = {
        "{{", "}}", "{%", "%}", "{#", "#}", "{{-", "-}}", "{%-", "-%}", " ", "\n", "x", "y", "items",
        "agent_1", ".", "output", "[", "]", "(", ")", "{", "}", ",", ":", "|", "upper", "default",
        "length", "join", "sort", "first", "truncate", "int", "round", "tojson", "fromjson", "split",
        "replace", "range", "if", "elif", "else", "endif", "for", "in", "endfor", "not", "and", "or",
        "is", "defined", "none", "true", "'a'", "\"b\"", "'", "\"", "\\", "0", "1", "-1", "2.5", "1e3",
        "+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">", "<=", ">=", "=", "loop",
        "index", "raw", "endraw", "items()", "unicode", "\xc3\xa9", "\xff", "words", "people", "name",
        "[::-1]", "[1:]", "|d", "(1)", "-0", "99999999999999999999", "'\\u00e9'", "'\\x'", "\t",
};

static uint64_t xorshift(uint64_t *state) {
        uint64_t x = *state;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *state = x;
}

static void check_garbage(const char *template, json_t *c) {
        TemplateError e = {};
        char *out = NULL;
        json_t *v = NULL;
        int r;

        r = template_render(template, c, &out, &e);
        ck_assert_msg(r == 0 || r == -EINVAL || r == -E2BIG, "%s: returned %d", template, r);
        ck_assert_msg(r == 0 ? !!out : !!e.message, "%s: returned %d without a result", template, r);
        free(out);
        template_error_done(&e);

        r = template_render_value(template, c, &v, &e);
        ck_assert_msg(r == 0 || r == -EINVAL || r == -E2BIG, "%s: value returned %d", template, r);
        json_decref(v);
        template_error_done(&e);
}

START_TEST(test_garbage) {
        _cleanup_json_ json_t *c = context();
        uint64_t state = 0x9E3779B97F4A7C15ULL;
        char template[512];

        for (unsigned i = 0; i < 20000; i++) {
                size_t length = 0, n = 1 + xorshift(&state) % 24;

                /* most start with a tag, so that the parser sees them */
                if (i % 4 != 0)
                        length = snprintf(template, sizeof template, "%s ", i % 2 ? "{{" : "{%");
                for (size_t k = 0; k < n; k++) {
                        const char *f = fragments[xorshift(&state) % ELEMENTSOF(fragments)];
                        size_t fl = strlen(f);

                        if (length + fl + 1 >= sizeof template)
                                break;
                        memcpy(template + length, f, fl);
                        length += fl;
                        if (xorshift(&state) % 3 == 0)
                                template[length++] = ' ';
                }
                if (i % 4 == 1 && length + 3 < sizeof template)
                        length += snprintf(template + length, sizeof template - length, " }}");
                template[length] = '\0';
                check_garbage(template, c);
        }

        /* raw bytes after an opening tag */
        for (unsigned i = 0; i < 2000; i++) {
                size_t n = 3 + xorshift(&state) % 40;

                memcpy(template, "{{ ", 3);
                for (size_t k = 3; k < n; k++)
                        template[k] = 1 + xorshift(&state) % 255;
                template[n] = '\0';
                check_garbage(template, c);
        }
}
END_TEST

typedef struct ThreadArgs {
        json_t *context;
        int failures;
} ThreadArgs;

static void *render_many(void *userdata) {
        ThreadArgs *a = userdata;

        for (unsigned i = 0; i < 300; i++) {
                char *out = NULL;

                if (template_render("{% for p in people | sort(attribute='age') %}{{ p.name | upper }}{% endfor %}"
                                    "{{ agent_1.count * 2 }}", a->context, &out, NULL) < 0 ||
                    !streq(out, "BOBANN6"))
                        a->failures++;
                free(out);
        }
        return NULL;
}

START_TEST(test_threads) {
        _cleanup_json_ json_t *c = context();
        ThreadArgs args[4];
        pthread_t threads[4];

        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                args[i] = (ThreadArgs) { .context = c };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, render_many, &args[i]), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
                ck_assert_int_eq(args[i].failures, 0);
        }
}
END_TEST

static Suite *template_suite(void) {
        Suite *s = suite_create("template");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_plain_text);
        tcase_add_test(tc, test_output_conversion);
        tcase_add_test(tc, test_access);
        tcase_add_test(tc, test_literals);
        tcase_add_test(tc, test_arithmetic);
        tcase_add_test(tc, test_logic);
        tcase_add_test(tc, test_undefined);
        tcase_add_test(tc, test_default);
        tcase_add_test(tc, test_if);
        tcase_add_test(tc, test_for);
        tcase_add_test(tc, test_whitespace_control);
        tcase_add_test(tc, test_comments_and_raw);
        tcase_add_test(tc, test_filters_text);
        tcase_add_test(tc, test_filters_numbers);
        tcase_add_test(tc, test_filters_collections);
        tcase_add_test(tc, test_filter_arguments);
        tcase_add_test(tc, test_tests);
        tcase_add_test(tc, test_methods);
        tcase_add_test(tc, test_syntax_errors);
        tcase_add_test(tc, test_error_struct);
        tcase_add_test(tc, test_render_value);
        tcase_add_test(tc, test_render_json);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_nesting);
        tcase_add_test(tc, test_nested_data);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_threads);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(template_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
