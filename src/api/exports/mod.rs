//! Exports for analysts: a layer's published figures as CSV for Dutch Excel (`;`, decimal
//! comma, UTF-8 with BOM, suppression written as a word), GeoJSON (CRS84) or GeoPackage (RD
//! New by default, R-tree, metadata inside), each with its
//! metadata (dataset version, period, disclosure parameters, boundary year, per indicator its
//! definition, source, legal basis and unit, generation time, attribution). Exports hold only
//! what the map shows, of the caller's gemeenten: they read the same published figures. Every
//! export is recorded in the audit log, and carries its newest signed checkpoint.
//!
//! `mod.rs`: the request, its metadata, the handlers and the audit; `formats.rs` (CSV,
//! GeoJSON), `gpkg.rs` (GeoPackage), `stream.rs` (sent as written, in bounded pieces).

use super::auth::Caller;
use super::collections::base;
use super::collections::{Crs, CRS84, RD_NEW};
use super::openapi::query_param;
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::auth::Scope;
use crate::dataset::Dataset;
use crate::spatial::Level;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};
use std::fmt::Write as _;

mod formats;
mod gpkg;
mod stream;

pub(crate) use formats::formula_safe;
pub use formats::{csv, geojson, write_csv, write_geojson};
pub use gpkg::gpkg;
use stream::{gone, ChunkWriter, Pieces, CHUNK};

/// The word written where a figure is not published (CSV).
pub const SUPPRESSED: &str = "onderdrukt";

/// `/v1/exports` and `/v1/exports/metadata`.
pub fn routes() -> Vec<Route> {
    let params = || {
        vec![
            json!({"name": "collection", "in": "query", "required": true, "schema": super::openapi::levels_schema()}),
            query_param(
                "datetime",
                "Kwartaal (2025-Q3); standaard het laatste; `alle` voor alle kwartalen in één GeoPackage",
                json!({"type": "string"}),
            ),
            query_param(
                "indicators",
                "Indicatoren, met komma's; standaard alle",
                json!({"type": "string"}),
            ),
            query_param(
                "bbox",
                "minLon,minLat,maxLon,maxLat (CRS84)",
                json!({"type": "string"}),
            ),
            query_param(
                "gemeente",
                "Alleen gebieden van deze gemeente",
                json!({"type": "string"}),
            ),
            query_param(
                "format",
                "csv (Nederlandse Excel), geojson of gpkg (GeoPackage, standaard in RD New)",
                json!({"type": "string", "enum": ["csv", "geojson", "gpkg"]}),
            ),
            query_param(
                "crs",
                "Voor gpkg: http://www.opengis.net/def/crs/EPSG/0/28992 (standaard) of CRS84",
                json!({"type": "string"}),
            ),
        ]
    };
    let ok = |types: &[&str], d: &str| {
        let content: serde_json::Map<String, serde_json::Value> = types
            .iter()
            .map(|t| ((*t).to_string(), json!({})))
            .collect();
        json!({"200": {"description": d, "content": content}, "400": {"$ref": "#/components/responses/Problem"}})
    };
    vec![
        Route::new("/v1/exports", Access::Needs(Cap::Export), get(export)).doc(
            "get",
            json!({"summary": "Download van een laag met zijn gepubliceerde cijfers (CSV, GeoJSON of GeoPackage), met metadata", "operationId": "getExport", "parameters": params(),
                   "responses": ok(
                       &["text/csv", "application/geo+json", "application/geopackage+sqlite3"],
                       "CSV (;, decimale komma, UTF-8 met BOM), GeoJSON of GeoPackage (naar `format`)")}),
        ),
        Route::new("/v1/exports/metadata", Access::Needs(Cap::Export), get(metadata)).doc(
            "get",
            json!({"summary": "De metadata van een export (naast de CSV)", "operationId": "getExportMetadata", "parameters": params(),
                   "responses": ok(&["application/json"], "Metadata")}),
        ),
    ]
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
    /// GeoPackage 1.4 with an R-tree index, RD New by default.
    Gpkg,
}

impl Format {
    /// Content type and file extension.
    #[must_use]
    pub fn media(self) -> (&'static str, &'static str) {
        match self {
            Self::Csv => ("text/csv; charset=utf-8", "csv"),
            Self::GeoJson => ("application/geo+json", "geojson"),
            Self::Gpkg => ("application/geopackage+sqlite3", "gpkg"),
        }
    }
}

/// A validated export request.
#[derive(Debug, Clone)]
pub struct Request {
    pub level: Level,
    pub period: usize,
    /// Every quarter in one file (`datetime=alle`, GeoPackage only): one row per area and
    /// quarter, the quarter in the column `periode`.
    pub all_periods: bool,
    pub indicators: Vec<usize>,
    pub bbox: Option<[f64; 4]>,
    pub gemeente: Option<String>,
    pub format: Format,
    /// The CRS of the geometry (GeoPackage: RD New unless CRS84 is asked; GeoJSON: CRS84).
    pub crs: Crs,
    /// The gemeenten whose areas may be exported (the caller's; every one on the command line).
    pub scope: Scope,
    /// The newest signed checkpoint of the audit log, put in the export's metadata.
    pub checkpoint: Option<crate::auth::audit::Checkpoint>,
}

impl Request {
    /// Checks every parameter, listing every problem.
    ///
    /// # Errors
    /// 400 with every problem.
    pub fn parse(ds: &Dataset, q: &Query, scope: Scope) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        let level = match q.get("collection") {
            None => {
                problems.push("collection: verplicht (wijken, buurten, pc4, h3-9 …)".into());
                None
            }
            Some(c) => Level::from_id(c).or_else(|| {
                problems.push(format!("collection: '{c}' bestaat niet"));
                None
            }),
        };
        let all_periods = q.get("datetime") == Some("alle");
        let period = if all_periods {
            ds.periods.len().saturating_sub(1)
        } else {
            query::period(ds, q.get("datetime"))
                .map_err(|e| problems.push(e))
                .unwrap_or(0)
        };
        let indicators: Vec<usize> = match q.get("indicators") {
            None => (0..ds.indicators.len()).collect(),
            Some(list) => list
                .split(',')
                .filter(|s| !s.is_empty())
                .filter_map(|id| {
                    ds.indicator_index(id).or_else(|| {
                        problems.push(format!("indicators: '{id}' bestaat niet"));
                        None
                    })
                })
                .collect(),
        };
        let bbox = query::bbox(q.get("bbox"))
            .map_err(|e| problems.push(e))
            .unwrap_or(None);
        let gemeente = q.get("gemeente").map(str::to_string);
        if let Some(g) = &gemeente {
            if ds.unit(Level::Gemeente, g).is_none() || !scope.sees(g) {
                problems.push(format!("gemeente: '{g}' komt niet voor in de dataset"));
            }
        }
        let format = match q.get("format").unwrap_or("csv") {
            "csv" => Format::Csv,
            "geojson" | "json" => Format::GeoJson,
            "gpkg" | "geopackage" => Format::Gpkg,
            other => {
                problems.push(format!(
                    "format: '{other}' wordt niet ondersteund (csv, geojson, gpkg)"
                ));
                Format::Csv
            }
        };
        let crs = match (q.get("crs").map(|c| (c, Crs::parse(c))), format) {
            (None, Format::Gpkg) => Crs::RdNew,
            (None, _) => Crs::Crs84,
            (Some((c, None)), _) => {
                problems.push(format!(
                    "crs: '{c}' wordt niet ondersteund; kies {CRS84} of {RD_NEW}"
                ));
                Crs::Crs84
            }
            (Some((_, Some(Crs::RdNew))), Format::GeoJson) => {
                problems.push(
                    "crs: GeoJSON is altijd CRS84 (RFC 7946); kies format=gpkg voor RD New".into(),
                );
                Crs::Crs84
            }
            (Some((_, Some(c))), _) => c,
        };
        if all_periods && format != Format::Gpkg {
            problems.push(
                "datetime: 'alle' (alle kwartalen in één bestand) kan alleen met format=gpkg"
                    .into(),
            );
        }
        match level {
            Some(level) if problems.is_empty() => Ok(Self {
                level,
                period,
                all_periods,
                indicators,
                bbox,
                gemeente,
                format,
                crs,
                scope,
                checkpoint: None,
            }),
            _ => Err(ApiError::invalid(&problems)),
        }
    }

    /// The units of the export, in code order.
    fn units(&self, ds: &Dataset) -> Vec<usize> {
        ds.level_units(self.level)
            .iter()
            .copied()
            .filter(|&u| {
                let unit = &ds.units[u];
                let b = unit.bbox;
                self.bbox
                    .is_none_or(|q| b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1])
                    && self.gemeente.as_ref().is_none_or(|g| &unit.gemeente == g)
                    && ds.visible(u, &self.scope)
            })
            .collect()
    }
}

/// The metadata of an export.
#[must_use]
pub fn metadata_of(ds: &Dataset, r: &Request, rows: usize, generated: &str) -> Value {
    json!({
        "dataset_version": ds.version,
        "dataset_created": ds.created_at,
        "collection": r.level.id(),
        "collection_title": r.level.title(),
        "period": if r.all_periods { json!(ds.periods) } else { json!(ds.periods[r.period]) },
        "rows": rows,
        "generated": generated,
        "crs": if r.format == Format::Csv { Value::Null } else { json!(r.crs.uri()) },
        "boundary_year": ds.boundary_year,
        "attribution": format!("Grenzen: Kadaster / CBS, {} (CC BY 4.0); PC4: © CBS, © ESRI Nederland", ds.boundary_year),
        "disclosure": ({
            let mut d = ds.params.described();
            d["rules"] = json!(format!(
                "Aantallen uit minder dan k eenheden (k_fine bij PC6 en H3 res. 10) zijn onderdrukt, ook aantallen die anders uit andere getallen terug te rekenen zijn; aantallen zijn {}, noemers op veelvouden van round_to; rates zijn berekend uit het gepubliceerde aantal en de afgeronde noemer; een aandeel van (bijna) 100 % is onderdrukt. Zie /methode.html.",
                ds.params.rounding_text()
            ));
            d["suppressed_as"] = json!(SUPPRESSED);
            d
        }),
        "indicators": r.indicators.iter().map(|&j| {
            let m = &ds.indicators[j];
            json!({"id": m.id, "naam": m.naam, "name_en": m.name_en, "theme": m.theme, "unit": m.unit,
                   "sources": m.sources, "partners": m.partners, "legal_basis": m.legal_basis,
                   "polarity": m.polarity.id(), "min_denominator": m.min_denominator,
                   "columns": [format!("{}_aantal", m.id), format!("{}_noemer", m.id), format!("{}_rate", m.id)]})
        }).collect::<Vec<_>>(),
        "gemeenten": r.scope.0,
        "audit_checkpoint": r.checkpoint,
    })
}

/// The time now as RFC 3339 (UTC, seconds).
#[must_use]
pub fn now() -> String {
    crate::period::now_rfc3339()
}

/// The audit-log entry of an export: who, what collection and filter, format, rows. Never
/// a figure.
#[must_use]
pub fn audit_event(r: &Request, rows: usize, who: &str) -> crate::auth::audit::Event {
    crate::auth::audit::Event::new(who, "export", r.level.id(), "ok")
        .in_gemeenten(
            r.gemeente
                .clone()
                .map_or_else(|| r.scope.0.clone(), |g| vec![g]),
        )
        .detail(
            json!({
                "period": r.period, "indicators": r.indicators.len(), "bbox": r.bbox,
                "gemeente": r.gemeente,
                "format": r.format.media().1, "crs": r.crs.uri(), "rows": rows,
            })
            .to_string(),
        )
}

/// The parameters of an export.
pub const PARAMS: [&str; 7] = [
    "collection",
    "datetime",
    "indicators",
    "bbox",
    "gemeente",
    "format",
    "crs",
];

/// `GET /v1/exports`
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let raw = q.clone().unwrap_or_default();
    let q = Query::parse(q.as_deref(), &PARAMS)?;
    let ds = state.dataset()?;
    let meta_link = format!("{}/exports/metadata?{raw}", base(&state, &headers));
    let st = state.clone();
    // Everything that can refuse the export is checked before the answer starts.
    // Only so many exports are written at once (`Limits::exports`): each holds a thread while
    // its client reads, so a client that starts many and reads none must not take them all.
    let slot = state
        .export_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::ExportsBusy)?;
    let scope = caller.scope(Cap::Export);
    let (r, ds) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let mut r = Request::parse(&ds, &q, scope)?;
        r.checkpoint = st.auth.audit.files.latest_checkpoint();
        ds.layer(r.level, r.period)?;
        Ok((r, ds))
    })
    .await??;
    // Then the file is written as it is sent (a GeoPackage is built in a private file first,
    // which is then sent from disk); the export is recorded when it is complete.
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    {
        let r = r.clone();
        let st = state.clone();
        let actor = caller.actor();
        let rt = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let mut w = ChunkWriter {
                buf: Vec::with_capacity(CHUNK),
                tx: tx.clone(),
                rt,
            };
            let when = now();
            let written = match r.format {
                Format::Csv => write_csv(&ds, &r, &mut w),
                Format::GeoJson => write_geojson(&ds, &r, &when, &mut w),
                Format::Gpkg => (|| {
                    let dir = tempfile_dir()?;
                    let path = dir.join("export.gpkg");
                    let n = gpkg(&ds, &r, &when, &path);
                    let file = std::fs::File::open(&path);
                    let _ = std::fs::remove_dir_all(&dir);
                    let n = n?;
                    let mut file = file.map_err(gone)?;
                    std::io::copy(&mut file, &mut w).map_err(gone)?;
                    Ok(n)
                })(),
            }
            .and_then(|n| std::io::Write::flush(&mut w).map(|()| n).map_err(gone));
            match written {
                Ok(rows) => st.auth.audit.record(audit_event(&r, rows, &actor)),
                Err(e) => {
                    tracing::warn!(error = %e, "an export stopped before its end");
                    // The body ends with an error, so the client sees a broken transfer,
                    // not a short file (never waiting: a stalled client has a full channel).
                    let _ = tx.try_send(Err(std::io::Error::other(e.to_string())));
                    let mut event = audit_event(&r, 0, &actor);
                    event.outcome = "afgebroken".into();
                    st.auth.audit.record(event);
                }
            }
        });
    }
    let body = axum::body::Body::from_stream(Pieces(rx));
    let (ct, ext) = r.format.media();
    let name = format!("wijkradar_{}.{ext}", r.level.id());
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::LINK, format!("<{meta_link}>; rel=\"describedby\"")),
        ],
        body,
    )
        .into_response())
}

/// A private directory for one export file (removed after it is sent).
fn tempfile_dir() -> Result<std::path::PathBuf, ApiError> {
    let d = std::env::temp_dir().join(format!(
        "wijkradar-export-{}",
        &crate::auth::password::digest(&crate::auth::password::secret(""))[..16]
    ));
    std::fs::create_dir_all(&d).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(d)
}

/// `GET /v1/exports/metadata`: the metadata of the export with these parameters.
pub async fn metadata(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<axum::Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &PARAMS)?;
    let ds = state.dataset()?;
    let cp = state.auth.audit.files.latest_checkpoint();
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let mut r = Request::parse(&ds, &q, caller.scope(Cap::Export))?;
        r.checkpoint = cp;
        Ok(metadata_of(&ds, &r, r.units(&ds).len(), &now()))
    })
    .await??;
    Ok(axum::Json(v))
}
