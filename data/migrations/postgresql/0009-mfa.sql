-- Second factor (TOTP) bookkeeping. users.totp_secret (sealed with the daemon's vault key),
-- mfa_enabled and totp_last_used_step come from 0001; these count the codes tried:
-- mfa_window_start/mfa_window_attempts the attempts of the current minute (at most 5),
-- mfa_failed_attempts the wrong codes in a row (10 lock the second factor until
-- mfa_locked_until). Kept in the database so that a restart forgets none of it.
ALTER TABLE users ADD COLUMN mfa_window_start TEXT;
ALTER TABLE users ADD COLUMN mfa_window_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_locked_until TEXT;

-- A password accepted for a user with MFA on gives a login token: codes may be tried
-- with it until it expires (5 minutes), and the first right one uses it up. Only its
-- hash is stored.
CREATE TABLE mfa_login_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
);
CREATE INDEX mfa_login_tokens_user ON mfa_login_tokens(user_id);
