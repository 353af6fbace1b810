-- Schedules fire their workflow's trigger on a timer (src/engine/scheduler.c). One run at a
-- time: current_execution_id is the run a schedule started and has not yet seen end (its
-- outcome is counted when it ends, also after a restart); last_execution_id the latest run
-- it started, kept for the API.
ALTER TABLE scheduled_jobs ADD COLUMN current_execution_id TEXT;
ALTER TABLE scheduled_jobs ADD COLUMN last_execution_id TEXT;
CREATE INDEX scheduled_jobs_execution ON scheduled_jobs(current_execution_id);
CREATE INDEX scheduled_jobs_workflow ON scheduled_jobs(workflow_id, created_at);
