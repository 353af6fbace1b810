/* Translated messages for people at a terminal (--help, command-line errors). Log lines
 * and API errors stay in English: they are read by programs and searched for. */
#pragma once

#include <libintl.h>
#include <locale.h>

#define _(s) gettext(s)
#define N_(s) (s)

/* Only messages and character classes follow the locale: numbers keep '.' as the decimal
 * point, which the template engine and the JSON code rely on. */
static inline void i18n_init(void) {
        (void) setlocale(LC_MESSAGES, "");
        (void) setlocale(LC_CTYPE, "");
        (void) bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
        (void) bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        (void) textdomain(GETTEXT_PACKAGE);
}
