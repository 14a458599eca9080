//! The cloud's state in SQLite: one table per kind of record, rewritten in one transaction
//! after every change, before the change is acknowledged (HTTP answer or MQTT reply). A local
//! stand-in holds little, so rewriting is simpler than tracking what changed, and a crash
//! between two transactions loses nothing that was acknowledged.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, params};
use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::CloudSnapshot;
use thingsim_fleet::commands::{CommandTracker, Execution};
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
        Ok(Self { conn })
    }

    /// What was saved last; an empty state for a new folder.
    pub fn load(&self) -> anyhow::Result<CloudSnapshot> {
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
                if let Err(e) = self.conn.execute(
                    "INSERT INTO set_aside (from_table, key, doc, reason) VALUES (?1, ?2, ?3, ?4)",
                    params![table, key, doc, reason],
                ) {
                    warn!(error = %e, "could not set the row aside");
                }
                None
            }
        }
    }

    /// Replaces what is stored with `state`, atomically.
    pub fn save(&mut self, state: &CloudSnapshot) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch("DELETE FROM shadows; DELETE FROM command_executions; DELETE FROM jobs; DELETE FROM job_executions; DELETE FROM thing_groups;")?;
        for (name, members) in &state.groups {
            tx.execute(
                "INSERT INTO thing_groups (name, members) VALUES (?1, ?2)",
                params![name, serde_json::to_string(members)?],
            )?;
        }
        for (thing, shadow) in &state.shadows {
            tx.execute(
                "INSERT INTO shadows (thing, version, doc) VALUES (?1, ?2, ?3)",
                params![
                    thing.as_str(),
                    shadow.version as i64,
                    serde_json::to_string(shadow)?
                ],
            )?;
        }
        for e in state.commands.executions() {
            tx.execute(
                "INSERT INTO command_executions (id, thing, status, doc) VALUES (?1, ?2, ?3, ?4)",
                params![
                    e.execution_id,
                    e.thing_name,
                    format!("{:?}", e.status),
                    serde_json::to_string(e)?
                ],
            )?;
        }
        for job in &state.jobs.jobs {
            tx.execute(
                "INSERT INTO jobs (id, doc) VALUES (?1, ?2)",
                params![job.job_id, serde_json::to_string(job)?],
            )?;
        }
        for t in &state.jobs.executions {
            tx.execute(
                "INSERT INTO job_executions (thing, job_id, status, doc) VALUES (?1, ?2, ?3, ?4)",
                params![
                    t.execution.thing_name,
                    t.execution.job_id,
                    format!("{:?}", t.execution.status),
                    serde_json::to_string(t)?
                ],
            )?;
        }
        let commands = serde_json::to_value(&state.commands)?;
        let next_command = commands
            .get("next_id")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        for (key, value) in [
            ("next_command", next_command),
            ("next_job", state.jobs.next_job),
            ("next_token", state.next_token),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, value as i64],
            )?;
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
        store.save(&cloud.snapshot()).unwrap();
        store
            .conn
            .execute_batch(
                "UPDATE shadows SET doc = '{broken' WHERE thing = 'bad';
                 INSERT INTO shadows (thing, version, doc) VALUES ('a/b', 1, '{}');
                 UPDATE thing_groups SET members = 'nope' WHERE name = 'g';",
            )
            .unwrap();
        drop(store);

        let store = Store::open(&dir).unwrap();
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
        Store::open(&dir).unwrap().save(&state).unwrap();
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
