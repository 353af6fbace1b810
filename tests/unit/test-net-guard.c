#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "engine/net-guard.h"

static bool private4(const char *text) {
        struct sockaddr_in sa = { .sin_family = AF_INET };

        ck_assert_int_eq(inet_pton(AF_INET, text, &sa.sin_addr), 1);
        return net_address_is_private((const struct sockaddr *) &sa, sizeof sa);
}

static bool private6(const char *text) {
        struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };

        ck_assert_int_eq(inet_pton(AF_INET6, text, &sa.sin6_addr), 1);
        return net_address_is_private((const struct sockaddr *) &sa, sizeof sa);
}

START_TEST(test_ipv4) {
        const char *private[] = { "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                                  "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
                                  "255.255.255.255", "198.18.0.1" };
        const char *public[] = { "8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "192.169.0.1",
                                 "100.128.0.1", "93.184.216.34", "11.0.0.1", "126.255.255.255" };

        for (size_t i = 0; i < sizeof private / sizeof private[0]; i++)
                ck_assert_msg(private4(private[i]), "%s should be private", private[i]);
        for (size_t i = 0; i < sizeof public / sizeof public[0]; i++)
                ck_assert_msg(!private4(public[i]), "%s should be public", public[i]);
}
END_TEST

START_TEST(test_ipv6) {
        const char *private[] = { "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
                                  "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
                                  "64:ff9b::7f00:1", "fec0::1" };
        const char *public[] = { "2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8",
                                 "64:ff9b::808:808" };

        for (size_t i = 0; i < sizeof private / sizeof private[0]; i++)
                ck_assert_msg(private6(private[i]), "%s should be private", private[i]);
        for (size_t i = 0; i < sizeof public / sizeof public[0]; i++)
                ck_assert_msg(!private6(public[i]), "%s should be public", public[i]);
}
END_TEST

START_TEST(test_other_families_and_short_lengths) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        struct sockaddr un = { .sa_family = AF_UNIX };

        ck_assert_int_eq(inet_pton(AF_INET, "8.8.8.8", &sa.sin_addr), 1);
        ck_assert(net_address_is_private(&un, sizeof un));
        ck_assert(net_address_is_private(NULL, 0));
        ck_assert(net_address_is_private((const struct sockaddr *) &sa, 4));
}
END_TEST

int main(void) {
        Suite *s = suite_create("net-guard");
        TCase *tc = tcase_create("addresses");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_ipv4);
        tcase_add_test(tc, test_ipv6);
        tcase_add_test(tc, test_other_families_and_short_lengths);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
