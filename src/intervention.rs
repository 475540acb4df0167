//! LSI projects (interventions): validating and recording them (through the store's
//! copy-on-write transaction), reading them back, and their measured effect by difference
//! in differences against comparable areas. Shared by the CLI and the API; bad input is
//! [`InterventionError::Invalid`] (a 400), a database failure [`InterventionError::Db`] (a 500).

use crate::dataset::Dataset;
use crate::period::{parse_date, parse_period, quarter_index};
use crate::score::{unit_score, Scope, ScoreError};
use crate::spatial::Level;
use serde::Serialize;
use std::path::Path;

/// Errors of recording or evaluating an intervention.
#[derive(Debug, thiserror::Error)]
pub enum InterventionError {
    /// The request is wrong (Dutch, shown to the user).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] duckdb::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Score(#[from] ScoreError),
}

/// A validated new intervention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntervention {
    pub naam: String,
    pub level: Level,
    pub codes: Vec<String>,
    /// `jjjj-mm-dd`
    pub start_date: String,
    /// `jjjj-mm-dd`
    pub end_date: String,
    /// The indicators the project aims at (ids from the catalogue); its effect is measured
    /// on these, besides the index.
    pub targets: Vec<String>,
}

impl NewIntervention {
    /// Checks name, areas, dates (`jjjj-mm-dd` or `dd-mm-jjjj`, start not after end) and
    /// target indicators (each one of `known`, at most five, no repeats).
    ///
    /// # Errors
    /// [`InterventionError::Invalid`] naming what is wrong.
    pub fn new(
        naam: &str,
        level: Level,
        codes: &[String],
        (start, end): (&str, &str),
        targets: &[String],
        known: &[&str],
    ) -> Result<Self, InterventionError> {
        let invalid = |m: &str| InterventionError::Invalid(m.to_string());
        let s = parse_date(start.as_bytes())
            .ok_or_else(|| invalid("startdatum is geen datum (jjjj-mm-dd)"))?;
        let e = parse_date(end.as_bytes())
            .ok_or_else(|| invalid("einddatum is geen datum (jjjj-mm-dd)"))?;
        if s > e {
            return Err(invalid("de einddatum ligt voor de startdatum"));
        }
        if codes.is_empty() {
            return Err(invalid("geen gebieden opgegeven"));
        }
        if naam.trim().is_empty() {
            return Err(invalid("geen naam opgegeven"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in targets {
            if !known.contains(&t.as_str()) {
                return Err(InterventionError::Invalid(format!(
                    "doelindicator '{}' bestaat niet (kies uit: {})",
                    t.chars().take(40).collect::<String>(),
                    known.join(", ")
                )));
            }
            if !seen.insert(t.as_str()) {
                return Err(InterventionError::Invalid(format!(
                    "doelindicator '{t}' staat er twee keer in"
                )));
            }
        }
        if targets.len() > 5 {
            return Err(invalid("hoogstens vijf doelindicatoren"));
        }
        Ok(Self {
            naam: naam.trim().to_string(),
            level,
            codes: codes.to_vec(),
            start_date: format!("{:04}-{:02}-{:02}", s.0, s.1, s.2),
            end_date: format!("{:04}-{:02}-{:02}", e.0, e.1, e.2),
            targets: targets.to_vec(),
        })
    }
}

/// Records a validated intervention (copy-on-write write, safe while a server runs).
///
/// # Errors
/// Database errors ([`InterventionError::Store`], busy included).
pub fn add_intervention(db: &Path, iv: &NewIntervention) -> Result<i32, InterventionError> {
    let id = crate::store::insert_intervention(
        db,
        crate::store::InterventionRow {
            naam: &iv.naam,
            level: iv.level.id(),
            codes: &iv.codes,
            start_date: &iv.start_date,
            end_date: &iv.end_date,
            targets: &iv.targets,
        },
    )?;
    Ok(id)
}

/// A recorded LSI project.
#[derive(Debug, Clone, Serialize)]
pub struct Intervention {
    pub id: i32,
    pub naam: String,
    pub level: String,
    pub codes: Vec<String>,
    pub start_date: String,
    pub end_date: String,
    /// The indicators the project aims at.
    pub targets: Vec<String>,
}

impl Intervention {
    /// The gemeenten of the project's areas (one, for a project made through the API).
    #[must_use]
    pub fn gemeenten(&self, ds: &Dataset) -> std::collections::BTreeSet<String> {
        let level = crate::spatial::Level::from_id(&self.level);
        self.codes
            .iter()
            .filter_map(|c| level.and_then(|l| ds.unit(l, c)))
            .map(|u| ds.units[u].gemeente.clone())
            .collect()
    }
}

/// Reads the recorded interventions.
///
/// # Errors
/// [`InterventionError::Db`].
pub fn interventions(ds: &Dataset) -> Result<Vec<Intervention>, InterventionError> {
    let list = |s: String| -> Vec<String> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    ds.with_conn(|c| {
        // A database written before projects had targets has no such column until its next write.
        let has_targets: bool = c.query_row(
            "SELECT count(*) > 0 FROM information_schema.columns WHERE table_name = 'intervention' AND column_name = 'targets'",
            [],
            |r| r.get(0),
        )?;
        let sql = if has_targets {
            "SELECT id, naam, level, codes, CAST(start_date AS VARCHAR), CAST(end_date AS VARCHAR), coalesce(targets, '') FROM intervention ORDER BY id"
        } else {
            "SELECT id, naam, level, codes, CAST(start_date AS VARCHAR), CAST(end_date AS VARCHAR), '' FROM intervention ORDER BY id"
        };
        let mut st = c.prepare(sql)?;
        let rows = st.query_map([], |r| {
            Ok(Intervention {
                id: r.get(0)?,
                naam: r.get(1)?,
                level: r.get(2)?,
                codes: list(r.get(3)?),
                start_date: r.get(4)?,
                end_date: r.get(5)?,
                targets: list(r.get(6)?),
            })
        })?;
        rows.collect()
    })
    .map_err(InterventionError::Db)
}

/// The plain verdict on one outcome, for the wethouder: only an interval that excludes
/// zero counts as a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Verbeterd,
    NietAantoonbaar,
    Verslechterd,
}

impl Verdict {
    /// From the effect's 95 % interval and whether a higher value means more pressure.
    #[must_use]
    pub fn of(low: f64, high: f64, higher_is_worse: bool) -> Self {
        // The same reading of an interval as the change map's.
        match crate::trend::Direction::of(low, high, higher_is_worse) {
            crate::trend::Direction::MinderDruk => Self::Verbeterd,
            crate::trend::Direction::MeerDruk => Self::Verslechterd,
            _ => Self::NietAantoonbaar,
        }
    }

    /// The words shown to people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Verbeterd => "aantoonbaar verbeterd",
            Self::NietAantoonbaar => "niet aantoonbaar veranderd",
            Self::Verslechterd => "aantoonbaar verslechterd",
        }
    }
}

/// A difference-in-differences estimate.
#[derive(Debug, Clone, Serialize)]
pub struct DiD {
    /// `index` or an indicator id.
    pub outcome: String,
    /// Its name and unit, for people.
    pub naam: String,
    pub unit: String,
    /// One of the project's own target indicators.
    pub target: bool,
    pub verdict: Verdict,
    pub verdict_label: &'static str,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub treated_before: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub treated_after: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub control_before: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub control_after: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub effect: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub se: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub low: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub high: f64,
    pub n_treated: usize,
    pub n_control: usize,
}

/// Quarters before the start that form the baseline: the situation the project started
/// from, not the average of a longer past (an area whose pressure rose until the start would
/// otherwise look worse after any project that merely stopped the rise).
pub const BASELINE_QUARTERS: usize = 2;

/// Difference in differences from per-unit series split at `start` (first period after):
/// the mean of the [`BASELINE_QUARTERS`] quarters before `start` against the mean of the
/// quarters from `start` on. `treated[u][t]` and `control[u][t]` are values per period
/// (`None` = missing). The standard error uses the spread of the units' own changes.
#[must_use]
pub fn diff_in_diff(
    outcome: &str,
    treated: &[Vec<Option<f64>>],
    control: &[Vec<Option<f64>>],
    start: usize,
) -> Option<DiD> {
    let from = start.saturating_sub(BASELINE_QUARTERS);
    fn mean(v: &[f64]) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let n = v.len() as f64;
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / n)
    }
    let split = |s: &Vec<Option<f64>>| -> Option<(f64, f64)> {
        let before: Vec<f64> = s[from.min(s.len())..start.min(s.len())]
            .iter()
            .flatten()
            .copied()
            .collect();
        let after: Vec<f64> = s.iter().skip(start).flatten().copied().collect();
        Some((mean(&before)?, mean(&after)?))
    };
    let t: Vec<(f64, f64)> = treated.iter().filter_map(split).collect();
    let c: Vec<(f64, f64)> = control.iter().filter_map(split).collect();
    if t.is_empty() || c.is_empty() {
        return None;
    }
    let d_t: Vec<f64> = t.iter().map(|(b, a)| a - b).collect();
    let d_c: Vec<f64> = c.iter().map(|(b, a)| a - b).collect();
    let effect = mean(&d_t)? - mean(&d_c)?;
    let var_of = |v: &[f64]| -> Option<f64> {
        if v.len() < 2 {
            return None;
        }
        let m = mean(v)?;
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let n = v.len() as f64;
        Some(v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0))
    };
    // With one treated unit its own variance is unknown: use the controls' for both groups.
    let vc = var_of(&d_c).unwrap_or(0.0);
    let vt = var_of(&d_t).unwrap_or(vc);
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let se = (vt / t.len() as f64 + vc / c.len() as f64).sqrt();
    let (low, high) = (effect - 1.96 * se, effect + 1.96 * se);
    // Filled in by the caller, who knows the outcome's polarity.
    let verdict = Verdict::of(low, high, true);
    Some(DiD {
        outcome: outcome.to_string(),
        naam: String::new(),
        unit: String::new(),
        target: false,
        verdict,
        verdict_label: verdict.label(),
        treated_before: mean(&t.iter().map(|x| x.0).collect::<Vec<_>>())?,
        treated_after: mean(&t.iter().map(|x| x.1).collect::<Vec<_>>())?,
        control_before: mean(&c.iter().map(|x| x.0).collect::<Vec<_>>())?,
        control_after: mean(&c.iter().map(|x| x.1).collect::<Vec<_>>())?,
        effect,
        se,
        low,
        high,
        n_treated: t.len(),
        n_control: c.len(),
    })
}

/// The effect of an intervention on its target indicators, the index and perceived safety.
#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    pub intervention: Intervention,
    pub start_period: String,
    /// Names of the comparison areas.
    pub controls: Vec<String>,
    /// Their codes (same level as the project), to show them on the map.
    pub control_codes: Vec<String>,
    /// Target indicators first, then the index, then perceived safety.
    pub outcomes: Vec<DiD>,
    /// The headline: the verdict on the first target indicator with a measurement (else
    /// on the index), and which outcome it is about.
    pub verdict: Option<Verdict>,
    pub verdict_label: Option<&'static str>,
    pub verdict_outcome: Option<String>,
}

/// Difference in differences for an intervention: its areas against the most comparable
/// areas without a project (nearest mean index before the start, same level and gemeente).
///
/// # Errors
/// Scores or database errors; `Ok(None)` when the data has no periods before or after.
pub fn effect(ds: &Dataset, iv: &Intervention) -> Result<Option<Effect>, InterventionError> {
    let Some(level) = Level::from_id(&iv.level) else {
        return Ok(None);
    };
    let Some((y, m, _)) = parse_date(iv.start_date.as_bytes()) else {
        return Ok(None);
    };
    let start_q = quarter_index(y, m);
    let start = ds
        .periods
        .iter()
        .position(|p| parse_period(p).is_some_and(|q| q >= start_q));
    let Some(start) = start.filter(|&s| s > 0) else {
        return Ok(None);
    };
    let treated: Vec<usize> = iv.codes.iter().filter_map(|c| ds.unit(level, c)).collect();
    if treated.is_empty() {
        return Ok(None);
    }
    let gemeente = ds.units[treated[0]].gemeente.clone();
    let series = |u: usize,
                  f: &dyn Fn(usize) -> Result<Option<f64>, InterventionError>|
     -> Result<Vec<Option<f64>>, InterventionError> {
        let _ = u;
        (0..ds.periods.len()).map(f).collect()
    };
    let index_series = |u: usize| {
        series(u, &|p| {
            Ok(unit_score(ds, u, p, Scope::default())
                .map_err(InterventionError::from)?
                .map(|s| s.index))
        })
    };
    let rate_series = |u: usize, j: usize| {
        series(u, &|p| {
            Ok(ds.fig(u, j, p).map_err(InterventionError::Db)?.rate)
        })
    };
    // Comparable areas: same level and gemeente, no project, nearest pre-period mean index.
    let mean_before = |s: &[Option<f64>]| -> Option<f64> {
        let v: Vec<f64> = s.iter().take(start).flatten().copied().collect();
        #[expect(clippy::cast_precision_loss, reason = "small")]
        let n = v.len() as f64;
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / n)
    };
    let t_index: Vec<Vec<Option<f64>>> = treated
        .iter()
        .map(|&u| index_series(u))
        .collect::<Result<_, _>>()?;
    let t_mean = mean_before(
        &t_index
            .iter()
            .flat_map(|s| s.iter().take(start).copied())
            .collect::<Vec<_>>(),
    )
    .unwrap_or(0.0);
    let all_ivs = interventions(ds)?;
    let in_project: std::collections::HashSet<&str> = all_ivs
        .iter()
        .filter(|i| i.level == iv.level)
        .flat_map(|i| i.codes.iter().map(String::as_str))
        .collect();
    let mut candidates: Vec<(f64, usize, Vec<Option<f64>>)> = Vec::new();
    for &u in ds.level_units(level) {
        let unit = &ds.units[u];
        if unit.gemeente != gemeente || in_project.contains(unit.code.as_str()) {
            continue;
        }
        let s = index_series(u)?;
        if let Some(m) = mean_before(&s) {
            candidates.push(((m - t_mean).abs(), u, s));
        }
    }
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    candidates.truncate(8);
    let c_index: Vec<Vec<Option<f64>>> = candidates.iter().map(|c| c.2.clone()).collect();
    let c_units: Vec<usize> = candidates.iter().map(|c| c.1).collect();
    let mut outcomes = Vec::new();
    // The project's own targets, then the index, then perceived safety (unless a target).
    let targets: Vec<usize> = iv
        .targets
        .iter()
        .filter_map(|t| ds.indicator_index(t))
        .collect();
    let safety = ds
        .indicator_index("veiligheidsbeleving")
        .filter(|j| !targets.contains(j));
    let with_meta = |mut d: DiD, naam: &str, unit: &str, target: bool, higher_is_worse: bool| {
        d.naam = naam.to_string();
        d.unit = unit.to_string();
        d.target = target;
        d.verdict = Verdict::of(d.low, d.high, higher_is_worse);
        d.verdict_label = d.verdict.label();
        d
    };
    let measure = |j: usize, target: bool| -> Result<Option<DiD>, InterventionError> {
        let m = &ds.indicators[j];
        let t: Vec<Vec<Option<f64>>> = treated
            .iter()
            .map(|&u| rate_series(u, j))
            .collect::<Result<_, _>>()?;
        let c: Vec<Vec<Option<f64>>> = c_units
            .iter()
            .map(|&u| rate_series(u, j))
            .collect::<Result<_, _>>()?;
        let hiw = m.polarity == crate::catalogue::Polarity::HigherIsWorse;
        Ok(diff_in_diff(&m.id, &t, &c, start).map(|d| with_meta(d, &m.naam, &m.unit, target, hiw)))
    };
    for &j in &targets {
        outcomes.extend(measure(j, true)?);
    }
    if let Some(d) = diff_in_diff("index", &t_index, &c_index, start) {
        outcomes.push(with_meta(
            d,
            "Drukindex",
            "standaardafwijkingen",
            false,
            true,
        ));
    }
    if let Some(j) = safety {
        outcomes.extend(measure(j, false)?);
    }
    let headline = outcomes
        .iter()
        .find(|o| o.target)
        .or_else(|| outcomes.iter().find(|o| o.outcome == "index"));
    Ok(Some(Effect {
        intervention: iv.clone(),
        start_period: ds.periods[start].clone(),
        controls: c_units
            .iter()
            .map(|&u| {
                ds.units[u]
                    .naam
                    .clone()
                    .unwrap_or_else(|| ds.units[u].code.clone())
            })
            .collect(),
        control_codes: c_units.iter().map(|&u| ds.units[u].code.clone()).collect(),
        verdict: headline.map(|o| o.verdict),
        verdict_label: headline.map(|o| o.verdict_label),
        verdict_outcome: headline.map(|o| o.naam.clone()),
        outcomes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_known_answer() {
        // Treated: 10 → 7 (−3). Controls: 10 → 9 and 8 → 7 (−1 each). Effect −2, se 0 spread.
        let t = vec![vec![Some(10.0), Some(10.0), Some(7.0), Some(7.0)]];
        let c = vec![
            vec![Some(10.0), Some(10.0), Some(9.0), Some(9.0)],
            vec![Some(8.0), Some(8.0), Some(7.0), Some(7.0)],
        ];
        let d = diff_in_diff("x", &t, &c, 2).unwrap();
        assert!((d.effect + 2.0).abs() < 1e-12);
        assert!(d.se.abs() < 1e-12);
        // Controls whose changes differ give a positive se and an interval around the effect.
        let c2 = vec![
            vec![Some(10.0), Some(9.0)],
            vec![Some(8.0), Some(9.0)],
            vec![Some(5.0), Some(5.0)],
        ];
        let t2 = vec![vec![Some(10.0), Some(6.0)]];
        let d2 = diff_in_diff("x", &t2, &c2, 1).unwrap();
        assert!((d2.effect + 4.0).abs() < 1e-12);
        // Control changes −1, 1, 0: variance 1, used for the single treated unit too.
        assert!(
            (d2.se - (1.0f64 + 1.0 / 3.0).sqrt()).abs() < 1e-12,
            "{}",
            d2.se
        );
        assert!(d2.low < d2.effect && d2.high > d2.effect);
    }

    #[test]
    fn baseline_is_the_quarters_just_before_the_start() {
        // Pressure rose 5, 5, 10, 20 and the project brought it to 12, 12: against the two
        // quarters before the start (15) that is −3; against all four (10) it would be +2.
        let t = vec![vec![
            Some(5.0),
            Some(5.0),
            Some(10.0),
            Some(20.0),
            Some(12.0),
            Some(12.0),
        ]];
        let c = vec![vec![Some(5.0); 6], vec![Some(7.0); 6]];
        let d = diff_in_diff("x", &t, &c, 4).unwrap();
        assert!(
            (d.treated_before - 15.0).abs() < 1e-12,
            "{}",
            d.treated_before
        );
        assert!((d.effect + 3.0).abs() < 1e-12, "{}", d.effect);
    }

    #[test]
    fn verdict_follows_polarity_and_the_interval() {
        // Overlast (higher is worse) falls clearly: improved; the same fall in perceived
        // safety (lower is worse) is a worsening; an interval across zero is no verdict.
        assert_eq!(Verdict::of(-3.0, -0.5, true), Verdict::Verbeterd);
        assert_eq!(Verdict::of(-3.0, -0.5, false), Verdict::Verslechterd);
        assert_eq!(Verdict::of(0.2, 1.0, true), Verdict::Verslechterd);
        assert_eq!(Verdict::of(0.2, 1.0, false), Verdict::Verbeterd);
        assert_eq!(Verdict::of(-1.0, 0.5, true), Verdict::NietAantoonbaar);
        assert_eq!(Verdict::of(-1.0, 0.5, false), Verdict::NietAantoonbaar);
        assert_eq!(
            Verdict::NietAantoonbaar.label(),
            "niet aantoonbaar veranderd"
        );
    }

    #[test]
    fn bad_input_is_invalid_not_a_database_error() {
        let codes = vec!["WK098325".to_string()];
        for (start, end, naam, codes) in [
            ("2025-13-01", "2025-12-31", "x", &codes[..]),
            ("2025-01-01", "nooit", "x", &codes[..]),
            ("2025-12-31", "2025-01-01", "x", &codes[..]),
            ("2025-01-01", "2025-12-31", " ", &codes[..]),
            ("2025-01-01", "2025-12-31", "x", &[][..]),
        ] {
            let e =
                NewIntervention::new(naam, Level::Wijk, codes, (start, end), &[], &[]).unwrap_err();
            assert!(matches!(e, InterventionError::Invalid(_)), "{e}");
        }
        let known = ["overlast", "schulden"];
        for targets in [
            &["onbekend".to_string()][..],
            &["overlast".to_string(), "overlast".to_string()][..],
        ] {
            let e = NewIntervention::new(
                "x",
                Level::Wijk,
                &codes,
                ("2025-01-01", "2025-12-31"),
                targets,
                &known,
            )
            .unwrap_err();
            assert!(matches!(e, InterventionError::Invalid(_)), "{e}");
        }
        let ok = NewIntervention::new(
            " LSI ",
            Level::Wijk,
            &codes,
            ("1-3-2025", "2025-12-31"),
            &["overlast".to_string()],
            &known,
        )
        .unwrap();
        assert_eq!(ok.targets, ["overlast"]);
        assert_eq!(
            (ok.naam.as_str(), ok.start_date.as_str()),
            ("LSI", "2025-03-01")
        );
    }
}
