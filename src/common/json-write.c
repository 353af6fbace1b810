/* A compact JSON serialiser for jansson values, for the hot path of every response.
 *
 * It writes what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
 * writes, byte for byte, into one buffer that grows geometrically: objects in insertion
 * order, '/' and non-ASCII text raw, reals with 15 significant digits. jansson pays an
 * indirect call per fragment and a UTF-8 decode per character; here runs of plain
 * characters are found eight bytes at a time and copied whole. Objects that never change
 * again can have their text kept, and are then copied rather than walked. */

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"

/* jansson's own dump refuses cycles; a depth limit catches them here and bounds the
 * recursion. No value the daemon builds comes anywhere near it. */
#define JSON_WRITE_DEPTH_MAX 2048

typedef struct JsonWriter {
        char *buf;
        size_t len, alloc;
} JsonWriter;

static int writer_grow(JsonWriter *w, size_t n) {
        size_t a;
        char *b;

        if (n > SIZE_MAX / 4 - w->len)
                return -ENOMEM;
        a = MAX(w->alloc * 2, w->len + n);
        b = realloc(w->buf, a);
        if (!b)
                return -ENOMEM;
        w->buf = b;
        w->alloc = a;
        return 0;
}

static inline int writer_reserve(JsonWriter *w, size_t n) {
        return w->alloc - w->len >= n ? 0 : writer_grow(w, n);
}

static inline int writer_put(JsonWriter *w, const void *p, size_t n) {
        if (writer_reserve(w, n) < 0)
                return -ENOMEM;
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        return 0;
}

static inline int writer_putc(JsonWriter *w, char c) {
        if (writer_reserve(w, 1) < 0)
                return -ENOMEM;
        w->buf[w->len++] = c;
        return 0;
}

/* Characters that JSON strings must escape: control characters, '"' and '\\'. */
static inline bool char_needs_escape(unsigned char c) {
        return c < 0x20 || c == '"' || c == '\\';
}

#define BYTES_OF(b) (UINT64_C(0x0101010101010101) * (b))
#define HIGH_BITS BYTES_OF(0x80)

/* Whether any of the eight bytes of x needs escaping (the classic "has a byte less than n"
 * and "has a zero byte" tricks: exact, not just a hint). */
static inline bool word_needs_escape(uint64_t x) {
        uint64_t below_space = (x - BYTES_OF(0x20)) & ~x;
        uint64_t quote = x ^ BYTES_OF('"'), backslash = x ^ BYTES_OF('\\');

        quote = (quote - BYTES_OF(0x01)) & ~quote;
        backslash = (backslash - BYTES_OF(0x01)) & ~backslash;
        return ((below_space | quote | backslash) & HIGH_BITS) != 0;
}

/* Length of the run of characters at the start of s[0..n) that need no escaping. */
static size_t safe_run(const char *s, size_t n) {
        size_t i = 0;

        for (; i + 8 <= n; i += 8) {
                uint64_t x;

                memcpy(&x, s + i, 8);
                if (word_needs_escape(x))
                        break;
        }
        while (i < n && !char_needs_escape((unsigned char) s[i]))
                i++;
        return i;
}

/* Writes the escape of c, a character that needs one, to out; returns its length. */
static size_t escape_char(char *out, unsigned char c) {
        static const char hex[] = "0123456789ABCDEF";

        out[0] = '\\';
        switch (c) {
        case '"':  out[1] = '"'; return 2;
        case '\\': out[1] = '\\'; return 2;
        case '\b': out[1] = 'b'; return 2;
        case '\f': out[1] = 'f'; return 2;
        case '\n': out[1] = 'n'; return 2;
        case '\r': out[1] = 'r'; return 2;
        case '\t': out[1] = 't'; return 2;
        default:
                /* jansson writes the other control characters in capital hex. */
                memcpy(out + 1, "u00", 3);
                out[4] = hex[c >> 4];
                out[5] = hex[c & 0xf];
                return 6;
        }
}

/* Escapes s[0..n) into out, which has room for the worst case, 6 * n bytes. */
static size_t escape_into(char *out, const char *s, size_t n) {
        char *o = out;

        for (;;) {
                size_t run = safe_run(s, n);

                memcpy(o, s, run);
                o += run;
                s += run;
                n -= run;
                if (n == 0)
                        return (size_t) (o - out);
                o += escape_char(o, (unsigned char) *s);
                s++;
                n--;
        }
}

/* Long strings go in pieces, so the worst-case room stays small. */
#define STRING_CHUNK 4096

static int write_string(JsonWriter *w, const char *s, size_t n) {
        /* Both quotes, and room for the worst case of the first piece (all of most
         * strings); the next pieces reserve their own. */
        if (writer_reserve(w, MIN(n, (size_t) STRING_CHUNK) * 6 + 2) < 0)
                return -ENOMEM;
        w->buf[w->len++] = '"';

        for (;;) {
                size_t piece = MIN(n, (size_t) STRING_CHUNK);

                w->len += escape_into(w->buf + w->len, s, piece);
                s += piece;
                n -= piece;
                if (n == 0)
                        break;
                if (writer_reserve(w, MIN(n, (size_t) STRING_CHUNK) * 6 + 1) < 0)
                        return -ENOMEM;
        }

        w->buf[w->len++] = '"';
        return 0;
}

static int write_integer(JsonWriter *w, json_int_t v) {
        char digits[24], *p = digits + sizeof digits;
        /* Negating in unsigned arithmetic keeps LLONG_MIN right. */
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long) v : (unsigned long long) v;

        do {
                *--p = (char) ('0' + u % 10);
                u /= 10;
        } while (u > 0);
        if (v < 0)
                *--p = '-';
        return writer_put(w, p, (size_t) (digits + sizeof digits - p));
}

/* "%.15g", then jansson's touches: a '.' whatever the locale, ".0" when the text would read
 * back as an integer, and no '+' nor leading zeros in the exponent (1e+20 → 1e20). */
static int write_real(JsonWriter *w, double v) {
        char text[64], *e;
        const char *point;
        int n;

        n = snprintf(text, sizeof text - 3, "%.15g", v);
        if (n < 0 || (size_t) n >= sizeof text - 3)
                return -EINVAL;

        point = localeconv()->decimal_point;
        if (point && point[0] && !streq(point, ".")) {
                char *p = strstr(text, point);

                if (p) {
                        size_t pl = strlen(point);

                        *p = '.';
                        memmove(p + 1, p + pl, strlen(p + pl) + 1);
                        n -= (int) pl - 1;
                }
        }

        if (!strpbrk(text, ".eni")) {
                memcpy(text + n, ".0", 3);
                n += 2;
        }

        e = strchr(text, 'e');
        if (e) {
                char *start = e + 1, *digits;

                if (*start == '-')
                        start++;
                digits = start;
                if (*digits == '+')
                        digits++;
                while (*digits == '0' && digits[1])
                        digits++;
                if (digits != start) {
                        memmove(start, digits, strlen(digits) + 1);
                        n -= (int) (digits - start);
                }
        }

        return writer_put(w, text, (size_t) n);
}

/* --- kept texts ----------------------------------------------------------------------
 *
 * An object that will not change again can have its text kept (json_write_keep()), which
 * json_write() then copies instead of walking the object: the rows of a list answered over
 * and over, say. One slot per hash of the address; a collision drops the older text, which
 * only costs a walk. Each entry holds a reference, so its object cannot be freed (and its
 * address reused) while the text is kept. */
#define KEPT_SLOTS_BITS 10
#define KEPT_SLOTS (1u << KEPT_SLOTS_BITS)

typedef struct KeptText {
        json_t *json;
        char *text;
        size_t len;
} KeptText;

static struct {
        pthread_mutex_t lock;
        size_t n_kept; /* read without the lock, as a hint that looking is worth it */
        KeptText slots[KEPT_SLOTS];
} kept = { .lock = PTHREAD_MUTEX_INITIALIZER };

static KeptText *kept_slot(const json_t *json) {
        uint64_t h = (uint64_t) (uintptr_t) json * UINT64_C(0x9E3779B97F4A7C15);

        return kept.slots + (h >> (64 - KEPT_SLOTS_BITS));
}

static void kept_text_done(KeptText *k) {
        json_decref(k->json);
        free(k->text);
}

int json_write_keep(json_t *json) {
        KeptText *slot, old = {};
        char *text;
        size_t len;

        if (!json_is_object(json))
                return -EINVAL;
        text = json_write(json, &len);
        if (!text)
                return -ENOMEM;

        pthread_mutex_lock(&kept.lock);
        slot = kept_slot(json);
        if (slot->json)
                old = *slot;
        else
                __atomic_store_n(&kept.n_kept, kept.n_kept + 1, __ATOMIC_RELAXED);
        *slot = (KeptText) { .json = json_incref(json), .text = text, .len = len };
        pthread_mutex_unlock(&kept.lock);

        /* Outside the lock: the last reference may free a whole tree. */
        kept_text_done(&old);
        return 0;
}

void json_write_drop(json_t *json) {
        KeptText *slot, old = {};

        if (!json)
                return;

        pthread_mutex_lock(&kept.lock);
        slot = kept_slot(json);
        if (slot->json == json) {
                old = *slot;
                *slot = (KeptText) {};
                __atomic_store_n(&kept.n_kept, kept.n_kept - 1, __ATOMIC_RELAXED);
        }
        pthread_mutex_unlock(&kept.lock);

        kept_text_done(&old);
}

/* Copies the kept text of json: 1 when there was one, 0 when not, or -ENOMEM. */
static int write_kept(JsonWriter *w, const json_t *json) {
        KeptText *slot;
        int r = 0;

        if (__atomic_load_n(&kept.n_kept, __ATOMIC_RELAXED) == 0)
                return 0;

        pthread_mutex_lock(&kept.lock);
        slot = kept_slot(json);
        if (slot->json == json)
                r = writer_put(w, slot->text, slot->len) < 0 ? -ENOMEM : 1;
        pthread_mutex_unlock(&kept.lock);
        return r;
}

/* --- values -------------------------------------------------------------------------- */

static int write_value(JsonWriter *w, const json_t *json, unsigned depth);

static int write_object(JsonWriter *w, const json_t *json, unsigned depth) {
        /* The iterator calls want a non-const object; they only read it. */
        json_t *object = (json_t *) json;
        bool first = true;
        int r;

        r = write_kept(w, json);
        if (r != 0)
                return r < 0 ? r : 0;

        if (writer_putc(w, '{') < 0)
                return -ENOMEM;
        for (void *it = json_object_iter(object); it; it = json_object_iter_next(object, it)) {
                if (!first && writer_putc(w, ',') < 0)
                        return -ENOMEM;
                first = false;
                if (write_string(w, json_object_iter_key(it), json_object_iter_key_len(it)) < 0 ||
                    writer_putc(w, ':') < 0)
                        return -ENOMEM;
                if (write_value(w, json_object_iter_value(it), depth + 1) < 0)
                        return -EINVAL;
        }
        return writer_putc(w, '}');
}

static int write_array(JsonWriter *w, const json_t *json, unsigned depth) {
        size_t n = json_array_size(json);

        if (writer_putc(w, '[') < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && writer_putc(w, ',') < 0)
                        return -ENOMEM;
                if (write_value(w, json_array_get(json, i), depth + 1) < 0)
                        return -EINVAL;
        }
        return writer_putc(w, ']');
}

static int write_value(JsonWriter *w, const json_t *json, unsigned depth) {
        if (depth > JSON_WRITE_DEPTH_MAX)
                return -ELOOP;

        switch (json_typeof(json)) {
        case JSON_OBJECT:
                return write_object(w, json, depth);
        case JSON_ARRAY:
                return write_array(w, json, depth);
        case JSON_STRING:
                return write_string(w, json_string_value(json), json_string_length(json));
        case JSON_INTEGER:
                return write_integer(w, json_integer_value(json));
        case JSON_REAL:
                return write_real(w, json_real_value(json));
        case JSON_TRUE:
                return writer_put(w, "true", 4);
        case JSON_FALSE:
                return writer_put(w, "false", 5);
        case JSON_NULL:
                return writer_put(w, "null", 4);
        }
        return -EINVAL;
}

char *json_write(const json_t *json, size_t *ret_len) {
        JsonWriter w = {};

        if (!json) {
                if (writer_put(&w, "null", 4) < 0)
                        return NULL;
        } else {
                /* Most answers fit at once; big ones double a few times. */
                if (writer_reserve(&w, 1024) < 0)
                        return NULL;
                if (write_value(&w, json, 0) < 0) {
                        free(w.buf);
                        return NULL;
                }
        }
        if (writer_putc(&w, 0) < 0) {
                free(w.buf);
                return NULL;
        }

        if (ret_len)
                *ret_len = w.len - 1;
        return w.buf;
}
