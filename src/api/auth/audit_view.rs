//! The audit log's view for a beheerder: `/v1/audit` as JSON or CSV.

use super::*;

/// `GET /v1/audit?limit=&f=json|csv`: the log of the beheerder's gemeenten, newest first.
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["limit", "f"])?;
    let limit = crate::api::query::uint("limit", q.get("limit"), 200)
        .map_err(|e| ApiError::invalid(&[e]))?
        .clamp(1, 10_000);
    let csv = match q.get("f") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(f) => return Err(ApiError::invalid(&[format!("f: '{f}' (json, csv)")])),
    };
    let mine = caller.scope(Cap::Audit).0;
    let log = state.auth.audit.clone();
    let (entries, cp) = tokio::task::spawn_blocking(move || {
        log.flush();
        let files = &log.files;
        files
            .entries(Some(&mine), limit)
            .map(|e| (e, files.latest_checkpoint()))
    })
    .await?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    if csv {
        let mut out = String::from(
            "\u{feff}volgnummer;tijd;wie;actie;doel;uitkomst;gemeenten;details;hash\r\n",
        );
        let f = |s: &str| {
            format!(
                "\"{}\"",
                crate::api::exports::formula_safe(s).replace('"', "\"\"")
            )
        };
        for e in &entries {
            out.push_str(&format!(
                "{};{};{};{};{};{};{};{};{}\r\n",
                e.seq,
                e.at,
                f(&e.actor),
                f(&e.action),
                f(&e.target),
                f(&e.outcome),
                f(&e.gemeenten),
                f(&e.detail),
                e.hash
            ));
        }
        if let Some(cp) = cp {
            out.push_str(&format!(
                "# checkpoint;{};{};{};{}\r\n",
                cp.seq, cp.hash, cp.at, cp.signature
            ));
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"wijkradar_auditlog.csv\"",
                ),
            ],
            out,
        )
            .into_response());
    }
    Ok(Json(json!({"entries": entries, "checkpoint": cp})).into_response())
}
