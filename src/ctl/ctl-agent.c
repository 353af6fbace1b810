/* A polkit agent on the terminal while a command runs, as systemctl has: when a privileged
 * method needs an administrator's password and no desktop agent is there to ask for it,
 * pkttyagent asks on the terminal pipelitctl runs on. It registers for its parent process
 * (pipelitctl) and says it is ready by closing the fd it was given. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define PKTTYAGENT "/usr/bin/pkttyagent"
/* How long it may take to register before the command goes on without waiting. */
#define AGENT_READY_TIMEOUT_MSEC 5000

static pid_t agent_pid;

void ctl_agent_open(void) {
        int fds[2];
        char notify[16];
        pid_t pid;

        if (agent_pid > 0 || access(PKTTYAGENT, X_OK) < 0)
                return;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return;
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return;
        }
        if (pid == 0) {
                /* Only the notify fd crosses the exec. */
                if (fcntl(fds[1], F_SETFD, 0) < 0)
                        _exit(EXIT_FAILURE);
                snprintf(notify, sizeof notify, "%d", fds[1]);
                execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", notify, "--fallback", (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        close(fds[1]);
        /* Ready (or gone) when the other end of the pipe closes. */
        (void) poll(&(struct pollfd) { .fd = fds[0], .events = POLLIN }, 1, AGENT_READY_TIMEOUT_MSEC);
        close(fds[0]);
        agent_pid = pid;
}

void ctl_agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) waitpid(agent_pid, NULL, 0);
        agent_pid = 0;
}
