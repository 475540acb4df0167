//! The API's one error type, rendered as `application/problem+json` (RFC 9457).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// An API error. 4xx details are specific; 5xx details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
    #[error("Er is nog geen dataset: lees eerst extracten in.")]
    NoData,
    /// A write (ingest, intervention) is in progress: 503 with `Retry-After`.
    #[error("Er wordt op dit moment een nieuwe dataset of interventie weggeschreven; probeer het over enkele seconden opnieuw.")]
    Busy,
    /// As many exports as may be written at once are being written: 503 with `Retry-After`.
    #[error("Er worden nu al zoveel exports tegelijk gemaakt als de server toestaat; probeer het over enkele seconden opnieuw.")]
    ExportsBusy,
    /// Not signed in, or an unknown, expired or revoked token: 401 with `WWW-Authenticate`.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but the role does not allow this: 403.
    #[error("{0}")]
    Forbidden(String),
    /// Too many requests or failed logins: 429 with `Retry-After` in seconds.
    #[error("Te veel verzoeken; probeer het over {0} seconden opnieuw.")]
    TooMany(u64),
}

impl ApiError {
    /// Invalid query parameters, every problem listed.
    #[must_use]
    pub fn invalid(problems: &[String]) -> Self {
        Self::BadRequest(problems.join("; "))
    }
}

impl From<duckdb::Error> for ApiError {
    fn from(e: duckdb::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<crate::score::ScoreError> for ApiError {
    fn from(e: crate::score::ScoreError) -> Self {
        match e {
            crate::score::ScoreError::Theme(t) => {
                ApiError::invalid(&[format!("theme: '{t}' bestaat niet")])
            }
            crate::score::ScoreError::Db(d) => ApiError::from(d),
        }
    }
}

impl From<crate::intervention::InterventionError> for ApiError {
    fn from(e: crate::intervention::InterventionError) -> Self {
        use crate::intervention::InterventionError as E;
        match e {
            E::Invalid(m) => Self::BadRequest(m),
            E::Score(s) => Self::from(s),
            E::Db(d) => Self::from(d),
            E::Store(crate::store::StoreError::Busy { .. }) => Self::Busy,
            E::Store(s) => Self::Internal(s.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title, detail) = match &self {
            Self::BadRequest(d) => (StatusCode::BAD_REQUEST, "Ongeldige invoer", d.clone()),
            Self::NotFound(d) => (StatusCode::NOT_FOUND, "Niet gevonden", d.clone()),
            Self::NoData => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Geen gegevens",
                self.to_string(),
            ),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Bezig met schrijven",
                self.to_string(),
            ),
            Self::ExportsBusy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Te veel exports tegelijk",
                self.to_string(),
            ),
            Self::Unauthorized(d) => (StatusCode::UNAUTHORIZED, "Niet aangemeld", d.clone()),
            Self::Forbidden(d) => (StatusCode::FORBIDDEN, "Geen toegang", d.clone()),
            Self::TooMany(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Te veel verzoeken",
                self.to_string(),
            ),
            Self::Internal(d) => {
                tracing::error!(error = %d, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Interne fout",
                    "Er ging iets mis op de server; de fout is gelogd.".to_string(),
                )
            }
        };
        let body = serde_json::json!({
            "type": "about:blank",
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
        });
        let mut res = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        match self {
            Self::Busy | Self::ExportsBusy => {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("5"),
                );
            }
            Self::TooMany(s) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(s.max(1)));
            }
            Self::Unauthorized(_) => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static(
                        "Bearer realm=\"Wijkradar\", Basic realm=\"Wijkradar\", charset=\"UTF-8\"",
                    ),
                );
            }
            _ => {}
        }
        res
    }
}
