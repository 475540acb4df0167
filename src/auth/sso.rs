//! Single sign-on (OpenID Connect): the provider's settings, and how the claims of a verified
//! ID token become a Wijkradar user with roles per gemeente.
//!
//! The provider (Entra ID, Keycloak) says what a person may do in one claim, by default
//! `roles` (Entra ID's app roles; in Keycloak a client-role mapper onto a claim of that
//! name). Each value is `role:where`, `where` a gemeentecode or a RIEC region:
//! `adviseur:GM0983`, `riec-analist:limburg`. Other values (the provider's own roles) are
//! ignored; a person with no Wijkradar value gets no account. The claim may be a path into
//! nested claims (`realm_access.roles`).
//!
//! The provider is the source of the roles: they are set again at every sign-in. A beheerder
//! can still disable the account here, which ends its sessions and refuses its next sign-in.

use super::Role;
use crate::regions::Regions;
use serde_json::Value;

/// The provider, from the environment (all three of issuer, client id and secret, or none).
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// `https://login.microsoftonline.com/{tenant}/v2.0`, `https://sso.example.nl/realms/gemeente`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The claim with the `role:where` values (a dotted path into nested claims).
    pub roles_claim: String,
    /// What the login page's button says (`Aanmelden met {label}`).
    pub label: String,
}

impl SsoConfig {
    /// `WIJKRADAR_OIDC_ISSUER`, `WIJKRADAR_OIDC_CLIENT_ID`, `WIJKRADAR_OIDC_CLIENT_SECRET` (or
    /// `WIJKRADAR_OIDC_CLIENT_SECRET_FILE`), optionally `WIJKRADAR_OIDC_ROLES_CLAIM` (default
    /// `roles`) and `WIJKRADAR_OIDC_LABEL`; `None` when no issuer is set.
    ///
    /// # Errors
    /// An issuer without a client id or secret, or a secret file that cannot be read.
    pub fn from_env() -> Result<Option<Self>, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let Some(issuer) = var("WIJKRADAR_OIDC_ISSUER") else {
            return Ok(None);
        };
        let client_id = var("WIJKRADAR_OIDC_CLIENT_ID")
            .ok_or("WIJKRADAR_OIDC_ISSUER is set but WIJKRADAR_OIDC_CLIENT_ID is not")?;
        let client_secret = match (
            var("WIJKRADAR_OIDC_CLIENT_SECRET"),
            var("WIJKRADAR_OIDC_CLIENT_SECRET_FILE"),
        ) {
            (Some(s), _) => s,
            (None, Some(f)) => std::fs::read_to_string(&f)
                .map_err(|e| format!("WIJKRADAR_OIDC_CLIENT_SECRET_FILE {f}: {e}"))?
                .trim()
                .to_string(),
            (None, None) => {
                return Err("WIJKRADAR_OIDC_ISSUER is set but neither WIJKRADAR_OIDC_CLIENT_SECRET nor WIJKRADAR_OIDC_CLIENT_SECRET_FILE is".into())
            }
        };
        Ok(Some(Self {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id,
            client_secret,
            roles_claim: var("WIJKRADAR_OIDC_ROLES_CLAIM").unwrap_or_else(|| "roles".into()),
            label: var("WIJKRADAR_OIDC_LABEL").unwrap_or_else(|| "single sign-on".into()),
        }))
    }
}

/// The value at a dotted `path` in `claims` (`realm_access.roles`).
fn at<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(claims, |v, k| v.get(k))
}

/// The `(role, gemeente)` pairs of the claim at `path`, sorted, each once; a region stands for
/// each of its gemeenten. Values that are not `role:where` with a known role and a gemeentecode
/// or region are skipped.
#[must_use]
pub fn grants(claims: &Value, path: &str, regions: &Regions) -> Vec<(Role, String)> {
    let values: Vec<&str> = match at(claims, path) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split([' ', ',']).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for v in values {
        let Some((role, place)) = v.trim().split_once(':') else {
            continue;
        };
        let Some(role) = Role::parse(role.trim()) else {
            continue;
        };
        let place = place.trim();
        if place.len() == 6
            && place.starts_with("GM")
            && place[2..].bytes().all(|b| b.is_ascii_digit())
        {
            out.push((role, place.to_string()));
        } else if let Some(r) = regions.get(&place.to_lowercase()) {
            out.extend(r.gemeenten.iter().map(|g| (role, g.clone())));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A user name for a first sign-in: `preferred_username`, else `email`, reduced to the
/// characters a name may hold; else `sso-` and the first hex digits of the subject's hash.
#[must_use]
pub fn user_name(claims: &Value, subject: &str) -> String {
    let pick = ["preferred_username", "email"]
        .iter()
        .filter_map(|k| claims.get(*k).and_then(Value::as_str))
        .map(|s| {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || ".-_@".contains(*c))
                .take(56)
                .collect::<String>()
        })
        .find(|s| s.len() >= 2);
    pick.unwrap_or_else(|| format!("sso-{}", &super::password::digest(subject)[..12]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_values_become_grants_and_other_values_are_ignored() {
        let c = json!({"roles": ["adviseur:GM0983", "Beheer.Alles", "wethouder:GM0392", "adviseur:GM0983", "beheerder:GM12", "spion:GM0983"]});
        let g = grants(&c, "roles", Regions::builtin());
        assert_eq!(
            g,
            vec![
                (Role::Adviseur, "GM0983".to_string()),
                (Role::Wethouder, "GM0392".to_string())
            ]
        );
    }

    #[test]
    fn a_region_stands_for_its_gemeenten_and_nested_claims_are_found() {
        let c = json!({"realm_access": {"roles": ["riec-analist:limburg"]}});
        let g = grants(&c, "realm_access.roles", Regions::builtin());
        let limburg = Regions::builtin().get("limburg").unwrap();
        assert_eq!(g.len(), limburg.gemeenten.len());
        assert!(g.contains(&(Role::RiecAnalist, "GM0983".to_string())));
        assert!(grants(&c, "roles", Regions::builtin()).is_empty());
    }

    #[test]
    fn a_name_comes_from_the_claims_or_the_subject() {
        assert_eq!(
            user_name(&json!({"preferred_username": "a.jansen@venlo.nl"}), "x"),
            "a.jansen@venlo.nl"
        );
        assert_eq!(
            user_name(&json!({"email": "Piet de Vries <p@x.nl>"}), "x"),
            "PietdeVriesp@x.nl"
        );
        let n = user_name(&json!({}), "abc");
        assert!(n.starts_with("sso-") && n.len() == 16, "{n}");
    }
}
