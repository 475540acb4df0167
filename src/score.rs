//! The leefbaarheid pressure index: published rates → empirical-Bayes shrinkage toward the
//! parent → standardisation against a reference → theme scores → index, with per-indicator
//! contributions that add up to the index, an uncertainty interval, nine classes and a
//! ranking. Pure computation over the served dataset: it writes nothing.
//!
//! The index is computed from published (disclosure-controlled) figures only: a suppressed
//! rate is missing, and a missing rate is replaced by its prior with full prior uncertainty.
//!
//! Size: about 560 lines of code, the rest documentation and tests; kept whole so that the
//! index's steps, which feed each other's uncertainty, read in one place.

use crate::dataset::{Dataset, IndicatorMeta};
use crate::spatial::Level;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Within-unit coefficient of variation assumed for mean indicators (scores, values).
pub const MEAN_CV: f64 = 0.25;
/// Class boundaries of the index (in standard deviations): 9 classes as the Leefbaarometer.
pub const CLASS_BOUNDS: [f64; 8] = [-1.5, -1.0, -0.5, -0.2, 0.2, 0.5, 1.0, 1.5];
/// Dutch class labels, 1 = much less pressure than the reference … 9 = much more.
pub const CLASS_LABELS: [&str; 9] = [
    "veel minder druk",
    "minder druk",
    "iets minder druk",
    "nét minder druk",
    "gemiddeld",
    "nét meer druk",
    "iets meer druk",
    "meer druk",
    "veel meer druk",
];
/// Share of index weight resting on missing (suppressed) indicators above which a result is
/// marked low-confidence.
pub const MAX_MISSING_WEIGHT: f64 = 0.4;
/// Index standard error (in standard deviations of the index) above which a result is marked
/// low-confidence: its 95 % interval then spans four standard deviations, most of the nine
/// classes, and says little. Below it, imprecision is shown by the interval and by shared
/// ranks where intervals overlap. (It was 0.6: in a dataset of two gemeenten that withheld a
/// rank from Klingerberg, whose interval, 2.5–5.3, lies above every other wijk's.)
pub const MAX_SE: f64 = 1.0;

/// One observed rate with the size of its base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    pub rate: f64,
    /// Effective base (denominator or number of respondents); > 0.
    pub n: f64,
}

/// How a rate's sampling variance is approximated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateKind {
    /// Share of a base (`scale` 100 → percent).
    Proportion,
    /// Events per `scale` units of a base (Poisson).
    PerBase,
    /// Mean of a score or value.
    Mean,
}

impl RateKind {
    /// The kind of an indicator.
    #[must_use]
    pub fn of(m: &IndicatorMeta) -> Self {
        if m.mean {
            Self::Mean
        } else if (m.scale - 100.0).abs() < 1e-9 {
            Self::Proportion
        } else {
            Self::PerBase
        }
    }

    /// Sampling variance of an observed rate.
    #[must_use]
    pub fn variance(self, o: Obs, scale: f64) -> f64 {
        let n = o.n.max(1.0);
        match self {
            Self::Proportion => {
                let p = (o.rate / scale).clamp(0.0, 1.0);
                // Never zero, so that a 0 % in a small base is not taken as certain.
                (p * (1.0 - p)).max(0.5 / n) / n * scale * scale
            }
            Self::PerBase => (o.rate / scale).max(0.5 / n) / n * scale * scale,
            Self::Mean => (MEAN_CV * o.rate).powi(2) / n,
        }
    }
}

/// A published figure's rate and the variance it is measured with: sampling, plus what the
/// publishing of its count adds ([`rounding_variance`]).
#[must_use]
pub fn observed(
    params: crate::disclosure::Params,
    m: &IndicatorMeta,
    f: crate::dataset::Fig,
) -> Option<(f64, f64)> {
    let o = obs_of(m, f)?;
    let variance = RateKind::of(m).variance(o, m.scale) + rounding_variance(params, m, f, o);
    Some((o.rate, variance))
}

/// The variance a published rate gets from its count's publishing: the count stands for
/// [`crate::disclosure::Params::count_interval`] (5 values when rounded to 5, 10 in the band of
/// small counts), taken as uniform over it. Means are published unrounded.
fn rounding_variance(
    params: crate::disclosure::Params,
    m: &IndicatorMeta,
    f: crate::dataset::Fig,
    o: Obs,
) -> f64 {
    match (RateKind::of(m), f.count) {
        (RateKind::Mean, _) | (_, None) => 0.0,
        #[expect(clippy::cast_precision_loss, reason = "counts")]
        (_, Some(c)) => {
            let (lo, hi) = params.count_interval(c as f64);
            (m.scale * (hi - lo + 1.0) / o.n.max(1.0)).powi(2) / 12.0
        }
    }
}

/// A shrunk estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shrunk {
    pub estimate: f64,
    pub variance: f64,
    /// Weight given to the unit's own rate (0 = all prior).
    pub weight: f64,
    pub observed: bool,
}

/// Between-unit variance of the true rates by the method of moments (floored).
#[must_use]
pub fn between_variance(obs: &[(f64, f64)]) -> f64 {
    // obs: (rate, sampling variance)
    if obs.len() < 2 {
        return obs.first().map_or(1.0, |o| o.1.max(1e-9));
    }
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let n = obs.len() as f64;
    let mean = obs.iter().map(|o| o.0).sum::<f64>() / n;
    let var = obs.iter().map(|o| (o.0 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let mean_v = obs.iter().map(|o| o.1).sum::<f64>() / n;
    (var - mean_v).max(var * 0.05).max(1e-9)
}

/// Empirical-Bayes shrinkage of an observation toward a prior mean.
#[must_use]
pub fn shrink(obs: Option<(f64, f64)>, prior: f64, tau2: f64) -> Shrunk {
    match obs {
        Some((rate, v)) => {
            let w = tau2 / (tau2 + v);
            Shrunk {
                estimate: prior + w * (rate - prior),
                variance: w * v,
                weight: w,
                observed: true,
            }
        }
        None => Shrunk {
            estimate: prior,
            variance: tau2,
            weight: 0.0,
            observed: false,
        },
    }
}

/// Mean and standard deviation (population) of values; sd floored to avoid division by 0.
#[must_use]
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 1.0);
    }
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt();
    (m, if sd > 1e-12 { sd } else { 1.0 })
}

/// The 1–9 class of an index value.
#[must_use]
pub fn class_of(index: f64) -> u8 {
    let mut c = 1u8;
    for b in CLASS_BOUNDS {
        if index > b {
            c += 1;
        }
    }
    c
}

/// One indicator's part in a unit's index. The indicator's and theme's ids are shared by
/// every contribution of a layer (a national layer has about a million contributions).
#[derive(Debug, Clone, Serialize)]
pub struct Contribution {
    #[serde(serialize_with = "shared_str")]
    pub indicator: Arc<str>,
    #[serde(serialize_with = "shared_str")]
    pub theme: Arc<str>,
    /// The published rate, if any.
    pub rate: Option<f64>,
    /// The shrunk rate.
    #[serde(serialize_with = "crate::decimals::ser")]
    pub estimate: f64,
    /// Standardised, signed so that positive = more pressure.
    #[serde(serialize_with = "crate::decimals::ser")]
    pub z: f64,
    /// Weight of this indicator in the index.
    pub weight: f64,
    /// `weight × z`, divided by the standard deviation of the raw index over the level's
    /// areas; the contributions add up to the index.
    #[serde(serialize_with = "crate::decimals::ser")]
    pub contribution: f64,
    pub observed: bool,
}

/// A shared id, written as the string it is.
fn shared_str<S: serde::Serializer>(s: &Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

/// A unit's index.
#[derive(Debug, Clone, Serialize)]
pub struct UnitScore {
    #[serde(serialize_with = "crate::decimals::ser")]
    pub index: f64,
    pub class: u8,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub low: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub high: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub se: f64,
    pub low_confidence: bool,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub missing_weight: f64,
    pub contributions: Vec<Contribution>,
}

/// Index weights per indicator: theme weight split evenly over the theme's scored
/// indicators; enforcement indicators get 0. Restricted to one theme when given.
#[must_use]
pub fn indicator_weights(ds: &Dataset, theme: Option<&str>) -> Vec<f64> {
    let mut w = vec![0.0; ds.indicators.len()];
    let themes: Vec<&crate::dataset::ThemeMeta> = ds
        .themes
        .iter()
        .filter(|t| theme.is_none_or(|x| x == t.id))
        .collect();
    let total: f64 = themes.iter().map(|t| t.weight).sum();
    for t in themes {
        let members: Vec<usize> = ds
            .indicators
            .iter()
            .enumerate()
            .filter(|(_, m)| m.theme == t.id && !m.enforcement)
            .map(|(i, _)| i)
            .collect();
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let each = if members.is_empty() || total <= 0.0 {
            0.0
        } else {
            t.weight / total / members.len() as f64
        };
        for i in members {
            w[i] = each;
        }
    }
    w
}

/// Scores of every unit of a level in a period (`None` for units without any data).
pub type LayerScores = Vec<Option<UnitScore>>;

/// Errors computing scores.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Db(#[from] duckdb::Error),
    #[error("unknown theme '{0}'")]
    Theme(String),
}

/// The observation behind a published figure (its rate and effective base), if published.
#[must_use]
pub fn obs_of(m: &IndicatorMeta, f: crate::dataset::Fig) -> Option<Obs> {
    let rate = f.rate?;
    #[expect(clippy::cast_precision_loss, reason = "counts")]
    let count = f.count? as f64;
    let n = match RateKind::of(m) {
        RateKind::Mean => count,
        _ if rate > 0.0 => count * m.scale / rate,
        _ => m.min_denominator.max(1.0),
    };
    Some(Obs {
        rate,
        n: n.max(1.0),
    })
}

/// What the index is standardised against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reference {
    /// All areas of the level in the data (every loaded gemeente).
    #[default]
    Alle,
    /// The areas of the level in the same gemeente.
    Gemeente,
    /// The areas of the level in the same RIEC region (`crate::regions`).
    Regio,
}

impl Reference {
    /// `alle`, `gemeente` or `regio`, as [`Self::parse`] reads it.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Alle => "alle",
            Self::Gemeente => "gemeente",
            Self::Regio => "regio",
        }
    }

    /// Parses `alle`, `gemeente` or `regio`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "alle" => Some(Self::Alle),
            "gemeente" => Some(Self::Gemeente),
            "regio" => Some(Self::Regio),
            _ => None,
        }
    }
}

/// Which index: all themes or one, against which reference.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    pub theme: Option<&'a str>,
    pub reference: Reference,
}

impl Scope<'static> {
    /// The index of all themes, standardised against `reference`.
    #[must_use]
    pub fn against(reference: Reference) -> Self {
        Self {
            theme: None,
            reference,
        }
    }
}

/// Computes (once per dataset version, then cached) the index of every unit of `level` in
/// period `p`, optionally restricted to one theme, standardised against the reference.
///
/// # Errors
/// DuckDB errors, or an unknown theme.
pub fn layer_scores(
    ds: &Dataset,
    level: Level,
    p: usize,
    scope: Scope<'_>,
) -> Result<Arc<LayerScores>, ScoreError> {
    if let Some(t) = scope.theme {
        if !ds.themes.iter().any(|x| x.id == t) {
            return Err(ScoreError::Theme(t.to_string()));
        }
    }
    let key = format!(
        "score:{}:{p}:{}:{:?}",
        level.id(),
        scope.theme.unwrap_or(""),
        scope.reference
    );
    ds.cached(
        &key,
        || compute_layer(ds, level, p, scope),
        |scores: &LayerScores| {
            scores
                .iter()
                .flatten()
                .map(|s| {
                    std::mem::size_of::<UnitScore>()
                        + s.contributions.len() * std::mem::size_of::<Contribution>()
                })
                .sum::<usize>()
                + scores.len() * std::mem::size_of::<Option<UnitScore>>()
        },
    )
}

fn compute_layer(
    ds: &Dataset,
    level: Level,
    p: usize,
    scope: Scope<'_>,
) -> Result<LayerScores, ScoreError> {
    let units = ds.level_units(level);
    let layer = ds.layer(level, p)?;
    let weights = indicator_weights(ds, scope.theme);
    // The reference group of each unit: everything, its gemeente, or its region.
    let regions = crate::regions::Regions::builtin();
    let group: Vec<&str> = units
        .iter()
        .map(|&u| match scope.reference {
            Reference::Alle => "",
            Reference::Gemeente => ds.units[u].gemeente.as_str(),
            Reference::Regio => regions
                .of(&ds.units[u].gemeente)
                .map_or(ds.units[u].gemeente.as_str(), |r| r.id.as_str()),
        })
        .collect();
    // Priors: the parent's rate (buurt → wijk → gemeente); else the gemeente's.
    let prior_level = match level {
        Level::Buurt => Some(Level::Wijk),
        Level::Gemeente => None,
        _ => Some(Level::Gemeente),
    };
    let prior_layer = prior_level.map(|l| ds.layer(l, p)).transpose()?;
    let gm_layer = ds.layer(Level::Gemeente, p)?;
    let has_data: Vec<bool> = (0..units.len())
        .map(|i| layer.row(i).any(|f| f.present))
        .collect();
    let n_ind = ds.indicators.len();
    let mut est = vec![vec![None::<Shrunk>; n_ind]; units.len()];
    // The spread of the true rates between areas, per indicator: the unit of each z-score.
    let mut spread = vec![1.0; n_ind];
    for (j, m) in ds.indicators.iter().enumerate() {
        let obs: Vec<Option<(f64, f64)>> = (0..units.len())
            .map(|i| observed(ds.params, m, layer.get(i, j)))
            .collect();
        let observed: Vec<(f64, f64)> = obs.iter().flatten().copied().collect();
        let pooled = if observed.is_empty() {
            None
        } else {
            Some(mean_sd(&observed.iter().map(|o| o.0).collect::<Vec<_>>()).0)
        };
        let tau2 = between_variance(&observed);
        spread[j] = tau2.sqrt();
        for (i, &u) in units.iter().enumerate() {
            if !has_data[i] {
                continue;
            }
            let parent_rate = |lvl_layer: &crate::dataset::Layer,
                               lvl: Level,
                               code: Option<&str>|
             -> Option<f64> {
                let pu = ds.unit(lvl, code?)?;
                lvl_layer.get(ds.pos_in_level[pu], j).rate
            };
            let unit = &ds.units[u];
            let prior = prior_layer
                .as_ref()
                .and_then(|pl| {
                    let code = if prior_level == Some(Level::Wijk) {
                        unit.wijk.as_deref()
                    } else {
                        Some(unit.gemeente.as_str())
                    };
                    parent_rate(pl, prior_level.unwrap_or(Level::Gemeente), code)
                })
                .or_else(|| parent_rate(&gm_layer, Level::Gemeente, Some(unit.gemeente.as_str())))
                .or(pooled);
            let Some(prior) = prior else { continue };
            est[i][j] = Some(shrink(obs[i], prior, tau2));
        }
    }
    // Standardise against the reference group and combine.
    let mut out: LayerScores = vec![None; units.len()];
    let mut stats: HashMap<&str, Vec<(f64, f64)>> = HashMap::new();
    for g in &group {
        if stats.contains_key(g) {
            continue;
        }
        let per: Vec<(f64, f64)> = (0..n_ind)
            .map(|j| {
                let v: Vec<f64> = est
                    .iter()
                    .zip(&group)
                    .filter(|(_, x)| *x == g)
                    .filter_map(|(e, _)| e[j].map(|s| s.estimate))
                    .collect();
                mean_sd(&v)
            })
            .collect();
        stats.insert(g, per);
    }
    let ids: Vec<(Arc<str>, Arc<str>)> = ds
        .indicators
        .iter()
        .map(|m| (Arc::from(m.id.as_str()), Arc::from(m.theme.as_str())))
        .collect();
    for i in 0..units.len() {
        if !has_data[i] {
            continue;
        }
        let mut contributions = Vec::with_capacity(n_ind);
        let (mut index, mut var, mut missing, mut wsum) = (0.0, 0.0, 0.0, 0.0);
        for (j, m) in ds.indicators.iter().enumerate() {
            let w = weights[j];
            let Some(s) = est[i][j] else {
                missing += w;
                wsum += w;
                continue;
            };
            // In standard deviations of the true rates between areas (not of the shrunk
            // estimates, whose spread collapses when most figures are suppressed and would
            // then inflate every z-score and its variance): a suppressed figure, whose
            // posterior variance is the between-area variance, adds at most w² to the
            // index's variance.
            let mu = stats[group[i]][j].0;
            let sd = spread[j];
            let z = m.sign() * (s.estimate - mu) / sd;
            index += w * z;
            var += w * w * s.variance / (sd * sd);
            if !s.observed {
                missing += w;
            }
            wsum += w;
            contributions.push(Contribution {
                indicator: ids[j].0.clone(),
                theme: ids[j].1.clone(),
                rate: layer.get(i, j).rate,
                estimate: s.estimate,
                z,
                weight: w,
                contribution: w * z,
                observed: s.observed,
            });
        }
        let se = var.sqrt();
        let missing_weight = if wsum > 0.0 { missing / wsum } else { 1.0 };
        out[i] = Some(UnitScore {
            index,
            class: class_of(index),
            low: index - 1.96 * se,
            high: index + 1.96 * se,
            se,
            low_confidence: missing_weight > MAX_MISSING_WEIGHT || se > MAX_SE,
            missing_weight,
            contributions,
        });
    }
    // Express the index in standard deviations over the level's areas, so that the nine
    // classes spread as the Leefbaarometer's do; contributions scale along and still add up.
    let mut sds: HashMap<&str, f64> = HashMap::new();
    for g in stats.keys() {
        let idx: Vec<f64> = out
            .iter()
            .zip(&group)
            .filter(|(_, x)| *x == g)
            .filter_map(|(s, _)| s.as_ref().map(|s| s.index))
            .collect();
        if idx.len() > 2 {
            sds.insert(g, mean_sd(&idx).1);
        }
    }
    for (s, g) in out.iter_mut().zip(&group) {
        let (Some(s), Some(&sd)) = (s.as_mut(), sds.get(g)) else {
            continue;
        };
        s.index /= sd;
        s.se /= sd;
        s.low = s.index - 1.96 * s.se;
        s.high = s.index + 1.96 * s.se;
        s.class = class_of(s.index);
        s.low_confidence = s.missing_weight > MAX_MISSING_WEIGHT || s.se > MAX_SE;
        for c in &mut s.contributions {
            c.contribution /= sd;
        }
    }
    Ok(out)
}

/// A unit's score in a period.
///
/// # Errors
/// See [`layer_scores`].
pub fn unit_score(
    ds: &Dataset,
    unit: usize,
    p: usize,
    scope: Scope<'_>,
) -> Result<Option<UnitScore>, ScoreError> {
    let level = ds.units[unit].level;
    Ok(layer_scores(ds, level, p, scope)?[ds.pos_in_level[unit]].clone())
}

/// One line of the ranking.
#[derive(Debug, Clone, Serialize)]
pub struct RankRow {
    /// Competition rank (1, 1, 3 …): areas whose 95 % intervals overlap the first area of
    /// their group share its rank, so that no rank claims a precision the index lacks.
    pub rank: Option<usize>,
    /// The rank is shared with another area.
    pub tied: bool,
    pub level: &'static str,
    pub code: String,
    pub naam: String,
    /// The gemeente of the area (a region ranking spans several).
    pub gemeente: String,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub index: f64,
    pub class: u8,
    pub class_label: &'static str,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub low: f64,
    #[serde(serialize_with = "crate::decimals::ser")]
    pub high: f64,
    pub low_confidence: bool,
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub change_previous: Option<f64>,
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub change_year: Option<f64>,
    pub drivers: Vec<Contribution>,
    #[serde(serialize_with = "crate::decimals::ser_series")]
    pub trend: Vec<Option<f64>>,
}

/// The ranking of a gemeente's units at `level` in period `p`: confident units by index
/// (highest pressure first), then the low-confidence ones without a rank.
///
/// # Errors
/// See [`layer_scores`].
pub fn ranking(
    ds: &Dataset,
    gemeente: &str,
    level: Level,
    p: usize,
    scope: Scope<'_>,
) -> Result<Vec<RankRow>, ScoreError> {
    ranking_in(ds, &[gemeente], level, p, scope)
}

/// The ranking of the units at `level` of several gemeenten together (a RIEC region).
///
/// # Errors
/// See [`layer_scores`].
pub fn ranking_in(
    ds: &Dataset,
    gemeenten: &[&str],
    level: Level,
    p: usize,
    scope: Scope<'_>,
) -> Result<Vec<RankRow>, ScoreError> {
    let now = layer_scores(ds, level, p, scope)?;
    let prev = p
        .checked_sub(1)
        .map(|q| layer_scores(ds, level, q, scope))
        .transpose()?;
    let year = p
        .checked_sub(4)
        .map(|q| layer_scores(ds, level, q, scope))
        .transpose()?;
    let all: Vec<Arc<LayerScores>> = (0..ds.periods.len())
        .map(|q| layer_scores(ds, level, q, scope))
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (i, &u) in ds.level_units(level).iter().enumerate() {
        let unit = &ds.units[u];
        if !gemeenten.contains(&unit.gemeente.as_str()) {
            continue;
        }
        let Some(s) = &now[i] else { continue };
        let mut drivers: Vec<Contribution> = s
            .contributions
            .iter()
            .filter(|c| c.contribution > 0.0)
            .cloned()
            .collect();
        drivers.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        drivers.truncate(3);
        rows.push(RankRow {
            rank: None,
            tied: false,
            level: level.id(),
            code: unit.code.clone(),
            naam: unit.naam.clone().unwrap_or_else(|| unit.code.clone()),
            gemeente: unit.gemeente.clone(),
            index: s.index,
            class: s.class,
            class_label: CLASS_LABELS[usize::from(s.class - 1)],
            low: s.low,
            high: s.high,
            low_confidence: s.low_confidence,
            change_previous: prev
                .as_ref()
                .and_then(|l| l[i].as_ref())
                .map(|x| s.index - x.index),
            change_year: year
                .as_ref()
                .and_then(|l| l[i].as_ref())
                .map(|x| s.index - x.index),
            drivers,
            trend: all.iter().map(|l| l[i].as_ref().map(|x| x.index)).collect(),
        });
    }
    rows.sort_by(|a, b| {
        a.low_confidence
            .cmp(&b.low_confidence)
            .then(b.index.total_cmp(&a.index))
    });
    share_ranks(&mut rows);
    Ok(rows)
}

/// Ranks confident rows (sorted by index, highest first) so that overlapping intervals tie.
fn share_ranks(rows: &mut [RankRow]) {
    let mut group: Option<(usize, f64, usize)> = None; // (rank, low of its first row, members)
    let mut first_of_group = 0;
    let mut position = 0;
    for i in 0..rows.len() {
        if rows[i].low_confidence {
            continue;
        }
        position += 1;
        match group {
            Some((rank, low, n)) if rows[i].high >= low => {
                rows[i].rank = Some(rank);
                group = Some((rank, low, n + 1));
            }
            _ => {
                rows[i].rank = Some(position);
                group = Some((position, rows[i].low, 1));
                first_of_group = i;
            }
        }
        if let Some((_, _, n)) = group {
            if n > 1 {
                rows[first_of_group].tied = true;
                rows[i].tied = true;
            }
        }
    }
}

/// Sum of contributions (for tests and the API's self-check).
#[must_use]
pub fn contributions_sum(s: &UnitScore) -> f64 {
    s.contributions.iter().map(|c| c.contribution).sum()
}

/// Per-theme sums of contributions.
#[must_use]
pub fn theme_scores(s: &UnitScore) -> HashMap<String, f64> {
    let mut m = HashMap::new();
    for c in &s.contributions {
        *m.entry(c.theme.to_string()).or_insert(0.0) += c.contribution;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinkage_pulls_small_bases_in_more() {
        let tau2 = 4.0;
        let big = shrink(
            Some((
                20.0,
                RateKind::Proportion.variance(
                    Obs {
                        rate: 20.0,
                        n: 2000.0,
                    },
                    100.0,
                ),
            )),
            10.0,
            tau2,
        );
        let small = shrink(
            Some((
                20.0,
                RateKind::Proportion.variance(
                    Obs {
                        rate: 20.0,
                        n: 25.0,
                    },
                    100.0,
                ),
            )),
            10.0,
            tau2,
        );
        assert!(big.estimate > small.estimate, "{big:?} {small:?}");
        assert!(big.estimate < 20.0 && small.estimate > 10.0);
        // Known answer: v = 0.2·0.8/25·100² = 64; w = 4/(4+64) = 1/17; 10 + 10/17.
        assert!((small.estimate - (10.0 + 10.0 / 17.0)).abs() < 1e-9);
        let missing = shrink(None, 10.0, tau2);
        assert_eq!(missing.estimate, 10.0);
        assert_eq!(missing.variance, tau2);
    }

    #[test]
    fn between_variance_by_moments() {
        // rates 8, 10, 12: sample variance 4; sampling variances 1 → τ² = 3.
        let t = between_variance(&[(8.0, 1.0), (10.0, 1.0), (12.0, 1.0)]);
        assert!((t - 3.0).abs() < 1e-12);
        // Noise larger than the spread: floored, positive.
        assert!(between_variance(&[(8.0, 100.0), (10.0, 100.0), (12.0, 100.0)]) > 0.0);
    }

    #[test]
    fn standardisation_known_values() {
        let (m, sd) = mean_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!((m, sd), (5.0, 2.0));
        assert_eq!((9.0 - m) / sd, 2.0);
    }

    #[test]
    fn overlapping_intervals_share_a_rank() {
        let row = |index: f64, low: f64, high: f64| RankRow {
            rank: None,
            tied: false,
            level: "wijken",
            code: String::new(),
            naam: String::new(),
            gemeente: String::new(),
            index,
            class: 5,
            class_label: "",
            low,
            high,
            low_confidence: false,
            change_previous: None,
            change_year: None,
            drivers: vec![],
            trend: vec![],
        };
        let mut rows = vec![
            row(3.0, 2.5, 3.5),
            row(1.5, 1.0, 2.0),
            row(1.4, 0.9, 1.9),
            row(1.2, 0.8, 1.6),
            row(0.0, -0.5, 0.5),
        ];
        share_ranks(&mut rows);
        let ranks: Vec<Option<usize>> = rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [Some(1), Some(2), Some(2), Some(2), Some(5)]);
        let tied: Vec<bool> = rows.iter().map(|r| r.tied).collect();
        assert_eq!(tied, [false, true, true, true, false]);
    }

    #[test]
    fn classes_cover_nine() {
        assert_eq!(class_of(-3.0), 1);
        assert_eq!(class_of(0.0), 5);
        assert_eq!(class_of(0.6), 7);
        assert_eq!(class_of(3.0), 9);
    }
}
