//! The served dataset: one version of the database, read-only, with its units, indicators
//! and periods in memory and each layer's figures cached once read. No HTTP here.

use crate::disclosure::Params;
use crate::spatial::Level;
use crate::store::{self, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Indicator metadata as stored with the version: the catalogue's description (its fields
/// read through `Deref`) and what the ingest derived from the measures.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorMeta {
    #[serde(flatten)]
    pub about: crate::catalogue::Description,
    /// Source ids, comma-separated, and the partners behind them.
    pub sources: String,
    pub partners: String,
    /// The rate is a mean (of a score or value) and the count its number of units.
    pub mean: bool,
}

impl std::ops::Deref for IndicatorMeta {
    type Target = crate::catalogue::Description;

    fn deref(&self) -> &crate::catalogue::Description {
        &self.about
    }
}

/// A theme and its weight in the index.
#[derive(Debug, Clone, Serialize)]
pub struct ThemeMeta {
    pub id: String,
    pub naam: String,
    pub weight: f64,
}

/// A spatial unit: the row the ingest writes, read back.
pub use crate::ingest::UnitRow as Unit;

/// One figure as served. A unit without a published count (suppressed, or no data; the two
/// are deliberately indistinguishable) has `present == false`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Fig {
    pub present: bool,
    pub count: Option<i64>,
    pub rate: Option<f64>,
    /// The rounded denominator behind the rate.
    pub denominator: Option<i64>,
}

/// A [`Fig`] as a layer keeps it: 32 bytes instead of 56, with sentinels for what is absent
/// (at national scale the figures of every level and quarter were 1.1 GB as `Fig`s).
#[derive(Debug, Clone, Copy)]
struct Packed {
    /// `i64::MIN`: none.
    count: i64,
    /// `i64::MIN`: none.
    denominator: i64,
    /// NaN: none (a published rate is never NaN).
    rate: f64,
    present: bool,
}

const _: () = assert!(std::mem::size_of::<Packed>() == 32);

impl Packed {
    const ABSENT: Self = Self {
        count: i64::MIN,
        denominator: i64::MIN,
        rate: f64::NAN,
        present: false,
    };

    fn of(f: Fig) -> Self {
        Self {
            count: f.count.unwrap_or(i64::MIN),
            denominator: f.denominator.unwrap_or(i64::MIN),
            rate: f.rate.unwrap_or(f64::NAN),
            present: f.present,
        }
    }

    fn fig(self) -> Fig {
        Fig {
            present: self.present,
            count: (self.count != i64::MIN).then_some(self.count),
            rate: (!self.rate.is_nan()).then_some(self.rate),
            denominator: (self.denominator != i64::MIN).then_some(self.denominator),
        }
    }
}

/// The published figures of one level in one period: per unit (in the level's order) only the
/// figures it has, indicator by indicator. At fine levels nearly every figure is suppressed
/// (98 % in the national demo), so a layer holds a few figures per unit instead of one per
/// indicator: the national demo's figures of every level and quarter take tens of MB, not
/// the 0.8 GB a full grid took.
#[derive(Debug)]
pub struct Layer {
    /// Per unit, where its figures start in `js` and `figs`; one more at the end.
    starts: Vec<u32>,
    /// The indicator of each figure held, ascending per unit.
    js: Vec<u16>,
    figs: Vec<Packed>,
    /// Indicators per unit.
    width: usize,
}

impl Layer {
    /// A layer of `units` units and `width` indicators from the figures read, in any order, as
    /// (unit position, indicator, figure); of two figures of the same unit and indicator the
    /// later is kept, and positions beyond `units` are left out.
    fn from_read(units: usize, width: usize, mut read: Vec<(u32, u16, Packed)>) -> Self {
        // A stable sort: figures of the same unit and indicator stay in the order read.
        read.sort_by_key(|&(pos, j, _)| (pos, j));
        let mut starts = Vec::with_capacity(units + 1);
        let (mut js, mut figs) = (
            Vec::with_capacity(read.len()),
            Vec::with_capacity(read.len()),
        );
        let mut k = 0;
        for pos in 0..units {
            let start = js.len();
            starts.push(u32::try_from(start).unwrap_or(u32::MAX));
            while let Some(&(_, j, f)) = read.get(k).filter(|r| r.0 as usize == pos) {
                match figs.last_mut() {
                    Some(last) if js.len() > start && js.last() == Some(&j) => *last = f,
                    _ => {
                        js.push(j);
                        figs.push(f);
                    }
                }
                k += 1;
            }
        }
        starts.push(u32::try_from(js.len()).unwrap_or(u32::MAX));
        Self {
            starts,
            js,
            figs,
            width,
        }
    }

    /// Where the figures of the level's `pos`-th unit lie in `js` and `figs`.
    fn span(&self, pos: usize) -> (usize, usize) {
        (self.starts[pos] as usize, self.starts[pos + 1] as usize)
    }

    /// The figure of the level's `pos`-th unit for the `j`-th indicator.
    #[must_use]
    pub fn get(&self, pos: usize, j: usize) -> Fig {
        debug_assert!(j < self.width);
        let (a, b) = self.span(pos);
        self.js[a..b]
            .iter()
            .position(|&x| usize::from(x) == j)
            .map_or(Packed::ABSENT, |i| self.figs[a + i])
            .fig()
    }

    /// Bytes held (for the bounded cache).
    #[must_use]
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.starts.len() * std::mem::size_of::<u32>()
            + self.js.len() * std::mem::size_of::<u16>()
            + self.figs.len() * std::mem::size_of::<Packed>()
    }

    /// The figures of the level's `pos`-th unit, indicator by indicator.
    pub fn row(&self, pos: usize) -> impl ExactSizeIterator<Item = Fig> + '_ {
        let (mut k, b) = self.span(pos);
        (0..self.width).map(move |j| {
            if k < b && usize::from(self.js[k]) == j {
                k += 1;
                self.figs[k - 1].fig()
            } else {
                Packed::ABSENT.fig()
            }
        })
    }
}

/// Held while one cached result is made.
type Gate = Arc<Mutex<()>>;

/// The cache keys of published figures start with this.
const FIGURES: &str = "figures/";

/// Layers held through a run over many units: each level's and quarter's layer is looked up
/// in the bounded cache once, and cannot be evicted half-way (see [`Dataset::layer`]).
pub struct Held<'d> {
    ds: &'d Dataset,
    layers: Vec<(Level, usize, Arc<Layer>)>,
}

impl<'d> Held<'d> {
    #[must_use]
    pub fn new(ds: &'d Dataset) -> Self {
        Self {
            ds,
            layers: Vec::new(),
        }
    }

    /// The layer of `level` in `period`.
    ///
    /// # Errors
    /// DuckDB errors.
    pub fn layer(&mut self, level: Level, period: usize) -> Result<Arc<Layer>, duckdb::Error> {
        if let Some((_, _, l)) = self
            .layers
            .iter()
            .find(|(l, p, _)| *l == level && *p == period)
        {
            return Ok(l.clone());
        }
        let l = self.ds.layer(level, period)?;
        self.layers.push((level, period, l.clone()));
        Ok(l)
    }

    /// A unit's figure for an indicator in a period (as [`Dataset::fig`]).
    ///
    /// # Errors
    /// DuckDB errors.
    pub fn fig(
        &mut self,
        unit: usize,
        indicator: usize,
        period: usize,
    ) -> Result<Fig, duckdb::Error> {
        let layer = self.layer(self.ds.units[unit].level, period)?;
        Ok(layer.get(self.ds.pos_in_level[unit], indicator))
    }
}

/// One dataset version, ready to serve.
pub struct Dataset {
    pub version: i32,
    pub params: Params,
    pub created_at: String,
    pub rows_read: i64,
    /// The boundary year the version was located in (CBS gebiedsindeling).
    pub boundary_year: i32,
    pub periods: Vec<String>,
    pub indicators: Vec<IndicatorMeta>,
    pub themes: Vec<ThemeMeta>,
    pub units: Vec<Unit>,
    by_key: HashMap<(Level, String), usize>,
    /// Unit indices per level, sorted by code.
    pub by_level: HashMap<Level, Vec<usize>>,
    /// Position of a unit within its level's list.
    pub pos_in_level: Vec<usize>,
    /// Per cache key, held while what it names is made (see [`Self::cached`]).
    making: Mutex<HashMap<String, Gate>>,
    layer_reads: std::sync::atomic::AtomicUsize,
    pool: Vec<Mutex<duckdb::Connection>>,
    next: std::sync::atomic::AtomicUsize,
    pub sources: Vec<(String, String, i64)>,
    /// Derived results (scores, pages, charts), bounded by bytes.
    cache: Mutex<crate::cache::Lru>,
    /// Per unit, the other gemeenten of the dataset it reaches into (H3 cells and postcode
    /// areas do not follow gemeente borders): see [`border_gemeenten`].
    pub border: Vec<Vec<String>>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("version", &self.version)
            .field("units", &self.units.len())
            .finish_non_exhaustive()
    }
}

impl Dataset {
    /// Opens the newest version of `db` read-only with a pool of `connections`.
    ///
    /// # Errors
    /// When the file is missing, holds no version, or cannot be read.
    pub fn open(db: &Path, connections: usize) -> Result<Self, StoreError> {
        let file = db.display().to_string();
        let dberr = |source: duckdb::Error| StoreError::Db {
            file: file.clone(),
            source,
        };
        let conn = store::open_read_only(db)?;
        let (version, params, created_at, rows_read, boundary_year) = {
            let mut st = conn
                .prepare("SELECT version, k, k_fine, round_to, strftime(created_at, '%Y-%m-%d %H:%M'), rows_read, boundary_year FROM dataset_version ORDER BY version DESC LIMIT 1")
                .map_err(dberr)?;
            let mut rows = st.query([]).map_err(dberr)?;
            let Some(r) = rows.next().map_err(dberr)? else {
                return Err(StoreError::Empty { file });
            };
            (
                r.get::<_, i32>(0).map_err(dberr)?,
                Params {
                    k: r.get(1).map_err(dberr)?,
                    k_fine: r.get(2).map_err(dberr)?,
                    round_to: r.get(3).map_err(dberr)?,
                },
                r.get::<_, String>(4).map_err(dberr)?,
                r.get::<_, i64>(5).map_err(dberr)?,
                r.get::<_, i32>(6).map_err(dberr)?,
            )
        };
        let periods: Vec<String> = {
            let mut st = conn
                .prepare("SELECT DISTINCT period FROM aggregate WHERE version = ? ORDER BY period")
                .map_err(dberr)?;
            let r = st.query_map([version], |r| r.get(0)).map_err(dberr)?;
            r.collect::<Result<_, _>>().map_err(dberr)?
        };
        let indicators: Vec<IndicatorMeta> = {
            // A database written before short names has no such column until its next write.
            let has_kort: bool = conn
                .query_row(
                    "SELECT count(*) > 0 FROM information_schema.columns WHERE table_name = 'indicator' AND column_name = 'kort'",
                    [],
                    |r| r.get(0),
                )
                .map_err(dberr)?;
            let mut st = conn
                .prepare(if has_kort {
                    "SELECT id, naam, name_en, theme, sources, partners, legal_basis, unit, scale, polarity, min_denominator, enforcement, mean, coalesce(kort, naam)
                     FROM indicator WHERE version = ? ORDER BY rowid"
                } else {
                    "SELECT id, naam, name_en, theme, sources, partners, legal_basis, unit, scale, polarity, min_denominator, enforcement, mean, naam
                     FROM indicator WHERE version = ? ORDER BY rowid"
                })
                .map_err(dberr)?;
            let r = st
                .query_map([version], |r| {
                    Ok(IndicatorMeta {
                        about: crate::catalogue::Description {
                            id: r.get(0)?,
                            naam: r.get(1)?,
                            kort: Some(r.get(13)?),
                            name_en: r.get(2)?,
                            theme: r.get(3)?,
                            legal_basis: r.get(6)?,
                            unit: r.get(7)?,
                            scale: r.get(8)?,
                            polarity: crate::catalogue::Polarity::from_id(&r.get::<_, String>(9)?)
                                .unwrap_or(crate::catalogue::Polarity::HigherIsWorse),
                            min_denominator: r.get(10)?,
                            enforcement: r.get(11)?,
                        },
                        sources: r.get(4)?,
                        partners: r.get(5)?,
                        mean: r.get(12)?,
                    })
                })
                .map_err(dberr)?;
            r.collect::<Result<_, _>>().map_err(dberr)?
        };
        let units: Vec<Unit> = {
            let rd = crate::store::column_or_null(&conn, "unit", "geometry_rd").map_err(dberr)?;
            let mut st = conn
                .prepare(&format!(
                    "SELECT level, code, naam, parent, wijk, gemeente, geometry, lon, lat, min_lon, min_lat, max_lon, max_lat, {rd}
                     FROM unit WHERE version = ? ORDER BY level, code",
                ))
                .map_err(dberr)?;
            let r = st
                .query_map([version], |r| {
                    let level: String = r.get(0)?;
                    Ok(Unit {
                        level: Level::from_id(&level).unwrap_or(Level::Gemeente),
                        code: r.get(1)?,
                        naam: r.get(2)?,
                        parent: r.get(3)?,
                        wijk: r.get(4)?,
                        gemeente: r.get(5)?,
                        geometry: r.get(6)?,
                        lon: r.get(7)?,
                        lat: r.get(8)?,
                        bbox: [r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?],
                        geometry_rd: r.get(13)?,
                    })
                })
                .map_err(dberr)?;
            r.collect::<Result<_, _>>().map_err(dberr)?
        };
        let themes: Vec<ThemeMeta> = {
            let mut st = conn
                .prepare("SELECT id, naam, weight FROM theme WHERE version = ? ORDER BY rowid")
                .map_err(dberr)?;
            let r = st
                .query_map([version], |r| {
                    Ok(ThemeMeta {
                        id: r.get(0)?,
                        naam: r.get(1)?,
                        weight: r.get(2)?,
                    })
                })
                .map_err(dberr)?;
            r.collect::<Result<_, _>>().map_err(dberr)?
        };
        let sources: Vec<(String, String, i64)> = {
            let mut st = conn.prepare("SELECT source, file_name, rows FROM dataset_extract WHERE version = ? ORDER BY source").map_err(dberr)?;
            let r = st
                .query_map([version], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(dberr)?;
            r.collect::<Result<_, _>>().map_err(dberr)?
        };
        let by_key = units
            .iter()
            .enumerate()
            .map(|(i, u)| ((u.level, u.code.clone()), i))
            .collect();
        let mut by_level: HashMap<Level, Vec<usize>> = HashMap::new();
        for (i, u) in units.iter().enumerate() {
            by_level.entry(u.level).or_default().push(i);
        }
        let mut pos_in_level = vec![0; units.len()];
        for list in by_level.values() {
            for (p, &i) in list.iter().enumerate() {
                pos_in_level[i] = p;
            }
        }
        let border = border_gemeenten(&units);
        let mut pool = vec![Mutex::new(conn)];
        for _ in 1..connections.max(1) {
            let c = pool[0]
                .lock()
                .map_err(|_| StoreError::Io {
                    file: file.clone(),
                    message: "pool poisoned".into(),
                })?
                .try_clone()
                .map_err(dberr)?;
            pool.push(Mutex::new(c));
        }
        Ok(Self {
            version,
            params,
            created_at,
            rows_read,
            boundary_year,
            periods,
            indicators,
            themes,
            units,
            by_key,
            by_level,
            pos_in_level,
            making: Mutex::new(HashMap::new()),
            layer_reads: std::sync::atomic::AtomicUsize::new(0),
            pool,
            next: std::sync::atomic::AtomicUsize::new(0),
            sources,
            cache: Mutex::new(crate::cache::Lru::new(crate::cache::default_capacity())),
            border,
        })
    }

    /// Runs `f` on a pooled connection (blocking; call from `spawn_blocking`).
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&duckdb::Connection) -> Result<T, duckdb::Error>,
    ) -> Result<T, duckdb::Error> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.pool.len();
        for i in 0..self.pool.len() {
            if let Ok(c) = self.pool[(n + i) % self.pool.len()].try_lock() {
                return f(&c);
            }
        }
        let c = self.pool[n]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&c)
    }

    /// A derived result, computed once per dataset version under `key` (made from
    /// normalised parameters) and kept while the bounded cache has room; `bytes` estimates
    /// its size.
    ///
    /// # Errors
    /// Whatever `make` returns (nothing is cached then).
    pub fn cached<T: Send + Sync + 'static, E>(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<T, E>,
        bytes: impl FnOnce(&T) -> usize,
    ) -> Result<Arc<T>, E> {
        let look = || {
            self.cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(key)
                .and_then(|v| v.downcast::<T>().ok())
        };
        if let Some(t) = look() {
            return Ok(t);
        }
        // One maker per key at a time: requests that want what is being made wait for it and
        // then find it in the cache, instead of each making it again (an index layer or a
        // layer of figures, at national scale, takes tenths of a second and tens of MB).
        let gate = self
            .making
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(key.to_string())
            .or_default()
            .clone();
        let made = {
            let _one = gate
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            look().map_or_else(
                || {
                    let v = Arc::new(make()?);
                    let size = bytes(&v) + key.len();
                    self.cache
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(key.to_string(), v.clone(), size);
                    Ok(v)
                },
                Ok,
            )
        };
        // The gate goes when no one else holds it (only the map and this call do): the map
        // stays as small as the number of things being made.
        let mut making = self
            .making
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if Arc::strong_count(&gate) == 2 {
            making.remove(key);
        }
        made
    }

    /// Sets the bound of the cache of derived results (evicting what no longer fits).
    pub fn set_cache_capacity(&self, bytes: usize) {
        let mut c = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        c.set_capacity(bytes);
    }

    /// Bytes and entries in the cache of derived results.
    #[must_use]
    pub fn cache_use(&self) -> (usize, usize) {
        let c = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (c.bytes(), c.len())
    }

    /// Bytes and layers of published figures held (in the bounded cache: see [`Self::layer`]).
    #[must_use]
    pub fn figures_held(&self) -> (usize, usize) {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .use_under(FIGURES)
    }

    /// A unit by level and code.
    #[must_use]
    pub fn unit(&self, level: Level, code: &str) -> Option<usize> {
        self.by_key.get(&(level, code.to_string())).copied()
    }

    /// Whether `gemeente` has any unit of `level` (a gemeente without wijken in the loaded
    /// boundaries has none at that level).
    #[must_use]
    pub fn has_units(&self, level: Level, gemeente: &str) -> bool {
        self.level_units(level)
            .iter()
            .any(|&u| self.units[u].gemeente == gemeente)
    }

    /// The units of a level (sorted by code).
    #[must_use]
    pub fn level_units(&self, level: Level) -> &[usize] {
        self.by_level.get(&level).map_or(&[], Vec::as_slice)
    }

    /// Index of a period label.
    #[must_use]
    pub fn period_index(&self, p: &str) -> Option<usize> {
        self.periods.iter().position(|x| x == p)
    }

    /// The Dutch name of an indicator (its id when unknown).
    #[must_use]
    pub fn indicator_name(&self, id: &str) -> String {
        self.indicators
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| id.to_string(), |m| m.naam.clone())
    }

    /// The short name of an indicator by id (the id when unknown).
    #[must_use]
    pub fn indicator_short(&self, id: &str) -> String {
        self.indicators
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| id.to_string(), |m| m.short_name().to_string())
    }

    /// Position of an indicator by id.
    #[must_use]
    pub fn indicator_index(&self, id: &str) -> Option<usize> {
        self.indicators.iter().position(|x| x.id == id)
    }

    /// The figures of a level in a period, read once and kept in the bounded cache of derived
    /// results (blocking): a server holds at most `WIJKRADAR_CACHE_MB` of them, however many
    /// levels and quarters are asked for; an evicted layer is read again when next asked for.
    /// Callers that need a layer for many units hold the returned layer rather than calling
    /// [`Self::fig`] per unit.
    ///
    /// # Errors
    /// DuckDB errors.
    pub fn layer(&self, level: Level, period: usize) -> Result<Arc<Layer>, duckdb::Error> {
        let key = format!("{FIGURES}{}/{period}", level.id());
        self.cached(
            &key,
            || {
                self.layer_reads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.read_layer(level, period)
            },
            Layer::bytes,
        )
    }

    /// How many times a layer of published figures was read from the database.
    #[must_use]
    pub fn layer_reads(&self) -> usize {
        self.layer_reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Reads the published figures of a level in a period from the database.
    fn read_layer(&self, level: Level, period: usize) -> Result<Layer, duckdb::Error> {
        let units = self.level_units(level);
        let width = self.indicators.len();
        let mut figs: Vec<(u32, u16, Packed)> = Vec::new();
        let ind_ix: HashMap<&str, u16> = self
            .indicators
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((m.id.as_str(), u16::try_from(i).ok()?)))
            .collect();
        let code_ix: HashMap<&str, u32> = units
            .iter()
            .enumerate()
            .filter_map(|(p, &u)| Some((self.units[u].code.as_str(), u32::try_from(p).ok()?)))
            .collect();
        self.with_conn(|c| {
            let mut st = c.prepare_cached(
                "SELECT code, indicator, count, rate, denominator FROM aggregate WHERE version = ? AND level = ? AND period = ?",
            )?;
            let mut rows = st.query(duckdb::params![self.version, level.id(), self.periods.get(period).map_or("", String::as_str)])?;
            while let Some(r) = rows.next()? {
                let code: String = r.get(0)?;
                let ind: String = r.get(1)?;
                if let (Some(&p), Some(&j)) = (code_ix.get(code.as_str()), ind_ix.get(ind.as_str())) {
                    let rate: Option<f64> = r.get(3)?;
                    figs.push((p, j, Packed::of(Fig { present: true, count: r.get(2)?, rate, denominator: r.get(4)? })));
                }
            }
            Ok(())
        })?;
        Ok(Layer::from_read(units.len(), width, figs))
    }

    /// One unit's figure for an indicator in a period.
    ///
    /// # Errors
    /// DuckDB errors.
    pub fn fig(&self, unit: usize, indicator: usize, period: usize) -> Result<Fig, duckdb::Error> {
        let layer = self.layer(self.units[unit].level, period)?;
        Ok(layer.get(self.pos_in_level[unit], indicator))
    }

    /// The children of a unit (next finer level of its family).
    #[must_use]
    pub fn children(&self, unit: usize) -> Vec<usize> {
        let u = &self.units[unit];
        let child_level = Level::ALL.into_iter().find(|l| l.parent() == Some(u.level));
        child_level.map_or_else(Vec::new, |l| {
            self.level_units(l)
                .iter()
                .copied()
                .filter(|&c| self.units[c].parent.as_deref() == Some(u.code.as_str()))
                .collect()
        })
    }

    /// The parent of a unit in its family.
    #[must_use]
    pub fn parent(&self, unit: usize) -> Option<usize> {
        let u = &self.units[unit];
        self.unit(u.level.parent()?, u.parent.as_deref()?)
    }

    /// The gemeente unit of a unit.
    #[must_use]
    pub fn gemeente_of(&self, unit: usize) -> Option<usize> {
        self.unit(Level::Gemeente, &self.units[unit].gemeente)
    }

    /// The areas unit `u`'s index is set against, in words: "Venlo" (its gemeente, or all
    /// loaded gemeenten when that is the only one), "RIEC Limburg", "alle 2 geladen gemeenten".
    #[must_use]
    pub fn reference_name(&self, u: usize, reference: crate::score::Reference) -> String {
        let gemeente = || {
            self.gemeente_of(u)
                .and_then(|g| self.units[g].naam.clone())
                .unwrap_or_else(|| self.units[u].gemeente.clone())
        };
        let loaded = self.level_units(Level::Gemeente).len();
        match reference {
            crate::score::Reference::Alle if loaded == 1 => gemeente(),
            crate::score::Reference::Alle => format!("alle {loaded} geladen gemeenten"),
            crate::score::Reference::Gemeente => gemeente(),
            crate::score::Reference::Regio => crate::regions::Regions::builtin()
                .of(&self.units[u].gemeente)
                .map_or_else(gemeente, |r| r.naam.clone()),
        }
    }

    /// The gemeenten (units) a caller who may read `scope` sees, in the dataset's order.
    pub fn gemeenten_seen<'a>(
        &'a self,
        scope: &'a crate::auth::Scope,
    ) -> impl Iterator<Item = usize> + 'a {
        self.level_units(Level::Gemeente)
            .iter()
            .copied()
            .filter(move |&g| scope.sees(&self.units[g].code))
    }

    /// Whether a caller who may read `scope` may see unit `u`: its gemeente and every other
    /// gemeente it reaches into must be theirs (a cell across a border holds the neighbour's
    /// addresses too, so it is refused, not shown in part).
    #[must_use]
    pub fn visible(&self, u: usize, scope: &crate::auth::Scope) -> bool {
        scope.sees(&self.units[u].gemeente)
            && self
                .border
                .get(u)
                .is_none_or(|b| b.iter().all(|g| scope.sees(g)))
    }
}

/// A unit's outline in RD New: the boundary source's own coordinates where it gave RD New
/// (lossless), else the stored CRS84 outline transformed (RDNAPTRANS™2018 within 0.5 m,
/// rounded to the centimetre).
#[must_use]
pub fn outline_rd(unit: &Unit) -> Option<geo::MultiPolygon<f64>> {
    use geo::MapCoords;
    if let Some(rd) = unit.geometry_rd.as_deref().and_then(outline) {
        return Some(rd);
    }
    Some(outline(&unit.geometry)?.map_coords(|c| {
        let (x, y) = crate::spatial::wgs84_to_rd(c.x, c.y);
        geo::Coord {
            x: (x * 100.0).round() / 100.0,
            y: (y * 100.0).round() / 100.0,
        }
    }))
}

/// A unit's outline in CRS84, as stored.
#[must_use]
pub fn outline_crs84(unit: &Unit) -> Option<geo::MultiPolygon<f64>> {
    outline(&unit.geometry)
}

/// A stored GeoJSON outline (CRS84, or RD New in `geometry_rd`) as a multipolygon.
fn outline(geometry: &str) -> Option<geo::MultiPolygon<f64>> {
    let g = geometry.parse::<geojson::Geometry>().ok()?;
    match geo::Geometry::<f64>::try_from(g).ok()? {
        geo::Geometry::Polygon(p) => Some(geo::MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(m) => Some(m),
        _ => None,
    }
}

/// For each unit, the other gemeenten of the dataset whose area it overlaps by more than 1 %
/// of its own area. Wijken and buurten lie inside their gemeente; H3 cells and PC4/PC6 areas
/// may not. A touch along the border, or a sliver from the generalised outlines, does not
/// count.
#[must_use]
pub fn border_gemeenten(units: &[Unit]) -> Vec<Vec<String>> {
    use geo::{Area, BooleanOps, BoundingRect};
    let gemeenten: Vec<(&str, geo::MultiPolygon<f64>, geo::Rect<f64>)> = units
        .iter()
        .filter(|u| u.level == Level::Gemeente)
        .filter_map(|u| {
            let mp = outline(&u.geometry)?;
            let r = mp.bounding_rect()?;
            Some((u.code.as_str(), mp, r))
        })
        .collect();
    let mut out = vec![Vec::new(); units.len()];
    if gemeenten.len() < 2 {
        return out;
    }
    for (i, u) in units.iter().enumerate() {
        if matches!(u.level, Level::Gemeente | Level::Wijk | Level::Buurt) {
            continue;
        }
        let b = u.bbox;
        let near: Vec<_> = gemeenten
            .iter()
            .filter(|(code, _, r)| {
                *code != u.gemeente
                    && r.min().x <= b[2]
                    && r.max().x >= b[0]
                    && r.min().y <= b[3]
                    && r.max().y >= b[1]
            })
            .collect();
        if near.is_empty() {
            continue;
        }
        let Some(mp) = outline(&u.geometry) else {
            continue;
        };
        let own = mp.unsigned_area();
        for (code, g, _) in near {
            if mp.intersection(g).unsigned_area() > 0.01 * own {
                out[i].push((*code).to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod border_tests {
    use super::*;

    fn unit(level: Level, code: &str, gemeente: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> Unit {
        let geometry = format!(
            r#"{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}"#
        );
        Unit {
            level,
            code: code.into(),
            naam: None,
            parent: None,
            wijk: None,
            gemeente: gemeente.into(),
            geometry,
            geometry_rd: None,
            lon: f64::midpoint(x0, x1),
            lat: f64::midpoint(y0, y1),
            bbox: [x0, y0, x1, y1],
        }
    }

    #[test]
    fn a_cell_across_a_border_belongs_to_both_gemeenten_a_touching_one_does_not() {
        let units = vec![
            unit(Level::Gemeente, "GM0001", "GM0001", 0.0, 0.0, 1.0, 1.0),
            unit(Level::Gemeente, "GM0002", "GM0002", 1.0, 0.0, 2.0, 1.0),
            // Half in each.
            unit(Level::H3_7, "across", "GM0001", 0.8, 0.4, 1.2, 0.6),
            // Inside GM0001, touching the border.
            unit(Level::Pc4, "touch", "GM0001", 0.8, 0.4, 1.0, 0.6),
            // A sliver (0.5 %) over the border: generalisation, not a neighbour's addresses.
            unit(Level::Pc4, "sliver", "GM0001", 0.0, 0.0, 1.005, 1.0),
            // A wijk is never across.
            unit(Level::Wijk, "wijk", "GM0002", 0.9, 0.0, 2.0, 1.0),
        ];
        let b = border_gemeenten(&units);
        assert_eq!(b[2], vec!["GM0002".to_string()]);
        assert!(b[3].is_empty() && b[4].is_empty() && b[5].is_empty());
        // With one gemeente in the dataset nothing is across.
        assert!(border_gemeenten(&units[2..]).iter().all(Vec::is_empty));
    }
}

#[cfg(test)]
mod layer_tests {
    use super::*;
    use proptest::prelude::*;

    fn fig() -> impl Strategy<Value = Fig> {
        (
            any::<bool>(),
            proptest::option::of(i64::MIN + 1..=i64::MAX),
            proptest::option::of(-1e12f64..1e12),
            proptest::option::of(i64::MIN + 1..=i64::MAX),
        )
            .prop_map(|(present, count, rate, denominator)| Fig {
                present,
                count,
                rate,
                denominator,
            })
    }

    proptest! {
        /// A layer gives back every figure as it was read (the later of two for the same unit
        /// and indicator), and an absent figure for every other, by `get` and by `row`.
        #[test]
        fn a_layer_gives_back_every_figure_as_read(
            units in 1usize..40,
            width in 1usize..8,
            read in proptest::collection::vec((0u32..40, 0u16..8, fig()), 0..200),
        ) {
            let read: Vec<(u32, u16, Fig)> = read
                .into_iter()
                .filter(|&(p, j, _)| (p as usize) < units && usize::from(j) < width)
                .map(|(p, j, f)| (p, j, Fig { present: true, ..f }))
                .collect();
            let mut want = std::collections::HashMap::new();
            for &(p, j, f) in &read {
                want.insert((p as usize, usize::from(j)), f);
            }
            let layer = Layer::from_read(
                units,
                width,
                read.iter().map(|&(p, j, f)| (p, j, Packed::of(f))).collect(),
            );
            for pos in 0..units {
                let row: Vec<Fig> = layer.row(pos).collect();
                prop_assert_eq!(row.len(), width);
                for (j, &in_row) in row.iter().enumerate() {
                    let want = want.get(&(pos, j)).copied().unwrap_or_default();
                    for got in [layer.get(pos, j), in_row] {
                        prop_assert_eq!(
                            (got.present, got.count, got.rate.map(f64::to_bits), got.denominator),
                            (want.present, want.count, want.rate.map(f64::to_bits), want.denominator)
                        );
                    }
                }
            }
            prop_assert_eq!(layer.figs.len(), want.len());
            prop_assert_eq!(std::mem::size_of::<Packed>(), 32);
        }
    }
}
