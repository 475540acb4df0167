//! Who may see what: roles per gemeente, the caller of a request ([`Principal`]), local
//! accounts and tokens ([`accounts`]), password hashing ([`password`]) and the tamper-evident
//! audit log ([`audit`]), single sign-on's claims ([`sso`]). The HTTP side (login, sessions, the checks on every route) is in
//! `api/auth.rs`.

pub mod accounts;
pub mod audit;
pub mod demo;
pub mod password;
pub mod sso;

use std::collections::BTreeSet;

/// A role, held in one or more gemeenten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Safety adviser: the map, areas and rankings of their gemeenten, the briefing.
    Adviseur,
    /// Alderman: the briefing and the map of their gemeente.
    Wethouder,
    /// RIEC analyst: read and export for the gemeenten of their region.
    RiecAnalist,
    /// Administrator: users, interventions, the audit log, and everything the others may.
    Beheerder,
}

impl Role {
    pub const ALL: [Self; 4] = [
        Self::Adviseur,
        Self::Wethouder,
        Self::RiecAnalist,
        Self::Beheerder,
    ];

    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Adviseur => "adviseur",
            Self::Wethouder => "wethouder",
            Self::RiecAnalist => "riec-analist",
            Self::Beheerder => "beheerder",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == s)
    }

    /// What this role may do.
    #[must_use]
    pub fn may(self, cap: Cap) -> bool {
        match cap {
            Cap::Read | Cap::Briefing => true,
            Cap::Export => matches!(self, Self::RiecAnalist | Self::Beheerder),
            Cap::Tokens => !matches!(self, Self::Wethouder),
            Cap::Manage | Cap::Audit => self == Self::Beheerder,
        }
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cap {
    /// Layers, areas, search, charts, index, ranking, periods, indicators, interventions.
    Read,
    /// The wethouder's briefing.
    Briefing,
    /// File exports.
    Export,
    /// Personal access tokens for QGIS and GDAL.
    Tokens,
    /// Recording interventions.
    Manage,
    /// Reading the audit log.
    Audit,
}

/// What a token may do beyond reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenScope {
    /// Read only (the OGC API, areas, charts).
    Lezen,
    /// Read and export.
    Export,
}

impl TokenScope {
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Lezen => "lezen",
            Self::Export => "export",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lezen" | "read" => Some(Self::Lezen),
            "export" => Some(Self::Export),
            _ => None,
        }
    }

    fn allows(self, cap: Cap) -> bool {
        match cap {
            Cap::Read | Cap::Briefing => true,
            Cap::Export => self == Self::Export,
            Cap::Tokens | Cap::Manage | Cap::Audit => false,
        }
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Session,
    /// A personal access token, by its public id.
    Token {
        id: String,
        scope: TokenScope,
    },
}

/// The caller of a request: a user with roles per gemeente, signed in with a session or a
/// token (a token narrows the user's gemeenten and rights).
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i32,
    pub name: String,
    /// `(role, gemeente)` pairs.
    pub grants: Vec<(Role, String)>,
    pub via: Via,
}

impl Principal {
    /// The gemeenten in which the caller may do `cap` (sorted).
    #[must_use]
    pub fn gemeenten(&self, cap: Cap) -> BTreeSet<String> {
        if let Via::Token { scope, .. } = &self.via {
            if !scope.allows(cap) {
                return BTreeSet::new();
            }
        }
        self.grants
            .iter()
            .filter(|(r, _)| r.may(cap))
            .map(|(_, g)| g.clone())
            .collect()
    }

    /// Whether the caller may do `cap` anywhere.
    #[must_use]
    pub fn may(&self, cap: Cap) -> bool {
        !self.gemeenten(cap).is_empty()
    }

    /// Whether the caller may do `cap` in `gemeente`.
    #[must_use]
    pub fn may_in(&self, cap: Cap, gemeente: &str) -> bool {
        self.gemeenten(cap).contains(gemeente)
    }

    /// Why the caller may not do `cap` at `path`, in words: the token's scope when the roles
    /// would allow it (so that an analyst knows to make an export token rather than ask for
    /// another role), else the roles.
    #[must_use]
    pub fn refusal(&self, cap: Cap, path: &str) -> String {
        let roles = self
            .roles()
            .iter()
            .map(|r| r.id())
            .collect::<Vec<_>>()
            .join(", ");
        match &self.via {
            Via::Token { scope, .. } if self.refused_by_token(cap) => {
                if cap == Cap::Export {
                    format!(
                        "Dit token (bereik {}) geeft geen toegang tot {path}; uw rol ({roles}) wel. Maak een token met bereik export (op /tokens.html).",
                        scope.id()
                    )
                } else {
                    format!(
                        "Een token geeft geen toegang tot {path}; uw rol ({roles}) wel, aangemeld in de browser."
                    )
                }
            }
            _ => format!("Uw rol ({roles}) geeft geen toegang tot {path}."),
        }
    }

    /// Whether `cap` is refused by the token's scope although a role would allow it.
    #[must_use]
    pub fn refused_by_token(&self, cap: Cap) -> bool {
        matches!(&self.via, Via::Token { scope, .. } if !scope.allows(cap))
            && self.grants.iter().any(|(r, _)| r.may(cap))
    }

    /// The roles held, each once.
    #[must_use]
    pub fn roles(&self) -> BTreeSet<Role> {
        self.grants.iter().map(|(r, _)| *r).collect()
    }

    /// How the audit log names the caller: the user, and the token when one was used.
    #[must_use]
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Session => self.name.clone(),
            Via::Token { id, .. } => format!("{} (token {id})", self.name),
        }
    }
}

/// The gemeenten a request may read: what handlers filter by. A sorted list, so that it can
/// be part of a cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope(pub Vec<String>);

impl Scope {
    /// The gemeenten in which `p` may do `cap`.
    #[must_use]
    pub fn of(p: &Principal, cap: Cap) -> Self {
        Self(p.gemeenten(cap).into_iter().collect())
    }

    #[must_use]
    pub fn sees(&self, gemeente: &str) -> bool {
        self.0
            .binary_search_by(|g| g.as_str().cmp(gemeente))
            .is_ok()
    }

    /// The part of a cache key that separates what callers with other gemeenten see.
    #[must_use]
    pub fn key(&self) -> String {
        self.0.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(grants: &[(Role, &str)], via: Via) -> Principal {
        Principal {
            user_id: 1,
            name: "x".into(),
            grants: grants.iter().map(|(r, g)| (*r, (*g).to_string())).collect(),
            via,
        }
    }

    #[test]
    fn a_refusal_names_the_token_scope_when_the_role_would_allow_it() {
        let token = |scope| Via::Token {
            id: "t".into(),
            scope,
        };
        let analist = p(&[(Role::RiecAnalist, "GM0392")], token(TokenScope::Lezen));
        assert_eq!(
            analist.refusal(Cap::Export, "/v1/exports"),
            "Dit token (bereik lezen) geeft geen toegang tot /v1/exports; uw rol (riec-analist) wel. Maak een token met bereik export (op /tokens.html)."
        );
        assert!(analist
            .refusal(Cap::Tokens, "/v1/tokens")
            .starts_with("Een token geeft geen toegang tot /v1/tokens"));
        let adviseur = p(&[(Role::Adviseur, "GM0983")], token(TokenScope::Export));
        assert_eq!(
            adviseur.refusal(Cap::Export, "/v1/exports"),
            "Uw rol (adviseur) geeft geen toegang tot /v1/exports."
        );
        let sessie = p(&[(Role::Wethouder, "GM0983")], Via::Session);
        assert_eq!(
            sessie.refusal(Cap::Tokens, "/v1/tokens"),
            "Uw rol (wethouder) geeft geen toegang tot /v1/tokens."
        );
    }

    #[test]
    fn roles_give_rights_per_gemeente() {
        let a = p(
            &[(Role::Adviseur, "GM0983"), (Role::RiecAnalist, "GM0392")],
            Via::Session,
        );
        assert!(a.may_in(Cap::Read, "GM0983") && a.may_in(Cap::Read, "GM0392"));
        assert!(!a.may_in(Cap::Export, "GM0983"));
        assert!(a.may_in(Cap::Export, "GM0392"));
        assert!(!a.may(Cap::Manage) && !a.may(Cap::Audit));
        let w = p(&[(Role::Wethouder, "GM0983")], Via::Session);
        assert!(w.may(Cap::Briefing) && !w.may(Cap::Tokens) && !w.may(Cap::Export));
        let b = p(&[(Role::Beheerder, "GM0983")], Via::Session);
        assert!(b.may_in(Cap::Manage, "GM0983") && !b.may_in(Cap::Manage, "GM0392"));
    }

    #[test]
    fn a_token_never_grants_more_than_its_scope() {
        let t = p(
            &[(Role::Beheerder, "GM0983")],
            Via::Token {
                id: "t".into(),
                scope: TokenScope::Lezen,
            },
        );
        assert!(t.may(Cap::Read));
        assert!(!t.may(Cap::Export) && !t.may(Cap::Manage) && !t.may(Cap::Tokens));
        let e = p(
            &[(Role::Adviseur, "GM0983")],
            Via::Token {
                id: "t".into(),
                scope: TokenScope::Export,
            },
        );
        assert!(
            !e.may(Cap::Export),
            "an export token of an adviser exports nothing"
        );
        let s = Scope::of(&e, Cap::Read);
        assert!(s.sees("GM0983") && !s.sees("GM0392"));
    }
}
