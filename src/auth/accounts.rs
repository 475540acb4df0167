//! Local accounts, roles per gemeente and personal access tokens, in a DuckDB file beside the
//! dataset (`NAME.accounts.duckdb`, schema in `sql/accounts.sql`).
//!
//! The file is opened for each change and closed again, so that the command line
//! (`wijkradar user …`) and a running server can both change it; the server keeps a
//! [`Directory`] in memory and reloads it when the generation counter moves.
//!
//! Size: about 580 lines of code, the rest documentation and tests; kept whole because every
//! operation here runs in the same open-change-close transaction on the accounts file.

use super::password;
use super::{Principal, Role, TokenScope, Via};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SCHEMA: &str = include_str!("../../sql/accounts.sql");

/// An error of the accounts database or of a request to change it.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("accountbestand {file}: {source}")]
    Db { file: String, source: duckdb::Error },
    #[error("{0}")]
    Invalid(String),
    #[error("gebruiker '{0}' bestaat niet")]
    NoUser(String),
}

impl AccountError {
    fn invalid(s: impl Into<String>) -> Self {
        Self::Invalid(s.into())
    }
}

/// One process opens an accounts file at a time (DuckDB's file lock is per process).
static OPEN: Mutex<()> = Mutex::new(());

/// The accounts database of a dataset.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub path: PathBuf,
}

/// A user as the directory holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub id: i32,
    pub name: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub disabled: bool,
    #[serde(skip)]
    pub epoch: i32,
    pub grants: Vec<(Role, String)>,
}

impl User {
    /// `adviseur GM0983, GM0392; riec-analist GM0392`; a role in many gemeenten is counted
    /// (`riec-analist in 342 gemeenten: GM0014, GM0034 … GM1992`).
    #[must_use]
    pub fn grants_text(&self) -> String {
        let mut roles: Vec<(Role, Vec<String>)> = Vec::new();
        for (r, g) in &self.grants {
            match roles.iter_mut().find(|(x, _)| x == r) {
                Some((_, gs)) => gs.push(g.clone()),
                None => roles.push((*r, vec![g.clone()])),
            }
        }
        roles
            .iter()
            .map(|(r, gs)| {
                if gs.len() > MANY {
                    format!("{} in {}", r.id(), gemeenten_text(gs))
                } else {
                    format!("{} {}", r.id(), gs.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// More gemeenten than this are counted rather than listed in full.
const MANY: usize = 6;

/// Gemeente codes for a line of text: all of a few (`GM0983, GM0392`); of many, the count, the
/// first two and the last (`342 gemeenten: GM0014, GM0034 … GM1992`), where a national user's
/// 342 codes filled the screen.
#[must_use]
pub fn gemeenten_text(codes: &[String]) -> String {
    match codes {
        [first, second, .., last] if codes.len() > MANY => {
            format!("{} gemeenten: {first}, {second} … {last}", codes.len())
        }
        _ => codes.join(", "),
    }
}

/// A token as the directory holds it (never its secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Token {
    pub id: String,
    #[serde(skip)]
    pub user_id: i32,
    pub name: String,
    pub scope: TokenScope,
    pub gemeenten: Vec<String>,
    pub created_at: String,
    pub expires_at: i64,
    pub revoked: bool,
}

/// Users, grants and tokens in memory: what every request is checked against.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    pub generation: i64,
    pub users: HashMap<i32, User>,
    by_name: HashMap<String, i32>,
    /// By the SHA-256 of the secret.
    tokens: HashMap<String, Token>,
}

/// Why a token was refused (for the audit log; the caller only hears 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Unknown,
    Expired,
    Revoked,
    UserDisabled,
    WrongUser,
}

impl Directory {
    #[must_use]
    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        self.by_name
            .get(&name.to_lowercase())
            .and_then(|id| self.users.get(id))
    }

    /// The caller of a session of `user_id` started in `epoch`, if the user still exists, is
    /// enabled, and nothing has ended their sessions since.
    #[must_use]
    pub fn session_principal(&self, user_id: i32, epoch: i32) -> Option<Principal> {
        let u = self.users.get(&user_id)?;
        (!u.disabled && u.epoch == epoch).then(|| Principal {
            user_id: u.id,
            name: u.name.clone(),
            grants: u.grants.clone(),
            via: Via::Session,
        })
    }

    /// The caller holding token `secret`; `user`, when given (HTTP Basic), must be its owner.
    ///
    /// # Errors
    /// Why the token does not sign anyone in.
    pub fn token_principal(
        &self,
        secret: &str,
        user: Option<&str>,
        now: i64,
    ) -> Result<Principal, (TokenRefusal, Option<String>)> {
        let t = self
            .tokens
            .get(&password::digest(secret))
            .ok_or((TokenRefusal::Unknown, None))?;
        let u = self
            .users
            .get(&t.user_id)
            .ok_or((TokenRefusal::Unknown, None))?;
        let who = Some(u.name.clone());
        if t.revoked {
            return Err((TokenRefusal::Revoked, who));
        }
        if t.expires_at <= now {
            return Err((TokenRefusal::Expired, who));
        }
        if u.disabled {
            return Err((TokenRefusal::UserDisabled, who));
        }
        if let Some(n) = user.filter(|n| !n.is_empty() && *n != "token") {
            if !n.eq_ignore_ascii_case(&u.name) {
                return Err((TokenRefusal::WrongUser, who));
            }
        }
        Ok(Principal {
            user_id: u.id,
            name: u.name.clone(),
            grants: u
                .grants
                .iter()
                .filter(|(_, g)| t.gemeenten.contains(g))
                .cloned()
                .collect(),
            via: Via::Token {
                id: t.id.clone(),
                scope: t.scope,
            },
        })
    }

    /// The tokens of a user.
    #[must_use]
    pub fn tokens_of(&self, user_id: i32) -> Vec<&Token> {
        let mut v: Vec<&Token> = self
            .tokens
            .values()
            .filter(|t| t.user_id == user_id)
            .collect();
        v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        v
    }
}

fn is_lock_error(e: &duckdb::Error) -> bool {
    let s = e.to_string().to_lowercase();
    s.contains("lock") || s.contains("conflicting")
}

impl Accounts {
    /// The accounts file beside the dataset `db` (`wijkradar.duckdb` → `wijkradar.accounts.duckdb`).
    #[must_use]
    pub fn beside(db: &Path) -> Self {
        let stem = db.file_stem().map_or_else(
            || "wijkradar".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        Self {
            path: db.with_file_name(format!("{stem}.accounts.duckdb")),
        }
    }

    fn dberr(&self) -> impl Fn(duckdb::Error) -> AccountError + '_ {
        move |source| AccountError::Db {
            file: self.path.display().to_string(),
            source,
        }
    }

    /// Runs `f` on the opened file in one transaction, waiting up to ten seconds for another
    /// process (the command line, the server) that has it open.
    ///
    /// # Errors
    /// Database errors, or what `f` returns.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&duckdb::Transaction<'_>) -> Result<T, AccountError>,
    ) -> Result<T, AccountError> {
        let _one = OPEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = Instant::now();
        let mut conn = loop {
            match duckdb::Connection::open(&self.path) {
                Ok(c) => break c,
                Err(e) if is_lock_error(&e) && start.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => return Err(self.dberr()(e)),
            }
        };
        conn.execute_batch(SCHEMA).map_err(self.dberr())?;
        let tx = conn.transaction().map_err(self.dberr())?;
        let out = f(&tx)?;
        tx.commit().map_err(self.dberr())?;
        conn.execute_batch("CHECKPOINT").map_err(self.dberr())?;
        Ok(out)
    }

    fn bump(tx: &duckdb::Transaction<'_>) -> Result<(), duckdb::Error> {
        let n: i64 = tx.query_row("SELECT count(*) FROM account_generation", [], |r| r.get(0))?;
        if n == 0 {
            tx.execute("INSERT INTO account_generation VALUES (1)", [])?;
        } else {
            tx.execute(
                "UPDATE account_generation SET generation = generation + 1",
                [],
            )?;
        }
        Ok(())
    }

    fn user_id(&self, tx: &duckdb::Transaction<'_>, name: &str) -> Result<i32, AccountError> {
        use duckdb::OptionalExt;
        tx.query_row(
            "SELECT id FROM account_user WHERE lower(name) = lower(?)",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(self.dberr())?
        .ok_or_else(|| AccountError::NoUser(name.to_string()))
    }

    /// Adds a user (enabled, no roles yet); `password` `None` for single sign-on only.
    ///
    /// # Errors
    /// A name in use or not of letters, digits, `.`, `-`, `_`, `@`; a password too short.
    pub fn add_user(&self, name: &str, password: Option<&str>) -> Result<i32, AccountError> {
        if name.len() < 2
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c))
        {
            return Err(AccountError::invalid(format!(
                "gebruikersnaam '{name}': 2–64 tekens, alleen letters, cijfers en . - _ @"
            )));
        }
        let hash = password
            .map(password::hash)
            .transpose()
            .map_err(AccountError::Invalid)?;
        self.with(|tx| {
            let taken: i64 = tx
                .query_row(
                    "SELECT count(*) FROM account_user WHERE lower(name) = lower(?)",
                    [name],
                    |r| r.get(0),
                )
                .map_err(self.dberr())?;
            if taken > 0 {
                return Err(AccountError::invalid(format!(
                    "gebruiker '{name}' bestaat al"
                )));
            }
            let id: i32 = tx
                .query_row(
                    "SELECT coalesce(max(id), 0) + 1 FROM account_user",
                    [],
                    |r| r.get(0),
                )
                .map_err(self.dberr())?;
            tx.execute(
                "INSERT INTO account_user VALUES (?, ?, ?, false, 0, ?)",
                duckdb::params![id, name, hash, crate::period::now_rfc3339()],
            )
            .map_err(self.dberr())?;
            Self::bump(tx).map_err(self.dberr())?;
            Ok(id)
        })
    }

    /// Sets a new password; ends the user's sessions.
    ///
    /// # Errors
    /// Unknown user, password too short.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        let hash = password::hash(password).map_err(AccountError::Invalid)?;
        self.with(|tx| {
            let id = self.user_id(tx, name)?;
            tx.execute(
                "UPDATE account_user SET password_hash = ?, epoch = epoch + 1 WHERE id = ?",
                duckdb::params![hash, id],
            )
            .map_err(self.dberr())?;
            Self::bump(tx).map_err(self.dberr())
        })
    }

    /// Gives `role` in each of `gemeenten`.
    ///
    /// # Errors
    /// Unknown user, a code that is not `GM` and four digits.
    pub fn grant(&self, name: &str, role: Role, gemeenten: &[String]) -> Result<(), AccountError> {
        for g in gemeenten {
            if g.len() != 6 || !g.starts_with("GM") || !g[2..].bytes().all(|b| b.is_ascii_digit()) {
                return Err(AccountError::invalid(format!(
                    "gemeentecode '{g}': verwacht GM en vier cijfers (GM0983)"
                )));
            }
        }
        self.with(|tx| {
            let id = self.user_id(tx, name)?;
            for g in gemeenten {
                tx.execute(
                    "INSERT INTO account_grant VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    duckdb::params![id, role.id(), g],
                )
                .map_err(self.dberr())?;
            }
            Self::bump(tx).map_err(self.dberr())
        })
    }

    /// Takes `role` away in `gemeenten` (all of them when empty); ends the user's sessions.
    ///
    /// # Errors
    /// Unknown user.
    pub fn revoke(&self, name: &str, role: Role, gemeenten: &[String]) -> Result<(), AccountError> {
        self.with(|tx| {
            let id = self.user_id(tx, name)?;
            if gemeenten.is_empty() {
                tx.execute(
                    "DELETE FROM account_grant WHERE user_id = ? AND role = ?",
                    duckdb::params![id, role.id()],
                )
                .map_err(self.dberr())?;
            }
            for g in gemeenten {
                tx.execute(
                    "DELETE FROM account_grant WHERE user_id = ? AND role = ? AND gemeente = ?",
                    duckdb::params![id, role.id(), g],
                )
                .map_err(self.dberr())?;
            }
            tx.execute(
                "UPDATE account_user SET epoch = epoch + 1 WHERE id = ?",
                [id],
            )
            .map_err(self.dberr())?;
            Self::bump(tx).map_err(self.dberr())
        })
    }

    /// The account of a single-sign-on user (`issuer`, `subject`), made at the first sign-in
    /// under `name` (with a suffix when a local account has it), with the roles the provider
    /// gives now: `(user id, epoch, disabled)`. A change of roles ends the user's other
    /// sessions, as a revocation here does.
    ///
    /// # Errors
    /// Database errors.
    pub fn sso_user(
        &self,
        issuer: &str,
        subject: &str,
        name: &str,
        grants: &[(Role, String)],
    ) -> Result<(i32, i32, bool), AccountError> {
        use duckdb::OptionalExt;
        self.with(|tx| {
            let e = self.dberr();
            let linked: Option<i32> = tx
                .query_row(
                    "SELECT user_id FROM account_sso WHERE issuer = ? AND subject = ?",
                    [issuer, subject],
                    |r| r.get(0),
                )
                .optional()
                .map_err(&e)?;
            let id = if let Some(id) = linked {
                id
            } else {
                let mut candidate = name.to_string();
                let mut n = 1;
                loop {
                    let taken: i64 = tx
                        .query_row(
                            "SELECT count(*) FROM account_user WHERE lower(name) = lower(?)",
                            [&candidate],
                            |r| r.get(0),
                        )
                        .map_err(&e)?;
                    if taken == 0 {
                        break;
                    }
                    n += 1;
                    candidate = format!("{name}-{n}");
                }
                let id: i32 = tx
                    .query_row(
                        "SELECT coalesce(max(id), 0) + 1 FROM account_user",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(&e)?;
                tx.execute(
                    "INSERT INTO account_user VALUES (?, ?, NULL, false, 0, ?)",
                    duckdb::params![id, candidate, crate::period::now_rfc3339()],
                )
                .map_err(&e)?;
                tx.execute(
                    "INSERT INTO account_sso VALUES (?, ?, ?)",
                    duckdb::params![issuer, subject, id],
                )
                .map_err(&e)?;
                id
            };
            let mut st = tx
                .prepare("SELECT role, gemeente FROM account_grant WHERE user_id = ? ORDER BY role, gemeente")
                .map_err(&e)?;
            let mut held: Vec<(Role, String)> = st
                .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(&e)?
                .filter_map(Result::ok)
                .filter_map(|(r, g)| Role::parse(&r).map(|r| (r, g)))
                .collect();
            held.sort();
            let mut want = grants.to_vec();
            want.sort();
            if held != want {
                tx.execute("DELETE FROM account_grant WHERE user_id = ?", [id])
                    .map_err(&e)?;
                for (r, g) in &want {
                    tx.execute(
                        "INSERT INTO account_grant VALUES (?, ?, ?)",
                        duckdb::params![id, r.id(), g],
                    )
                    .map_err(&e)?;
                }
                if linked.is_some() {
                    tx.execute(
                        "UPDATE account_user SET epoch = epoch + 1 WHERE id = ?",
                        [id],
                    )
                    .map_err(&e)?;
                }
            }
            Self::bump(tx).map_err(&e)?;
            let (epoch, disabled): (i32, bool) = tx
                .query_row(
                    "SELECT epoch, disabled FROM account_user WHERE id = ?",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(&e)?;
            Ok((id, epoch, disabled))
        })
    }

    /// Disables (or enables) a user; disabling ends their sessions and stops their tokens.
    ///
    /// # Errors
    /// Unknown user.
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), AccountError> {
        self.with(|tx| {
            let id = self.user_id(tx, name)?;
            tx.execute(
                "UPDATE account_user SET disabled = ?, epoch = epoch + 1 WHERE id = ?",
                duckdb::params![disabled, id],
            )
            .map_err(self.dberr())?;
            Self::bump(tx).map_err(self.dberr())
        })
    }

    /// Creates a token for `user_id`, for `gemeenten` (which must be the user's) and `days`
    /// (1–366); returns its public id and its secret, which is shown once and kept only as a
    /// hash.
    ///
    /// # Errors
    /// Bad name, gemeenten or days.
    pub fn create_token(
        &self,
        user_id: i32,
        name: &str,
        scope: TokenScope,
        gemeenten: &[String],
        days: i64,
    ) -> Result<(String, String), AccountError> {
        if name.trim().is_empty() || name.chars().count() > 80 {
            return Err(AccountError::invalid("naam van de token: 1–80 tekens"));
        }
        if !(1..=366).contains(&days) {
            return Err(AccountError::invalid("geldigheid: 1 tot en met 366 dagen"));
        }
        if gemeenten.is_empty() {
            return Err(AccountError::invalid(
                "een token geldt voor minstens één gemeente",
            ));
        }
        let secret = password::secret("wr_");
        let id = password::digest(&secret)[..12].to_string();
        self.with(|tx| {
            for g in gemeenten {
                let held: i64 = tx
                    .query_row(
                        "SELECT count(*) FROM account_grant WHERE user_id = ? AND gemeente = ?",
                        duckdb::params![user_id, g],
                        |r| r.get(0),
                    )
                    .map_err(self.dberr())?;
                if held == 0 {
                    return Err(AccountError::invalid(format!(
                        "gemeente '{g}' hoort niet bij deze gebruiker"
                    )));
                }
            }
            tx.execute(
                "INSERT INTO account_token VALUES (?, ?, ?, ?, ?, ?, ?, ?, false)",
                duckdb::params![
                    id,
                    user_id,
                    name.trim(),
                    password::digest(&secret),
                    scope.id(),
                    gemeenten.join(","),
                    crate::period::now_rfc3339(),
                    crate::period::unix_now() + days * 86_400
                ],
            )
            .map_err(self.dberr())?;
            Self::bump(tx).map_err(self.dberr())?;
            Ok((id.clone(), secret.clone()))
        })
    }

    /// Revokes token `id` of `user_id` (any user's with `None`); false when there is none.
    ///
    /// # Errors
    /// Database errors.
    pub fn revoke_token(&self, user_id: Option<i32>, id: &str) -> Result<bool, AccountError> {
        self.with(|tx| {
            let n = tx
                .execute(
                    "UPDATE account_token SET revoked = true WHERE id = ? AND (? IS NULL OR user_id = ?) AND NOT revoked",
                    duckdb::params![id, user_id, user_id],
                )
                .map_err(self.dberr())?;
            Self::bump(tx).map_err(self.dberr())?;
            Ok(n > 0)
        })
    }

    /// The generation counter (0 for a new file).
    ///
    /// # Errors
    /// Database errors.
    pub fn generation(&self) -> Result<i64, AccountError> {
        self.with(|tx| {
            tx.query_row(
                "SELECT coalesce(max(generation), 0) FROM account_generation",
                [],
                |r| r.get(0),
            )
            .map_err(self.dberr())
        })
    }

    /// Reads users, grants and tokens.
    ///
    /// # Errors
    /// Database errors.
    pub fn directory(&self) -> Result<Directory, AccountError> {
        self.with(|tx| {
            let e = self.dberr();
            let generation: i64 = tx
                .query_row(
                    "SELECT coalesce(max(generation), 0) FROM account_generation",
                    [],
                    |r| r.get(0),
                )
                .map_err(&e)?;
            let mut d = Directory {
                generation,
                ..Directory::default()
            };
            let mut st = tx
                .prepare("SELECT id, name, password_hash, disabled, epoch FROM account_user")
                .map_err(&e)?;
            let users = st
                .query_map([], |r| {
                    Ok(User {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        password_hash: r.get(2)?,
                        disabled: r.get(3)?,
                        epoch: r.get(4)?,
                        grants: Vec::new(),
                    })
                })
                .map_err(&e)?;
            for u in users {
                let u = u.map_err(&e)?;
                d.by_name.insert(u.name.to_lowercase(), u.id);
                d.users.insert(u.id, u);
            }
            let mut st = tx
                .prepare("SELECT user_id, role, gemeente FROM account_grant ORDER BY user_id, role, gemeente")
                .map_err(&e)?;
            let grants = st
                .query_map([], |r| {
                    Ok((r.get::<_, i32>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })
                .map_err(&e)?;
            for g in grants {
                let (uid, role, gm) = g.map_err(&e)?;
                if let (Some(u), Some(role)) = (d.users.get_mut(&uid), Role::parse(&role)) {
                    u.grants.push((role, gm));
                }
            }
            let mut st = tx
                .prepare("SELECT id, user_id, name, hash, scope, gemeenten, created_at, expires_at, revoked FROM account_token")
                .map_err(&e)?;
            let tokens = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(3)?,
                        Token {
                            id: r.get(0)?,
                            user_id: r.get(1)?,
                            name: r.get(2)?,
                            scope: TokenScope::parse(&r.get::<_, String>(4)?)
                                .unwrap_or(TokenScope::Lezen),
                            gemeenten: r
                                .get::<_, String>(5)?
                                .split(',')
                                .filter(|s| !s.is_empty())
                                .map(str::to_string)
                                .collect(),
                            created_at: r.get(6)?,
                            expires_at: r.get(7)?,
                            revoked: r.get(8)?,
                        },
                    ))
                })
                .map_err(&e)?;
            for t in tokens {
                let (hash, t) = t.map_err(&e)?;
                d.tokens.insert(hash, t);
            }
            Ok(d)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_gemeenten_are_counted_and_a_few_listed() {
        let codes = |n: usize| -> Vec<String> { (0..n).map(|i| format!("GM{i:04}")).collect() };
        assert_eq!(gemeenten_text(&codes(2)), "GM0000, GM0001");
        assert_eq!(gemeenten_text(&codes(6)).matches("GM").count(), 6);
        assert_eq!(
            gemeenten_text(&codes(342)),
            "342 gemeenten: GM0000, GM0001 … GM0341"
        );
        let mut grants: Vec<(Role, String)> = codes(342)
            .into_iter()
            .map(|g| (Role::RiecAnalist, g))
            .collect();
        grants.push((Role::Beheerder, "GM0983".into()));
        let u = User {
            id: 1,
            name: "landelijk".into(),
            password_hash: None,
            disabled: false,
            epoch: 0,
            grants,
        };
        assert_eq!(
            u.grants_text(),
            "riec-analist in 342 gemeenten: GM0000, GM0001 … GM0341; beheerder GM0983"
        );
        let few = User {
            grants: vec![
                (Role::Adviseur, "GM0983".into()),
                (Role::RiecAnalist, "GM0392".into()),
                (Role::Adviseur, "GM0392".into()),
            ],
            ..u
        };
        assert_eq!(
            few.grants_text(),
            "adviseur GM0983, GM0392; riec-analist GM0392"
        );
    }

    #[test]
    fn a_single_sign_on_user_is_found_again_by_subject_and_takes_the_providers_roles() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::beside(&dir.path().join("w.duckdb"));
        a.add_user("anna", Some("een lang wachtwoord")).unwrap();
        let venlo = vec![(Role::Adviseur, "GM0983".to_string())];
        // A provider's user named like a local account gets a name of its own.
        let (id, epoch, disabled) = a.sso_user("https://idp", "sub-1", "anna", &venlo).unwrap();
        assert!(!disabled);
        let d = a.directory().unwrap();
        assert_eq!(d.users[&id].name, "anna-2");
        assert!(d.users[&id].password_hash.is_none());
        assert_eq!(d.session_principal(id, epoch).unwrap().grants, venlo);
        // The same subject under another name is the same account; the same name from
        // another provider is not.
        let (again, e2, _) = a
            .sso_user("https://idp", "sub-1", "anna.b", &venlo)
            .unwrap();
        assert_eq!(
            (again, e2),
            (id, epoch),
            "unchanged roles leave sessions alone"
        );
        let (other, _, _) = a
            .sso_user("https://andere-idp", "sub-1", "anna", &venlo)
            .unwrap();
        assert_ne!(other, id);
        // New roles from the provider replace the old ones and end the old sessions.
        let haarlem = vec![(Role::Wethouder, "GM0392".to_string())];
        let (_, e3, _) = a
            .sso_user("https://idp", "sub-1", "anna", &haarlem)
            .unwrap();
        assert_ne!(e3, epoch);
        let d = a.directory().unwrap();
        assert!(d.session_principal(id, epoch).is_none());
        assert_eq!(d.session_principal(id, e3).unwrap().grants, haarlem);
        // Disabled here stays disabled, whatever the provider says.
        a.set_disabled("anna-2", true).unwrap();
        let (_, _, disabled) = a
            .sso_user("https://idp", "sub-1", "anna", &haarlem)
            .unwrap();
        assert!(disabled);
    }

    #[test]
    fn users_grants_tokens_and_their_end() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::beside(&dir.path().join("w.duckdb"));
        assert!(a.path.ends_with("w.accounts.duckdb"));
        let id = a.add_user("anna", Some("een lang wachtwoord")).unwrap();
        assert!(
            a.add_user("Anna", Some("een lang wachtwoord")).is_err(),
            "names are case-blind"
        );
        assert!(a.add_user("x y", None).is_err());
        a.grant("anna", Role::Adviseur, &["GM0983".into()]).unwrap();
        assert!(a.grant("anna", Role::Adviseur, &["Venlo".into()]).is_err());
        let d = a.directory().unwrap();
        let u = d.user_by_name("ANNA").unwrap();
        assert!(password::verify(
            "een lang wachtwoord",
            u.password_hash.as_deref()
        ));
        let p = d.session_principal(id, u.epoch).unwrap();
        assert_eq!(p.grants, vec![(Role::Adviseur, "GM0983".to_string())]);

        assert!(
            a.create_token(id, "qgis", TokenScope::Lezen, &["GM0392".into()], 30)
                .is_err(),
            "only the user's own gemeenten"
        );
        let (tid, secret) = a
            .create_token(id, "qgis", TokenScope::Lezen, &["GM0983".into()], 30)
            .unwrap();
        let d = a.directory().unwrap();
        let now = crate::period::unix_now();
        assert_eq!(
            d.token_principal(&secret, Some("anna"), now).unwrap().name,
            "anna"
        );
        assert_eq!(
            d.token_principal(&secret, Some("bob"), now).unwrap_err().0,
            TokenRefusal::WrongUser
        );
        assert_eq!(
            d.token_principal(&secret, None, now + 31 * 86_400)
                .unwrap_err()
                .0,
            TokenRefusal::Expired
        );
        assert_eq!(
            d.token_principal("wr_nope", None, now).unwrap_err().0,
            TokenRefusal::Unknown
        );

        let g0 = d.generation;
        a.set_disabled("anna", true).unwrap();
        let d = a.directory().unwrap();
        assert!(d.generation > g0);
        assert!(
            d.session_principal(id, u.epoch).is_none(),
            "disabling ends sessions"
        );
        assert_eq!(
            d.token_principal(&secret, None, now).unwrap_err().0,
            TokenRefusal::UserDisabled
        );
        a.set_disabled("anna", false).unwrap();
        assert!(a.revoke_token(Some(id), &tid).unwrap());
        let d = a.directory().unwrap();
        assert_eq!(
            d.token_principal(&secret, None, now).unwrap_err().0,
            TokenRefusal::Revoked
        );
        // Nothing secret is in the file.
        drop(d);
        let bytes = std::fs::read(&a.path).unwrap();
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(&secret) && !hay.contains("een lang wachtwoord"));
    }
}
