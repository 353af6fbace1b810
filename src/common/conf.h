/* pipelitd's configuration: built-in defaults, then the main file (INI style, systemd-like
 * "[Section]" and "Key=Value" lines, '#' and ';' comments), then its drop-ins
 * (the *.conf files in <main>.d/, in lexical order), then environment overrides PIPELIT_<KEY>
 * (e.g. PIPELIT_DATABASE, PIPELIT_LISTEN, PIPELIT_LOG_LEVEL), then command-line options.
 *
 * Unknown sections or keys and bad values refuse the start: the error names file and line
 * ("pipelitd.conf:12: unknown key 'Foo' in section [Server]"), or the variable. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

#define CONFIG_DEFAULT_PATH "/etc/pipelit/pipelitd.conf"

/* How pipelitd starts a workflow's dedicated worker (settings.worker). */
typedef enum WorkerLauncher {
        WORKER_LAUNCHER_SYSTEMD,    /* pipelit-worker@<slug>.service, through systemd's D-Bus API */
        WORKER_LAUNCHER_EXEC,       /* pipelit-worker as a child process (no limits applied) */
} WorkerLauncher;

typedef struct Config {
        /* [Server] */
        char **listen;              /* Listen=ADDR:PORT, repeatable; an empty value resets */
        char *listen_unix;          /* ListenUnix=/run/pipelit/pipelitd.sock */
        size_t max_body_size;       /* MaxBodySize=1M (bytes, K/M/G suffixes), default 1 MiB */
        char *static_directory;     /* StaticDirectory= where the browser UI lives */
        uint64_t idle_timeout_usec; /* IdleTimeoutSec= (0 = never), only when socket-activated */
        uint64_t websocket_ping_usec; /* WebSocketPingSec=30: ping a client silent this long (0 = never) */
        uint64_t websocket_pong_timeout_usec; /* WebSocketPongTimeoutSec=10: then close it */
        /* [Storage] */
        char *database;             /* Database=sqlite:///… or postgresql://…; default
                                     * sqlite://<StateDirectory>/pipelit.db */
        char *state_directory;      /* StateDirectory=, default $STATE_DIRECTORY or /var/lib/pipelit */
        /* [Limits] */
        int64_t max_nodes_per_workflow; /* MaxNodesPerWorkflow=, default 1000 */
        size_t max_node_output_size; /* MaxNodeOutputSize=1M: bytes of one node's output */
        unsigned max_subworkflow_depth; /* MaxSubworkflowDepth=5: generations of child executions */
        /* [Engine] */
        unsigned workers;           /* Workers=4: threads running nodes (0 = no engine) */
        char *price_table;          /* PriceTable= the price table (prices.json); empty: the
                                     * operator's /etc/pipelit/prices.json, else the package's */
        WorkerLauncher worker_launcher; /* WorkerLauncher=systemd|exec: how dedicated workers start */
        char *worker_socket;        /* WorkerSocket= where they connect; default
                                     * <StateDirectory>/worker.sock */
        /* [Retention] defaults for workflows whose settings say nothing */
        bool retention_keep_successful; /* KeepSuccessful=all|none: data of completed runs */
        int64_t retention_max_age_days; /* MaxAgeDays= (0: keep runs of any age) */
        int64_t retention_max_count;    /* MaxCount= (0: keep any number of runs) */
        /* [Bus] */
        bool bus_enabled;           /* Enabled=yes: serve org.pipelit.Pipelit1 on the system bus */
        /* [Log] */
        int log_level;              /* Level=info (syslog level) */
} Config;

void config_init(Config *c);
void config_done(Config *c);

/* Reads path and its drop-in folder path.d/. A missing main file is fine unless
 * must_exist. On error returns negative errno and sets *ret_error (malloc'ed). */
int config_load_file(Config *c, const char *path, bool must_exist, char **ret_error);
/* Parses one file's text; name is used in error messages. Exposed for the unit tests. */
int config_parse_string(Config *c, const char *name, const char *text, char **ret_error);
/* Applies PIPELIT_* variables from envp (NULL-terminated "K=V" strings). */
int config_apply_env(Config *c, char *const *envp, char **ret_error);
/* Fills what depends on other settings (default Database from StateDirectory). */
int config_finish(Config *c, char **ret_error);

/* Helpers shared with the command line. */
int parse_size(const char *s, size_t *ret);          /* "512", "64K", "1M", "1G" */
int parse_seconds(const char *s, uint64_t *ret_usec); /* "30", "30s", "5min", "1h" */
int parse_bool(const char *s, bool *ret);             /* yes/no/true/false/1/0/on/off */
/* "127.0.0.1:8080", "[::1]:8080", ":8080" (all addresses); returns -EINVAL when bad. */
int parse_listen_address(const char *s, char **ret_host, uint16_t *ret_port);
