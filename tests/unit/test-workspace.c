/* Workspaces (sandbox.h): their names, how they are laid out and shared, the gates a run
 * of the code socket passes (POSIX ACLs as the kernel stores them), and removing them. In
 * a temporary folder; the ACL checks skip where its file system has no ACLs. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/macro.h"
#include "sandbox/sandbox-internal.h"

static char *make_root(void) {
        char *dir = strdup("/tmp/pipelit-workspace-XXXXXX");

        ck_assert_ptr_nonnull(dir);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        return dir;
}

static mode_t mode_of(const char *root, const char *path) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, path), 0);
        ck_assert_int_eq(lstat(p, &st), 0);
        return st.st_mode & 07777;
}

static bool exists(const char *root, const char *path) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, path), 0);
        return lstat(p, &st) == 0;
}

static void run_shell(const char *command, const char *dir) {
        _cleanup_free_ char *line = NULL;

        ck_assert_int_ge(asprintf(&line, "cd '%s' && %s", dir, command), 0);
        ck_assert_int_eq(system(line), 0);
}

static bool has_user_entry(const char *path, uint32_t uid) {
        uint8_t buf[4 + 8 * SANDBOX_ACL_ENTRIES_MAX];
        SandboxAcl acl;
        ssize_t n = getxattr(path, "system.posix_acl_access", buf, sizeof(buf));

        if (n < 0)
                return false;
        ck_assert_int_eq(sandbox_acl_parse(buf, (size_t) n, &acl), 0);
        for (size_t i = 0; i < acl.n; i++)
                if (acl.entries[i].tag == SANDBOX_ACL_USER && acl.entries[i].id == uid)
                        return true;
        return false;
}

START_TEST(test_names) {
        static const char *const good[] = { "12/agent_1", "1", "a.b/c-d_E9", "7/node.v2" };
        static const char *const bad[] = { "", "/12/a", "12/", "12//a", "../x", "12/..", "12/.hidden", ".",
                                           "12/a b", "12/a\\b", "12/ü" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ck_assert_msg(sandbox_workspace_name_is_valid(good[i]), "%s", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!sandbox_workspace_name_is_valid(bad[i]), "%s", bad[i]);
        ck_assert(!sandbox_workspace_name_is_valid(NULL));
}
END_TEST

START_TEST(test_acl_round_trip_and_mask) {
        uint8_t buf[4 + 8 * SANDBOX_ACL_ENTRIES_MAX];
        SandboxAcl acl, back;
        size_t n;

        sandbox_acl_from_mode(0750, &acl);
        ck_assert_uint_eq(acl.n, 3);
        /* Named entries bring a mask: the union of the group class. */
        ck_assert_int_eq(sandbox_acl_set(&acl, SANDBOX_ACL_USER, 2000, 1), 0);
        ck_assert_int_eq(sandbox_acl_set(&acl, SANDBOX_ACL_USER, 1000, 6), 0);
        ck_assert_int_eq(sandbox_acl_set(&acl, SANDBOX_ACL_GROUP, 50, 4), 0);
        ck_assert_uint_eq(acl.n, 7);
        /* Sorted as the kernel wants: owner, users by id, group, groups, mask, other. */
        ck_assert_uint_eq(acl.entries[0].tag, SANDBOX_ACL_USER_OBJ);
        ck_assert_uint_eq(acl.entries[1].id, 1000);
        ck_assert_uint_eq(acl.entries[2].id, 2000);
        ck_assert_uint_eq(acl.entries[3].tag, SANDBOX_ACL_GROUP_OBJ);
        ck_assert_uint_eq(acl.entries[4].tag, SANDBOX_ACL_GROUP);
        ck_assert_uint_eq(acl.entries[5].tag, SANDBOX_ACL_MASK);
        ck_assert_uint_eq(acl.entries[5].perm, 7);      /* 5 | 6 | 1 | 4 */
        ck_assert_uint_eq(acl.entries[6].tag, SANDBOX_ACL_OTHER);

        n = sandbox_acl_format(&acl, buf);
        ck_assert_uint_eq(n, 4 + 8 * 7);
        ck_assert_int_eq(sandbox_acl_parse(buf, n, &back), 0);
        ck_assert_uint_eq(back.n, acl.n);
        ck_assert_mem_eq(back.entries, acl.entries, sizeof(SandboxAclEntry) * acl.n);

        /* Changing one keeps one; removing the named ones drops the mask. */
        ck_assert_int_eq(sandbox_acl_set(&acl, SANDBOX_ACL_USER, 2000, 7), 0);
        ck_assert_uint_eq(acl.n, 7);
        sandbox_acl_remove_named(&acl, SANDBOX_ACL_USER, 1000, false);
        ck_assert_uint_eq(acl.n, 6);
        sandbox_acl_remove_named(&acl, SANDBOX_ACL_USER, 0, true);
        sandbox_acl_remove_named(&acl, SANDBOX_ACL_GROUP, 50, false);
        ck_assert_uint_eq(acl.n, 3);
        ck_assert_uint_eq(acl.entries[1].perm, 5);      /* the owning group as it was */

        /* Not an ACL: refused, never guessed. */
        ck_assert_int_eq(sandbox_acl_parse(buf, 3, &back), -EBADMSG);
        ck_assert_int_eq(sandbox_acl_parse(buf, n - 1, &back), -EBADMSG);
        buf[0] = 1;
        ck_assert_int_eq(sandbox_acl_parse(buf, n, &back), -EBADMSG);
        ck_assert_int_eq(sandbox_acl_set(&acl, SANDBOX_ACL_MASK, 0, 7), -EINVAL);
}
END_TEST

START_TEST(test_prepare_lays_out_the_workspace) {
        _cleanup_free_ char *root = make_root(), *base = NULL, *home = NULL, *inside = NULL;
        SandboxBuffer err = {};
        SandboxOptions o = { .workspace = "12/agent_1" };

        ck_assert_int_ge(asprintf(&base, "%s/workspaces", root), 0);
        o.workspace_root = base;
        ck_assert_int_eq(sandbox_workspace_prepare(&o, false, &err, &home, &inside), 0);
        ck_assert_str_eq(inside, "/run/workspaces/12/agent_1/home");
        ck_assert(strncmp(home, base, strlen(base)) == 0);
        ck_assert_str_eq(home + strlen(base), "/12/agent_1/home");
        /* Passing on the way, a gate only we pass, the folder. */
        ck_assert_uint_eq(mode_of(root, "workspaces"), 0711);
        ck_assert_uint_eq(mode_of(root, "workspaces/12"), 0711);
        ck_assert_uint_eq(mode_of(root, "workspaces/12/agent_1"), 0700);
        ck_assert_uint_eq(mode_of(root, "workspaces/12/agent_1/home") & 0700, 0700);
        ck_assert_uint_eq(mode_of(root, "workspaces/12/agent_1/home") & 0007, 0);

        /* Again: what is there stays. */
        run_shell("echo kept > workspaces/12/agent_1/home/file", root);
        free(home);
        free(inside);
        ck_assert_int_eq(sandbox_workspace_prepare(&o, false, &err, &home, &inside), 0);
        ck_assert(exists(root, "workspaces/12/agent_1/home/file"));

        /* A name that is none, or a relative root. */
        o.workspace = "../etc";
        ck_assert_int_eq(sandbox_workspace_prepare(&o, false, &err, &home, &inside), -EINVAL);
        o.workspace = "1/a";
        o.workspace_root = "relative/root";
        ck_assert_int_eq(sandbox_workspace_prepare(&o, false, &err, &home, &inside), -EINVAL);

        ck_assert_int_eq(sandbox_workspace_remove(base, "12"), 0);
        ck_assert(!exists(root, "workspaces/12"));
        ck_assert_int_eq(rmdir(base), 0);
        ck_assert_int_eq(rmdir(root), 0);
        free(err.data);
}
END_TEST

START_TEST(test_shared_workspace_needs_the_group) {
        _cleanup_free_ char *root = make_root(), *home = NULL, *inside = NULL;
        SandboxBuffer err = {};
        SandboxOptions o = { .workspace_root = root, .workspace = "3/a" };
        gid_t group;
        int r;

        if (sandbox_workspace_group(&group) >= 0) {
                /* With the group: shared through an ACL, given the file system has them. */
                r = sandbox_workspace_prepare(&o, true, &err, &home, &inside);
                if (r == -EOPNOTSUPP)
                        ck_assert_ptr_nonnull(strstr(err.data, "POSIX ACLs"));
                else
                        ck_assert_int_eq(r, 0);
        } else {
                ck_assert_int_eq(sandbox_workspace_prepare(&o, true, &err, &home, &inside), -ESRCH);
                ck_assert_ptr_nonnull(strstr(err.data, "the group pipelit-workspace does not exist"));
                ck_assert(!exists(root, "3"));
        }
        ck_assert_int_eq(sandbox_workspace_remove(root, "3"), 0);
        ck_assert_int_eq(rmdir(root), 0);
        free(err.data);
}
END_TEST

START_TEST(test_gate_grants_and_revokes) {
        _cleanup_free_ char *root = make_root(), *home = NULL, *inside = NULL, *gate = NULL, *other = NULL;
        SandboxBuffer err = {};
        SandboxOptions o = { .workspace_root = root, .workspace = "5/agent" };
        SandboxOptions p = { .workspace_root = root, .workspace = "5/other" };
        int r;

        ck_assert_int_eq(sandbox_workspace_prepare(&o, false, &err, &home, &inside), 0);
        free(home);
        free(inside);
        ck_assert_int_eq(sandbox_workspace_prepare(&p, false, &err, &home, &inside), 0);
        ck_assert_int_ge(asprintf(&gate, "%s/5/agent", root), 0);
        ck_assert_int_ge(asprintf(&other, "%s/5/other", root), 0);

        r = sandbox_workspace_grant(root, "5/agent", 61234);
        if (r == -EOPNOTSUPP) {
                ck_assert_int_eq(sandbox_workspace_remove(root, "5"), 0);
                ck_assert_int_eq(rmdir(root), 0);
                free(err.data);
                return;         /* no ACLs on this file system */
        }
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(sandbox_workspace_grant(root, "5/agent", 61235), 0);
        ck_assert(has_user_entry(gate, 61234));
        ck_assert(has_user_entry(gate, 61235));
        /* Its own gate only, and passing only. */
        ck_assert(!has_user_entry(other, 61234));
        ck_assert_uint_eq(mode_of(root, "5/agent") & 0070, 0010);       /* the mask: --x */

        ck_assert_int_eq(sandbox_workspace_revoke(root, "5/agent", 61234), 0);
        ck_assert(!has_user_entry(gate, 61234));
        ck_assert(has_user_entry(gate, 61235));

        /* Never to root or to ourselves; never a gate by a name that is none. */
        ck_assert_int_eq(sandbox_workspace_grant(root, "5/agent", 0), -EPERM);
        ck_assert_int_eq(sandbox_workspace_grant(root, "5/agent", geteuid()), -EPERM);
        ck_assert_int_eq(sandbox_workspace_grant(root, "5/../5/agent", 61236), -EINVAL);
        ck_assert_int_eq(sandbox_workspace_grant(root, "5/missing", 61236), -ENOENT);

        /* At start every grant goes (a crash may have left one). */
        ck_assert_int_eq(sandbox_workspace_grant(root, "5/other", 61237), 0);
        ck_assert_int_eq(sandbox_workspaces_revoke_all(root), 0);
        ck_assert(!has_user_entry(gate, 61235));
        ck_assert(!has_user_entry(other, 61237));
        ck_assert_uint_eq(mode_of(root, "5/agent"), 0700);

        ck_assert_int_eq(sandbox_workspace_remove(root, "5"), 0);
        ck_assert_int_eq(rmdir(root), 0);
        free(err.data);
}
END_TEST

START_TEST(test_remove_everything_but_what_links_point_at) {
        _cleanup_free_ char *root = make_root(), *outside = make_root(), *home = NULL, *inside = NULL,
                            *command = NULL;
        SandboxBuffer err = {};
        SandboxOptions o = { .workspace_root = root, .workspace = "9/agent" };

        ck_assert_int_eq(sandbox_workspace_prepare(&o, false, &err, &home, &inside), 0);
        ck_assert_int_ge(asprintf(&command,
                                  "set -e; cd %s; mkdir -p deep/er/still; echo x > deep/er/still/f; "
                                  "mkdir closed; echo y > closed/f; chmod 000 closed; chmod 500 deep/er; "
                                  "echo z > %s/precious; ln -s %s link; ln -s %s/precious file-link",
                                  home, outside, outside, outside), 0);
        ck_assert_int_eq(system(command), 0);

        ck_assert_int_eq(sandbox_workspace_remove(root, "9"), 0);
        ck_assert(!exists(root, "9"));
        /* What the links pointed at is not the workspace's. */
        ck_assert(exists(outside, "precious"));
        ck_assert_int_eq(sandbox_workspace_remove(root, "9"), 0);       /* none: nothing to do */
        ck_assert_int_eq(sandbox_workspace_remove(root, "../x"), -EINVAL);

        run_shell("rm -f precious", outside);
        ck_assert_int_eq(rmdir(outside), 0);
        ck_assert_int_eq(rmdir(root), 0);
        free(err.data);
}
END_TEST

static Suite *workspace_suite(void) {
        Suite *s = suite_create("workspace");
        TCase *tc = tcase_create("workspace");

        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_acl_round_trip_and_mask);
        tcase_add_test(tc, test_prepare_lays_out_the_workspace);
        tcase_add_test(tc, test_shared_workspace_needs_the_group);
        tcase_add_test(tc, test_gate_grants_and_revokes);
        tcase_add_test(tc, test_remove_everything_but_what_links_point_at);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(workspace_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
