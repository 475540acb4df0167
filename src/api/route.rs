//! One definition per route: its path, its handlers and, for `/v1`, its OpenAPI operations.
//! The router ([`super::app`]) and the OpenAPI document ([`super::openapi`]) are both built
//! from [`super::routes`], so that they cannot drift apart.

use super::AppState;
use crate::auth::Cap;
use axum::routing::MethodRouter;
use serde_json::{json, Value};

/// Who may call a route. Every route states it: the router applies it, and the access test
/// walks every route of the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (landing page, conformance, the OpenAPI document, the method, the login).
    Public,
    /// Anyone signed in (who am I, sign out).
    SignedIn,
    /// A caller whose roles allow this somewhere; the handler then keeps to the gemeenten
    /// where they do.
    Needs(Cap),
}

/// A path with its handlers and the OpenAPI operation of each documented method.
pub struct Route {
    /// As axum spells it (`/v1/areas/{level}/{code}`); the same names appear in the
    /// OpenAPI path.
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
    /// `(method, operation)`: `("get", {...})`.
    pub operations: Vec<(&'static str, Value)>,
    /// Who may `GET` (and `HEAD`).
    pub access: Access,
    /// Who may `POST`, `DELETE` and the other writing methods.
    pub write: Access,
}

impl Route {
    /// A route without documentation (pages for people, outside `/v1`); writing methods, if
    /// any, need [`Route::writes`].
    #[must_use]
    pub fn new(path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Self {
        Self {
            path,
            handler,
            operations: Vec::new(),
            access,
            write: Access::Needs(Cap::Manage),
        }
    }

    /// Who may call the route's writing methods.
    #[must_use]
    pub fn writes(mut self, access: Access) -> Self {
        self.write = access;
        self
    }

    /// Adds the OpenAPI operation of `method`.
    #[must_use]
    pub fn doc(mut self, method: &'static str, operation: Value) -> Self {
        self.operations.push((method, operation));
        self
    }
}

/// A JSON operation: `200` with `description`, and problem responses for 400 and 404.
#[must_use]
pub fn doc(operation_id: &str, summary: &str, parameters: Vec<Value>, description: &str) -> Value {
    doc_as(
        operation_id,
        summary,
        parameters,
        description,
        "application/json",
    )
}

/// As [`doc`], with another content type for the `200` response.
#[must_use]
pub fn doc_as(
    operation_id: &str,
    summary: &str,
    parameters: Vec<Value>,
    description: &str,
    content_type: &str,
) -> Value {
    json!({
        "summary": summary,
        "operationId": operation_id,
        "parameters": parameters,
        "responses": {
            "200": {"description": description, "content": {content_type: {"schema": {"type": "object"}}}},
            "400": {"$ref": "#/components/responses/Problem"},
            "404": {"$ref": "#/components/responses/Problem"}
        }
    })
}
