//! The demo's accounts: one per role and gemeente, with a known password, made only in a new
//! accounts file of the demo (`wijkradar run`).

use super::accounts::{AccountError, Accounts};
use super::Role;

/// Demo accounts: one per role, for Venlo and Haarlem, with the password printed at start.
/// Only made in a new accounts file of the demo (`wijkradar run`).
///
/// # Errors
/// Database errors.
pub fn demo_accounts(
    accounts: &Accounts,
    gemeenten: &[(String, String)],
) -> Result<Vec<(String, String, String)>, AccountError> {
    let mut made = Vec::new();
    let all: Vec<String> = gemeenten.iter().map(|(c, _)| c.clone()).collect();
    let mut add =
        |name: String, role: Role, gms: Vec<String>, what: String| -> Result<(), AccountError> {
            let pw = format!("demo-{name}");
            accounts.add_user(&name, Some(&pw))?;
            accounts.grant(&name, role, &gms)?;
            made.push((name, pw, what));
            Ok(())
        };
    for (code, naam) in gemeenten {
        let slug = naam.to_lowercase().replace(' ', "-");
        add(
            format!("adviseur-{slug}"),
            Role::Adviseur,
            vec![code.clone()],
            format!("adviseur in {naam}"),
        )?;
        add(
            format!("wethouder-{slug}"),
            Role::Wethouder,
            vec![code.clone()],
            format!("wethouder in {naam}"),
        )?;
    }
    add(
        "riec-analist".into(),
        Role::RiecAnalist,
        all.clone(),
        "RIEC-analist voor alle demogemeenten".into(),
    )?;
    add(
        "beheerder".into(),
        Role::Beheerder,
        all,
        "beheerder van alle demogemeenten".into(),
    )?;
    Ok(made)
}
