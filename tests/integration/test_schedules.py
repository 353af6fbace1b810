"""Schedules: the /schedules API (create, list, read, edit, delete, pause, resume; 422s,
ownership), the scheduler (runs every interval through the engine, counts them, stops after
total_repeats, retries failures with backoff until the schedule is dead, one run at a time,
timeouts, skipped runs), durability across a restart without a burst of missed runs, and
ListSchedules/PauseSchedule/ResumeSchedule over D-Bus with their pipelitctl commands."""

import calendar
import json
import os
import shutil
import subprocess
import time
import unittest

from harness import Daemon, DaemonTestCase, unique
from test_dbus import NOBODY, have_bus_tools
from test_dbus_admin import ACTION, BusCase, FAKE_POLKIT, POLKIT_POLICY

SCHEDULE_FIELDS = {"id", "name", "description", "workflow_id", "workflow_slug", "trigger_node_id", "user_id",
                   "interval_seconds", "total_repeats", "max_retries", "timeout_seconds", "trigger_payload",
                   "status", "current_repeat", "current_retry", "run_count", "error_count", "last_run_at",
                   "next_run_at", "last_error", "current_execution_id", "last_execution_id", "created_at",
                   "updated_at"}
MISSING_ID = "00000000-0000-4000-8000-000000000000"


def epoch(timestamp):
        """Seconds since the epoch of an API timestamp ("2026-11-26T00:54:34.123456Z")."""
        seconds, _, fraction = timestamp.rstrip("Z").partition(".")
        return calendar.timegm(time.strptime(seconds, "%Y-%m-%dT%H:%M:%S")) + float("0." + (fraction or "0"))


class ScheduleCase(DaemonTestCase):
        """Workflows to schedule and ways to watch their schedules."""

        def ticking_workflow(self, client=None, message="tick {{ trigger.repeat_number }}",
                             trigger="trigger_schedule", **fields):
                """A workflow whose trigger ("clock") feeds a reply_chat ("say"); returns WorkflowOut."""
                w = self.make_workflow(client, **fields)
                self.make_node(w["slug"], trigger, client, node_id="clock")
                self.make_node(w["slug"], "reply_chat", client, node_id="say",
                               config={"extra_config": {"message": message}})
                self.make_edge(w["slug"], "clock", "say", client)
                return w

        def create(self, workflow, client=None, **fields):
                body = {"name": unique("Schedule "), "workflow_id": workflow["id"], "interval_seconds": 3600}
                body.update(fields)
                r = (client or self.admin).post("/schedules/", body)
                self.assertEqual(r.status, 201, r)
                self.addCleanup(self.admin.delete, "/schedules/%s/" % r.body["id"])
                return r.body

        def get(self, schedule_id, client=None):
                r = (client or self.admin).get("/schedules/%s/" % schedule_id)
                self.assertEqual(r.status, 200, r)
                return r.body

        def wait_schedule(self, schedule_id, predicate, timeout=10.0, what="the schedule"):
                deadline = time.monotonic() + timeout
                while True:
                        s = self.get(schedule_id)
                        if predicate(s):
                                return s
                        if time.monotonic() > deadline:
                                self.fail("%s never got there: %r" % (what, s))
                        time.sleep(0.05)

        def executions(self, slug):
                r = self.admin.get("/executions/?workflow_slug=%s&limit=1000" % slug)
                self.assertEqual(r.status, 200, r)
                return list(reversed(r.body["items"]))  # oldest first

        def execution(self, execution_id):
                r = self.admin.get("/executions/%s/" % execution_id)
                self.assertEqual(r.status, 200, r)
                return r.body


class SchedulesApiTest(ScheduleCase):
        def test_create_read_list_edit_delete(self):
                w = self.ticking_workflow()
                before = time.time()
                r = self.admin.post("/schedules/", {"name": "Hourly", "description": "every hour",
                                                    "workflow_id": w["id"], "interval_seconds": 3600,
                                                    "trigger_payload": {"x": 1}})
                self.assertEqual(r.status, 201, r)
                s = r.body
                self.addCleanup(self.admin.delete, "/schedules/%s/" % s["id"])
                self.assertEqual(set(s), SCHEDULE_FIELDS)
                self.assertRegex(s["id"], r"^[0-9a-f-]{36}$")
                self.assertEqual((s["name"], s["description"], s["workflow_id"], s["workflow_slug"]),
                                 ("Hourly", "every hour", w["id"], w["slug"]))
                # The defaults, and the workflow's only schedule trigger.
                self.assertEqual((s["total_repeats"], s["max_retries"], s["timeout_seconds"]), (0, 3, 600))
                self.assertEqual((s["trigger_node_id"], s["user_id"], s["trigger_payload"]), ("clock", self.admin_id, {"x": 1}))
                self.assertEqual((s["status"], s["run_count"], s["error_count"], s["current_retry"]), ("active", 0, 0, 0))
                self.assertIsNone(s["last_run_at"])
                self.assertIsNone(s["current_execution_id"])
                self.assertTimestamp(s["created_at"])
                # The first run is due one interval after the creation.
                self.assertAlmostEqual(epoch(s["next_run_at"]), before + 3600, delta=5)

                self.assertEqual(self.get(s["id"]), s)
                listed = self.admin.get("/schedules/")
                self.assertEqual(listed.status, 200, listed)
                self.assertIn(s["id"], [x["id"] for x in listed.body["items"]])
                self.assertEqual(listed.body["total"], len(listed.body["items"]))
                for query, found in (("workflow_id=%d" % w["id"], True), ("workflow_slug=" + w["slug"], True),
                                     ("status=active", True), ("status=paused", False),
                                     ("workflow_slug=no-such-workflow", False)):
                        r = self.admin.get("/schedules/?" + query)
                        self.assertEqual(r.status, 200, r)
                        self.assertEqual(s["id"] in [x["id"] for x in r.body["items"]], found, query)

                r = self.admin.patch("/schedules/%s/" % s["id"], {"name": "Every minute", "interval_seconds": 60,
                                                                  "trigger_payload": None})
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.body["name"], r.body["interval_seconds"], r.body["trigger_payload"]),
                                 ("Every minute", 60, {}))
                self.assertEqual(r.body["description"], "every hour")
                # A new interval counts from the change.
                self.assertAlmostEqual(epoch(r.body["next_run_at"]), time.time() + 60, delta=5)
                self.assertEqual(self.get(s["id"])["name"], "Every minute")

                r = self.admin.delete("/schedules/%s/" % s["id"])
                self.assertEqual(r.status, 204, r)
                self.assertEqual(self.admin.get("/schedules/%s/" % s["id"]).status, 404)
                self.assertEqual(self.admin.delete("/schedules/%s/" % s["id"]).status, 404)

        def test_pagination(self):
                w = self.ticking_workflow()
                ids = [self.create(w)["id"] for _ in range(3)]
                r = self.admin.get("/schedules/?workflow_id=%d&limit=2" % w["id"])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["total"], 3)
                # Newest first.
                self.assertEqual([x["id"] for x in r.body["items"]], ids[:0:-1])
                r = self.admin.get("/schedules/?workflow_id=%d&limit=2&offset=2" % w["id"])
                self.assertEqual([x["id"] for x in r.body["items"]], ids[:1])
                for query in ("limit=0", "limit=1001", "offset=-1", "workflow_id=x"):
                        r = self.admin.get("/schedules/?" + query)
                        self.assertValidation(r, query.split("=")[0], where="query")

        def test_the_trigger_it_fires(self):
                # Named: a schedule or a manual trigger of the workflow.
                w = self.ticking_workflow()
                self.make_node(w["slug"], "trigger_manual", node_id="by-hand")
                self.assertEqual(self.create(w, trigger_node_id="by-hand")["trigger_node_id"], "by-hand")
                # Without a schedule trigger, the only manual one.
                m = self.ticking_workflow(trigger="trigger_manual")
                self.assertEqual(self.create(m)["trigger_node_id"], "clock")
                # A patch may name another, or null for the default again.
                s = self.create(w)
                r = self.admin.patch("/schedules/%s/" % s["id"], {"trigger_node_id": "by-hand"})
                self.assertEqual(r.body["trigger_node_id"], "by-hand", r)
                r = self.admin.patch("/schedules/%s/" % s["id"], {"trigger_node_id": None})
                self.assertEqual(r.body["trigger_node_id"], "clock", r)
                # Deleting the trigger node deletes its schedules.
                self.assertEqual(self.admin.delete("/workflows/%s/nodes/clock/" % w["slug"]).status, 204)
                self.assertEqual(self.admin.get("/schedules/%s/" % s["id"]).status, 404)

        def test_bad_bodies_get_422(self):
                w = self.ticking_workflow()
                two = self.ticking_workflow()
                self.make_node(two["slug"], "trigger_schedule", node_id="clock2")
                bare = self.make_workflow()
                self.make_node(bare["slug"], "reply_chat", node_id="say")
                base = {"name": "n", "workflow_id": w["id"], "interval_seconds": 60}
                for change, field in (
                                ({"name": None}, "name"), ({"name": "  "}, "name"), ({"name": "x" * 256}, "name"),
                                ({"interval_seconds": None}, "interval_seconds"),
                                ({"interval_seconds": 0}, "interval_seconds"),
                                ({"interval_seconds": "60"}, "interval_seconds"),
                                ({"interval_seconds": 1.5}, "interval_seconds"),
                                ({"total_repeats": -1}, "total_repeats"), ({"max_retries": -1}, "max_retries"),
                                ({"max_retries": True}, "max_retries"), ({"timeout_seconds": 0}, "timeout_seconds"),
                                ({"trigger_payload": [1]}, "trigger_payload"),
                                ({"trigger_payload": {"x": "y" * 300000}}, "trigger_payload"),
                                ({"description": 5}, "description"),
                                ({"workflow_id": None}, "workflow_id"), ({"workflow_id": 0}, "workflow_id"),
                                ({"workflow_id": 999999}, "workflow_id"),
                                ({"workflow_id": None, "workflow_slug": "no-such-flow"}, "workflow_slug"),
                                ({"workflow_slug": w["slug"]}, "workflow_slug"),
                                ({"trigger_node_id": "say"}, "trigger_node_id"),
                                ({"trigger_node_id": "nowhere"}, "trigger_node_id"),
                                ({"workflow_id": two["id"]}, "trigger_node_id"),
                                ({"workflow_id": bare["id"]}, "trigger_node_id")):
                        # None leaves the field out.
                        body = {k: v for k, v in dict(base, **change).items() if v is not None}
                        with self.subTest(change=str(change)[:80]):
                                self.assertValidation(self.admin.post("/schedules/", body), field)
                # By slug it works, and the messages say what is wrong.
                r = self.admin.post("/schedules/", {"name": "n", "workflow_slug": w["slug"], "interval_seconds": 60})
                self.assertEqual(r.status, 201, r)
                self.admin.delete("/schedules/%s/" % r.body["id"])
                r = self.admin.post("/schedules/", dict(base, workflow_id=two["id"]))
                self.assertIn("name one with trigger_node_id", r.body["detail"][0]["msg"])
                r = self.admin.post("/schedules/", dict(base, trigger_node_id="say"))
                self.assertIn("'reply_chat' node", r.body["detail"][0]["msg"])
                self.assertEqual(self.admin.request("POST", "/schedules/", raw_body="{nope").status, 400)
                self.assertEqual(self.admin.request("POST", "/schedules/", raw_body="[1]").status, 422)

                s = self.create(w)
                for change, field in (({"interval_seconds": 0}, "interval_seconds"), ({"name": ""}, "name"),
                                      ({"workflow_id": two["id"]}, "workflow_id"),
                                      ({"trigger_node_id": "say"}, "trigger_node_id"),
                                      ({"total_repeats": "3"}, "total_repeats")):
                        with self.subTest(patch=change):
                                self.assertValidation(self.admin.patch("/schedules/%s/" % s["id"], change), field)
                self.assertEqual(self.get(s["id"])["interval_seconds"], 3600)
                self.assertValidation(self.admin.get("/schedules/?status=sleeping"), "status", where="query")
                self.assertValidation(self.admin.post("/schedules/batch-delete/", {"schedule_ids": "x"}),
                                      "schedule_ids")
                for method, path in (("GET", "/schedules/nope/"), ("GET", "/schedules/%s/" % MISSING_ID),
                                     ("POST", "/schedules/%s/pause/" % MISSING_ID),
                                     ("PATCH", "/schedules/not-a-uuid/"), ("DELETE", "/schedules/%s/" % MISSING_ID)):
                        r = self.admin.request(method, path, {} if method == "PATCH" else None)
                        self.assertEqual(r.status, 404, (method, path, r))
                self.assertEqual(self.anon().get("/schedules/").status, 401)
                self.assertHealthy()

        def test_pause_and_resume_change_only_the_right_states(self):
                s = self.create(self.ticking_workflow(), interval_seconds=600)
                r = self.admin.post("/schedules/%s/pause/" % s["id"])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["status"], "paused")
                self.assertIsNone(r.body["next_run_at"])
                r = self.admin.post("/schedules/%s/pause/" % s["id"])
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.body, {"detail": "Schedule is paused, not active."})
                r = self.admin.patch("/schedules/%s/" % s["id"], {"interval_seconds": 900})
                self.assertEqual((r.body["status"], r.body["next_run_at"]), ("paused", None), r)
                r = self.admin.post("/schedules/%s/resume/" % s["id"])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["status"], "active")
                self.assertAlmostEqual(epoch(r.body["next_run_at"]), time.time() + 900, delta=5)
                r = self.admin.post("/schedules/%s/resume/" % s["id"])
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.body, {"detail": "Schedule is active, not paused."})

        def test_others_schedules_do_not_exist_for_a_user(self):
                _, alice = self.make_user()
                _, bob = self.make_user()
                w = self.ticking_workflow(alice)
                s = self.create(w, alice)
                self.assertEqual(s["user_id"], alice.get("/users/me/").body["id"])
                self.assertEqual(self.get(s["id"], alice)["id"], s["id"])
                self.assertEqual(bob.get("/schedules/").body, {"items": [], "total": 0})
                for method, path, body in (("GET", "/schedules/%s/", None), ("PATCH", "/schedules/%s/", {"name": "mine"}),
                                           ("DELETE", "/schedules/%s/", None), ("POST", "/schedules/%s/pause/", None),
                                           ("POST", "/schedules/%s/resume/", None)):
                        r = bob.request(method, path % s["id"], body)
                        self.assertEqual(r.status, 404, (method, path, r))
                        self.assertEqual(r.body, {"detail": "Schedule not found."})
                # Nor may bob schedule alice's workflow, by id or by slug.
                self.assertValidation(bob.post("/schedules/", {"name": "n", "workflow_id": w["id"],
                                                               "interval_seconds": 60}), "workflow_id")
                self.assertValidation(bob.post("/schedules/", {"name": "n", "workflow_slug": w["slug"],
                                                               "interval_seconds": 60}), "workflow_slug")
                r = bob.post("/schedules/batch-delete/", {"schedule_ids": [s["id"]]})
                self.assertEqual(r.body, {"deleted": 0}, r)
                self.assertEqual(self.get(s["id"])["name"], s["name"])
                # The admin sees it.
                self.assertIn(s["id"], [x["id"] for x in self.admin.get("/schedules/?limit=1000").body["items"]])
                r = alice.post("/schedules/batch-delete/", {"schedule_ids": [s["id"], MISSING_ID, "nope"]})
                self.assertEqual(r.body, {"deleted": 1}, r)
                self.assertEqual(self.admin.get("/schedules/%s/" % s["id"]).status, 404)

        def test_deleting_the_workflow_deletes_its_schedules(self):
                w = self.ticking_workflow()
                s = self.create(w)
                self.assertEqual(self.admin.delete("/workflows/%s/" % w["slug"]).status, 204)
                self.assertEqual(self.admin.get("/schedules/%s/" % s["id"]).status, 404)


class SchedulerTest(ScheduleCase):
        def test_a_one_second_schedule_runs_its_repeats_then_is_done(self):
                w = self.ticking_workflow(message="tick {{ trigger.repeat_number }} {{ trigger.payload.x }}")
                s = self.create(w, interval_seconds=1, total_repeats=3, trigger_payload={"x": "y"})
                s = self.wait_schedule(s["id"], lambda s: s["status"] == "done", timeout=8, what="done")
                self.assertEqual((s["run_count"], s["current_repeat"], s["error_count"]), (3, 3, 0))
                self.assertIsNone(s["next_run_at"])
                self.assertIsNone(s["current_execution_id"])
                runs = self.executions(w["slug"])
                self.assertEqual([e["status"] for e in runs], ["completed"] * 3)
                self.assertEqual(s["last_execution_id"], runs[-1]["execution_id"])
                started = [epoch(e["created_at"]) for e in runs]
                for a, b in zip(started, started[1:]):
                        self.assertGreaterEqual(b - a, 0.9, started)
                for n, e in enumerate(runs, 1):
                        detail = self.execution(e["execution_id"])
                        self.assertEqual(detail["final_output"], {"output": "tick %d y" % n})
                        self.assertEqual(detail["trigger_node_id"], "clock")
                        payload = detail["trigger_payload"]
                        self.assertEqual((payload["scheduled_job_id"], payload["repeat_number"], payload["payload"]),
                                         (s["id"], n, {"x": "y"}))
                        self.assertTimestamp(payload["timestamp"])
                # Done means done.
                time.sleep(1.5)
                self.assertEqual(len(self.executions(w["slug"])), 3)

        def test_pause_stops_firing_and_resume_starts_again(self):
                w = self.ticking_workflow()
                s = self.create(w, interval_seconds=1)
                self.wait_schedule(s["id"], lambda s: s["run_count"] >= 1, what="a first run")
                self.assertEqual(self.admin.post("/schedules/%s/pause/" % s["id"]).status, 200)
                # A run in flight when it paused still ends and is counted.
                paused = self.wait_schedule(s["id"], lambda s: s["current_execution_id"] is None)
                time.sleep(2.2)
                self.assertEqual(len(self.executions(w["slug"])), paused["run_count"])
                self.assertEqual(self.get(s["id"])["run_count"], paused["run_count"])
                self.assertEqual(self.admin.post("/schedules/%s/resume/" % s["id"]).status, 200)
                s = self.wait_schedule(s["id"], lambda s: s["run_count"] > paused["run_count"], timeout=4,
                                       what="a run after resume")
                self.assertEqual(s["status"], "active")

        def test_a_failing_run_is_retried_with_backoff_until_the_schedule_is_dead(self):
                w = self.ticking_workflow(message="{{ no_such_name }}")
                s = self.create(w, interval_seconds=1, max_retries=2)
                s = self.wait_schedule(s["id"], lambda s: s["status"] == "dead", timeout=10, what="dead")
                # The first run and two retries failed.
                self.assertEqual((s["error_count"], s["run_count"], s["current_retry"]), (3, 0, 3))
                self.assertIsNone(s["next_run_at"])
                runs = self.executions(w["slug"])
                self.assertEqual([e["status"] for e in runs], ["failed"] * 3)
                self.assertIn("Execution %s failed" % runs[-1]["execution_id"], s["last_error"])
                self.assertIn("no_such_name", s["last_error"])
                # Retried one interval after the failure, then two.
                ended = [epoch(self.execution(e["execution_id"])["completed_at"]) for e in runs]
                started = [epoch(e["created_at"]) for e in runs]
                self.assertGreaterEqual(started[1] - ended[0], 0.9)
                self.assertGreaterEqual(started[2] - ended[1], 1.9)
                time.sleep(1.2)
                self.assertEqual(len(self.executions(w["slug"])), 3)

        def test_a_success_resets_the_retries(self):
                # The run fails while trigger.payload.ok is missing, then succeeds once the payload has it.
                w = self.ticking_workflow(message="{{ trigger.payload.ok }}")
                s = self.create(w, interval_seconds=1, max_retries=5, total_repeats=1)
                self.wait_schedule(s["id"], lambda s: s["error_count"] >= 1, what="a failure")
                self.assertEqual(self.admin.patch("/schedules/%s/" % s["id"],
                                                  {"trigger_payload": {"ok": "fine"}}).status, 200)
                s = self.wait_schedule(s["id"], lambda s: s["status"] == "done", timeout=8, what="done")
                self.assertEqual((s["run_count"], s["current_retry"]), (1, 0))
                self.assertGreaterEqual(s["error_count"], 1)

        def test_timeout_seconds_ends_a_run_that_takes_too_long(self):
                w = self.make_workflow()
                self.make_node(w["slug"], "trigger_schedule", node_id="clock")
                self.make_node(w["slug"], "wait", node_id="nap", config={"extra_config": {"duration": 30}})
                self.make_node(w["slug"], "reply_chat", node_id="say", config={"extra_config": {"message": "late"}})
                self.make_edge(w["slug"], "clock", "nap")
                self.make_edge(w["slug"], "nap", "say")
                s = self.create(w, interval_seconds=1, timeout_seconds=1, max_retries=0)
                # One run at a time: none starts while the first is still waiting.
                s = self.wait_schedule(s["id"], lambda s: s["current_execution_id"] is not None, what="a run")
                time.sleep(0.5)
                self.assertEqual(len(self.executions(w["slug"])), 1)
                s = self.wait_schedule(s["id"], lambda s: s["status"] == "dead", timeout=6, what="dead")
                runs = self.executions(w["slug"])
                self.assertEqual(len(runs), 1)
                self.assertEqual((runs[0]["status"], runs[0]["error_code"]), ("failed", "timeout"))
                self.assertEqual(s["error_count"], 1)

        def test_runs_of_an_inactive_workflow_are_skipped(self):
                w = self.ticking_workflow(is_active=False)
                s = self.create(w, interval_seconds=1)
                s = self.wait_schedule(s["id"], lambda s: s["last_error"] is not None, what="a skipped run")
                self.assertIn("is not active", s["last_error"])
                self.assertEqual((s["status"], s["run_count"], s["error_count"]), ("active", 0, 0))
                self.assertEqual(self.executions(w["slug"]), [])
                # Activated, it runs.
                self.assertEqual(self.admin.patch("/workflows/%s/" % w["slug"], {"is_active": True}).status, 200)
                self.wait_schedule(s["id"], lambda s: s["run_count"] >= 1, timeout=4, what="a run")

        def test_a_workflow_that_cannot_run_counts_as_failed(self):
                w = self.make_workflow()
                self.make_node(w["slug"], "trigger_schedule", node_id="clock")
                s = self.create(w, interval_seconds=1, max_retries=0)
                s = self.wait_schedule(s["id"], lambda s: s["status"] == "dead", what="dead")
                self.assertIn("could not start", s["last_error"])
                self.assertEqual(self.executions(w["slug"]), [])
                self.assertHealthy()


class RestartTest(ScheduleCase):
        """Schedules live in the database: a restart keeps them, runs what came due once, and
        counts a run that was in flight."""

        def restart(self, down_until=None):
                self.daemon.stop()
                if down_until:
                        time.sleep(max(0, down_until - time.time()))
                self.daemon.start()

        def test_a_schedule_due_while_the_daemon_was_down_runs_once(self):
                w = self.ticking_workflow()
                s = self.create(w, interval_seconds=2)
                due = epoch(s["next_run_at"])
                # Down over two of its runs.
                self.restart(down_until=due + 2.5)
                started = time.time()
                s = self.wait_schedule(s["id"], lambda s: s["run_count"] >= 1, timeout=3, what="the missed run")
                self.assertEqual(len(self.executions(w["slug"])), 1)
                # Then one interval later, not at once.
                self.assertGreaterEqual(epoch(s["next_run_at"]), started + 1.5)
                time.sleep(1.0)
                self.assertEqual(len(self.executions(w["slug"])), 1)

        def test_a_run_in_flight_at_the_stop_is_counted_after_the_restart(self):
                w = self.make_workflow()
                self.make_node(w["slug"], "trigger_schedule", node_id="clock")
                self.make_node(w["slug"], "wait", node_id="nap", config={"extra_config": {"duration": 2}})
                self.make_node(w["slug"], "reply_chat", node_id="say", config={"extra_config": {"message": "woke"}})
                self.make_edge(w["slug"], "clock", "nap")
                self.make_edge(w["slug"], "nap", "say")
                s = self.create(w, interval_seconds=1, total_repeats=1)
                s = self.wait_schedule(s["id"], lambda s: s["current_execution_id"] is not None, what="a run")
                self.restart()
                s = self.wait_schedule(s["id"], lambda s: s["status"] == "done", timeout=6, what="done")
                self.assertEqual((s["run_count"], s["error_count"]), (1, 0))
                runs = self.executions(w["slug"])
                self.assertEqual([e["status"] for e in runs], ["completed"])


@unittest.skipUnless(have_bus_tools(), "needs dbus-daemon, busctl, dbus-send and pipelitctl")
class SchedulesBusTest(BusCase, ScheduleCase):
        def test_list_pause_and_resume_over_the_bus_and_pipelitctl(self):
                w = self.ticking_workflow()
                s = self.create(w, name="Nightly report", interval_seconds=5400)
                listed = self.call_json("ListSchedules")
                self.assertEqual(listed["total"], len(listed["items"]))
                mine = [x for x in listed["items"] if x["id"] == s["id"]]
                self.assertEqual(mine, [self.get(s["id"])])
                self.assertEqual(json.loads(self.ctl_ok("--json", "schedules").out), listed)
                table = self.ctl_ok("schedules").out
                self.assertIn("NEXT RUN", table)
                line = [l for l in table.splitlines() if l.startswith(s["id"])]
                self.assertEqual(len(line), 1, table)
                for word in ("Nightly report", w["slug"], "active", "1h30m"):
                        self.assertIn(word, line[0])

                self.assertEqual(self.call("PauseSchedule", "s", s["id"]), [])
                self.assertEqual(self.get(s["id"])["status"], "paused")
                p = self.ctl("pause", s["id"])
                self.assertEqual(p.returncode, 1, p.out + p.err)
                self.assertIn("is paused, not active", p.err)
                self.ctl_ok("resume-schedule", s["id"])
                self.assertEqual(self.get(s["id"])["status"], "active")
                p = self.ctl("resume-schedule", s["id"])
                self.assertEqual(p.returncode, 1)
                self.assertIn("is active, not paused", p.err)
                self.ctl_ok("pause", s["id"])
                self.assertEqual(self.get(s["id"])["status"], "paused")

        def test_bad_ids_and_command_lines(self):
                for member, arg in (("PauseSchedule", MISSING_ID), ("ResumeSchedule", "nope"), ("PauseSchedule", "")):
                        name, text = self.call_error(member, "s", arg)
                        self.assertEqual(name, "org.pipelit.Pipelit1.Error.NoSuchSchedule", (member, arg))
                        self.assertIn("not found", text)
                s = self.create(self.ticking_workflow())
                name, text = self.call_error("ResumeSchedule", "s", s["id"])
                self.assertEqual(name, "org.pipelit.Pipelit1.Error.NotRunning")
                self.assertIn("is active, not paused", text)
                p = self.ctl("pause", MISSING_ID)
                self.assertEqual(p.returncode, 1)
                self.assertIn("not found", p.err)
                for argv in (("pause",), ("resume-schedule",), ("pause", "a", "b"), ("schedules", "x")):
                        self.assertEqual(self.ctl(*argv).returncode, 2, argv)
                help_text = self.ctl_ok("--help").out
                for word in ("schedules", "pause ID", "resume-schedule ID"):
                        self.assertIn(word, help_text)
                self.assert_healthy()

        @unittest.skipUnless(os.geteuid() == 0, "needs root to call as another user")
        def test_unprivileged_callers_list_but_do_not_pause(self):
                s = self.create(self.ticking_workflow())
                self.assertIn(s["id"], self.ctl_ok("schedules", uid=NOBODY).out)
                for member in ("PauseSchedule", "ResumeSchedule"):
                        name, text = self.call_error(member, "s", s["id"], uid=NOBODY)
                        self.assertEqual(name, "org.freedesktop.DBus.Error.AccessDenied")
                        self.assertIn("Only root and the daemon's own user may call %s" % member, text)
                p = self.ctl("pause", s["id"], uid=NOBODY)
                self.assertEqual(p.returncode, 1)
                self.assertEqual(self.get(s["id"])["status"], "active")


@unittest.skipUnless(have_bus_tools() and os.path.exists(FAKE_POLKIT) and os.geteuid() == 0,
                     "needs dbus-daemon, busctl, dbus-send, pipelitctl, tests/fake-polkit/fake-polkit and root")
class SchedulesPolkitTest(BusCase, ScheduleCase):
        """polkit grants manage-schedules: another user may pause."""

        bus_config = POLKIT_POLICY

        @classmethod
        def setUpClass(cls):
                super().setUpClass()
                cls.polkit_log = cls.daemon.write_file("polkit.log", "")
                cls.polkit = subprocess.Popen([FAKE_POLKIT, "--grant=" + ACTION + "manage-schedules", cls.polkit_log],
                                              stdout=subprocess.PIPE, env=dict(os.environ, **cls.bus.env()))
                if cls.polkit.stdout.readline() != b"ready\n":
                        cls.polkit.kill()
                        cls.tearDownClass()
                        raise AssertionError("fake-polkit did not start")

        @classmethod
        def tearDownClass(cls):
                try:
                        if getattr(cls, "polkit", None) and cls.polkit.poll() is None:
                                cls.polkit.terminate()
                                cls.polkit.wait(10)
                finally:
                        super().tearDownClass()

        def test_polkit_decides(self):
                s = self.create(self.ticking_workflow())
                self.ctl_ok("pause", s["id"], uid=NOBODY)
                self.assertEqual(self.get(s["id"])["status"], "paused")
                with open(self.polkit_log) as f:
                        self.assertEqual([line.split()[0] for line in f], [ACTION + "manage-schedules"])


class IdleTest(unittest.TestCase):
        """A socket-activated daemon exits when idle, but not while a schedule is active: it
        would not fire until the next connection."""

        def test_an_active_schedule_keeps_a_socket_activated_daemon_up(self):
                tool = shutil.which("systemd-socket-activate")
                if not tool:
                        self.skipTest("systemd-socket-activate is not installed")
                d = Daemon(listen=False)
                self.addCleanup(d.cleanup)
                d.create_admin()
                d.start(argv=[tool, "-l", "127.0.0.1:%d" % d.port, "--fdname=http",
                              "-E", "PIPELIT_IDLE_TIMEOUT_SEC=1"] + d.command())
                c = d.client(d.login())
                w = c.post("/workflows/", {"name": "later"}).body
                self.assertEqual(c.post("/workflows/%s/nodes/" % w["slug"],
                                        {"node_id": "clock", "component_type": "trigger_schedule"}).status, 201)
                r = c.post("/schedules/", {"name": "hourly", "workflow_id": w["id"], "interval_seconds": 3600})
                self.assertEqual(r.status, 201, r)
                c.close()
                self.assertIsNone(d.wait(2.2), "exited with an active schedule:\n" + d.log())
                r = c.post("/schedules/%s/pause/" % r.body["id"])
                self.assertEqual(r.status, 200, r)
                c.close()
                self.assertEqual(d.wait(10), 0, "did not exit once no schedule was active:\n" + d.log())
                self.assertIn("Idle for 1 s", d.log())


if __name__ == "__main__":
        unittest.main()
