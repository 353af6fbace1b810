/* Which network addresses a request made on someone else's say (a model's tool call) may
 * reach. A URL chosen by a model — maybe steered by a web page it read — must not reach
 * this host's own services or the local network behind it. The check is made on the
 * address a connection is about to use, after DNS, so a name that resolves to a private
 * address is caught as well. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

/* Whether sa is loopback, private (RFC 1918, IPv6 unique local), link-local, carrier-grade
 * NAT, "this network" (0.0.0.0/8), multicast, reserved or unspecified; IPv4-mapped and
 * IPv4-compatible IPv6 addresses are judged as the IPv4 address they carry. Families other
 * than IPv4 and IPv6 count as private. */
bool net_address_is_private(const struct sockaddr *sa, socklen_t len);
