//! The audit log: who looked at, exported or changed what, and when. Append only (the code has
//! no path that updates or deletes an entry); each entry carries the hash of the one before,
//! and after every write a checkpoint of the head (its sequence number and hash), signed with
//! Ed25519, is appended to a file outside the database (`NAME.audit-checkpoints.jsonl`) and
//! put in the footer of every export. [`verify`] recomputes the chain and checks every
//! checkpoint, so that an entry changed, removed or moved, or a log rewritten from some point
//! on, is found.
//!
//! Never in the log: a password, token, cookie or session id, an address or a figure.

use super::accounts::{AccountError, Accounts};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something to record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Event {
    /// The user (and token) or `cli`, `anoniem`.
    pub actor: String,
    /// `login`, `login-mislukt`, `logout`, `geweigerd`, `export`, `gebied`, `gebruiker`,
    /// `token`, `interventie`.
    pub action: String,
    /// What was looked at or changed: a route, an area, a user name.
    pub target: String,
    /// `ok` or why not.
    pub outcome: String,
    /// The gemeenten the entry concerns (for the beheerder's view).
    pub gemeenten: Vec<String>,
    /// More: filters, formats, row counts. Never a secret.
    pub detail: String,
}

impl Event {
    #[must_use]
    pub fn new(actor: &str, action: &str, target: &str, outcome: &str) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            outcome: outcome.into(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn in_gemeenten<I: IntoIterator<Item = String>>(mut self, g: I) -> Self {
        self.gemeenten = g.into_iter().collect();
        self
    }

    #[must_use]
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = d.into();
        self
    }
}

/// An entry as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub gemeenten: String,
    pub detail: String,
    pub prev: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over its fields and the previous hash, as a JSON array (no
/// separator can be smuggled into a field).
#[must_use]
pub fn entry_hash(e: &Entry) -> String {
    let canon = serde_json::json!([
        e.prev,
        e.seq,
        e.at,
        e.actor,
        e.action,
        e.target,
        e.outcome,
        e.gemeenten,
        e.detail
    ])
    .to_string();
    hex(&sha2::Sha256::digest(canon.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Appends one entry as it is (its hash already computed).
fn insert(tx: &duckdb::Transaction<'_>, e: &Entry) -> Result<usize, duckdb::Error> {
    tx.execute(
        "INSERT INTO audit_entry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        duckdb::params![
            e.seq,
            e.at,
            e.actor,
            e.action,
            e.target,
            e.outcome,
            e.gemeenten,
            e.detail,
            e.prev,
            e.hash
        ],
    )
}

/// A signed statement that the log's entry `seq` has hash `hash`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    /// Ed25519 over `wijkradar-audit|{seq}|{hash}|{at}`, hex.
    pub signature: String,
    /// The public key, hex (what [`verify`] trusts comes from the `.audit.pub` file or the
    /// command line, not from here).
    pub public_key: String,
}

fn signed_message(seq: i64, hash: &str, at: &str) -> String {
    format!("wijkradar-audit|{seq}|{hash}|{at}")
}

/// Where the log's files are: the database, the signing key, its public half, the checkpoints.
#[derive(Debug, Clone)]
pub struct Files {
    pub accounts: Accounts,
    pub key: PathBuf,
    pub public: PathBuf,
    pub checkpoints: PathBuf,
}

impl Files {
    /// Beside the dataset `db`; the signing key from `WIJKRADAR_AUDIT_KEY` when set (keep it
    /// on another volume than the database in production).
    #[must_use]
    pub fn beside(db: &Path) -> Self {
        let stem = db.file_stem().map_or_else(
            || "wijkradar".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let key = std::env::var_os("WIJKRADAR_AUDIT_KEY").map_or_else(
            || db.with_file_name(format!("{stem}.audit.key")),
            PathBuf::from,
        );
        Self {
            accounts: Accounts::beside(db),
            public: key.with_extension("pub"),
            key,
            checkpoints: db.with_file_name(format!("{stem}.audit-checkpoints.jsonl")),
        }
    }

    /// The signing key, created (readable by the owner only) on first use.
    fn signing_key(&self) -> std::io::Result<SigningKey> {
        if let Ok(s) = std::fs::read_to_string(&self.key) {
            let b = unhex(s.trim()).and_then(|b| <[u8; 32]>::try_from(b).ok());
            return b.map(|b| SigningKey::from_bytes(&b)).ok_or_else(|| {
                std::io::Error::other(format!("{}: not a hex Ed25519 key", self.key.display()))
            });
        }
        let sk = SigningKey::from_bytes(&super::password::random_bytes::<32>());
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(&self.key)?;
        writeln!(f, "{}", hex(&sk.to_bytes()))?;
        std::fs::write(
            &self.public,
            format!("{}\n", hex(&sk.verifying_key().to_bytes())),
        )?;
        Ok(sk)
    }

    /// Appends `events` to the chain in one transaction and writes a signed checkpoint of the
    /// new head.
    ///
    /// # Errors
    /// Database or file errors (the events are then not recorded).
    pub fn append(&self, events: &[Event]) -> Result<Option<Checkpoint>, AccountError> {
        if events.is_empty() {
            return Ok(None);
        }
        let io = |e: std::io::Error| AccountError::Invalid(format!("auditlog: {e}"));
        let sk = self.signing_key().map_err(io)?;
        let file = self.accounts.path.display().to_string();
        let dberr = |source| AccountError::Db {
            file: file.clone(),
            source,
        };
        let head = self.accounts.with(|tx| {
            let (mut seq, mut prev): (i64, String) = tx
                .query_row(
                    "SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap_or((0, GENESIS.to_string()));
            let at = crate::period::now_rfc3339();
            for ev in events {
                seq += 1;
                let mut e = Entry {
                    seq,
                    at: at.clone(),
                    actor: ev.actor.clone(),
                    action: ev.action.clone(),
                    target: ev.target.clone(),
                    outcome: ev.outcome.clone(),
                    gemeenten: ev.gemeenten.join(","),
                    detail: ev.detail.clone(),
                    prev: prev.clone(),
                    hash: String::new(),
                };
                e.hash = entry_hash(&e);
                insert(tx, &e).map_err(dberr)?;
                prev = e.hash;
            }
            Ok((seq, prev, at))
        })?;
        let (seq, hash, at) = head;
        let sig = sk.sign(signed_message(seq, &hash, &at).as_bytes());
        let cp = Checkpoint {
            seq,
            hash,
            at,
            signature: hex(&sig.to_bytes()),
            public_key: hex(&sk.verifying_key().to_bytes()),
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.checkpoints)
            .map_err(io)?;
        writeln!(f, "{}", serde_json::to_string(&cp).unwrap_or_default()).map_err(io)?;
        Ok(Some(cp))
    }

    /// The newest checkpoint, if any (for the footer of an export).
    #[must_use]
    pub fn latest_checkpoint(&self) -> Option<Checkpoint> {
        let s = std::fs::read_to_string(&self.checkpoints).ok()?;
        s.lines().rev().find_map(|l| serde_json::from_str(l).ok())
    }

    /// Entries, newest first, that concern one of `gemeenten` (all with `None`).
    ///
    /// # Errors
    /// Database errors.
    pub fn entries(
        &self,
        gemeenten: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<Entry>, AccountError> {
        let all = self.all_entries()?;
        Ok(all
            .into_iter()
            .rev()
            .filter(|e| {
                gemeenten.is_none_or(|gs| e.gemeenten.split(',').any(|g| gs.iter().any(|x| x == g)))
            })
            .take(limit)
            .collect())
    }

    fn all_entries(&self) -> Result<Vec<Entry>, AccountError> {
        let file = self.accounts.path.display().to_string();
        let dberr = |source| AccountError::Db {
            file: file.clone(),
            source,
        };
        self.accounts.with(|tx| {
            let mut st = tx
                .prepare("SELECT seq, logged_at, actor, action, target, outcome, gemeenten, detail, prev, hash FROM audit_entry ORDER BY seq")
                .map_err(dberr)?;
            let rows = st
                .query_map([], |r| {
                    Ok(Entry {
                        seq: r.get(0)?,
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        target: r.get(4)?,
                        outcome: r.get(5)?,
                        gemeenten: r.get(6)?,
                        detail: r.get(7)?,
                        prev: r.get(8)?,
                        hash: r.get(9)?,
                    })
                })
                .map_err(dberr)?;
            rows.map(|r| r.map_err(dberr)).collect()
        })
    }
}

/// What [`verify`] found in a sound log.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub entries: i64,
    pub checkpoints: usize,
    pub last_checkpoint: i64,
    /// Entries after the last checkpoint (written but not yet signed: a crash between the two).
    pub unsigned_tail: i64,
}

/// Checks the chain and every checkpoint against the public key (`public_key` hex, or the
/// `.audit.pub` file). Lists every problem found.
///
/// # Errors
/// Every break in the chain, bad signature, or checkpoint that the log no longer matches.
pub fn verify(files: &Files, public_key: Option<&str>) -> Result<Report, Vec<String>> {
    let mut problems = Vec::new();
    let key_hex = public_key.map_or_else(
        || std::fs::read_to_string(&files.public).unwrap_or_default(),
        str::to_string,
    );
    let key = unhex(key_hex.trim())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok());
    let Some(key) = key else {
        return Err(vec![format!(
            "geen geldige publieke sleutel ({} of --public-key)",
            files.public.display()
        )]);
    };
    let entries = files.all_entries().map_err(|e| vec![e.to_string()])?;
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let want = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        if e.seq != want {
            problems.push(format!(
                "entry {}: verwacht volgnummer {want} (een entry ontbreekt of is verplaatst)",
                e.seq
            ));
        }
        if e.prev != prev {
            problems.push(format!(
                "entry {}: de vorige hash klopt niet (een entry ervoor is veranderd, verwijderd of verplaatst)",
                e.seq
            ));
        }
        if entry_hash(e) != e.hash {
            problems.push(format!(
                "entry {}: de inhoud past niet bij de hash (veranderd)",
                e.seq
            ));
        }
        prev = e.hash.clone();
    }
    let cps: Vec<Checkpoint> = std::fs::read_to_string(&files.checkpoints)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            serde_json::from_str(l)
                .map_err(|_| problems.push(format!("checkpoint onleesbaar: {l}")))
                .ok()
        })
        .collect();
    for cp in &cps {
        let sig = unhex(&cp.signature).and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok());
        let ok = sig.is_some_and(|s| {
            key.verify(signed_message(cp.seq, &cp.hash, &cp.at).as_bytes(), &s)
                .is_ok()
        });
        if !ok {
            problems.push(format!(
                "checkpoint {}: de handtekening klopt niet met de publieke sleutel",
                cp.seq
            ));
            continue;
        }
        match entries.iter().find(|e| e.seq == cp.seq) {
            None => problems.push(format!(
                "checkpoint {}: die entry staat niet (meer) in het log (entries verwijderd)",
                cp.seq
            )),
            Some(e) if e.hash != cp.hash => problems.push(format!(
                "checkpoint {}: het log heeft daar een andere hash (herschreven)",
                cp.seq
            )),
            Some(_) => {}
        }
    }
    let n = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    let last = cps.iter().map(|c| c.seq).max().unwrap_or(0);
    if n > 0 && cps.is_empty() {
        problems.push("het log heeft entries maar geen enkel checkpoint".into());
    }
    if problems.is_empty() {
        Ok(Report {
            entries: n,
            checkpoints: cps.len(),
            last_checkpoint: last,
            unsigned_tail: n - last,
        })
    } else {
        Err(problems)
    }
}

enum Msg {
    Event(Event),
    Flush(mpsc::Sender<()>),
}

/// Events written in one transaction at most.
const AUDIT_PIECE: usize = 2_000;

/// The server's audit log: events are queued and written by one thread in batches, so that a
/// request never waits for the database.
#[derive(Clone)]
pub struct AuditLog {
    pub files: Arc<Files>,
    writer: Arc<Writer>,
}

/// The queue and the thread that writes it. When the last handle goes, the queue is closed and
/// the thread is waited for: it writes what was queued, and no DuckDB connection is left open
/// on a thread of its own when the process exits (DuckDB's global state is torn down at exit;
/// a write still running then crashed a test binary with SIGSEGV after its last test passed).
struct Writer {
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(
            self.tx
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("files", &self.files)
            .finish()
    }
}

impl AuditLog {
    /// Starts the writer thread for the log beside `db`.
    #[must_use]
    pub fn start(db: &Path) -> Self {
        let files = Arc::new(Files::beside(db));
        let (tx, rx) = mpsc::channel::<Msg>();
        let f = files.clone();
        let thread = std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = Vec::new();
                    let mut acks = Vec::new();
                    for m in std::iter::once(first).chain(rx.try_iter()) {
                        match m {
                            Msg::Event(e) => batch.push(e),
                            Msg::Flush(a) => acks.push(a),
                        }
                    }
                    // One transaction per piece: the accounts file is free in between, for
                    // the server's look at changed accounts and for the command line.
                    for piece in batch.chunks(AUDIT_PIECE) {
                        for attempt in 0..3 {
                            match f.append(piece) {
                                Ok(_) => break,
                                Err(e) => {
                                    tracing::error!(error = %e, attempt, events = piece.len(), "could not write the audit log");
                                    std::thread::sleep(std::time::Duration::from_millis(200));
                                }
                            }
                        }
                    }
                    for a in acks {
                        let _ = a.send(());
                    }
                }
            })
            .ok();
        Self {
            files,
            writer: Arc::new(Writer {
                tx: Mutex::new(Some(tx)),
                thread,
            }),
        }
    }

    /// Queues a message for the writer; `false` when it cannot take it.
    fn send(&self, m: Msg) -> bool {
        self.writer
            .tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_some_and(|tx| tx.send(m).is_ok())
    }

    /// Queues an event.
    pub fn record(&self, e: Event) {
        self.send(Msg::Event(e));
    }

    /// Waits until everything queued so far is written (tests, shutdown).
    pub fn flush(&self) {
        let (a, b) = mpsc::channel();
        if self.send(Msg::Flush(a)) {
            let _ = b.recv_timeout(std::time::Duration::from_secs(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(dir: &Path) -> Files {
        let f = Files::beside(&dir.join("w.duckdb"));
        for i in 0..5 {
            f.append(&[
                Event::new("anna", "gebied", &format!("wijk/WK0983{i:02}"), "ok")
                    .in_gemeenten(["GM0983".to_string()]),
            ])
            .unwrap();
        }
        f
    }

    fn tamper(f: &Files, sql: &str) {
        f.accounts
            .with(|tx| {
                tx.execute_batch(sql).unwrap();
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn the_last_handle_waits_until_everything_queued_is_written() {
        let d = tempfile::tempdir().unwrap();
        let log = AuditLog::start(&d.path().join("w.duckdb"));
        let other = log.clone();
        for i in 0..300 {
            log.record(Event::new(
                "anna",
                "gebied",
                &format!("wijk/WK{i:06}"),
                "ok",
            ));
        }
        drop(other);
        let files = log.files.clone();
        // No flush: dropping the last handle closes the queue and waits for the writer.
        drop(log);
        assert_eq!(files.entries(None, 1_000).unwrap().len(), 300);
        assert_eq!(verify(&files, None).unwrap().entries, 300);
    }

    #[test]
    fn a_sound_log_verifies() {
        let d = tempfile::tempdir().unwrap();
        let f = log(d.path());
        let r = verify(&f, None).unwrap();
        assert_eq!((r.entries, r.checkpoints, r.unsigned_tail), (5, 5, 0));
        assert_eq!(f.latest_checkpoint().unwrap().seq, 5);
        assert_eq!(f.entries(Some(&["GM0983".into()]), 2).unwrap()[0].seq, 5);
        assert!(f.entries(Some(&["GM0392".into()]), 10).unwrap().is_empty());
    }

    #[test]
    fn a_changed_entry_is_found() {
        let d = tempfile::tempdir().unwrap();
        let f = log(d.path());
        tamper(&f, "UPDATE audit_entry SET actor = 'bob' WHERE seq = 2");
        let p = verify(&f, None).unwrap_err();
        assert!(p.iter().any(|s| s.contains("entry 2")), "{p:?}");
    }

    #[test]
    fn a_removed_entry_is_found() {
        let d = tempfile::tempdir().unwrap();
        let f = log(d.path());
        tamper(&f, "DELETE FROM audit_entry WHERE seq = 3");
        assert!(verify(&f, None).is_err());
        let d = tempfile::tempdir().unwrap();
        let f = log(d.path());
        tamper(&f, "DELETE FROM audit_entry WHERE seq = 5");
        let p = verify(&f, None).unwrap_err();
        assert!(p.iter().any(|s| s.contains("checkpoint 5")), "{p:?}");
    }

    #[test]
    fn reordered_entries_are_found() {
        let d = tempfile::tempdir().unwrap();
        let f = log(d.path());
        tamper(
            &f,
            "UPDATE audit_entry SET seq = 99 WHERE seq = 2; UPDATE audit_entry SET seq = 2 WHERE seq = 3; UPDATE audit_entry SET seq = 3 WHERE seq = 99;",
        );
        assert!(verify(&f, None).is_err());
    }

    #[test]
    fn a_log_rewritten_with_fresh_hashes_is_found_by_the_signed_checkpoints() {
        let d = tempfile::tempdir().unwrap();
        let f = log(d.path());
        // The attacker changes entry 2 and recomputes every hash after it: the chain is
        // consistent again, but no longer matches what was signed.
        let mut es = f.all_entries().unwrap();
        es[1].actor = "bob".into();
        let mut prev = GENESIS.to_string();
        for e in &mut es {
            e.prev = prev.clone();
            e.hash = entry_hash(e);
            prev = e.hash.clone();
        }
        f.accounts
            .with(|tx| {
                tx.execute_batch("DELETE FROM audit_entry").unwrap();
                for e in &es {
                    insert(tx, e).unwrap();
                }
                Ok(())
            })
            .unwrap();
        let p = verify(&f, None).unwrap_err();
        assert!(p.iter().any(|s| s.contains("herschreven")), "{p:?}");
        // A checkpoint forged without the key does not verify either.
        let mut forged = f.latest_checkpoint().unwrap();
        forged.hash = es[4].hash.clone();
        std::fs::write(
            &f.checkpoints,
            serde_json::to_string(&forged).unwrap() + "\n",
        )
        .unwrap();
        let p = verify(&f, None).unwrap_err();
        assert!(p.iter().any(|s| s.contains("handtekening")), "{p:?}");
    }

    #[test]
    fn the_writer_thread_records_in_order() {
        let d = tempfile::tempdir().unwrap();
        let a = AuditLog::start(&d.path().join("w.duckdb"));
        for i in 0..20 {
            a.record(Event::new("anna", "gebied", &i.to_string(), "ok"));
        }
        a.flush();
        let es = a.files.entries(None, 100).unwrap();
        assert_eq!(es.len(), 20);
        assert_eq!(es[0].target, "19");
        assert!(verify(&a.files, None).is_ok());
    }
}
