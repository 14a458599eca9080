//! The cloud's state in SQLite: one table per kind of record, rewritten in one transaction
//! after every change, before the change is acknowledged (HTTP answer or MQTT reply). A local
//! stand-in holds little, so rewriting is simpler than tracking what changed, and a crash
//! between two transactions loses nothing that was acknowledged.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use thingsim_fleet::ThingName;

use thingsim_fleet::cloud::{Cloud, CloudParts, CloudSnapshot};
use thingsim_fleet::commands::{CommandStatus, CommandTracker, Execution};
use thingsim_fleet::jobs::JobStatus;
use thingsim_fleet::jobs::cloud::{Job, JobsSnapshot, Tracked};
use thingsim_fleet::shadow::cloud::Shadow;
use tracing::warn;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS shadows (thing TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS command_executions (
    id TEXT PRIMARY KEY, thing TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job_executions (
    thing TEXT NOT NULL, job_id TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (thing, job_id));
CREATE TABLE IF NOT EXISTS thing_groups (name TEXT PRIMARY KEY, members TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS set_aside (
    from_table TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, reason TEXT NOT NULL);
";

/// The database file in the data folder.
pub struct Store {
    conn: Connection,
    /// What the database holds now (after `load` or the last `save`), row by row, as small
    /// fingerprints: a save writes only the rows whose fingerprint changed.
    stored: Option<Index>,
}

/// A row's fingerprint: something that changes whenever the row does. Shadows carry a
/// version that every update bumps; executions a status and a time (and job executions a
/// version); jobs and groups are few, so their whole JSON is kept.
#[derive(Debug, Default, Clone, PartialEq)]
struct Index {
    shadows: BTreeMap<ThingName, (u64, u64)>,
    commands: BTreeMap<String, (CommandStatus, u64)>,
    jobs: BTreeMap<String, String>,
    executions: BTreeMap<(String, String), ExecutionPrint>,
    groups: BTreeMap<String, String>,
    counters: [u64; 3],
}

fn shadow_print(s: &Shadow) -> (u64, u64) {
    (s.version, s.updated_at)
}

fn command_print(e: &Execution) -> (CommandStatus, u64) {
    (e.status, e.updated_at)
}

fn execution_key(t: &Tracked) -> (String, String) {
    (t.execution.thing_name.clone(), t.execution.job_id.clone())
}

/// A job execution's status, version, last update and step deadline.
type ExecutionPrint = (JobStatus, u64, u64, Option<u64>);

fn execution_print(t: &Tracked) -> ExecutionPrint {
    let e = &t.execution;
    (
        e.status,
        e.version_number,
        e.last_updated_at,
        t.step_deadline,
    )
}

/// The keys of `before` that `now` no longer has: rows to delete.
fn gone<'a, K: Ord, A, B>(
    before: &'a BTreeMap<K, A>,
    now: &'a BTreeMap<K, B>,
) -> impl Iterator<Item = &'a K> {
    before.keys().filter(|k| !now.contains_key(*k))
}

fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string(value)?)
}

impl Index {
    fn of(parts: CloudParts<'_>) -> anyhow::Result<Self> {
        Ok(Self {
            shadows: parts
                .shadows
                .iter()
                .map(|(t, s)| (t.clone(), shadow_print(s)))
                .collect(),
            commands: parts
                .commands
                .executions()
                .map(|e| (e.execution_id.clone(), command_print(e)))
                .collect(),
            jobs: parts
                .jobs
                .jobs()
                .map(|j| Ok((j.job_id.clone(), json(j)?)))
                .collect::<anyhow::Result<_>>()?,
            executions: parts
                .jobs
                .tracked()
                .map(|t| (execution_key(t), execution_print(t)))
                .collect(),
            groups: parts
                .groups
                .iter()
                .map(|(g, m)| Ok((g.clone(), json(m)?)))
                .collect::<anyhow::Result<_>>()?,
            counters: [
                parts.commands.next_id(),
                parts.jobs.next_job(),
                parts.next_token,
            ],
        })
    }
}

impl Store {
    /// Opens (creating) `dir/thingsim-cloud.sqlite3`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("thingsim-cloud.sqlite3");
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        // WAL: a reader (sqlite3 on the command line) never blocks the cloud; FULL sync so an
        // acknowledged write survives a power cut, not only a killed process.
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        // One thread serves every request and message: waiting long for a lock another process
        // holds would stall them all. Past this the write fails, is undone and reported.
        conn.busy_timeout(std::time::Duration::from_millis(500))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn, stored: None })
    }

    /// What was saved last; an empty state for a new folder.
    pub fn load(&mut self) -> anyhow::Result<CloudSnapshot> {
        let snapshot = self.read()?;
        let cloud = Cloud::restore(snapshot);
        self.stored = Some(Index::of(cloud.parts())?);
        Ok(cloud.snapshot())
    }

    fn read(&self) -> anyhow::Result<CloudSnapshot> {
        let meta = |key: &str| -> anyhow::Result<u64> {
            let v: Option<i64> = self
                .conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .map(Some)
                .or_else(|e| {
                    if e == rusqlite::Error::QueryReturnedNoRows {
                        Ok(None)
                    } else {
                        Err(e)
                    }
                })?;
            Ok(v.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
        };
        // (key, doc) of every row of a table, in the order they went in.
        let rows = |sql: &str| -> anyhow::Result<Vec<(String, String)>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let shadows = rows("SELECT thing, doc FROM shadows")?
            .into_iter()
            .filter_map(|(thing, doc)| {
                let parsed = ThingName::new(&thing)
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        Ok((
                            t,
                            serde_json::from_str::<Shadow>(&doc).map_err(|e| e.to_string())?,
                        ))
                    });
                self.kept("shadows", &thing, &doc, parsed)
            })
            .collect();
        let executions: Vec<Execution> = rows("SELECT id, doc FROM command_executions")?
            .into_iter()
            .filter_map(|(id, doc)| self.parsed("command_executions", &id, &doc))
            .collect();
        let commands = CommandTracker::restore(meta("next_command")?, executions);
        // Rows go in in creation order (job ids are random): rowid keeps it.
        let jobs: Vec<Job> = rows("SELECT id, doc FROM jobs ORDER BY rowid")?
            .into_iter()
            .filter_map(|(id, doc)| self.parsed("jobs", &id, &doc))
            .collect();
        let job_executions: Vec<Tracked> =
            rows("SELECT thing || '/' || job_id, doc FROM job_executions")?
                .into_iter()
                .filter_map(|(key, doc)| self.parsed("job_executions", &key, &doc))
                .collect();
        let groups = rows("SELECT name, members FROM thing_groups")?
            .into_iter()
            .filter_map(|(name, members)| {
                let parsed = serde_json::from_str(&members).map_err(|e| e.to_string());
                self.kept(
                    "thing_groups",
                    &name,
                    &members,
                    parsed.map(|m| (name.clone(), m)),
                )
            })
            .collect();
        Ok(CloudSnapshot {
            shadows,
            commands,
            jobs: JobsSnapshot {
                next_job: meta("next_job")?,
                // The process draws its own seed; the counter alone goes on.
                id_seed: 0,
                jobs,
                executions: job_executions,
            },
            next_token: meta("next_token")?,
            groups,
        })
    }

    /// A row's document, or (unreadable) `None` with the row set aside.
    fn parsed<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
        doc: &str,
    ) -> Option<T> {
        self.kept(
            table,
            key,
            doc,
            serde_json::from_str(doc).map_err(|e| e.to_string()),
        )
    }

    /// `parsed` as it is, or, when it failed, `None` with the row copied into `set_aside`
    /// (the next save would otherwise drop it) and a warning: one bad row must not keep the
    /// rest from starting.
    fn kept<T>(&self, table: &str, key: &str, doc: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(reason) => {
                warn!(table, key, %reason, "a stored row could not be read; set aside in table set_aside");
                // Moved, so what the tables hold is what was loaded.
                let moved = self.conn.execute(
                    "INSERT INTO set_aside (from_table, key, doc, reason) VALUES (?1, ?2, ?3, ?4)",
                    params![table, key, doc, reason],
                );
                let removed = moved.and_then(|_| {
                    let sql = match table {
                        "shadows" => "DELETE FROM shadows WHERE thing = ?1",
                        "command_executions" => "DELETE FROM command_executions WHERE id = ?1",
                        "jobs" => "DELETE FROM jobs WHERE id = ?1",
                        "job_executions" => {
                            "DELETE FROM job_executions WHERE thing || '/' || job_id = ?1"
                        }
                        _ => "DELETE FROM thing_groups WHERE name = ?1",
                    };
                    self.conn.execute(sql, [key])
                });
                if let Err(e) = removed {
                    warn!(error = %e, "could not set the row aside");
                }
                None
            }
        }
    }

    /// Stores the cloud's state, atomically: only the rows whose fingerprint changed since
    /// the last load or save (one report writes one shadow row, however many things there
    /// are). On error nothing is written and the next save tries again.
    pub fn save(&mut self, cloud: &Cloud) -> anyhow::Result<()> {
        let parts = cloud.parts();
        let now = Index::of(parts)?;
        let fresh = self.stored.is_none();
        let before = self.stored.take().unwrap_or_default();
        let result = self.write(parts, &before, &now, fresh);
        // Kept as it was when the write failed: the database did not change.
        self.stored = Some(if result.is_ok() { now } else { before });
        result
    }

    fn write(
        &mut self,
        parts: CloudParts<'_>,
        before: &Index,
        now: &Index,
        fresh: bool,
    ) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        if fresh {
            // Never loaded: what is in the tables is unknown, so start from nothing.
            tx.execute_batch("DELETE FROM shadows; DELETE FROM command_executions; DELETE FROM jobs; DELETE FROM job_executions; DELETE FROM thing_groups;")?;
        }
        // Upserts keep a row's rowid, and so the jobs' creation order.
        for (name, members) in &now.groups {
            if before.groups.get(name) != Some(members) {
                tx.execute(
                    "INSERT INTO thing_groups (name, members) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET members = ?2",
                    params![name, members],
                )?;
            }
        }
        for name in gone(&before.groups, &now.groups) {
            tx.execute("DELETE FROM thing_groups WHERE name = ?1", [name])?;
        }
        for (thing, shadow) in parts.shadows {
            if before.shadows.get(thing) != now.shadows.get(thing) {
                tx.execute(
                    "INSERT INTO shadows (thing, version, doc) VALUES (?1, ?2, ?3) ON CONFLICT(thing) DO UPDATE SET version = ?2, doc = ?3",
                    params![thing.as_str(), shadow.version as i64, json(shadow)?],
                )?;
            }
        }
        for thing in gone(&before.shadows, &now.shadows) {
            tx.execute("DELETE FROM shadows WHERE thing = ?1", [thing.as_str()])?;
        }
        for e in parts.commands.executions() {
            if before.commands.get(&e.execution_id) != now.commands.get(&e.execution_id) {
                tx.execute(
                    "INSERT INTO command_executions (id, thing, status, doc) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET thing = ?2, status = ?3, doc = ?4",
                    params![e.execution_id, e.thing_name, format!("{:?}", e.status), json(e)?],
                )?;
            }
        }
        for id in gone(&before.commands, &now.commands) {
            tx.execute("DELETE FROM command_executions WHERE id = ?1", [id])?;
        }
        // In creation order: a new job's rowid is its place in the list.
        for job in parts.jobs.jobs() {
            let (id, doc) = (&job.job_id, now.jobs.get(&job.job_id));
            if let Some(doc) = doc.filter(|d| before.jobs.get(id) != Some(*d)) {
                tx.execute(
                    "INSERT INTO jobs (id, doc) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET doc = ?2",
                    params![id, doc],
                )?;
            }
        }
        for id in gone(&before.jobs, &now.jobs) {
            tx.execute("DELETE FROM jobs WHERE id = ?1", [id])?;
        }
        for t in parts.jobs.tracked() {
            let key = execution_key(t);
            if before.executions.get(&key) != now.executions.get(&key) {
                tx.execute(
                    "INSERT INTO job_executions (thing, job_id, status, doc) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(thing, job_id) DO UPDATE SET status = ?3, doc = ?4",
                    params![key.0, key.1, format!("{:?}", t.execution.status), json(t)?],
                )?;
            }
        }
        for (thing, job_id) in gone(&before.executions, &now.executions) {
            tx.execute(
                "DELETE FROM job_executions WHERE thing = ?1 AND job_id = ?2",
                params![thing, job_id],
            )?;
        }
        for (i, key) in ["next_command", "next_job", "next_token"]
            .into_iter()
            .enumerate()
        {
            if fresh || before.counters[i] != now.counters[i] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                    params![key, now.counters[i] as i64],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use thingsim_fleet::cloud::Cloud;
    use thingsim_fleet::jobs::cloud::JobType;
    use thingsim_mqtt::Millis;

    #[test]
    fn saving_only_what_changed_loads_back_the_same_after_every_step() {
        use thingsim_mqtt::{Message, Qos};
        let dir = std::env::temp_dir().join(format!("thingsim-store-diff-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = Store::open(&dir).unwrap();
        let mut cloud = Cloud::restore(store.load().unwrap());
        let now = Millis(1_748_390_400_000);
        let things: Vec<ThingName> = (0..5)
            .map(|i| ThingName::new(&format!("t{i}")).unwrap())
            .collect();
        // The same cloud as the database gives it back, in a canonical order.
        let canonical = |s: CloudSnapshot| {
            let mut s = Cloud::restore(s).snapshot();
            s.jobs.id_seed = 0;
            s
        };
        let step = |store: &mut Store, cloud: &mut Cloud, what: &str| {
            store.save(cloud).unwrap();
            let loaded = Store::open(&dir).unwrap().load().unwrap();
            assert_eq!(
                canonical(loaded),
                canonical(cloud.snapshot()),
                "after {what}"
            );
        };
        for t in &things {
            cloud.handle_message(
                now,
                &Message::new(
                    format!("$emqx/things/{t}/shadow/update"),
                    r#"{"state":{"reported":{"on":false}}}"#,
                    Qos::AtLeastOnce,
                ),
            );
        }
        step(&mut store, &mut cloud, "five reports");
        cloud.create_group("g").unwrap();
        for t in &things[..3] {
            cloud.add_to_group(now, "g", t).unwrap();
        }
        step(&mut store, &mut cloud, "a group");
        cloud
            .set_desired(
                now,
                &things[1],
                json!({"on": true}).as_object().cloned().unwrap(),
            )
            .unwrap();
        cloud.send_command(now, &things[2], "reboot", Default::default(), 30);
        step(&mut store, &mut cloud, "desired state and a command");
        for n in 0..3 {
            cloud
                .create_job(
                    now,
                    &format!("fw {n}"),
                    json!({"action": "reboot"}),
                    &things[..2],
                    JobType::Snapshot,
                    None,
                )
                .unwrap();
        }
        step(&mut store, &mut cloud, "three jobs");
        cloud.delete_thing(&things[1]);
        step(&mut store, &mut cloud, "a thing deleted");
        cloud.delete_group("g");
        cloud.handle_message(
            now,
            &Message::new(
                "$emqx/things/t0/shadow/update",
                r#"{"state":{"reported":{"on":true}}}"#,
                Qos::AtLeastOnce,
            ),
        );
        step(&mut store, &mut cloud, "a group deleted and a report");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreadable_row_is_set_aside_and_the_rest_loads() {
        let dir = std::env::temp_dir().join(format!("thingsim-store-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cloud = Cloud::default();
        for name in ["good", "bad"] {
            let t = ThingName::new(name).unwrap();
            cloud.create_thing(&t);
            cloud
                .set_desired(
                    Millis(1_000_000),
                    &t,
                    json!({"on": true}).as_object().cloned().unwrap(),
                )
                .unwrap();
        }
        cloud.create_group("g").unwrap();
        let mut store = Store::open(&dir).unwrap();
        store.save(&cloud).unwrap();
        store
            .conn
            .execute_batch(
                "UPDATE shadows SET doc = '{broken' WHERE thing = 'bad';
                 INSERT INTO shadows (thing, version, doc) VALUES ('a/b', 1, '{}');
                 UPDATE thing_groups SET members = 'nope' WHERE name = 'g';",
            )
            .unwrap();
        drop(store);

        let mut store = Store::open(&dir).unwrap();
        let loaded = store.load().unwrap();
        let names: Vec<&str> = loaded.shadows.keys().map(ThingName::as_str).collect();
        assert_eq!(names, ["good"]);
        assert!(loaded.groups.is_empty());
        let aside: Vec<(String, String)> = store
            .conn
            .prepare("SELECT from_table, key FROM set_aside ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            aside,
            [
                ("shadows".to_owned(), "bad".to_owned()),
                ("shadows".to_owned(), "a/b".to_owned()),
                ("thing_groups".to_owned(), "g".to_owned()),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_is_saved_is_what_is_loaded_across_reopening() {
        let dir = std::env::temp_dir().join(format!("thingsim-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cloud = Cloud::default();
        let t = ThingName::new("t1").unwrap();
        cloud.create_thing(&t);
        cloud
            .set_desired(
                Millis(1_000_000),
                &t,
                json!({"on": true}).as_object().cloned().unwrap(),
            )
            .unwrap();
        cloud.send_command(Millis(1_000_000), &t, "reboot", Default::default(), 30);
        cloud
            .create_job(
                Millis(1_000_000),
                "fw",
                json!({"action": "reboot"}),
                std::slice::from_ref(&t),
                JobType::Snapshot,
                Some(5),
            )
            .unwrap();
        // Job ids are random: the stored order must be the creation order, not the id order.
        for n in 0..5 {
            cloud
                .create_job(
                    Millis(1_000_000),
                    &format!("fw {n}"),
                    json!({"action": "reboot"}),
                    std::slice::from_ref(&t),
                    JobType::Snapshot,
                    None,
                )
                .unwrap();
        }
        cloud.create_group("lamps").unwrap();
        cloud.create_group("empty").unwrap();
        cloud.add_to_group(Millis(1_000_000), "lamps", &t).unwrap();
        let state = cloud.snapshot();
        Store::open(&dir).unwrap().save(&cloud).unwrap();
        let loaded = Store::open(&dir).unwrap().load().unwrap();
        assert_eq!(loaded, state);
        assert_eq!(loaded.groups.len(), 2, "an empty group is kept too");
        assert_eq!(
            Store::open(&dir.join("fresh")).unwrap().load().unwrap(),
            CloudSnapshot::default()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
