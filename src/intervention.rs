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
}

impl NewIntervention {
    /// Checks name, areas and dates (`jjjj-mm-dd` or `dd-mm-jjjj`, start not after end).
    ///
    /// # Errors
    /// [`InterventionError::Invalid`] naming what is wrong.
    pub fn new(
        naam: &str,
        level: Level,
        codes: &[String],
        start: &str,
        end: &str,
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
        Ok(Self {
            naam: naam.trim().to_string(),
            level,
            codes: codes.to_vec(),
            start_date: format!("{:04}-{:02}-{:02}", s.0, s.1, s.2),
            end_date: format!("{:04}-{:02}-{:02}", e.0, e.1, e.2),
        })
    }
}

/// Records an intervention (copy-on-write write, safe while a server runs).
///
/// # Errors
/// Bad input ([`InterventionError::Invalid`]) or database errors.
pub fn add_intervention(
    db: &Path,
    naam: &str,
    level: Level,
    codes: &[String],
    start: &str,
    end: &str,
) -> Result<i32, InterventionError> {
    let iv = NewIntervention::new(naam, level, codes, start, end)?;
    let id = crate::store::insert_intervention(
        db,
        crate::store::InterventionRow {
            naam: &iv.naam,
            level: iv.level.id(),
            codes: &iv.codes,
            start_date: &iv.start_date,
            end_date: &iv.end_date,
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
    ds.with_conn(|c| {
        let mut st = c.prepare("SELECT id, naam, level, codes, CAST(start_date AS VARCHAR), CAST(end_date AS VARCHAR) FROM intervention ORDER BY id")?;
        let rows = st.query_map([], |r| {
            let codes: String = r.get(3)?;
            Ok(Intervention {
                id: r.get(0)?,
                naam: r.get(1)?,
                level: r.get(2)?,
                codes: codes.split(',').map(str::to_string).collect(),
                start_date: r.get(4)?,
                end_date: r.get(5)?,
            })
        })?;
        rows.collect()
    })
    .map_err(InterventionError::Db)
}

/// A difference-in-differences estimate.
#[derive(Debug, Clone, Serialize)]
pub struct DiD {
    pub outcome: String,
    pub treated_before: f64,
    pub treated_after: f64,
    pub control_before: f64,
    pub control_after: f64,
    pub effect: f64,
    pub se: f64,
    pub low: f64,
    pub high: f64,
    pub n_treated: usize,
    pub n_control: usize,
}

/// Difference in differences from per-unit series split at `start` (first period after).
/// `treated[u][t]` and `control[u][t]` are values per period (`None` = missing).
/// The standard error uses the spread of the units' own before/after changes.
#[must_use]
pub fn diff_in_diff(
    outcome: &str,
    treated: &[Vec<Option<f64>>],
    control: &[Vec<Option<f64>>],
    start: usize,
) -> Option<DiD> {
    fn mean(v: &[f64]) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let n = v.len() as f64;
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / n)
    }
    let split = |s: &Vec<Option<f64>>| -> Option<(f64, f64)> {
        let before: Vec<f64> = s.iter().take(start).flatten().copied().collect();
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
    Some(DiD {
        outcome: outcome.to_string(),
        treated_before: mean(&t.iter().map(|x| x.0).collect::<Vec<_>>())?,
        treated_after: mean(&t.iter().map(|x| x.1).collect::<Vec<_>>())?,
        control_before: mean(&c.iter().map(|x| x.0).collect::<Vec<_>>())?,
        control_after: mean(&c.iter().map(|x| x.1).collect::<Vec<_>>())?,
        effect,
        se,
        low: effect - 1.96 * se,
        high: effect + 1.96 * se,
        n_treated: t.len(),
        n_control: c.len(),
    })
}

/// The effect of an intervention on the index and on perceived safety.
#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    pub intervention: Intervention,
    pub start_period: String,
    pub controls: Vec<String>,
    pub outcomes: Vec<DiD>,
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
    let exp = ds.indicator_index("veiligheidsbeleving");
    let exp_series = |u: usize| {
        series(u, &|p| {
            Ok(match exp {
                Some(j) => ds.fig(u, j, p).map_err(InterventionError::Db)?.rate,
                None => None,
            })
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
    if let Some(d) = diff_in_diff("index", &t_index, &c_index, start) {
        outcomes.push(d);
    }
    let t_exp: Vec<Vec<Option<f64>>> = treated
        .iter()
        .map(|&u| exp_series(u))
        .collect::<Result<_, _>>()?;
    let c_exp: Vec<Vec<Option<f64>>> = c_units
        .iter()
        .map(|&u| exp_series(u))
        .collect::<Result<_, _>>()?;
    if let Some(d) = diff_in_diff("veiligheidsbeleving", &t_exp, &c_exp, start) {
        outcomes.push(d);
    }
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
    fn bad_input_is_invalid_not_a_database_error() {
        let codes = vec!["WK098325".to_string()];
        for (start, end, naam, codes) in [
            ("2025-13-01", "2025-12-31", "x", &codes[..]),
            ("2025-01-01", "nooit", "x", &codes[..]),
            ("2025-12-31", "2025-01-01", "x", &codes[..]),
            ("2025-01-01", "2025-12-31", " ", &codes[..]),
            ("2025-01-01", "2025-12-31", "x", &[][..]),
        ] {
            let e = NewIntervention::new(naam, Level::Wijk, codes, start, end).unwrap_err();
            assert!(matches!(e, InterventionError::Invalid(_)), "{e}");
        }
        let ok =
            NewIntervention::new(" LSI ", Level::Wijk, &codes, "1-3-2025", "2025-12-31").unwrap();
        assert_eq!(
            (ok.naam.as_str(), ok.start_date.as_str()),
            ("LSI", "2025-03-01")
        );
    }
}
