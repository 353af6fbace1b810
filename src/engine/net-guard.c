#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "engine/net-guard.h"

static bool ipv4_is_private(uint32_t a) {
        static const struct {
                uint32_t net;
                unsigned bits;
        } blocks[] = {
                { 0x00000000, 8 },      /* this network */
                { 0x0a000000, 8 },      /* 10/8 */
                { 0x64400000, 10 },     /* 100.64/10, carrier-grade NAT */
                { 0x7f000000, 8 },      /* loopback */
                { 0xa9fe0000, 16 },     /* link-local (cloud metadata lives here) */
                { 0xac100000, 12 },     /* 172.16/12 */
                { 0xc0000000, 24 },     /* IETF protocol assignments */
                { 0xc0a80000, 16 },     /* 192.168/16 */
                { 0xc6120000, 15 },     /* benchmarking */
                { 0xe0000000, 3 },      /* multicast, reserved, broadcast */
        };

        for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
                if ((a & (UINT32_MAX << (32 - blocks[i].bits))) == blocks[i].net)
                        return true;
        return false;
}

static bool ipv6_is_private(const struct in6_addr *a) {
        static const uint8_t zeros[12] = {};
        const uint8_t *b = a->s6_addr;

        /* ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, also :: and ::1) carry IPv4. */
        if (memcmp(b, zeros, 10) == 0 && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)))
                return ipv4_is_private((uint32_t) b[12] << 24 | (uint32_t) b[13] << 16 | (uint32_t) b[14] << 8 | b[15]);
        if ((b[0] & 0xfe) == 0xfc)                      /* fc00::/7 unique local */
                return true;
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)      /* fe80::/10 link-local */
                return true;
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)      /* fec0::/10 site-local (deprecated) */
                return true;
        if (b[0] == 0xff)                               /* multicast */
                return true;
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)      /* 64:ff9b::/96 NAT64 */
                return ipv4_is_private((uint32_t) b[12] << 24 | (uint32_t) b[13] << 16 | (uint32_t) b[14] << 8 | b[15]);
        return false;
}

bool net_address_is_private(const struct sockaddr *sa, socklen_t len) {
        if (!sa)
                return true;
        if (sa->sa_family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in))
                return ipv4_is_private(ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr));
        if (sa->sa_family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6))
                return ipv6_is_private(&((const struct sockaddr_in6 *) sa)->sin6_addr);
        return true;
}
