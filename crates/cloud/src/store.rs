//! The cloud's state in SQLite: one table per kind of record, rewritten in one transaction
//! after every change, before the change is acknowledged (HTTP answer or MQTT reply). A local
//! stand-in holds little, so rewriting is simpler than tracking what changed, and a crash
//! between two transactions loses nothing that was acknowledged.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

use thingsim_fleet::ThingName;
use thingsim_fleet::vec_map::VecSet;

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

/// What the database holds, row by row, kept beside it so that a save compares in memory and
/// writes only what differs. Shadows carry a version that every update bumps, executions a
/// status and a time (job executions also a version), so a small print of each stands for the
/// row; jobs and groups have no such thing and are few, so they are kept whole.
#[derive(Debug, Default, Clone, PartialEq)]
struct Index {
    shadows: BTreeMap<ThingName, (u64, u64)>,
    commands: BTreeMap<String, (CommandStatus, u64)>,
    jobs: BTreeMap<String, Job>,
    executions: BTreeMap<(String, String), ExecutionPrint>,
    groups: BTreeMap<String, VecSet<ThingName>>,
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

/// The keys of `index` that `present` no longer has: rows to delete. Only looked for when the
/// index holds more rows than were just seen.
fn gone<K: Ord + Clone, P>(
    index: &BTreeMap<K, P>,
    seen: usize,
    present: impl Fn(&K) -> bool,
) -> Vec<K> {
    if index.len() <= seen {
        return Vec::new();
    }
    index.keys().filter(|k| !present(k)).cloned().collect()
}

fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string(value)?)
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
        // The database holds exactly this: the next save compares against it.
        let cloud = Cloud::restore(snapshot);
        let mut index = Index::default();
        self.write(cloud.parts(), &mut index, Tables::Known)?;
        self.stored = Some(index);
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

    /// Stores the cloud's state, atomically: only the rows that differ from what the database
    /// holds (one report writes one shadow row, however many things there are). On error
    /// nothing is written, and the next save writes everything.
    pub fn save(&mut self, cloud: &Cloud) -> anyhow::Result<()> {
        let (mut index, tables) = match self.stored.take() {
            Some(index) => (index, Tables::Indexed),
            // Never loaded, or the last save failed: what is in the tables is unknown.
            None => (Index::default(), Tables::Unknown),
        };
        self.write(cloud.parts(), &mut index, tables)?;
        self.stored = Some(index);
        Ok(())
    }

    /// Brings the tables in line with `parts`, row by row against `index`, which it updates
    /// to match; commits unless the tables are `Known` to hold `parts` already (a load).
    fn write(
        &mut self,
        parts: CloudParts<'_>,
        index: &mut Index,
        tables: Tables,
    ) -> anyhow::Result<()> {
        let known = tables == Tables::Known;
        let tx = self.conn.transaction()?;
        if tables == Tables::Unknown {
            tx.execute_batch("DELETE FROM shadows; DELETE FROM command_executions; DELETE FROM jobs; DELETE FROM job_executions; DELETE FROM thing_groups;")?;
        }
        // Upserts keep a row's rowid, and so the jobs' creation order.
        for (name, members) in parts.groups {
            if index.groups.get(name) != Some(members) {
                if !known {
                    tx.execute(
                        "INSERT INTO thing_groups (name, members) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET members = ?2",
                        params![name, json(members)?],
                    )?;
                }
                index.groups.insert(name.clone(), members.clone());
            }
        }
        for name in gone(&index.groups, parts.groups.len(), |n| {
            parts.groups.contains_key(n)
        }) {
            tx.execute("DELETE FROM thing_groups WHERE name = ?1", [&name])?;
            index.groups.remove(&name);
        }
        for (thing, shadow) in parts.shadows {
            let print = shadow_print(shadow);
            if index.shadows.get(thing) != Some(&print) {
                if !known {
                    tx.execute(
                        "INSERT INTO shadows (thing, version, doc) VALUES (?1, ?2, ?3) ON CONFLICT(thing) DO UPDATE SET version = ?2, doc = ?3",
                        params![thing.as_str(), shadow.version as i64, json(shadow)?],
                    )?;
                }
                index.shadows.insert(thing.clone(), print);
            }
        }
        for thing in gone(&index.shadows, parts.shadows.len(), |t| {
            parts.shadows.contains_key(t)
        }) {
            tx.execute("DELETE FROM shadows WHERE thing = ?1", [thing.as_str()])?;
            index.shadows.remove(&thing);
        }
        let mut seen = 0;
        for e in parts.commands.executions() {
            seen += 1;
            let print = command_print(e);
            if index.commands.get(&e.execution_id) != Some(&print) {
                if !known {
                    tx.execute(
                        "INSERT INTO command_executions (id, thing, status, doc) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET thing = ?2, status = ?3, doc = ?4",
                        params![e.execution_id, e.thing_name, format!("{:?}", e.status), json(e)?],
                    )?;
                }
                index.commands.insert(e.execution_id.clone(), print);
            }
        }
        for id in gone(&index.commands, seen, |id| parts.commands.get(id).is_some()) {
            tx.execute("DELETE FROM command_executions WHERE id = ?1", [&id])?;
            index.commands.remove(&id);
        }
        // In creation order: a new job's rowid is its place in the list.
        let mut seen = 0;
        for job in parts.jobs.jobs() {
            seen += 1;
            if index.jobs.get(&job.job_id) != Some(job) {
                if !known {
                    tx.execute(
                        "INSERT INTO jobs (id, doc) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET doc = ?2",
                        params![job.job_id, json(job)?],
                    )?;
                }
                index.jobs.insert(job.job_id.clone(), job.clone());
            }
        }
        for id in gone(&index.jobs, seen, |id| parts.jobs.job(id).is_some()) {
            tx.execute("DELETE FROM jobs WHERE id = ?1", [&id])?;
            index.jobs.remove(&id);
        }
        let mut seen = 0;
        for t in parts.jobs.tracked() {
            seen += 1;
            let (key, print) = (execution_key(t), execution_print(t));
            if index.executions.get(&key) != Some(&print) {
                if !known {
                    tx.execute(
                        "INSERT INTO job_executions (thing, job_id, status, doc) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(thing, job_id) DO UPDATE SET status = ?3, doc = ?4",
                        params![key.0, key.1, format!("{:?}", t.execution.status), json(t)?],
                    )?;
                }
                index.executions.insert(key, print);
            }
        }
        let present = |(thing, job_id): &(String, String)| {
            ThingName::new(thing).is_ok_and(|t| parts.jobs.execution(&t, job_id).is_some())
        };
        for key in gone(&index.executions, seen, present) {
            tx.execute(
                "DELETE FROM job_executions WHERE thing = ?1 AND job_id = ?2",
                params![key.0, key.1],
            )?;
            index.executions.remove(&key);
        }
        let counters = [
            parts.commands.next_id(),
            parts.jobs.next_job(),
            parts.next_token,
        ];
        for (i, key) in ["next_command", "next_job", "next_token"]
            .into_iter()
            .enumerate()
        {
            if tables == Tables::Unknown || index.counters[i] != counters[i] {
                if !known {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                        params![key, counters[i] as i64],
                    )?;
                }
                index.counters[i] = counters[i];
            }
        }
        if !known {
            tx.commit()?;
        }
        Ok(())
    }
}

/// What the tables hold when a write starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tables {
    /// Exactly what is being written (a load): only the index is built.
    Known,
    /// What the index says.
    Indexed,
    /// Unknown: emptied and written whole.
    Unknown,
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
