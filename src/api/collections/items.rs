//! `GET /v1/collections/{id}/items` and `…/items/{code}`: validated parameters, pages built
//! once per dataset version and cached (plain and gzip), paging links.

#[allow(clippy::wildcard_imports)]
use super::*;
use std::fmt::Write as _;

/// The validated parameters of an items request; also the cache key of its page.
#[derive(Debug, Clone)]
pub struct ItemsParams {
    pub limit: usize,
    pub offset: usize,
    pub bbox: Option<[f64; 4]>,
    pub period: usize,
    pub gemeente: Option<String>,
    pub crs: Crs,
    /// The caller's gemeenten: only their areas are listed.
    pub scope: Scope,
    /// What the features' index is standardised against.
    pub reference: crate::score::Reference,
    /// The properties asked for (`properties=`), sorted; `None`: all.
    pub properties: Option<Vec<String>>,
    /// What the page's features carry, made from `properties` once.
    pub want: Want,
}

impl ItemsParams {
    /// Checks every parameter, listing every problem.
    ///
    /// # Errors
    /// 400 with every problem.
    pub fn parse(ds: &Dataset, q: &Query, scope: Scope) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        let limit = query::uint("limit", q.get("limit"), DEFAULT_LIMIT)
            .map_err(|e| problems.push(e))
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT);
        let offset = query::uint("offset", q.get("offset"), 0)
            .map_err(|e| problems.push(e))
            .unwrap_or(0);
        let crs_of = |name: &str, problems: &mut Vec<String>| match q.get(name) {
            None => Crs::Crs84,
            Some(c) => Crs::parse(c).unwrap_or_else(|| {
                problems.push(format!(
                    "{name}: '{c}' wordt niet ondersteund; kies {CRS84} of {RD_NEW}"
                ));
                Crs::Crs84
            }),
        };
        let crs = crs_of("crs", &mut problems);
        let bbox_crs = crs_of("bbox-crs", &mut problems);
        let mut bbox = query::bbox_in(q.get("bbox"), bbox_crs == Crs::Crs84)
            .map_err(|e| problems.push(e))
            .unwrap_or(None);
        if bbox_crs == Crs::RdNew {
            // The RD box as the WGS84 box around its four corners.
            bbox = bbox.map(|b| {
                let corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])]
                    .map(|(x, y)| crate::spatial::rd_to_wgs84(x, y));
                let lon = corners.map(|c| c.0);
                let lat = corners.map(|c| c.1);
                [
                    lon.iter().copied().fold(f64::MAX, f64::min),
                    lat.iter().copied().fold(f64::MAX, f64::min),
                    lon.iter().copied().fold(f64::MIN, f64::max),
                    lat.iter().copied().fold(f64::MIN, f64::max),
                ]
            });
        }
        let period = query::period(ds, q.get("datetime"))
            .map_err(|e| problems.push(e))
            .unwrap_or(0);
        if let Some(f) = q.get("f") {
            if !matches!(f, "json" | "geojson") {
                problems.push(format!("f: '{f}' wordt niet ondersteund (json, geojson)"));
            }
        }
        let gemeente = q.get("gemeente").map(str::to_string);
        if let Some(g) = &gemeente {
            match crate::api::query::gemeenten(g) {
                Err(e) => problems.push(e),
                Ok(codes) => {
                    for c in codes {
                        if ds.unit(Level::Gemeente, c).is_none() || !scope.sees(c) {
                            problems.push(format!("gemeente: '{c}' komt niet voor in de dataset"));
                        }
                    }
                }
            }
        }
        let reference = query::reference(q.get("reference"))
            .map_err(|e| problems.push(e))
            .unwrap_or_default();
        let (properties, want) = match wanted(ds, q.get("properties")) {
            Ok(w) => w,
            Err(e) => {
                problems.push(e);
                (None, Want::all(ds))
            }
        };
        if !problems.is_empty() {
            return Err(ApiError::invalid(&problems));
        }
        Ok(Self {
            limit,
            offset,
            bbox,
            period,
            gemeente,
            crs,
            scope,
            reference,
            properties,
            want,
        })
    }

    /// The cache key of the page: only validated values (no raw query, no header).
    #[must_use]
    pub fn key(&self, level: Level, base: &str) -> String {
        format!(
            "items|{}|{}|{}|{}|{}|{:?}|{}|{}|{}|{base}",
            level.id(),
            self.period,
            self.limit,
            self.offset,
            self.gemeente.as_deref().unwrap_or(""),
            self.crs,
            self.reference.id(),
            self.properties
                .as_ref()
                .map_or_else(|| "*".to_string(), |p| p.join(",")),
            self.scope.key()
        )
    }
}

/// A `properties=` value: its names (sorted, without repeats or empty names; `None` when not
/// given) and what the features then carry, or why not.
fn wanted(ds: &Dataset, raw: Option<&str>) -> Result<(Option<Vec<String>>, Want), String> {
    let Some(v) = raw else {
        return Ok((None, Want::all(ds)));
    };
    let mut names: Vec<String> = v
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    names.sort_unstable();
    names.dedup();
    let want = Want::of(ds, &names)?;
    Ok((Some(names), want))
}

/// Builds an items page (blocking work).
///
/// # Errors
/// Database errors.
pub fn items_page(
    ds: &Dataset,
    level: Level,
    p: &ItemsParams,
    path: &str,
) -> Result<String, ApiError> {
    let ItemsParams {
        limit,
        offset,
        bbox,
        period,
        ..
    } = *p;
    let (layer, scores) = super::features::sources(ds, level, period, p.reference, &p.want)?;
    let gemeenten: Option<std::collections::HashSet<&str>> =
        p.gemeente.as_deref().map(|g| g.split(',').collect());
    let matched: Vec<usize> = ds
        .level_units(level)
        .iter()
        .copied()
        .filter(|&u| {
            let b = ds.units[u].bbox;
            bbox.is_none_or(|q| b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1])
                && gemeenten
                    .as_ref()
                    .is_none_or(|g| g.contains(ds.units[u].gemeente.as_str()))
                && ds.visible(u, &p.scope)
        })
        .collect();
    let page: Vec<usize> = matched.iter().copied().skip(offset).take(limit).collect();
    let mut out = String::with_capacity(page.len() * 2048 + 1024);
    out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, &u) in page.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_feature(
            &mut out,
            ds,
            u,
            period,
            layer.as_deref(),
            scores.as_deref(),
            p.crs,
            &p.want,
        );
    }
    let mut keep: Vec<String> = Vec::new();
    if let Some(b) = bbox {
        keep.push(format!(
            "bbox={}",
            urlencode(
                &b.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        ));
    }
    keep.push(format!("datetime={}", urlencode(&ds.periods[period])));
    if let Some(g) = &p.gemeente {
        keep.push(format!("gemeente={}", urlencode(g)));
    }
    if p.crs != Crs::Crs84 {
        keep.push(format!("crs={}", urlencode(p.crs.uri())));
    }
    if p.reference != crate::score::Reference::Alle {
        keep.push(format!("reference={}", p.reference.id()));
    }
    if let Some(names) = &p.properties {
        keep.push(format!("properties={}", urlencode(&names.join(","))));
    }
    let link = |off: usize| {
        let mut parts = keep.clone();
        parts.push(format!("limit={limit}"));
        parts.push(format!("offset={off}"));
        format!("{path}?{}", parts.join("&"))
    };
    let mut links = vec![
        json!({"href": link(offset), "rel": "self", "type": "application/geo+json", "title": "Deze pagina"}),
    ];
    if offset + page.len() < matched.len() {
        links.push(json!({"href": link(offset + page.len()), "rel": "next", "type": "application/geo+json", "title": "Volgende pagina"}));
    }
    if offset > 0 {
        links.push(json!({"href": link(offset.saturating_sub(limit)), "rel": "prev", "type": "application/geo+json", "title": "Vorige pagina"}));
    }
    let _ = write!(
        out,
        "],\"numberMatched\":{},\"numberReturned\":{},\"timeStamp\":{},\"period\":{},\"links\":{},\"disclosure\":{}}}",
        matched.len(),
        page.len(),
        Value::String(ds.created_at.replace(' ', "T") + ":00Z"),
        Value::String(ds.periods[period].clone()),
        Value::Array(links),
        {
            let mut d = ds.params.described();
            d["dataset_version"] = json!(ds.version);
            d["note"] = json!(format!(
                "Aantallen uit minder dan k eenheden zijn onderdrukt (null), gepubliceerde aantallen zijn {}; rates uit het gepubliceerde aantal en de afgeronde noemer, alleen bij een voldoende grote noemer.",
                ds.params.rounding_text()
            ));
            d
        }
    );
    Ok(out)
}

/// Percent-encodes a query value (keeps letters, digits and `-_.,~`).
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b',' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /v1/collections/{id}/items`
pub async fn items(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(
        q.as_deref(),
        &[
            "bbox",
            "bbox-crs",
            "datetime",
            "limit",
            "offset",
            "f",
            "crs",
            "gemeente",
            "reference",
            "properties",
        ],
    )?;
    let level = level_of(&id)?;
    let ds = state.dataset()?;
    let path = format!("{}/collections/{id}/items", base(&state, &headers));
    let version = ds.version;
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let base_url = base(&state, &headers);
    let crs = q.get("crs").and_then(Crs::parse).unwrap_or(Crs::Crs84);
    // Pages without bbox (what the map asks for) are built and compressed once per dataset
    // version (the dataset never changes under a version), in the bounded cache.
    let page = tokio::task::spawn_blocking(move || -> Result<std::sync::Arc<Page>, ApiError> {
        let p = ItemsParams::parse(&ds, &q, caller.reads())?;
        let build = || -> Result<Page, ApiError> {
            let body = items_page(&ds, level, &p, &path)?;
            Ok(Page::new(body))
        };
        if p.bbox.is_none() {
            ds.cached(&p.key(level, &base_url), build, |page: &Page| {
                page.raw.len() + page.gzip.len()
            })
        } else {
            build().map(std::sync::Arc::new)
        }
    })
    .await??;
    let mut res = geojson_response(
        if gzip {
            page.gzip.clone()
        } else {
            page.raw.clone()
        },
        version,
        page.raw.len(),
        crs,
    );
    if gzip {
        res.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    res.headers_mut().insert(
        header::VARY,
        header::HeaderValue::from_static("accept-encoding"),
    );
    Ok(res)
}

/// A built items page, plain and gzip-compressed.
pub struct Page {
    raw: axum::body::Bytes,
    gzip: axum::body::Bytes,
}

impl Page {
    fn new(body: String) -> Self {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::fast(),
        );
        let gz = enc
            .write_all(body.as_bytes())
            .and_then(|()| enc.finish())
            .unwrap_or_default();
        Self {
            raw: axum::body::Bytes::from(body),
            gzip: axum::body::Bytes::from(gz),
        }
    }
}

/// A GeoJSON response; the ETag carries the dataset version and the uncompressed length.
fn geojson_response(body: axum::body::Bytes, version: i32, raw_len: usize, crs: Crs) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/geo+json".to_string()),
            (
                header::HeaderName::from_static("content-crs"),
                format!("<{}>", crs.uri()),
            ),
            (header::ETAG, format!("\"v{version}-{raw_len:x}\"")),
            (header::CACHE_CONTROL, "private, max-age=60".to_string()),
        ],
        body,
    )
        .into_response()
}

/// `GET /v1/collections/{id}/items/{code}`
pub async fn item(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, code)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(
        q.as_deref(),
        &["datetime", "f", "crs", "reference", "properties"],
    )?;
    let reference = query::reference(q.get("reference")).map_err(|e| ApiError::invalid(&[e]))?;
    let crs = match q.get("crs") {
        None => Crs::Crs84,
        Some(c) => Crs::parse(c).ok_or_else(|| {
            ApiError::invalid(&[format!(
                "crs: '{c}' wordt niet ondersteund; kies {CRS84} of {RD_NEW}"
            )])
        })?,
    };
    let b = base(&state, &headers);
    let level = level_of(&id)?;
    let ds = state.dataset()?;
    let version = ds.version;
    let body = tokio::task::spawn_blocking(move || -> Result<String, ApiError> {
        let scope = caller.reads();
        let u = ds.unit(level, &code).filter(|&u| ds.visible(u, &scope)).ok_or_else(|| ApiError::NotFound(format!("'{code}' bestaat niet in collectie '{}'", level.id())))?;
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let (_, want) = wanted(&ds, q.get("properties")).map_err(|e| ApiError::invalid(&[e]))?;
        let (layer, scores) = super::features::sources(&ds, level, p, reference, &want)?;
        let mut out = String::new();
        write_feature(&mut out, &ds, u, p, layer.as_deref(), scores.as_deref(), crs, &want);
        // Add the links the standard asks for.
        let links = json!([
            {"href": format!("{b}/collections/{}/items/{code}", level.id()), "rel": "self", "type": "application/geo+json"},
            {"href": format!("{b}/collections/{}", level.id()), "rel": "collection", "type": "application/json"}
        ]);
        out.pop();
        let _ = write!(out, ",\"links\":{links}}}");
        Ok(out)
    })
    .await??;
    let len = body.len();
    Ok(geojson_response(body.into(), version, len, crs))
}
