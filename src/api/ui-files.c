/* The browser UI's files (see ui-files.h). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "api/ui-files.h"

/* The largest file served; the UI's biggest bundle is well under a megabyte. */
#define UI_FILE_MAX (64u * 1024 * 1024)

#define CACHE_HASHED "public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"

static const struct {
        const char *suffix;
        const char *content_type;
        bool compressible;
} content_types[] = {
        { ".html", "text/html; charset=utf-8", true },
        { ".js", "text/javascript; charset=utf-8", true },
        { ".mjs", "text/javascript; charset=utf-8", true },
        { ".css", "text/css; charset=utf-8", true },
        { ".json", "application/json", true },
        { ".map", "application/json", true },
        { ".webmanifest", "application/manifest+json", true },
        { ".svg", "image/svg+xml", true },
        { ".txt", "text/plain; charset=utf-8", true },
        { ".wasm", "application/wasm", true },
        { ".ico", "image/x-icon", true },
        { ".png", "image/png", false },
        { ".jpg", "image/jpeg", false },
        { ".jpeg", "image/jpeg", false },
        { ".gif", "image/gif", false },
        { ".webp", "image/webp", false },
        { ".avif", "image/avif", false },
        { ".woff", "font/woff", false },
        { ".woff2", "font/woff2", false },
};

static bool has_prefix(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* path is "/name" or "/name/…" (or "/name?…", which the server never passes). */
static bool path_under(const char *path, const char *name) {
        size_t n = strlen(name);

        return strncmp(path, name, n) == 0 && (path[n] == 0 || path[n] == '/');
}

bool ui_path(HttpMethod method, const char *path) {
        if (method != HTTP_GET && method != HTTP_HEAD)
                return false;
        if (!path || path[0] != '/')
                return false;
        return !path_under(path, "/api") && !path_under(path, "/ws") && !path_under(path, "/health");
}

/* One comma-separated element of an Accept-Encoding value: its coding and whether its
 * q-value allows it (q=0 refuses). */
static bool coding_allowed(const char *element, size_t len, const char **ret_coding, size_t *ret_coding_len) {
        const char *semicolon = memchr(element, ';', len);
        size_t n = semicolon ? (size_t) (semicolon - element) : len;
        bool allowed = true;

        while (n > 0 && (element[n - 1] == ' ' || element[n - 1] == '\t'))
                n--;
        *ret_coding = element;
        *ret_coding_len = n;
        if (semicolon) {
                const char *q = semicolon + 1, *end = element + len;

                while (q < end && (*q == ' ' || *q == '\t'))
                        q++;
                if (end - q >= 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
                        /* "0", "0.", "0.0", "0.00", "0.000" refuse; anything else accepts. */
                        allowed = false;
                        for (q += 2; q < end && *q != ' ' && *q != ';'; q++)
                                if (*q != '0' && *q != '.')
                                        allowed = true;
                }
        }
        return allowed;
}

bool ui_accepts_gzip(const char *accept_encoding) {
        const char *p = accept_encoding;
        int gzip = -1, any = -1;

        if (!p)
                return false;
        while (*p) {
                size_t len = strcspn(p, ","), coding_len;
                const char *coding;
                bool allowed;

                while (len > 0 && (*p == ' ' || *p == '\t')) {
                        p++;
                        len--;
                }
                allowed = coding_allowed(p, len, &coding, &coding_len);
                if ((coding_len == 4 && strncasecmp(coding, "gzip", 4) == 0) ||
                    (coding_len == 6 && strncasecmp(coding, "x-gzip", 6) == 0))
                        gzip = allowed;
                else if (coding_len == 1 && coding[0] == '*')
                        any = allowed;
                p += len;
                if (*p == ',')
                        p++;
        }
        return gzip >= 0 ? gzip : any > 0;
}

bool ui_etag_matches(const char *if_none_match, const char *etag) {
        const char *p = if_none_match;
        size_t n = strlen(etag);

        if (!p)
                return false;
        while (*p) {
                size_t len;

                p += strspn(p, " \t,");
                len = strcspn(p, ",");
                while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
                        len--;
                if (len == 1 && p[0] == '*')
                        return true;
                /* Weak comparison: W/"x" matches "x". */
                if (len >= 2 && p[0] == 'W' && p[1] == '/') {
                        p += 2;
                        len -= 2;
                }
                if (len == n && strncmp(p, etag, n) == 0)
                        return true;
                p += len;
                p += strcspn(p, ",");
        }
        return false;
}

/* Whether rel (the path without its leading slashes) can name a file of the directory:
 * no empty, ".", ".." or hidden segment and no control character. */
static bool relative_path_ok(const char *rel) {
        const char *segment = rel;

        if (!*rel)
                return false;
        for (const char *p = rel;; p++) {
                if (*p == '/' || *p == 0) {
                        if (p == segment || segment[0] == '.')
                                return false;
                        if (*p == 0)
                                return true;
                        segment = p + 1;
                } else if ((unsigned char) *p < 0x20 || *p == 0x7f || *p == '\\')
                        return false;
        }
}

typedef struct UiFile {
        char *data;
        size_t size;
        char etag[64];
        const char *content_type;
        bool compressible;
        bool gzipped;
} UiFile;

static void ui_file_done(UiFile *f) {
        free(f->data);
        *f = (UiFile) {};
}

/* Reads a regular file below dirfd; -ENOENT for anything else (a directory, a missing
 * file). */
static int read_file_at(int dirfd, const char *rel, UiFile *f) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t done = 0;

        fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG ? -ENOENT : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -ENOENT;
        if ((uint64_t) st.st_size > UI_FILE_MAX)
                return -EFBIG;
        data = malloc((size_t) st.st_size + 1);
        if (!data)
                return -ENOMEM;
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, data + done, (size_t) st.st_size - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break; /* shrank meanwhile: serve what is there */
                done += (size_t) n;
        }
        /* Size and modification time name this version of the file. */
        snprintf(f->etag, sizeof f->etag, "\"%" PRIx64 "-%" PRIx64 "%s\"", (uint64_t) st.st_size,
                 (uint64_t) st.st_mtim.tv_sec * 1000000000u + (uint64_t) st.st_mtim.tv_nsec,
                 f->gzipped ? "-gz" : "");
        f->data = TAKE_PTR(data);
        f->size = done;
        return 0;
}

static int ui_file_open(int dirfd, const char *rel, bool accept_gzip, UiFile *f) {
        _cleanup_free_ char *gz = NULL;
        int r;

        *f = (UiFile) { .content_type = "application/octet-stream" };
        for (size_t i = 0; i < ELEMENTSOF(content_types); i++)
                if (has_suffix(rel, content_types[i].suffix)) {
                        f->content_type = content_types[i].content_type;
                        f->compressible = content_types[i].compressible;
                        break;
                }
        if (accept_gzip && f->compressible) {
                if (asprintf(&gz, "%s.gz", rel) < 0)
                        return -ENOMEM;
                f->gzipped = true;
                r = read_file_at(dirfd, gz, f);
                if (r != -ENOENT)
                        return r;
                f->gzipped = false;
        }
        return read_file_at(dirfd, rel, f);
}

int ui_answer(const char *directory, HttpMethod method, const char *path, bool accept_gzip,
              const char *if_none_match, HttpResponse *resp) {
        _cleanup_close_ int dirfd = -1;
        _cleanup_(ui_file_done) UiFile f = {};
        const char *rel = path + strspn(path, "/");
        bool asset = has_prefix(path, "/assets/");
        int r = -ENOENT;

        dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;

        if (relative_path_ok(rel))
                r = ui_file_open(dirfd, rel, accept_gzip, &f);
        if (r == -ENOENT) {
                /* Not a file: a client route, unless it asked for a build's file. */
                r = ui_file_open(dirfd, "index.html", accept_gzip, &f);
                if (r < 0)
                        return r;
                if (asset) {
                        http_reply_error(resp, 404, "Not Found");
                        return 0;
                }
        }
        if (r < 0)
                return r;

        resp->cache_control = asset ? CACHE_HASHED : CACHE_REVALIDATE;
        resp->etag = strdup(f.etag);
        if (!resp->etag)
                return -ENOMEM;
        resp->vary_encoding = f.compressible;
        resp->content_encoding = f.gzipped ? "gzip" : NULL;
        resp->page = has_prefix(f.content_type, "text/html");
        if (ui_etag_matches(if_none_match, f.etag)) {
                resp->status = 304;
                return 0;
        }
        resp->status = 200;
        resp->content_type = f.content_type;
        resp->body = TAKE_PTR(f.data);
        resp->body_len = f.size;
        resp->omit_body = method == HTTP_HEAD;
        return 0;
}
