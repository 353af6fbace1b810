-- The whole data model of Pipelit (reference inventory section 5), so later features add
-- columns rather than rewrite tables. Timestamps are ISO-8601 UTC text written by the
-- daemon; JSON columns are text; booleans are 0/1.

CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'normal' CHECK (role IN ('admin', 'normal')),
        first_name TEXT NOT NULL DEFAULT '',
        last_name TEXT NOT NULL DEFAULT '',
        external_user_id TEXT UNIQUE,
        is_active INTEGER NOT NULL DEFAULT 1,
        totp_secret TEXT,
        mfa_enabled INTEGER NOT NULL DEFAULT 0,
        totp_last_used_step INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
);

CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        expires_at TEXT,
        is_active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX api_keys_user ON api_keys(user_id);

CREATE TABLE system_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        default_llm_credential_id INTEGER,
        default_model_name TEXT,
        default_timezone TEXT NOT NULL DEFAULT 'UTC',
        max_workflow_execution_seconds INTEGER NOT NULL DEFAULT 600,
        confirmation_timeout_seconds INTEGER NOT NULL DEFAULT 300,
        feature_flags TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO system_config (id) VALUES (1);

CREATE TABLE credentials (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        credential_type TEXT NOT NULL CHECK (credential_type IN ('llm', 'telegram', 'gateway', 'git', 'tool')),
        -- provider / adapter / tool type, by credential_type
        provider TEXT NOT NULL DEFAULT '',
        -- non-secret settings (base_url, organization_id, custom_headers, url, username, …)
        detail TEXT NOT NULL DEFAULT '{}',
        -- secrets, encrypted with the daemon's key (libsodium secretbox, base64)
        secret_ciphertext TEXT,
        is_active INTEGER NOT NULL DEFAULT 1,
        is_preferred INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
);
CREATE INDEX credentials_user ON credentials(user_id);

CREATE TABLE workspaces (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        allow_network INTEGER NOT NULL DEFAULT 0,
        env_vars TEXT NOT NULL DEFAULT '[]',
        is_default INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
);

CREATE TABLE workflows (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        slug TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        is_active INTEGER NOT NULL DEFAULT 1,
        is_public INTEGER NOT NULL DEFAULT 0,
        is_default INTEGER NOT NULL DEFAULT 0,
        is_template INTEGER NOT NULL DEFAULT 0,
        is_callable INTEGER NOT NULL DEFAULT 0,
        forked_from_id INTEGER REFERENCES workflows(id) ON DELETE SET NULL,
        error_handler_workflow_id INTEGER REFERENCES workflows(id) ON DELETE SET NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        max_execution_seconds INTEGER NOT NULL DEFAULT 600,
        input_schema TEXT,
        output_schema TEXT,
        -- settings of later features (retention, dedicated worker limits, budgets)
        settings TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
);
CREATE INDEX workflows_owner ON workflows(owner_id);

-- A node and its component config (1:1 in the reference, one row here).
CREATE TABLE workflow_nodes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        node_id TEXT NOT NULL,
        component_type TEXT NOT NULL,
        label TEXT,
        is_entry_point INTEGER NOT NULL DEFAULT 0,
        interrupt_before INTEGER NOT NULL DEFAULT 0,
        interrupt_after INTEGER NOT NULL DEFAULT 0,
        position_x REAL NOT NULL DEFAULT 0,
        position_y REAL NOT NULL DEFAULT 0,
        subworkflow_id INTEGER REFERENCES workflows(id) ON DELETE SET NULL,
        -- component config
        system_prompt TEXT,
        extra_config TEXT NOT NULL DEFAULT '{}',
        llm_credential_id INTEGER REFERENCES credentials(id) ON DELETE SET NULL,
        model_name TEXT,
        temperature REAL,
        max_tokens INTEGER,
        frequency_penalty REAL,
        presence_penalty REAL,
        top_p REAL,
        timeout INTEGER,
        max_retries INTEGER,
        response_format TEXT,
        llm_model_config_id TEXT,
        credential_id INTEGER REFERENCES credentials(id) ON DELETE SET NULL,
        is_active INTEGER NOT NULL DEFAULT 1,
        priority INTEGER NOT NULL DEFAULT 0,
        trigger_config TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (workflow_id, node_id)
);

CREATE TABLE workflow_edges (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        source_node_id TEXT NOT NULL,
        target_node_id TEXT NOT NULL,
        edge_type TEXT NOT NULL DEFAULT 'direct' CHECK (edge_type IN ('direct', 'conditional')),
        edge_label TEXT NOT NULL DEFAULT '',
        condition_value TEXT NOT NULL DEFAULT '',
        condition_mapping TEXT,
        priority INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
);
CREATE INDEX workflow_edges_workflow ON workflow_edges(workflow_id);

CREATE TABLE executions (
        execution_id TEXT PRIMARY KEY,
        workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        trigger_node_id TEXT,
        parent_execution_id TEXT REFERENCES executions(execution_id) ON DELETE SET NULL,
        parent_node_id TEXT,
        user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        thread_id TEXT,
        status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'interrupted', 'completed', 'failed', 'cancelled')),
        trigger_payload TEXT,
        final_output TEXT,
        error_message TEXT,
        error_code TEXT,
        depth INTEGER NOT NULL DEFAULT 0,
        deadline_at TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT,
        total_input_tokens INTEGER NOT NULL DEFAULT 0,
        total_output_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0,
        total_cost_usd REAL NOT NULL DEFAULT 0,
        llm_calls INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX executions_workflow ON executions(workflow_id, created_at);
CREATE INDEX executions_status ON executions(status);
CREATE INDEX executions_parent ON executions(parent_execution_id);

-- Per-node progress of an execution: what is queued, running, done (the durable queue).
CREATE TABLE execution_nodes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id TEXT NOT NULL REFERENCES executions(execution_id) ON DELETE CASCADE,
        node_id TEXT NOT NULL,
        iteration TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'queued',
        attempt INTEGER NOT NULL DEFAULT 0,
        run_after TEXT,
        output TEXT,
        route TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (execution_id, node_id, iteration)
);

CREATE TABLE execution_logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id TEXT NOT NULL REFERENCES executions(execution_id) ON DELETE CASCADE,
        node_id TEXT NOT NULL,
        status TEXT NOT NULL,
        input TEXT,
        output TEXT,
        error TEXT,
        error_code TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        retry_count INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        timestamp TEXT NOT NULL
);
CREATE INDEX execution_logs_execution ON execution_logs(execution_id);

CREATE TABLE pending_confirmations (
        task_id TEXT PRIMARY KEY,
        execution_id TEXT NOT NULL REFERENCES executions(execution_id) ON DELETE CASCADE,
        user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        node_id TEXT NOT NULL,
        chat_id TEXT,
        credential_id INTEGER REFERENCES credentials(id) ON DELETE SET NULL,
        prompt TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
);

CREATE TABLE scheduled_jobs (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        trigger_node_id TEXT,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        interval_seconds INTEGER NOT NULL CHECK (interval_seconds >= 1),
        total_repeats INTEGER NOT NULL DEFAULT 0,
        max_retries INTEGER NOT NULL DEFAULT 3,
        timeout_seconds INTEGER NOT NULL DEFAULT 600,
        trigger_payload TEXT,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'done', 'dead')),
        current_repeat INTEGER NOT NULL DEFAULT 0,
        current_retry INTEGER NOT NULL DEFAULT 0,
        run_count INTEGER NOT NULL DEFAULT 0,
        error_count INTEGER NOT NULL DEFAULT 0,
        last_run_at TEXT,
        next_run_at TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
);
CREATE INDEX scheduled_jobs_next ON scheduled_jobs(status, next_run_at);

CREATE TABLE memory_users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        canonical_id TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        display_name TEXT,
        preferences TEXT NOT NULL DEFAULT '{}',
        conversation_count INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        last_seen_at TEXT
);

CREATE TABLE memory_facts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL DEFAULT 'global',
        scope_id TEXT NOT NULL DEFAULT '',
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        fact_type TEXT NOT NULL DEFAULT 'world_knowledge',
        confidence REAL NOT NULL DEFAULT 1.0,
        access_count INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (scope, scope_id, key)
);

CREATE TABLE memory_episodes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        agent_id TEXT,
        execution_id TEXT REFERENCES executions(execution_id) ON DELETE SET NULL,
        user_id TEXT,
        summary TEXT,
        success INTEGER,
        data TEXT NOT NULL DEFAULT '{}',
        started_at TEXT NOT NULL,
        ended_at TEXT
);

CREATE TABLE memory_procedures (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        agent_id TEXT,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        steps TEXT NOT NULL DEFAULT '[]',
        success_count INTEGER NOT NULL DEFAULT 0,
        failure_count INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
);

-- Agent conversation memory: one thread per (user, chat, workflow), one row per message.
CREATE TABLE conversation_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        thread_id TEXT NOT NULL,
        workflow_id INTEGER REFERENCES workflows(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at TEXT NOT NULL
);
CREATE INDEX conversation_messages_thread ON conversation_messages(thread_id, id);
