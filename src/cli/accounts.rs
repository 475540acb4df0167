//! The account commands: `user`, `token`, `audit`, and the demo's accounts.

use clap::Subcommand;
use std::path::PathBuf;
use wijkradar::{demo, spatial::Boundaries};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Adds a user; the password is read from WIJKRADAR_PASSWORD or the first line of stdin.
    Add {
        #[arg(long)]
        db: PathBuf,
        name: String,
        /// adviseur, wethouder, riec-analist or beheerder.
        #[arg(long)]
        role: Option<String>,
        /// Gemeenten of the role, comma-separated (GM0983,GM0392).
        #[arg(long, value_delimiter = ',')]
        gemeente: Vec<String>,
        /// Only single sign-on, no password.
        #[arg(long)]
        no_password: bool,
    },
    /// Gives a role in gemeenten, or in every gemeente of a RIEC region (`--region limburg`).
    Grant {
        #[arg(long)]
        db: PathBuf,
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long, value_delimiter = ',', required_unless_present = "region")]
        gemeente: Vec<String>,
        /// A RIEC region (data/riec_regions.toml): all its gemeenten.
        #[arg(long)]
        region: Option<String>,
    },
    /// Takes a role away (in the given gemeenten, or all); ends the user's sessions.
    Revoke {
        #[arg(long)]
        db: PathBuf,
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long, value_delimiter = ',')]
        gemeente: Vec<String>,
    },
    /// Disables a user: their sessions end and their tokens stop working.
    Disable {
        #[arg(long)]
        db: PathBuf,
        name: String,
    },
    /// Enables a disabled user.
    Enable {
        #[arg(long)]
        db: PathBuf,
        name: String,
    },
    /// Sets a new password (WIJKRADAR_PASSWORD or stdin); ends the user's sessions.
    Passwd {
        #[arg(long)]
        db: PathBuf,
        name: String,
    },
    /// Lists users with their roles per gemeente.
    List {
        #[arg(long)]
        db: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Creates a token for a user and prints its secret once.
    Create {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        user: String,
        /// What the token is for (QGIS op laptop).
        #[arg(long, default_value = "QGIS")]
        name: String,
        /// lezen or export.
        #[arg(long, default_value = "lezen")]
        scope: String,
        /// Gemeenten (default: all of the user's).
        #[arg(long, value_delimiter = ',')]
        gemeente: Vec<String>,
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
    /// Revokes a token by its id.
    Revoke {
        #[arg(long)]
        db: PathBuf,
        id: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recomputes the hash chain and checks every signed checkpoint; exit code 1 on any break.
    Verify {
        #[arg(long)]
        db: PathBuf,
        /// The public key (hex) to trust instead of the `.audit.pub` file beside the database.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Prints the newest entries.
    Show {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

pub fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("WIJKRADAR_PASSWORD") {
        return Ok(p);
    }
    eprintln!("Wachtwoord (minstens 12 tekens), gevolgd door Enter:");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn role(s: &str) -> anyhow::Result<wijkradar::auth::Role> {
    wijkradar::auth::Role::parse(s).ok_or_else(|| {
        anyhow::anyhow!(
            "rol '{s}' bestaat niet; kies adviseur, wethouder, riec-analist of beheerder"
        )
    })
}

pub fn cli_audit(
    db: &std::path::Path,
    action: &str,
    target: &str,
    outcome: &str,
    gemeenten: &[String],
) -> anyhow::Result<()> {
    wijkradar::auth::audit::Files::beside(db).append(&[wijkradar::auth::audit::Event::new(
        "cli", action, target, outcome,
    )
    .in_gemeenten(gemeenten.iter().cloned())])?;
    Ok(())
}

pub fn user_command(action: UserCommand) -> anyhow::Result<()> {
    use wijkradar::auth::accounts::Accounts;
    match action {
        UserCommand::Add {
            db,
            name,
            role: r,
            gemeente,
            no_password,
        } => {
            let a = Accounts::beside(&db);
            let pw = if no_password {
                None
            } else {
                Some(read_password()?)
            };
            a.add_user(&name, pw.as_deref())?;
            if let Some(r) = r {
                a.grant(&name, role(&r)?, &gemeente)?;
            }
            cli_audit(&db, "gebruiker", &name, "toegevoegd", &gemeente)?;
            println!("Gebruiker {name} toegevoegd.");
        }
        UserCommand::Grant {
            db,
            name,
            role: r,
            mut gemeente,
            region,
        } => {
            if let Some(id) = region {
                let regions = wijkradar::regions::Regions::builtin();
                let reg = regions.get(&id).ok_or_else(|| {
                    let ids: Vec<&str> = regions.regions.iter().map(|r| r.id.as_str()).collect();
                    anyhow::anyhow!("no region '{id}'; the regions are {}", ids.join(", "))
                })?;
                gemeente.extend(reg.gemeenten.iter().cloned());
            }
            Accounts::beside(&db).grant(&name, role(&r)?, &gemeente)?;
            cli_audit(
                &db,
                "gebruiker",
                &name,
                &format!("rol {r} gegeven"),
                &gemeente,
            )?;
            println!(
                "{name}: {r} in {} gemeente(n): {}.",
                gemeente.len(),
                wijkradar::auth::accounts::gemeenten_text(&gemeente)
            );
        }
        UserCommand::Revoke {
            db,
            name,
            role: r,
            gemeente,
        } => {
            Accounts::beside(&db).revoke(&name, role(&r)?, &gemeente)?;
            cli_audit(
                &db,
                "gebruiker",
                &name,
                &format!("rol {r} ingetrokken"),
                &gemeente,
            )?;
            println!("{name}: {r} ingetrokken; lopende sessies zijn beëindigd.");
        }
        UserCommand::Disable { db, name } => {
            Accounts::beside(&db).set_disabled(&name, true)?;
            cli_audit(&db, "gebruiker", &name, "uitgeschakeld", &[])?;
            println!("{name} uitgeschakeld; sessies en tokens werken niet meer.");
        }
        UserCommand::Enable { db, name } => {
            Accounts::beside(&db).set_disabled(&name, false)?;
            cli_audit(&db, "gebruiker", &name, "ingeschakeld", &[])?;
            println!("{name} ingeschakeld.");
        }
        UserCommand::Passwd { db, name } => {
            Accounts::beside(&db).set_password(&name, &read_password()?)?;
            cli_audit(&db, "gebruiker", &name, "wachtwoord gewijzigd", &[])?;
            println!("Wachtwoord van {name} gewijzigd; lopende sessies zijn beëindigd.");
        }
        UserCommand::List { db } => {
            let d = Accounts::beside(&db).directory()?;
            let mut users: Vec<_> = d.users.values().collect();
            users.sort_by(|a, b| a.name.cmp(&b.name));
            for u in users {
                let grants = u.grants_text();
                println!(
                    "{:<24} {:<14} {}",
                    u.name,
                    if u.disabled {
                        "uitgeschakeld"
                    } else {
                        "actief"
                    },
                    grants
                );
            }
        }
    }
    Ok(())
}

pub fn token_command(action: TokenCommand) -> anyhow::Result<()> {
    use wijkradar::auth::accounts::Accounts;
    match action {
        TokenCommand::Create {
            db,
            user,
            name,
            scope,
            gemeente,
            days,
        } => {
            let a = Accounts::beside(&db);
            let d = a.directory()?;
            let u = d
                .user_by_name(&user)
                .ok_or_else(|| anyhow::anyhow!("gebruiker '{user}' bestaat niet"))?;
            let scope = wijkradar::auth::TokenScope::parse(&scope)
                .ok_or_else(|| anyhow::anyhow!("scope '{scope}': kies lezen of export"))?;
            let gemeenten = if gemeente.is_empty() {
                let mut g: Vec<String> = u.grants.iter().map(|(_, g)| g.clone()).collect();
                g.sort();
                g.dedup();
                g
            } else {
                gemeente
            };
            let (id, secret) = a.create_token(u.id, &name, scope, &gemeenten, days)?;
            cli_audit(
                &db,
                "token",
                &format!("token {id}"),
                &format!("aangemaakt voor {user}"),
                &gemeenten,
            )?;
            println!(
                "Token {id} voor {user} ({}, {days} dagen, {}):",
                scope.id(),
                wijkradar::auth::accounts::gemeenten_text(&gemeenten)
            );
            println!("{secret}");
            println!("Dit geheim wordt niet bewaard en niet opnieuw getoond.");
        }
        TokenCommand::Revoke { db, id } => {
            if !Accounts::beside(&db).revoke_token(None, &id)? {
                anyhow::bail!("token '{id}' bestaat niet of is al ingetrokken");
            }
            cli_audit(&db, "token", &format!("token {id}"), "ingetrokken", &[])?;
            println!("Token {id} ingetrokken.");
        }
    }
    Ok(())
}

pub fn audit_command(action: AuditCommand) -> anyhow::Result<()> {
    use wijkradar::auth::audit;
    match action {
        AuditCommand::Verify { db, public_key } => {
            let files = audit::Files::beside(&db);
            match audit::verify(&files, public_key.as_deref()) {
                Ok(r) => {
                    println!(
                        "Auditlog in orde: {} entries, {} ondertekende checkpoints (laatste bij {}){}.",
                        r.entries,
                        r.checkpoints,
                        r.last_checkpoint,
                        if r.unsigned_tail > 0 { format!("; {} entries na het laatste checkpoint", r.unsigned_tail) } else { String::new() }
                    );
                    Ok(())
                }
                Err(problems) => {
                    for p in &problems {
                        eprintln!("  {p}");
                    }
                    anyhow::bail!("het auditlog is gewijzigd: {} problemen", problems.len())
                }
            }
        }
        AuditCommand::Show { db, limit } => {
            for e in audit::Files::beside(&db).entries(None, limit)? {
                println!(
                    "{:>6} {} {:<28} {:<14} {:<32} {} {}",
                    e.seq, e.at, e.actor, e.action, e.target, e.outcome, e.detail
                );
            }
            Ok(())
        }
    }
}

/// Makes the demo accounts in a new accounts file and prints how to sign in with those whose
/// demo password still works.
pub fn demo_accounts(db: &std::path::Path, b: &Boundaries, gemeente: &str) -> anyhow::Result<()> {
    use wijkradar::auth::accounts::Accounts;
    let a = Accounts::beside(db);
    let d = a.directory()?;
    if d.users.is_empty() {
        let gms: Vec<(String, String)> = demo::gemeenten(gemeente)
            .into_iter()
            .map(|g| {
                let naam = b
                    .gemeenten
                    .get(&g)
                    .map_or_else(|| g.clone(), |x| x.naam.clone());
                (g, naam)
            })
            .collect();
        wijkradar::auth::demo::demo_accounts(&a, &gms)?;
        cli_audit(
            db,
            "gebruiker",
            "demo",
            "demo-accounts aangemaakt",
            &gms.iter().map(|g| g.0.clone()).collect::<Vec<_>>(),
        )?;
    }
    let d = a.directory()?;
    let mut users: Vec<_> = d.users.values().collect();
    users.sort_by_key(|u| u.id);
    let demo: Vec<_> = users
        .into_iter()
        .filter(|u| {
            !u.disabled
                && wijkradar::auth::password::verify(
                    &format!("demo-{}", u.name),
                    u.password_hash.as_deref(),
                )
        })
        .collect();
    if !demo.is_empty() {
        println!("Demo-accounts (alleen voor de demo; wachtwoord = demo-<naam>):");
        for u in demo {
            let grants = u.grants_text();
            println!("  {:<22} wachtwoord demo-{:<22} {}", u.name, u.name, grants);
        }
    }
    Ok(())
}
