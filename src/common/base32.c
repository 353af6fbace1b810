/* Base32 of RFC 4648 section 6: every 5 bytes become 8 characters of 5 bits each. */

#include <errno.h>

#include "common/base32.h"
#include "common/macro.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char *base32_encode(const uint8_t *data, size_t size) {
        size_t n = (size * 8 + 4) / 5, out = 0;
        uint32_t buffer = 0;
        unsigned bits = 0;
        char *text;

        if (size > SIZE_MAX / 8 - 1)
                return NULL;
        text = malloc(n + 1);
        if (!text)
                return NULL;

        for (size_t i = 0; i < size; i++) {
                buffer = (buffer << 8) | data[i];
                bits += 8;
                while (bits >= 5) {
                        bits -= 5;
                        text[out++] = alphabet[(buffer >> bits) & 0x1f];
                }
        }
        if (bits > 0)
                text[out++] = alphabet[(buffer << (5 - bits)) & 0x1f];
        text[out] = '\0';
        return text;
}

static int symbol_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a';
        if (c >= '2' && c <= '7')
                return c - '2' + 26;
        return -1;
}

int base32_decode(const char *text, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len, symbols, out = 0;
        uint32_t buffer = 0;
        unsigned bits = 0;

        if (!text || !ret || !ret_size)
                return -EINVAL;

        len = strlen(text);
        symbols = len;
        while (symbols > 0 && text[symbols - 1] == '=')
                symbols--;
        /* Lengths an encoder writes: 8 characters per 5 bytes, and for the last 1–4 bytes
         * 2, 4, 5 or 7 characters; padded text fills up to a multiple of 8. */
        switch (symbols % 8) {
        case 1: case 3: case 6:
                return -EINVAL;
        }
        if (len != symbols && len % 8 != 0)
                return -EINVAL;

        data = malloc(symbols * 5 / 8 + 1);
        if (!data)
                return -ENOMEM;

        for (size_t i = 0; i < symbols; i++) {
                int v = symbol_value(text[i]);

                if (v < 0)
                        return -EINVAL;
                buffer = (buffer << 5) | (uint32_t) v;
                bits += 5;
                if (bits >= 8) {
                        bits -= 8;
                        data[out++] = (uint8_t) (buffer >> bits);
                }
        }
        if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0)
                return -EINVAL;

        *ret = TAKE_PTR(data);
        *ret_size = out;
        return 0;
}
