//! The static map app, served from an allow-list: the app's own files and MapLibre's
//! distribution files. Nothing else of `web/` (tests, `package.json`, `node_modules`) is
//! reachable.

use axum::Router;
use std::path::Path;
use tower_http::services::ServeFile;

/// URL path → file under `web/`.
pub const APP_FILES: &[(&str, &str)] = &[
    ("/", "index.html"),
    ("/index.html", "index.html"),
    ("/app.js", "app.js"),
    ("/js/state.js", "js/state.js"),
    ("/js/format.js", "js/format.js"),
    ("/js/layers.js", "js/layers.js"),
    ("/js/panel.js", "js/panel.js"),
    ("/js/search.js", "js/search.js"),
    ("/js/namen.js", "js/namen.js"),
    ("/style.css", "style.css"),
    ("/config.json", "config.json"),
    ("/methode.html", "methode.html"),
    ("/methode.js", "methode.js"),
    ("/tokens.html", "tokens.html"),
    ("/tokens.js", "tokens.js"),
    // Browsers ask for /favicon.ico on every page (the server-rendered ones too).
    ("/favicon.ico", "favicon.svg"),
    ("/favicon.svg", "favicon.svg"),
];

/// URL path under `/vendor` → file under `web/node_modules/maplibre-gl/dist/`.
pub const VENDOR_FILES: &[&str] = &[
    "maplibre-gl.js",
    "maplibre-gl.js.map",
    "maplibre-gl.css",
    "LICENSE.txt",
];

/// The routes of the allow-listed files.
pub fn router<S: Clone + Send + Sync + 'static>(web: &Path) -> Router<S> {
    let mut r = Router::new();
    for (url, file) in APP_FILES {
        r = r.route_service(url, ServeFile::new(web.join(file)));
    }
    let vendor = web.join("node_modules/maplibre-gl/dist");
    for file in VENDOR_FILES {
        r = r.route_service(
            &format!("/vendor/{file}"),
            ServeFile::new(vendor.join(file)),
        );
    }
    r
}
