//! Step 0 of the flow: the indicator catalogue (what partners deliver, what is computed from
//! it) and the guard that refuses protected or proxy attributes.
//!
//! Size: about 540 lines of code, more than half the checks of a catalogue file (each names
//! file, entry and rule) and the list of refused attributes; the rest documentation and tests.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The catalogue shipped with Wijkradar (`data/indicators.toml`).
pub const DEFAULT_CATALOGUE: &str = include_str!("../data/indicators.toml");

/// Errors raised while loading a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue {file}: {message}")]
    Parse { file: String, message: String },
    #[error("catalogue {file}: {entry} uses the protected or proxy attribute '{term}' ({what}); Wijkradar refuses nationality, country of birth, migration background, ethnicity, religion, language and surname as indicators")]
    Protected {
        file: String,
        entry: String,
        term: String,
        what: String,
    },
    #[error("catalogue {file}: {entry}: {message}")]
    Invalid {
        file: String,
        entry: String,
        message: String,
    },
}

/// Column kinds a partner extract may carry besides the common columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// `J`/`N` (also `ja`/`nee`, `1`/`0`, `true`/`false`).
    Flag,
    /// A whole number.
    Int,
    /// A number; decimal comma or point.
    Number,
    /// One of a fixed list of values.
    Category,
}

/// One source-specific column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub values: Vec<String>,
}

/// A partner source: the shape of one kind of extract.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub id: String,
    pub partner: String,
    pub naam: String,
    /// Name of the date column (`datum` or `peildatum`).
    pub date: String,
    /// Columns whose combination must be unique (`id`, optionally the date).
    pub key: Vec<String>,
    pub columns: Vec<ColumnSpec>,
}

/// Which way an indicator points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    HigherIsWorse,
    LowerIsWorse,
}

impl Polarity {
    /// The name as stored and served (`higher_is_worse`, `lower_is_worse`).
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::HigherIsWorse => "higher_is_worse",
            Self::LowerIsWorse => "lower_is_worse",
        }
    }

    /// Reads a stored name (also the spelling of versions written before 2026-12).
    #[must_use]
    pub fn from_id(s: &str) -> Option<Self> {
        match s {
            "higher_is_worse" | "higherisworse" => Some(Self::HigherIsWorse),
            "lower_is_worse" | "lowerisworse" => Some(Self::LowerIsWorse),
            _ => None,
        }
    }

    /// +1 when a higher value means more pressure, −1 otherwise.
    #[must_use]
    pub fn sign(self) -> f64 {
        match self {
            Self::HigherIsWorse => 1.0,
            Self::LowerIsWorse => -1.0,
        }
    }
}

/// What a measure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CountKind {
    Rows,
    Addresses,
}

/// Address qualifies when `max(column) / matching rows < value`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AreaRule {
    pub column: String,
    pub value: f64,
}

/// A numerator or denominator as written in the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MeasureSpec {
    pub source: String,
    #[serde(default)]
    pub count: Option<CountKind>,
    #[serde(default)]
    pub sum: Option<String>,
    #[serde(default, rename = "where")]
    pub conditions: Vec<String>,
    #[serde(default)]
    pub min_per_address: Option<u32>,
    #[serde(default)]
    pub area_per_row_below: Option<AreaRule>,
}

/// What describes an indicator to people and to the index: the part of a catalogue entry
/// that is stored with every version and served (`dataset::IndicatorMeta` holds it too), so
/// that its fields are declared once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Description {
    pub id: String,
    pub naam: String,
    /// A short name for tables, rankings and chart labels (at most 32 characters); the
    /// full name when absent.
    #[serde(default)]
    pub kort: Option<String>,
    pub name_en: String,
    pub theme: String,
    pub legal_basis: String,
    pub unit: String,
    pub scale: f64,
    pub polarity: Polarity,
    pub min_denominator: f64,
    /// Reflects enforcement activity; weight 0 in the index by default.
    #[serde(default)]
    pub enforcement: bool,
}

impl Description {
    /// The short name, or the full one.
    #[must_use]
    pub fn short_name(&self) -> &str {
        self.kort.as_deref().unwrap_or(&self.naam)
    }

    /// +1 when higher means more pressure.
    #[must_use]
    pub fn sign(&self) -> f64 {
        self.polarity.sign()
    }
}

/// One published indicator: its description and how it is counted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Indicator {
    #[serde(flatten)]
    pub about: Description,
    pub numerator: MeasureSpec,
    pub denominator: MeasureSpec,
}

impl std::ops::Deref for Indicator {
    type Target = Description;

    fn deref(&self) -> &Description {
        &self.about
    }
}

impl Indicator {
    /// The partner sources this indicator reads.
    #[must_use]
    pub fn sources(&self) -> Vec<&str> {
        let mut s = vec![self.numerator.source.as_str()];
        if self.denominator.source != self.numerator.source {
            s.push(self.denominator.source.as_str());
        }
        s
    }

    /// A share: numerator and denominator count the same units of one source and the
    /// numerator is a subset of them (overcrowded addresses among addresses). A share close
    /// to 100 % tells something about every unit of an area.
    #[must_use]
    pub fn is_share(&self) -> bool {
        self.numerator.sum.is_none()
            && self.numerator.source == self.denominator.source
            && self.numerator.count == self.denominator.count
            && self.denominator.conditions.is_empty()
    }

    /// The rate is a mean (of a score or value), its count the number of units behind it.
    #[must_use]
    pub fn is_mean(&self) -> bool {
        self.numerator.sum.is_some()
    }
}

/// A theme with its default weight in the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Theme {
    pub id: String,
    pub naam: String,
    pub weight: f64,
}

/// The whole catalogue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalogue {
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    #[serde(rename = "indicator")]
    pub indicators: Vec<Indicator>,
    #[serde(rename = "theme")]
    pub themes: Vec<Theme>,
}

/// Columns every extract has; they locate and de-duplicate a row and are never stored.
pub const COMMON_COLUMNS: [&str; 6] = ["id", "postcode", "huisnummer", "toevoeging", "x", "y"];

/// Single-word protected or proxy attributes (Dutch and English), matched as whole words.
const PROTECTED_WORDS: &[(&str, &str)] = &[
    ("nationaliteit", "nationality"),
    ("nationaliteiten", "nationality"),
    ("nationality", "nationality"),
    ("nationalities", "nationality"),
    ("staatsburgerschap", "nationality"),
    ("citizenship", "nationality"),
    ("geboorteland", "country of birth"),
    ("geboortelanden", "country of birth"),
    ("herkomst", "migration background"),
    ("herkomstland", "migration background"),
    ("migratieachtergrond", "migration background"),
    ("migrantenachtergrond", "migration background"),
    ("allochtoon", "migration background"),
    ("allochtonen", "migration background"),
    ("autochtoon", "migration background"),
    ("etniciteit", "ethnicity"),
    ("etnisch", "ethnicity"),
    ("etnische", "ethnicity"),
    ("ethnicity", "ethnicity"),
    ("ethnic", "ethnicity"),
    ("ras", "ethnicity"),
    ("race", "ethnicity"),
    ("religie", "religion"),
    ("religion", "religion"),
    ("godsdienst", "religion"),
    ("geloof", "religion"),
    ("geloofsovertuiging", "religion"),
    ("taal", "language"),
    ("moedertaal", "language"),
    ("thuistaal", "language"),
    ("voertaal", "language"),
    ("language", "language"),
    ("achternaam", "surname"),
    ("familienaam", "surname"),
    ("geslachtsnaam", "surname"),
    ("surname", "surname"),
    ("lastname", "surname"),
];

/// Multi-word protected attributes, matched on the words joined by `_`.
const PROTECTED_PHRASES: &[(&str, &str)] = &[
    ("country_of_birth", "country of birth"),
    ("land_van_herkomst", "migration background"),
    ("land_van_geboorte", "country of birth"),
    ("migration_background", "migration background"),
    ("dubbele_nationaliteit", "nationality"),
    ("dual_nationality", "nationality"),
    ("last_name", "surname"),
    ("family_name", "surname"),
    ("mother_tongue", "language"),
];

/// Direct identifiers an extract must not carry at all.
const IDENTIFIER_WORDS: &[&str] = &[
    "bsn",
    "burgerservicenummer",
    "naam",
    "voornaam",
    "voornamen",
    "name",
    "firstname",
    "geboortedatum",
    "birthdate",
    "dob",
    "telefoon",
    "telefoonnummer",
    "email",
    "iban",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Returns `(term, attribute)` when `text` names a protected or proxy attribute.
#[must_use]
pub fn protected_term(text: &str) -> Option<(String, &'static str)> {
    let w = words(text);
    for word in &w {
        if let Some((t, what)) = PROTECTED_WORDS.iter().find(|(t, _)| t == word) {
            return Some(((*t).to_string(), what));
        }
    }
    let joined = format!("_{}_", w.join("_"));
    PROTECTED_PHRASES
        .iter()
        .find(|(p, _)| joined.contains(&format!("_{p}_")))
        .map(|(p, what)| ((*p).replace('_', " "), *what))
}

/// Returns the word when `column` is a direct personal identifier (name, BSN, birth date…).
#[must_use]
pub fn identifier_term(column: &str) -> Option<&'static str> {
    let w = words(column);
    IDENTIFIER_WORDS
        .iter()
        .copied()
        .find(|t| w.iter().any(|x| x == t))
}

impl Catalogue {
    /// Parses and checks the shipped catalogue.
    ///
    /// # Errors
    /// Never for the shipped file (a test guards it); see [`Catalogue::parse`].
    pub fn builtin() -> Result<Self, CatalogueError> {
        Self::parse(DEFAULT_CATALOGUE, "data/indicators.toml")
    }

    /// Loads a catalogue file.
    ///
    /// # Errors
    /// When the file cannot be read, parsed, or holds a refused entry.
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogueError::Parse {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &file)
    }

    /// Parses catalogue text; `file` names it in errors.
    ///
    /// # Errors
    /// On TOML errors, protected attributes, or references to unknown sources and columns.
    pub fn parse(text: &str, file: &str) -> Result<Self, CatalogueError> {
        let cat: Self = toml::from_str(text).map_err(|e| CatalogueError::Parse {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        cat.check(file)?;
        Ok(cat)
    }

    fn check(&self, file: &str) -> Result<(), CatalogueError> {
        let protected = |entry: String, text: &str| -> Result<(), CatalogueError> {
            match protected_term(text) {
                Some((term, what)) => Err(CatalogueError::Protected {
                    file: file.to_string(),
                    entry,
                    term,
                    what: what.to_string(),
                }),
                None => Ok(()),
            }
        };
        let invalid = |entry: &str, message: String| CatalogueError::Invalid {
            file: file.to_string(),
            entry: entry.to_string(),
            message,
        };
        for s in &self.sources {
            for c in &s.columns {
                protected(format!("source '{}' column '{}'", s.id, c.name), &c.name)?;
                if c.ty == ColumnType::Category && c.values.is_empty() {
                    return Err(invalid(
                        &format!("source '{}'", s.id),
                        format!("category column '{}' lists no values", c.name),
                    ));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for ind in &self.indicators {
            let entry = format!("indicator '{}'", ind.id);
            if !seen.insert(ind.id.as_str()) {
                return Err(invalid(&entry, "id appears twice".into()));
            }
            protected(entry.clone(), &ind.id)?;
            protected(entry.clone(), &ind.naam)?;
            protected(entry.clone(), &ind.name_en)?;
            if let Some(k) = &ind.kort {
                protected(entry.clone(), k)?;
                if k.trim().is_empty() || k.chars().count() > 32 {
                    return Err(invalid(
                        &entry,
                        format!("kort '{k}' must have 1 to 32 characters"),
                    ));
                }
            }
            if !self.themes.iter().any(|t| t.id == ind.theme) {
                return Err(invalid(&entry, format!("unknown theme '{}'", ind.theme)));
            }
            if ind.scale.is_nan() || ind.scale <= 0.0 {
                return Err(invalid(&entry, "scale must be positive".into()));
            }
            for m in [&ind.numerator, &ind.denominator] {
                for c in &m.conditions {
                    protected(entry.clone(), c)?;
                }
                if let Some(col) = &m.sum {
                    protected(entry.clone(), col)?;
                }
                self.compile_measure(m)
                    .map_err(|msg| invalid(&entry, msg))?;
            }
        }
        Ok(())
    }

    /// The source with this id.
    #[must_use]
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The indicator with this id.
    #[must_use]
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|s| s.id == id)
    }

    /// Turns a measure as written into its executable form.
    ///
    /// # Errors
    /// A message naming the unknown source, column, category value or operator.
    pub fn compile_measure(&self, m: &MeasureSpec) -> Result<Measure, String> {
        let source = self
            .sources
            .iter()
            .position(|s| s.id == m.source)
            .ok_or_else(|| format!("unknown source '{}'", m.source))?;
        let src = &self.sources[source];
        let col = |name: &str| -> Result<usize, String> {
            src.columns
                .iter()
                .position(|c| c.name == name)
                .ok_or_else(|| format!("source '{}' has no column '{name}'", src.id))
        };
        let mut conditions = Vec::new();
        for text in &m.conditions {
            conditions.push(parse_condition(text, src, &col)?);
        }
        let value = match (&m.sum, m.count) {
            (Some(c), None) => RowValue::Sum(col(c)?),
            (None, Some(_) | None) => RowValue::One,
            (Some(_), Some(_)) => {
                return Err("a measure has either `count` or `sum`, not both".into())
            }
        };
        let per_address = match m.count {
            Some(CountKind::Addresses) => Some(match &m.area_per_row_below {
                Some(rule) => AddressRule::AreaPerRowBelow {
                    column: col(&rule.column)?,
                    value: rule.value,
                },
                None => AddressRule::MinRows(f64::from(m.min_per_address.unwrap_or(1))),
            }),
            _ => None,
        };
        Ok(Measure {
            source,
            conditions,
            value,
            per_address,
        })
    }
}

/// A comparison operator in a `where` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A compiled condition on one column of a source.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `column op value`; flags compare as 1/0, categories by index.
    Compare { column: usize, op: Op, value: f64 },
    /// Category column value is one of a set (bit mask over the category index).
    In { column: usize, mask: u64 },
}

impl Condition {
    /// Evaluates the condition on a row's source columns.
    #[must_use]
    #[inline]
    pub fn holds(&self, values: &[f64]) -> bool {
        match *self {
            Self::Compare { column, op, value } => {
                let v = values[column];
                match op {
                    Op::Eq => v == value,
                    Op::Ne => v != value,
                    Op::Lt => v < value,
                    Op::Le => v <= value,
                    Op::Gt => v > value,
                    Op::Ge => v >= value,
                }
            }
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "category index"
            )]
            Self::In { column, mask } => mask & (1u64 << (values[column] as u64)) != 0,
        }
    }
}

/// What a matching row adds to a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowValue {
    One,
    Sum(usize),
}

/// How an address-level measure decides that an address counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddressRule {
    MinRows(f64),
    AreaPerRowBelow { column: usize, value: f64 },
}

/// A measure in executable form.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// Index of the source in the catalogue.
    pub source: usize,
    pub conditions: Vec<Condition>,
    pub value: RowValue,
    /// `Some` for `count = "addresses"`.
    pub per_address: Option<AddressRule>,
}

/// Parses a category or flag value to the number rows carry for it.
fn category_value(spec: &ColumnSpec, raw: &str) -> Result<f64, String> {
    match spec.ty {
        ColumnType::Flag => parse_flag(raw)
            .map(|b| if b { 1.0 } else { 0.0 })
            .ok_or_else(|| format!("'{raw}' is not J or N")),
        ColumnType::Category => spec
            .values
            .iter()
            .position(|v| v == raw)
            .map(|i| i as f64)
            .ok_or_else(|| {
                format!(
                    "'{raw}' is not one of {:?} for column '{}'",
                    spec.values, spec.name
                )
            }),
        ColumnType::Int | ColumnType::Number => raw
            .replace(',', ".")
            .parse::<f64>()
            .map_err(|_| format!("'{raw}' is not a number")),
    }
}

/// Parses a J/N flag as Dutch partners write it.
#[must_use]
pub fn parse_flag(raw: &str) -> Option<bool> {
    match raw.trim() {
        "J" | "j" | "Ja" | "ja" | "JA" | "1" | "true" | "TRUE" | "Y" | "y" => Some(true),
        "N" | "n" | "Nee" | "nee" | "NEE" | "0" | "false" | "FALSE" => Some(false),
        _ => None,
    }
}

fn parse_condition(
    text: &str,
    src: &Source,
    col: &dyn Fn(&str) -> Result<usize, String>,
) -> Result<Condition, String> {
    if let Some((name, set)) = text.split_once(" in ") {
        let column = col(name.trim())?;
        let spec = &src.columns[column];
        if spec.ty != ColumnType::Category {
            return Err(format!("condition '{text}': 'in' needs a category column"));
        }
        let mut mask = 0u64;
        for v in set.split('|') {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "category index < 64"
            )]
            let i = category_value(spec, v.trim())? as u64;
            mask |= 1 << i;
        }
        return Ok(Condition::In { column, mask });
    }
    for (sym, op) in [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ] {
        if let Some((name, raw)) = text.split_once(sym) {
            let column = col(name.trim())?;
            let value = category_value(&src.columns[column], raw.trim())
                .map_err(|e| format!("condition '{text}': {e}"))?;
            return Ok(Condition::Compare { column, op, value });
        }
    }
    Err(format!(
        "condition '{text}' has no operator (=, !=, <, <=, >, >=, in)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_loads_with_enough_indicators_and_sources() {
        let c = Catalogue::builtin().unwrap();
        assert!(
            c.indicators.len() >= 12,
            "{} indicators",
            c.indicators.len()
        );
        let mut partners: Vec<&str> = c.sources.iter().map(|s| s.partner.as_str()).collect();
        partners.sort_unstable();
        partners.dedup();
        assert!(partners.len() >= 6);
        assert!((c.themes.iter().map(|t| t.weight).sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn protected_terms_are_found_in_dutch_and_english() {
        for (text, what) in [
            ("nationaliteit", "nationality"),
            ("Aandeel met dubbele nationaliteit", "nationality"),
            ("country_of_birth", "country of birth"),
            ("geboorteland_moeder", "country of birth"),
            ("Migratieachtergrond", "migration background"),
            ("ethnicity", "ethnicity"),
            ("religie", "religion"),
            ("thuistaal", "language"),
            ("achternaam", "surname"),
            ("Last name", "surname"),
        ] {
            assert_eq!(protected_term(text).map(|(_, w)| w), Some(what), "{text}");
        }
        for text in [
            "totaal",
            "woninginbraak",
            "Huisvesting en arbeidsmigratie",
            "tevredenheid",
        ] {
            assert_eq!(protected_term(text), None, "{text}");
        }
    }

    #[test]
    fn catalogue_refuses_protected_indicator_and_names_it() {
        let text = DEFAULT_CATALOGUE.replace(
            "naam = \"Geweldsincidenten per 1000 inwoners\"",
            "naam = \"Geweldsincidenten naar nationaliteit\"",
        );
        let err = Catalogue::parse(&text, "test.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("indicator 'geweld'"), "{err}");
        assert!(err.contains("nationality"), "{err}");
        assert!(err.contains("test.toml"), "{err}");
    }

    #[test]
    fn catalogue_refuses_protected_source_column() {
        let text = DEFAULT_CATALOGUE.replace(
            "{ name = \"volwassene\", type = \"flag\" },",
            "{ name = \"volwassene\", type = \"flag\" },\n  { name = \"geboorteland\", type = \"category\", values = [\"NL\"] },",
        );
        let err = Catalogue::parse(&text, "x.toml").unwrap_err().to_string();
        assert!(err.contains("source 'brp' column 'geboorteland'"), "{err}");
    }

    #[test]
    fn unknown_column_in_condition_is_an_error() {
        let text = DEFAULT_CATALOGUE.replace(
            "where = [\"huurachterstand = J\"]",
            "where = [\"achterstand = J\"]",
        );
        let err = Catalogue::parse(&text, "x.toml").unwrap_err().to_string();
        assert!(
            err.contains("indicator 'huurachterstand'") && err.contains("no column 'achterstand'"),
            "{err}"
        );
    }

    #[test]
    fn conditions_evaluate() {
        let c = Catalogue::builtin().unwrap();
        let ind = c.indicator("overlast").unwrap();
        let m = c.compile_measure(&ind.numerator).unwrap();
        // politie categories: woonoverlast=0, drugsoverlast=1, jeugdoverlast=2, woninginbraak=3
        assert!(m.conditions[0].holds(&[1.0]));
        assert!(!m.conditions[0].holds(&[3.0]));
        let e = c.indicator("eigendomsconcentratie").unwrap();
        let m = c.compile_measure(&e.numerator).unwrap();
        let row = [1.0, 12.0, 250_000.0];
        assert!(m.conditions.iter().all(|cond| cond.holds(&row)));
        let row = [1.0, 3.0, 250_000.0];
        assert!(!m.conditions.iter().all(|cond| cond.holds(&row)));
    }
}
