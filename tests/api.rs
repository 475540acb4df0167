//! The API in-process (`tower::ServiceExt::oneshot`) on the demo database, and GDAL's OAPIF
//! driver against a real server on loopback.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::app;
use common::{copy_db, fixture};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use wijkradar::api::AppState;

fn state() -> AppState {
    let f = fixture();
    AppState::new(&f.db, f.dir.path().join("web-none"))
}

async fn get(uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send(state(), Request::get(uri).body(Body::empty()).unwrap()).await
}

/// Sends `req` as the test user: reads with a token, writes (which a token may not make)
/// with a session signed in through the login form and its CSRF token.
async fn send(s: AppState, mut req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    if req.method() != axum::http::Method::GET && !req.headers().contains_key(header::COOKIE) {
        let (cookie, csrf) = common::signed_in(&s).await;
        req.headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        req.headers_mut()
            .insert("x-csrf-token", csrf.parse().unwrap());
    }
    let res = app(s).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

async fn get_json(uri: &str) -> Value {
    let (status, headers, body) = get(uri).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(headers.get("api-version").unwrap(), "1.0.0");
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn landing_conformance_and_collections() {
    let l = get_json("/v1").await;
    let rels: Vec<&str> = l["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rel"].as_str().unwrap())
        .collect();
    for r in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&r), "{rels:?}");
    }
    let c = get_json("/v1/conformance").await;
    assert!(c["conformsTo"]
        .to_string()
        .contains("ogcapi-features-1/1.0/conf/geojson"));
    let cols = get_json("/v1/collections").await;
    let ids: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "gemeenten",
            "wijken",
            "buurten",
            "pc4",
            "pc6",
            "h3-7",
            "h3-8",
            "h3-9",
            "h3-10"
        ]
    );
    let one = get_json("/v1/collections/h3-9").await;
    assert_eq!(
        one["extent"]["temporal"]["interval"][0][0],
        "2024-01-01T00:00:00Z"
    );
}

#[tokio::test]
async fn items_are_flat_features_with_paging_and_suppression_flags() {
    let (status, headers, body) = get("/v1/collections/h3-9/items?limit=10000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/geo+json"
    );
    let fc: Value = serde_json::from_slice(&body).unwrap();
    // Only cells with a published figure are served (issue 12: a cell's existence may not
    // place records at a few buildings).
    let n = fc["numberMatched"].as_u64().unwrap();
    assert!(n > 300 && n < 3000, "{n} res-9 cells");
    assert_eq!(fc["numberReturned"].as_u64().unwrap(), n);
    assert_eq!(fc["period"], "2025-Q4");
    let props = &fc["features"][0]["properties"];
    for k in [
        "code",
        "period",
        "gemeente",
        "overlast_count",
        "overlast_rate",
        "overlast_suppressed",
        "index",
        "index_class",
    ] {
        assert!(props.get(k).is_some(), "missing {k}: {props}");
    }
    assert_eq!(fc["disclosure"]["k"], 10);
    // A suppressed figure is null with its flag set, never a number.
    let feats = fc["features"].as_array().unwrap();
    let suppressed = feats
        .iter()
        .filter(|f| f["properties"]["overlast_suppressed"] == true)
        .count();
    assert!(suppressed > 0);
    for f in feats {
        if f["properties"]["overlast_count"].is_null() {
            assert_eq!(f["properties"]["overlast_suppressed"], true);
        }
    }
    // Paging with next links, and limit clamped rather than refused.
    let p1 = get_json("/v1/collections/h3-9/items?limit=100").await;
    assert_eq!(p1["features"].as_array().unwrap().len(), 100);
    let next = common::next_link(&p1);
    assert!(next.starts_with("http://"), "{next}");
    let p2 = get_json(path_of(&next)).await;
    assert_ne!(p1["features"][0]["id"], p2["features"][0]["id"]);
    let big = get_json("/v1/collections/h3-10/items?limit=99999999").await;
    assert!(big["numberReturned"].as_u64().unwrap() <= 10_000);
    // bbox and datetime.
    let kb =
        get_json("/v1/collections/wijken/items?bbox=6.10,51.36,6.14,51.39&datetime=2024-Q2").await;
    assert_eq!(kb["period"], "2024-Q2");
    assert!(kb["numberMatched"].as_u64().unwrap() < 21);
    let one = get_json("/v1/collections/wijken/items/WK098325").await;
    assert_eq!(one["properties"]["naam"], "Klingerberg");
}

/// The path and query of a link the API gave (from `/v1` on).
fn path_of(link: &str) -> &str {
    &link[link.find("/v1").unwrap()..]
}

/// The problem's detail of a request that must be refused with 400.
async fn refused(uri: &str) -> String {
    let (status, _, body) = get(uri).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
    serde_json::from_slice::<Value>(&body).unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The keys of every feature's properties, sorted.
fn property_keys(fc: &Value) -> Vec<Vec<String>> {
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut k: Vec<String> = f["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        })
        .collect()
}

#[tokio::test]
async fn items_carry_only_the_properties_asked_for_on_every_page() {
    let all = get_json("/v1/collections/h3-9/items?limit=10000").await;
    let asked = get_json(
        "/v1/collections/h3-9/items?limit=10000&properties=code,index_class,overlast_rate,index,code",
    )
    .await;
    assert_eq!(asked["numberMatched"], all["numberMatched"]);
    let want = ["code", "index", "index_class", "overlast_rate"];
    let keys = property_keys(&asked);
    assert!(keys.len() > 300);
    assert!(keys.iter().all(|k| k == &want), "{:?}", keys[0]);
    // The same figures as with every property.
    for (a, b) in asked["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(all["features"].as_array().unwrap())
    {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["geometry"], b["geometry"]);
        for k in want {
            assert_eq!(a["properties"][k], b["properties"][k], "{k}");
        }
    }
    // A layer asked for without properties is not served from the page built with them
    // (the cache keys differ): every property, as before.
    let again = get_json("/v1/collections/h3-9/items?limit=10000").await;
    assert!(
        property_keys(&again)[0].len() > 70,
        "{:?}",
        property_keys(&again)[0]
    );
    // The next link keeps the selection.
    let p1 = get_json("/v1/collections/h3-9/items?limit=50&properties=code,naam").await;
    let next = common::next_link(&p1);
    assert!(next.contains("properties=code,naam"), "{next}");
    let p2 = get_json(path_of(&next)).await;
    assert!(property_keys(&p2).iter().all(|k| k == &["code", "naam"]));
    assert_ne!(p1["features"][0]["id"], p2["features"][0]["id"]);
    // None at all, when asked for none.
    let none = get_json("/v1/collections/wijken/items?properties=").await;
    assert!(property_keys(&none).iter().all(Vec::is_empty));
    assert!(none["features"][0]["geometry"].is_object());
    // A single feature likewise.
    let one = get_json("/v1/collections/wijken/items/WK098325?properties=naam,overlast_rate").await;
    assert_eq!(one["properties"].as_object().unwrap().len(), 2, "{one}");
    assert_eq!(one["properties"]["naam"], "Klingerberg");
    let (status, _, _) = get("/v1/collections/wijken/items/WK098325?properties=bsn").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An unknown name is refused, named, with what may be asked for.
    let d =
        refused("/v1/collections/wijken/items?properties=code,nationaliteit,overlast_mean").await;
    assert!(
        d.contains("'nationaliteit', 'overlast_mean'") && d.contains("_rate"),
        "{d}"
    );
}

#[tokio::test]
async fn bad_parameters_are_400_problem_json_listing_every_problem() {
    let (status, headers, body) =
        get("/v1/collections/wijken/items?limit=abc&bbox=1,2&foo=1&datetime=1999-Q1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    let p: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(p["status"], 400);
    let d = p["detail"].as_str().unwrap();
    assert!(d.contains("'foo'"), "{d}");
    let d = refused("/v1/collections/wijken/items?limit=abc&bbox=1,2&datetime=1999-Q1").await;
    assert!(
        d.contains("limit") && d.contains("bbox") && d.contains("datetime"),
        "{d}"
    );
    let (status, _, _) = get("/v1/collections/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, headers, _) = get("/v1/collections/wijken/items/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers.get("api-version").unwrap(), "1.0.0");
    let (status, _, _) = get("/v1/collections/gemeente").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn openapi_is_public_with_cors() {
    let (status, headers, body) = get("/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        "*"
    );
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/collections/{collectionId}/items"]["get"].is_object());
}

#[tokio::test]
async fn indicators_carry_metadata_and_legal_basis() {
    let c = get_json("/v1/indicators").await;
    let inds = c["indicators"].as_array().unwrap();
    assert!(inds.len() >= 12);
    for i in inds {
        for k in [
            "id",
            "naam",
            "name_en",
            "theme",
            "partners",
            "legal_basis",
            "unit",
            "polarity",
            "min_denominator",
            "index_weight",
        ] {
            assert!(!i[k].is_null(), "{k} in {i}");
        }
    }
    let hh = inds
        .iter()
        .find(|i| i["id"] == "handhaving_huisvesting")
        .unwrap();
    assert_eq!(hh["index_weight"], 0.0);
}

#[tokio::test]
async fn charts_are_svg_and_png_with_etag() {
    let (status, headers, body) =
        get("/v1/charts/trend/wijken/WK098325?indicator=overlast&f=svg").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), "image/svg+xml");
    let svg = String::from_utf8(body).unwrap();
    assert!(
        svg.contains("Klingerberg") && svg.contains("gemeente Venlo"),
        "trend lacks labels"
    );
    let etag = headers
        .get(header::ETAG)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let req = Request::get("/v1/charts/trend/wijken/WK098325?indicator=overlast&f=svg")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = send(state(), req).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (status, headers, body) =
        get("/v1/charts/distribution/wijken/WK098325?indicator=adresdrukte&f=png").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), "image/png");
    assert_eq!(&body[1..4], b"PNG");
    let (status, _, _) = get("/v1/charts/trend/wijken/WK098325?indicator=nope&f=gif").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, body) = get("/v1/charts/contributions/wijken/WK098325?f=svg").await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(body).unwrap().contains("Klingerberg"));
}

#[tokio::test]
async fn area_detail_has_values_against_the_gemeente_and_navigation() {
    let d = get_json("/v1/areas/wijken/WK098325").await;
    assert_eq!(d["naam"], "Klingerberg");
    assert_eq!(d["parent"]["code"], "GM0983");
    let kids: Vec<&str> = d["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&"BU09832501") && kids.contains(&"BU09832502"),
        "{kids:?}"
    );
    let adres = d["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "adresdrukte")
        .unwrap();
    assert!(
        adres["rate"].as_f64().unwrap() > 2.0 * adres["gemeente_rate"].as_f64().unwrap(),
        "{adres}"
    );
    let s = get_json("/v1/search?q=klinger").await;
    let codes: Vec<&str> = s["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"WK098325") && codes.contains(&"BU09832501"),
        "{codes:?}"
    );
    let s = get_json("/v1/search?q=5925").await;
    assert_eq!(s["results"][0]["code"], "5925");
}

#[tokio::test]
async fn ranking_puts_klingerberg_near_the_top_for_the_planted_reasons() {
    let r = get_json("/v1/ranking/GM0983?level=wijken").await;
    let rows = r["ranking"].as_array().unwrap();
    let pos = rows.iter().position(|x| x["code"] == "WK098325").unwrap();
    assert!(pos < 3, "Klingerberg ranks {}", pos + 1);
    let kb = &rows[pos];
    assert_eq!(kb["low_confidence"], false);
    let drivers: Vec<&str> = kb["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["indicator"].as_str().unwrap())
        .collect();
    let planted = [
        "adresdrukte",
        "overbewoning",
        "eigendomsconcentratie",
        "werkgever_op_adres",
        "kort_ingeschreven",
        "overlast",
        "veiligheidsbeleving",
        "toeslag_signalen",
    ];
    assert!(
        drivers.iter().filter(|d| planted.contains(d)).count() >= 2,
        "{drivers:?}"
    );
    assert!(kb["low"].as_f64().unwrap() < kb["index"].as_f64().unwrap());
    // Restricted to the housing theme, Klingerberg is first.
    let h = get_json("/v1/ranking/GM0983?level=wijken&theme=huisvesting").await;
    assert_eq!(h["ranking"][0]["code"], "WK098325");
    let (status, _, _) = get("/v1/ranking/GM0983?theme=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn explanation_contributions_add_up_to_the_index() {
    let e = get_json("/v1/index/wijken/WK098325").await;
    let index = e["index"].as_f64().unwrap();
    let sum: f64 = e["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["contribution"].as_f64().unwrap())
        .sum();
    // The index and each contribution are served to three decimals.
    let drivers = e["drivers"].as_array().unwrap().len();
    #[expect(clippy::cast_precision_loss, reason = "a few drivers")]
    let rounding = (drivers as f64 + 1.0) * 0.0005;
    assert!((index - sum).abs() <= rounding + 1e-9, "{index} vs {sum}");
    assert!((e["sum_of_contributions"].as_f64().unwrap() - index).abs() <= 0.001 + 1e-9);
    assert!((1..=9).contains(&e["class"].as_u64().unwrap()));
    let m = get_json("/v1/index/method").await;
    let total: f64 = m["themes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["weight"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9);
}

/// Every number of `v` outside `exempt` keys, with where it is.
fn numbers(v: &Value, at: &str, exempt: &[&str], out: &mut Vec<(String, f64)>) {
    match v {
        Value::Number(n) => out.push((at.to_string(), n.as_f64().unwrap())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                numbers(x, &format!("{at}[{i}]"), exempt, out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                if !exempt.contains(&k.as_str()) {
                    numbers(x, &format!("{at}.{k}"), exempt, out);
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn derived_statistics_are_served_without_float_noise() {
    let list = get_json("/v1/interventions").await;
    let effect = format!(
        "/v1/interventions/{}/effect",
        list["interventions"][0]["id"]
    );
    let uris = [
        "/v1/areas/wijken/WK098325",
        "/v1/areas/wijken/WK098325/profile",
        "/v1/index/wijken/WK098325",
        "/v1/ranking/GM0983?level=wijken",
        "/v1/ranking/GM0983?level=buurten",
        "/v1/changes/wijken?indicator=index&from=2024-Q1",
        "/v1/changes/buurten?indicator=overlast&from=2024-Q1",
        "/v1/search?q=kling",
        "/v1/gemeenten",
        &effect,
    ];
    let mut checked = 0;
    for uri in uris {
        let v = get_json(uri).await;
        // The method's weights are served exactly; positions to five decimals.
        let mut found = Vec::new();
        numbers(&v, "", &["weight", "lon", "lat", "bbox"], &mut found);
        for (at, x) in &found {
            assert_eq!(
                wijkradar::decimals::stat(*x),
                *x,
                "{uri} {at}: {x} has more digits than a served statistic"
            );
        }
        let mut places = Vec::new();
        numbers(&v, "", &[], &mut places);
        for (at, x) in places
            .iter()
            .filter(|(at, _)| at.ends_with(".lon") || at.ends_with(".lat"))
        {
            assert_eq!(wijkradar::decimals::round(*x, 5), *x, "{uri} {at}: {x}");
        }
        checked += found.len();
    }
    // Without rounding, the index's parts, changes and comparisons carried up to 17 digits.
    assert!(checked > 500, "{checked} numbers checked");
}

#[tokio::test]
async fn intervention_effect_in_klingerberg() {
    let list = get_json("/v1/interventions").await;
    let iv = &list["interventions"][0];
    assert_eq!(iv["codes"][0], "WK098325");
    let e = get_json(&format!("/v1/interventions/{}/effect", iv["id"])).await;
    assert_eq!(e["start_period"], "2025-Q1");
    let outcomes = e["outcomes"].as_array().unwrap();
    let exp = outcomes
        .iter()
        .find(|o| o["outcome"] == "veiligheidsbeleving")
        .unwrap();
    assert!(
        exp["effect"].as_f64().unwrap() > 0.0,
        "perceived safety should improve: {exp}"
    );
    let idx = outcomes.iter().find(|o| o["outcome"] == "index").unwrap();
    assert!(
        idx["effect"].as_f64().unwrap() < 0.0,
        "pressure should fall relative to controls: {idx}"
    );
    assert!(idx["n_control"].as_u64().unwrap() >= 5);
    // The project's own target (overlast) comes first, with a plain verdict: overlast fell
    // from the two quarters before the start, against comparison wijken that stayed level.
    let first = &outcomes[0];
    assert_eq!(first["outcome"], "overlast", "{first}");
    assert_eq!(first["target"], true);
    assert!(first["high"].as_f64().unwrap() < 0.0, "{first}");
    assert_eq!(first["verdict"], "verbeterd");
    assert_eq!(first["verdict_label"], "aantoonbaar verbeterd");
    assert_eq!(e["verdict"], "verbeterd");
    assert!(e["verdict_outcome"].as_str().unwrap().contains("overlast"));
    // Perceived safety rising is an improvement too (its polarity is the other way round).
    assert_eq!(exp["target"], false);
    let codes = e["control_codes"].as_array().unwrap();
    assert_eq!(codes.len(), e["controls"].as_array().unwrap().len());
    assert!(!codes.iter().any(|c| c == "WK098325"));
}

#[tokio::test]
async fn an_area_profile_sets_every_indicator_against_the_gemeente_with_a_summary() {
    let p = get_json("/v1/areas/wijken/WK098325/profile?datetime=2025-Q4").await;
    assert_eq!(p["naam"], "Klingerberg");
    let lines = p["lines"].as_array().unwrap();
    let ind = get_json("/v1/indicators").await;
    assert_eq!(lines.len(), ind["indicators"].as_array().unwrap().len());
    // The planted pattern: overcrowding clearly above the gemeente, and so less favourable.
    let over = lines
        .iter()
        .find(|l| l["indicator"] == "overbewoning")
        .unwrap();
    assert_eq!(over["verschil"], "hoger", "{over}");
    assert_eq!(over["ongunstig"], true);
    assert!(over["area"].as_f64() > over["gemeente"].as_f64());
    // The gemeente column is the gemeente's published figure.
    let g = get_json("/v1/areas/gemeenten/GM0983?datetime=2025-Q4").await;
    let g_over = g["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "overbewoning")
        .unwrap()["rate"]
        .clone();
    assert_eq!(over["gemeente"], g_over);
    // A suppressed figure has no arrow.
    for l in lines.iter().filter(|l| l["area"].is_null()) {
        assert!(l["verschil"].is_null() && l["ongunstig"].is_null(), "{l}");
    }
    let summary = p["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Klingerberg scoort op ") && summary.contains("overbewoning"),
        "{summary}"
    );
    assert_eq!(p["comparable"].as_array().unwrap().len(), 5);
    let (status, headers, body) = get("/profiel/wijken/WK098325").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("id=\"samenvatting\"") && html.contains("▲") && html.contains("@page"));
}

#[tokio::test]
async fn change_map_marks_klingerberg_overlast_rising_and_classes_stay_fixed() {
    let c = get_json(
        "/v1/changes/wijken?gemeente=GM0983&indicator=overlast&from=2024-Q1&datetime=2024-Q4",
    )
    .await;
    assert_eq!(
        (c["from"].as_str(), c["to"].as_str()),
        (Some("2024-Q1"), Some("2024-Q4"))
    );
    let list = c["changes"].as_array().unwrap();
    let kb = list.iter().find(|x| x["code"] == "WK098325").unwrap();
    assert_eq!(kb["direction"], "meer_druk", "{kb}");
    let (from, to, d) = (
        kb["from"].as_f64().unwrap(),
        kb["to"].as_f64().unwrap(),
        kb["change"].as_f64().unwrap(),
    );
    // Each served to three decimals.
    assert!((to - from - d).abs() <= 0.0015 + 1e-9 && d > 0.0);
    assert!(kb["low"].as_f64().unwrap() > 0.0);
    // Only changes outside the interval count: most wijken did not change.
    for x in list {
        match x["direction"].as_str().unwrap() {
            "meer_druk" => assert!(x["low"].as_f64().unwrap() > 0.0, "{x}"),
            "minder_druk" => assert!(x["high"].as_f64().unwrap() < 0.0, "{x}"),
            "geen_verandering" => {
                assert!(x["low"].as_f64().unwrap() <= 0.0 && x["high"].as_f64().unwrap() >= 0.0);
            }
            _ => assert!(x["change"].is_null(), "{x}"),
        }
    }
    assert!(c["summary"]["geen_verandering"].as_u64() > c["summary"]["meer_druk"].as_u64());
    // The figures are the published ones of the two quarters.
    let a = get_json("/v1/areas/wijken/WK098325?datetime=2024-Q1").await;
    let rate = a["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "overlast")
        .unwrap()["rate"]
        .as_f64()
        .unwrap();
    assert!((rate - from).abs() < 1e-9);
    // Fixed breaks: over every quarter, the same whichever quarter the map shows, and
    // Klingerberg's rising overlast crosses one.
    let k = get_json("/v1/classes/wijken?gemeente=GM0983").await;
    let b = k["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["indicator"] == "overlast")
        .unwrap();
    let breaks: Vec<f64> = b["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(!breaks.is_empty() && breaks.windows(2).all(|w| w[0] < w[1]));
    let class = |v: f64| breaks.iter().filter(|&&x| v >= x).count();
    assert!(class(to) > class(from), "{breaks:?} {from} {to}");
    // Bad requests say what is wrong.
    for uri in [
        "/v1/changes/wijken?gemeente=GM0983&indicator=bestaatniet",
        "/v1/changes/wijken?gemeente=GM0983&indicator=overlast&from=2025-Q4&datetime=2024-Q1",
        "/v1/changes/wijken?gemeente=&indicator=overlast",
    ] {
        let (status, _, body) = get(uri).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status, _, _) = get("/v1/changes/wijken?gemeente=GM9999&indicator=overlast").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The change map's unknown changes say why: a figure suppressed in one of the two quarters,
/// or an index too uncertain to compare (published in both, but of low confidence in one).
/// The legend had called them all suppressed, while in Venlo's buurten most are uncertain.
#[tokio::test]
async fn an_unknown_change_of_the_index_says_whether_it_was_suppressed_or_uncertain() {
    let c = get_json("/v1/changes/buurten?gemeente=GM0983&indicator=index").await;
    let quarter = |p: &str| {
        let p = p.to_string();
        async move {
            let fc = get_json(&format!(
                "/v1/collections/buurten/items?gemeente=GM0983&limit=1000&datetime={p}&properties=code,index,index_low_confidence"
            ))
            .await;
            fc["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["properties"]["code"].as_str().unwrap().to_string(),
                        f["properties"].clone(),
                    )
                })
                .collect::<std::collections::HashMap<_, _>>()
        }
    };
    let (a, b) = (
        quarter(c["from"].as_str().unwrap()).await,
        quarter(c["to"].as_str().unwrap()).await,
    );
    let mut seen = std::collections::HashMap::<&str, u64>::new();
    for x in c["changes"].as_array().unwrap() {
        let code = x["code"].as_str().unwrap();
        let (pa, pb) = (&a[code], &b[code]);
        let low = |p: &serde_json::Value| p["index_low_confidence"] == true;
        match (x["direction"].as_str().unwrap(), x["reason"].as_str()) {
            ("onbekend", Some("onzeker")) => {
                // The layer rounds the index to three decimals.
                let near = |v: &serde_json::Value, w: &serde_json::Value| {
                    (v.as_f64().unwrap() - w.as_f64().unwrap()).abs() <= 5.1e-4
                };
                assert!(
                    near(&x["from"], &pa["index"]) && near(&x["to"], &pb["index"]),
                    "{x}"
                );
                assert!(low(pa) || low(pb), "{x} {pa} {pb}");
                assert!(x["change"].is_null());
            }
            ("onbekend", Some("onderdrukt")) => {
                assert!(pa["index"].is_null() || pb["index"].is_null(), "{x}");
                assert!(x["change"].is_null());
            }
            ("onbekend", r) => panic!("an unknown change without its reason: {r:?} {x}"),
            (_, None) => assert!(!low(pa) && !low(pb) && x["change"].is_number(), "{x}"),
            (_, Some(r)) => panic!("a known change with a reason {r}: {x}"),
        }
        *seen
            .entry(x["reason"].as_str().unwrap_or("bekend"))
            .or_default() += 1;
    }
    let summary = &c["summary"];
    assert_eq!(
        summary["onbekend_onzeker"].as_u64(),
        seen.get("onzeker").copied()
    );
    assert_eq!(
        summary["onbekend_onderdrukt"].as_u64(),
        seen.get("onderdrukt").copied()
    );
    assert_eq!(
        summary["onbekend"].as_u64().unwrap(),
        seen["onzeker"] + seen["onderdrukt"],
        "{summary}"
    );
    assert!(
        seen["onzeker"] > 0 && seen["onderdrukt"] > 0 && seen["bekend"] > 0,
        "{seen:?}"
    );
}

fn body_with_target(t: &str) -> String {
    format!(
        r#"{{"naam":"x","level":"wijken","codes":["WK098311"],"start_date":"2025-04-01","end_date":"2025-12-31","targets":["{t}"]}}"#
    )
}

/// Records a project over the API and follows its `Location` to the effect: (status, body).
async fn record_and_follow(s: &AppState, body: &str) -> (StatusCode, String) {
    let req = Request::post("/v1/interventions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, headers, _) = send(s.clone(), req).await;
    assert_eq!(status, StatusCode::CREATED);
    let loc = headers[header::LOCATION].to_str().unwrap().to_string();
    let (status, _, body) = send(s.clone(), Request::get(loc).body(Body::empty()).unwrap()).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn recording_an_intervention_over_the_api() {
    let (_d, db) = copy_db("iv.duckdb");
    let s = AppState::new(&db, fixture().dir.path().join("web-none"));
    let (status, body) = record_and_follow(
        &s,
        r#"{"naam":"Project Venlo-Centrum","level":"wijken","codes":["WK098311"],"start_date":"2025-04-01","end_date":"2025-12-31"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // With a target indicator: its effect is measured, first; an unknown one is named.
    let (_, body) = record_and_follow(
        &s,
        r#"{"naam":"Schoon Centrum","level":"wijken","codes":["WK098311"],"start_date":"2025-04-01","end_date":"2025-12-31","targets":["meldingen_verloedering"]}"#,
    )
    .await;
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["intervention"]["targets"][0], "meldingen_verloedering");
    assert_eq!(e["outcomes"][0]["outcome"], "meldingen_verloedering", "{e}");
    let req = Request::post("/v1/interventions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body_with_target("geluk")))
        .unwrap();
    let (status, _, body) = send(s.clone(), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("doelindicator 'geluk'"));
    let bad = r#"{"naam":"x","level":"wijken","codes":["WK000000"],"start_date":"2025-04-01","end_date":"2025-12-31"}"#;
    let req = Request::post("/v1/interventions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(bad))
        .unwrap();
    let (status, _, _) = send(s.clone(), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A body that is not the project's JSON, or names a field it does not have, is refused
    // as problem+json naming the fields expected (axum's own refusal was plain text).
    let typo = r#"{"naam":"x","level":"wijken","codes":["WK098311"],"start_date":"2025-04-01","end_date":"2025-12-31","target":["overlast"]}"#;
    for bad in ["\u{0}", "{", "[]", typo] {
        let req = Request::post("/v1/interventions")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bad))
            .unwrap();
        let (status, headers, body) = send(s.clone(), req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{bad}"
        );
        let p: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("verwacht JSON {naam, level, codes"),
            "{p}"
        );
    }
    // No project was recorded by any of them.
    let list = send(
        s,
        Request::get("/v1/interventions")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let list: Value = serde_json::from_slice(&list.2).unwrap();
    assert!(list["interventions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|iv| iv["naam"] != "x"));
}

#[tokio::test]
async fn a_method_a_route_lacks_is_refused_as_problem_json_with_the_allowed_ones() {
    for (method, uri, allowed) in [
        (Method::DELETE, "/v1/collections", "GET"),
        (Method::PUT, "/v1/interventions", "POST"),
        (Method::POST, "/v1/", "GET"),
    ] {
        let req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = send(state(), req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        let allow = headers[header::ALLOW].to_str().unwrap();
        assert!(allow.contains(allowed), "{method} {uri}: {allow}");
        let p: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(p["status"], 405);
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains(method.as_str()) && detail.contains("Allow"),
            "{p}"
        );
    }
}

#[tokio::test]
async fn briefing_names_the_top_wijken() {
    let (status, _, body) = get("/briefing/GM0983").await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("Klingerberg")
            && html.contains("Wijken met de meeste druk")
            && html.contains("LSI-project Klingerberg")
            && html.contains("aantoonbaar verbeterd"),
        "{html}"
    );
    // Page 2 holds the detail, so page 1 is one A4.
    assert!(html.contains(r#"<section class="detail">"#));
    assert!(html.contains("<svg"), "no map");
    // Wijken whose index is of low confidence are drawn faint, as on the map, and counted.
    let fc = get_json(
        "/v1/collections/wijken/items?gemeente=GM0983&limit=100&properties=code,index_low_confidence",
    )
    .await;
    let low = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["index_low_confidence"] == true)
        .count();
    assert!(low > 1, "no wijk of low confidence in the demo: {low}");
    assert!(
        html.contains(&format!("licht = laag vertrouwen ({low} wijken)")),
        "{html}"
    );
    assert!(
        html.contains(r#"opacity="0.3""#),
        "no faint area on the map"
    );
}

/// GDAL's OGC API Features driver reads the collections and features from a real server,
/// signed in with a personal access token as HTTP Basic password (what QGIS and GDAL offer);
/// without it, or with the token revoked, GDAL gets nothing.
#[test]
fn gdal_ogrinfo_reads_the_ogc_api_with_a_token() {
    use wijkradar::auth::{accounts::Accounts, Role, TokenScope};
    if std::process::Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var("WIJKRADAR_SKIP_GDAL").is_ok(), "ogrinfo (gdal-bin) is not installed: apt-get install gdal-bin, or set WIJKRADAR_SKIP_GDAL=1");
        return;
    }
    let (_dir, db) = copy_db("gdal.duckdb");
    let accounts = Accounts::beside(&db);
    let uid = accounts
        .add_user("qgis-venlo", Some("een lang wachtwoord"))
        .unwrap();
    accounts
        .grant("qgis-venlo", Role::RiecAnalist, &["GM0983".into()])
        .unwrap();
    let (token_id, token) = accounts
        .create_token(uid, "QGIS", TokenScope::Lezen, &["GM0983".into()], 30)
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let s = AppState::new(&db, fixture().dir.path().join("web-none"))
        .with_address(&addr.to_string(), None);
    let auth = s.auth.clone();
    rt.spawn(async move { axum::serve(listener, wijkradar::api::app(s)).await.unwrap() });
    let ogrinfo = |userpwd: Option<&str>, layer: Option<&str>| {
        let mut c = std::process::Command::new("ogrinfo");
        c.args(["-ro", "-so"]);
        if let Some(u) = userpwd {
            c.args(["--config", "GDAL_HTTP_USERPWD", u]);
        }
        if layer.is_some() {
            c.arg("-al");
        }
        c.arg(format!("OAPIF:http://{addr}/v1"));
        if let Some(l) = layer {
            c.arg(l);
        }
        let out = c.output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let cred = format!("qgis-venlo:{token}");
    let (ok, text) = ogrinfo(Some(&cred), None);
    assert!(ok, "{text}");
    for id in ["gemeenten", "wijken", "buurten", "pc4", "h3-9"] {
        assert!(text.contains(id), "ogrinfo does not list {id}: {text}");
    }
    let (ok, text) = ogrinfo(Some(&cred), Some("wijken"));
    assert!(
        ok && text.contains("Feature Count: 21") && text.contains("overlast_rate"),
        "{text}"
    );
    // ogr2ogr from the OGC API into a GeoPackage in RD New (PROJ transforms), as an analyst
    // pulls a layer into QGIS: every wijk, Klingerberg where our own RD export puts it.
    let out_dir = tempfile::tempdir().unwrap();
    let pulled = out_dir.path().join("pulled.gpkg");
    let out = std::process::Command::new("ogr2ogr")
        .args([
            "-f",
            "GPKG",
            "-t_srs",
            "EPSG:28992",
            "--config",
            "GDAL_HTTP_USERPWD",
            &cred,
        ])
        .arg(&pulled)
        .arg(format!("OAPIF:http://{addr}/v1"))
        .arg("wijken")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pulled = ogr_geojson(&pulled, &["wijken"]);
    assert_eq!(pulled["features"].as_array().unwrap().len(), 21);
    let k = pulled["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["code"] == "WK098325")
        .unwrap();
    let (x, y) = centroid(k);
    assert!(
        (200_000.0..215_000.0).contains(&x) && (370_000.0..385_000.0).contains(&y),
        "Klingerberg at {x}, {y} in RD New"
    );
    let (ok, text) = ogrinfo(None, None);
    assert!(!ok && text.contains("401"), "without a token: {text}");
    let (ok, _) = ogrinfo(Some("qgis-venlo:wr_verzonnen"), None);
    assert!(!ok, "a made-up token");
    assert!(accounts.revoke_token(Some(uid), &token_id).unwrap());
    auth.reload();
    let (ok, text) = ogrinfo(Some(&cred), None);
    assert!(!ok && text.contains("401"), "a revoked token: {text}");
}

#[tokio::test]
async fn layers_are_served_gzip_compressed_and_identical() {
    let req = Request::get("/v1/collections/h3-9/items?limit=10000")
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(state(), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CONTENT_ENCODING).unwrap(), "gzip");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
    let (_, _, raw) = get("/v1/collections/h3-9/items?limit=10000").await;
    assert_eq!(plain, raw);
    assert!(
        body.len() * 5 < raw.len(),
        "compressed {} of {}",
        body.len(),
        raw.len()
    );
}

#[tokio::test]
async fn reference_can_be_the_gemeente_or_all_loaded_gemeenten() {
    // With one gemeente loaded both references are the same set of wijken.
    let all = get_json("/v1/ranking/GM0983?level=wijken&reference=alle").await;
    let own = get_json("/v1/ranking/GM0983?level=wijken&reference=gemeente").await;
    assert_eq!(all["ranking"][0]["code"], own["ranking"][0]["code"]);
    let a = all["ranking"][0]["index"].as_f64().unwrap();
    let b = own["ranking"][0]["index"].as_f64().unwrap();
    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    let (status, _, body) = get("/v1/ranking/GM0983?reference=land").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("reference"));
}

/// A web folder with the app's files and things that must never be served.
fn web_state() -> (tempfile::TempDir, AppState) {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    for p in [
        "index.html",
        "app.js",
        "js/state.js",
        "style.css",
        "favicon.svg",
        "package.json",
        "tests/map.test.mjs",
        "node_modules/maplibre-gl/dist/maplibre-gl.js",
        "node_modules/maplibre-gl/package.json",
        "node_modules/playwright-core/index.js",
    ] {
        let path = web.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("// {p}")).unwrap();
    }
    (dir, AppState::new(&f.db, web))
}

#[tokio::test]
async fn only_the_apps_own_files_are_served() {
    let (_dir, s) = web_state();
    for (uri, want) in [
        ("/", "// index.html"),
        ("/app.js", "// app.js"),
        ("/js/state.js", "// js/state.js"),
        ("/style.css", "// style.css"),
        ("/favicon.ico", "// favicon.svg"),
        ("/favicon.svg", "// favicon.svg"),
        (
            "/vendor/maplibre-gl.js",
            "// node_modules/maplibre-gl/dist/maplibre-gl.js",
        ),
    ] {
        let (status, _, body) =
            send(s.clone(), Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(String::from_utf8_lossy(&body), want, "{uri}");
    }
    for uri in [
        "/package.json",
        "/tests/map.test.mjs",
        "/node_modules/maplibre-gl/package.json",
        "/node_modules/playwright-core/index.js",
        "/vendor/../package.json",
        "/vendor/package.json",
        "/js/../package.json",
    ] {
        let (status, headers, _) =
            send(s.clone(), Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json",
            "{uri}"
        );
    }
}

/// Every export format answers with a content type its OpenAPI operation documents (a client
/// generated from the document would otherwise refuse the GeoJSON and GeoPackage downloads).
#[tokio::test]
async fn every_export_format_answers_with_a_documented_content_type() {
    let doc = get_json("/v1/openapi.json").await;
    let documented: Vec<String> = doc["paths"]["/exports"]["get"]["responses"]["200"]["content"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for format in ["csv", "geojson", "gpkg"] {
        let (status, headers, _) =
            get(&format!("/v1/exports?collection=wijken&format={format}")).await;
        assert_eq!(status, StatusCode::OK, "{format}");
        let ct = headers[header::CONTENT_TYPE].to_str().unwrap();
        let media = ct.split(';').next().unwrap().trim();
        assert!(
            documented.iter().any(|d| d == media),
            "{format}: {media} not among {documented:?}"
        );
    }
}

#[tokio::test]
async fn a_large_export_is_sent_in_pieces_as_it_is_written() {
    // The export does not wait for the whole file: pieces of about 64 KiB go out as the rows
    // are written (no Content-Length), so memory does not grow with the layer.
    for format in ["csv", "geojson", "gpkg"] {
        let res = app(state())
            .oneshot(
                Request::get(format!("/v1/exports?collection=h3-10&format={format}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{format}");
        assert!(
            res.headers().get(header::CONTENT_LENGTH).is_none(),
            "{format}: sent whole, with a length"
        );
        let mut body = res.into_body();
        let (mut pieces, mut largest, mut all) = (0, 0, Vec::new());
        while let Some(frame) = body.frame().await {
            if let Ok(d) = frame.unwrap().into_data() {
                pieces += 1;
                largest = largest.max(d.len());
                all.extend_from_slice(&d);
            }
        }
        assert!(
            pieces >= 3,
            "{format}: {} bytes in {pieces} pieces",
            all.len()
        );
        assert!(largest <= 200 << 10, "{format}: a piece of {largest} bytes");
        match format {
            "csv" => {
                let text = String::from_utf8(all).unwrap();
                assert!(text.starts_with("\u{feff}code;naam;niveau"));
                assert!(text.ends_with("\r\n") && text.lines().count() > 100);
            }
            "geojson" => {
                let v: Value = serde_json::from_slice(&all).unwrap();
                assert!(v["features"].as_array().unwrap().len() > 100);
                assert_eq!(
                    v["metadata"]["rows"],
                    v["features"].as_array().unwrap().len()
                );
            }
            _ => assert!(all.starts_with(b"SQLite format 3\0")),
        }
    }
}

#[tokio::test]
async fn exports_beyond_the_limit_wait_for_none_and_get_503_while_unread_ones_hold_their_slots() {
    use common::app_with;
    use std::time::Duration;
    use wijkradar::api::Limits;
    // Two slots; two large exports (every quarter of every res-10 cell, more than the half
    // megabyte the channel holds) whose clients read nothing keep their writers waiting.
    let app = app_with(
        state(),
        Limits {
            exports: 2,
            ..Limits::default()
        },
    );
    let big = "/v1/exports?collection=h3-10&format=gpkg&datetime=alle";
    let mut held = Vec::new();
    for _ in 0..2 {
        let res = app
            .clone()
            .oneshot(Request::get(big).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        held.push(res);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app
        .clone()
        .oneshot(Request::get(big).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get(header::RETRY_AFTER).is_some());
    // Reading one export to its end frees its slot for the next.
    let first = held.remove(0);
    let bytes = first.into_body().collect().await.unwrap().to_bytes();
    assert!(
        bytes.len() > 600 << 10,
        "{} bytes: too small to hold a slot",
        bytes.len()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app
        .oneshot(Request::get(big).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
    let doc = get_json("/v1/openapi.json").await;
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (p, ops) in paths {
        for m in ops.as_object().unwrap().keys() {
            documented.push((format!("/v1{}", if p == "/" { "" } else { p }), m.clone()));
        }
    }
    documented.sort();
    let mut routed: Vec<(String, String)> = Vec::new();
    for r in wijkradar::api::routes() {
        if r.path.starts_with("/v1") {
            assert!(
                !r.operations.is_empty(),
                "{} has no OpenAPI operation",
                r.path
            );
        }
        for (m, _) in &r.operations {
            routed.push((r.path.to_string(), (*m).to_string()));
        }
    }
    routed.sort();
    assert_eq!(documented, routed);
    // What a caller can meet is documented: 401 and 403 where a route needs a caller, 429 and
    // 503 everywhere, and how to authenticate.
    for r in wijkradar::api::routes() {
        for (m, _) in &r.operations {
            let key = r
                .path
                .strip_prefix("/v1")
                .filter(|p| !p.is_empty())
                .unwrap_or("/");
            let op = &paths[key][*m];
            let access = if *m == "get" { r.access } else { r.write };
            let needs = access != wijkradar::api::route::Access::Public;
            assert_eq!(
                op["responses"].get("401").is_some(),
                needs,
                "{m} {}",
                r.path
            );
            assert!(op["responses"].get("429").is_some(), "{m} {}", r.path);
            assert_eq!(
                op["security"].as_array().unwrap().is_empty(),
                !needs,
                "{m} {}",
                r.path
            );
        }
    }
    assert!(doc["components"]["securitySchemes"]["basic"].is_object());
    // `/v1/` (OpenAPI's `/` under the server `/v1`) leads to the landing page.
    let (status, h, _) = get("/v1/").await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(h[header::LOCATION], "/v1");
    // Every documented operation answers (not 404/405 from the router) on the demo, to a
    // signed-in beheerder (a token may not read the audit log or manage tokens).
    let s = state();
    let (cookie, _) = common::signed_in(&s).await;
    for (path, method) in &documented {
        let uri = path
            .replace("{collectionId}", "wijken")
            .replace("{level}", "wijken")
            .replace("{featureId}", "WK098325")
            .replace("{code}", "WK098325")
            .replace("{gemeente}", "GM0983")
            .replace("{id}", "1")
            .replace("{region}", "limburg");
        if method == "get" {
            let uri = if uri.contains("/charts/contributions/") {
                format!("{uri}?f=svg")
            } else if uri.contains("/charts/") {
                format!("{uri}?f=svg&indicator=overbewoning")
            } else if uri.ends_with("/search") {
                format!("{uri}?q=kl")
            } else if uri.contains("/classes/") {
                format!("{uri}?gemeente=GM0983")
            } else if uri.contains("/changes/") {
                format!("{uri}?gemeente=GM0983&indicator=overlast")
            } else if uri.contains("/exports") {
                format!("{uri}?collection=wijken")
            } else {
                uri
            };
            let (status, _, body) = send(
                s.clone(),
                Request::get(&uri)
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{uri}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    // Every path parameter is declared.
    for (p, ops) in paths {
        for op in ops.as_object().unwrap().values() {
            let declared: Vec<&str> = op["parameters"].as_array().map_or(vec![], |a| {
                a.iter()
                    .filter(|x| x["in"] == "path")
                    .map(|x| x["name"].as_str().unwrap())
                    .collect()
            });
            for seg in p.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(declared.contains(&name), "{p}: {name} not declared");
            }
        }
    }
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_or_time_are_refused_with_503_and_retry_after() {
    use common::app_with;
    use std::time::Duration;
    use wijkradar::api::Limits;
    // No request may run at once: every one is shed at once, none waits.
    let shed = app_with(
        state(),
        Limits {
            concurrency: 0,
            ..Limits::default()
        },
    );
    let res = shed
        .oneshot(Request::get("/v1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    // A request that takes longer than the timeout: the briefing (its map, rankings and
    // charts) takes far more than a millisecond (an area's details could finish within the
    // timer's tick; an export answers at once and then streams).
    let slow = app_with(
        state(),
        Limits {
            timeout: Duration::from_millis(1),
            ..Limits::default()
        },
    );
    let res = slow
        .oneshot(
            Request::get("/briefing/GM0983")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get(header::RETRY_AFTER).is_some());
}

#[tokio::test]
async fn a_request_body_above_the_limit_is_refused() {
    let big = format!(
        "{{\"naam\":\"{}\",\"level\":\"wijken\",\"codes\":[\"WK098325\"],\"start_date\":\"2025-01-01\",\"end_date\":\"2025-02-01\"}}",
        "x".repeat(20_000)
    );
    let (status, _, _) = send(
        state(),
        Request::post("/v1/interventions")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(big))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_write_in_progress_makes_a_new_intervention_wait_elsewhere_not_in_the_request() {
    let (_dir, db) = copy_db("busy.duckdb");
    let f = fixture();
    let s = AppState::new(&db, f.dir.path().join("web-none"));
    // Another process (an ingest) holds the write lock.
    let mut lock_path = db.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::path::PathBuf::from(lock_path))
        .unwrap();
    lock.lock().unwrap();
    let body = r#"{"naam":"Project","level":"wijken","codes":["WK098325"],"start_date":"2025-01-01","end_date":"2025-06-30"}"#;
    let started = std::time::Instant::now();
    let (status, headers, _body) = send(
        s.clone(),
        Request::post("/v1/interventions")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&_body)
    );
    assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "5");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Reads go on.
    let (status, _, _) = send(
        s.clone(),
        Request::get("/v1/collections/wijken/items")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    drop(lock);
    let (status, _, _) = send(
        s,
        Request::post("/v1/interventions")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_page_cache_is_bounded_and_keyed_by_parameters_not_by_host_or_raw_query() {
    let s = state();
    let ds = s.dataset().unwrap();
    ds.set_cache_capacity(1 << 20);
    for i in 0..60 {
        // Unknown hosts link to the public URL and share one cache entry per page.
        let host = format!("evil{i}.example");
        let (status, _, body) = send(
            s.clone(),
            Request::get("/v1/collections/h3-9/items?limit=100&offset=0")
                .header(header::HOST, host)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let v: Value = serde_json::from_slice(&body).unwrap();
        let next = v["links"][0]["href"].as_str().unwrap();
        assert!(next.starts_with("http://127.0.0.1:8080/v1/"), "{next}");
    }
    let (_, entries_after_hosts) = ds.cache_use();
    // The same page asked with its parameters spelled differently.
    for q in [
        "limit=100&offset=0",
        "offset=0&limit=100",
        "limit=0100&offset=00",
    ] {
        send(
            s.clone(),
            Request::get(format!("/v1/collections/h3-9/items?{q}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    }
    assert_eq!(ds.cache_use().1, entries_after_hosts, "one page, one entry");
    // Many pages: the bound holds, the oldest go.
    for offset in (0..2000).step_by(20) {
        send(
            s.clone(),
            Request::get(format!(
                "/v1/collections/h3-9/items?limit=200&offset={offset}"
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
        assert!(ds.cache_use().0 <= 1 << 20);
    }
}

#[tokio::test]
async fn published_figures_are_held_within_the_cache_bound_and_read_again_when_evicted() {
    let s = state();
    let ds = s.dataset().unwrap();
    let levels: Vec<String> = {
        let (_, _, b) = send(
            s.clone(),
            Request::get("/v1/collections").body(Body::empty()).unwrap(),
        )
        .await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        v["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(levels.len() >= 6, "{levels:?}");
    let features = |b: &[u8]| -> Value {
        let v: Value = serde_json::from_slice(b).unwrap();
        v["features"].clone()
    };
    let walk = |check: Option<usize>| {
        let (s, ds, levels) = (s.clone(), ds.clone(), levels.clone());
        async move {
            let mut pages = Vec::new();
            for l in &levels {
                for q in &ds.periods {
                    let (status, _, b) = send(
                        s.clone(),
                        Request::get(format!(
                            "/v1/collections/{l}/items?limit=10000&datetime={q}"
                        ))
                        .body(Body::empty())
                        .unwrap(),
                    )
                    .await;
                    assert_eq!(status, StatusCode::OK, "{l} {q}");
                    if let Some(bound) = check {
                        assert!(
                            ds.figures_held().0 <= bound,
                            "{l} {q}: {:?}",
                            ds.figures_held()
                        );
                        assert!(ds.cache_use().0 <= bound);
                    }
                    pages.push(features(&b));
                }
            }
            pages
        }
    };
    // With room for everything, each level's figures of each quarter are held once.
    let roomy = walk(None).await;
    let (all_bytes, all_layers) = ds.figures_held();
    assert_eq!(all_layers, levels.len() * ds.periods.len());
    // A bound of a quarter of that: whatever is asked for, no more is held, and what was
    // evicted is read again, the same.
    let bound = all_bytes / 4;
    ds.set_cache_capacity(0);
    assert_eq!(ds.figures_held(), (0, 0));
    ds.set_cache_capacity(bound);
    let bounded = walk(Some(bound)).await;
    assert!(ds.figures_held().1 < all_layers);
    assert_eq!(roomy, bounded);
    // One area over every quarter (its trend) and its detail, with the figures evicted.
    ds.set_cache_capacity(0);
    ds.set_cache_capacity(bound);
    let (status, _, detail) = send(
        s.clone(),
        Request::get("/v1/areas/wijken/WK098325")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let detail: Value = serde_json::from_slice(&detail).unwrap();
    let page = &roomy[levels.iter().position(|l| l == "wijken").unwrap() * ds.periods.len()
        + ds.periods.len()
        - 1];
    let klingerberg = page
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "WK098325")
        .unwrap();
    let published = detail["figures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["count"].is_number())
        .count();
    assert!(published > 0);
    for f in detail["figures"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        assert_eq!(
            f["count"],
            klingerberg["properties"][format!("{id}_count")],
            "{id}"
        );
    }
    assert!(ds.figures_held().0 <= bound);
    // Requests that want the same evicted layers at once read them once; the others wait.
    let evict = || {
        ds.set_cache_capacity(0);
        ds.set_cache_capacity(bound);
    };
    evict();
    let reads = ds.layer_reads();
    let (status, _, _) = send(
        s.clone(),
        Request::get("/v1/collections/wijken/items?limit=20")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The wijken's figures, and the gemeenten's for the index.
    let one = ds.layer_reads() - reads;
    assert!(one >= 1);
    evict();
    let reads = ds.layer_reads();
    let mut set = tokio::task::JoinSet::new();
    for limit in 1..=16 {
        let s = s.clone();
        set.spawn(async move {
            send(
                s,
                Request::get(format!("/v1/collections/wijken/items?limit={limit}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .0
        });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(ds.layer_reads() - reads, one);
    // A page of codes only (as a GIS client asks for an outline layer) reads no figures and
    // computes no index: the page is all it adds.
    evict();
    let reads = ds.layer_reads();
    let (status, _, b) = send(
        s.clone(),
        Request::get("/v1/collections/pc4/items?properties=code&limit=5")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = features(&b);
    assert_eq!(page.as_array().unwrap().len(), 5);
    for f in page.as_array().unwrap() {
        assert_eq!(f["properties"].as_object().unwrap().len(), 1, "{f}");
    }
    assert_eq!(ds.layer_reads(), reads);
    assert_eq!(ds.cache_use().1, 1, "the page alone");
}

#[tokio::test]
async fn cors_only_for_configured_origins_and_security_headers_everywhere() {
    let req = |uri: &str, origin: &str| {
        Request::get(uri)
            .header(header::ORIGIN, origin)
            .body(Body::empty())
            .unwrap()
    };
    // By default no web page elsewhere may read the data; the OpenAPI document stays public.
    let (_, h, _) = send(
        state(),
        req("/v1/collections/wijken/items", "https://evil.example"),
    )
    .await;
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let (_, h, _) = send(state(), req("/v1/openapi.json", "https://evil.example")).await;
    assert_eq!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), "*");
    // A configured origin may, another still may not.
    let s = state().with_cors(&["https://analyse.example.nl"]);
    let (_, h, _) = send(
        s.clone(),
        req("/v1/collections/wijken/items", "https://analyse.example.nl"),
    )
    .await;
    assert_eq!(
        h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        "https://analyse.example.nl"
    );
    let (_, h, _) = send(
        s,
        req("/v1/collections/wijken/items", "https://evil.example"),
    )
    .await;
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // Security headers on every response, HSTS behind HTTPS.
    for uri in ["/v1", "/v1/nope", "/briefing/GM0983"] {
        let (_, h, _) = send(state(), Request::get(uri).body(Body::empty()).unwrap()).await;
        let csp = h
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{uri}: {csp}"
        );
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none());
    }
    let (_, h, _) = send(
        state(),
        Request::get("/v1")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_some());
}

/// OGC API Features Part 2: RD New on request, with Content-Crs, the bbox in RD New, the
/// collections listing both CRSs, and a 400 for any other.
#[tokio::test]
async fn features_in_rd_new_on_request() {
    const RD: &str = "http://www.opengis.net/def/crs/EPSG/0/28992";
    let c = get_json("/v1/conformance").await;
    assert!(c["conformsTo"]
        .to_string()
        .contains("ogcapi-features-2/1.0/conf/crs"));
    let col = get_json("/v1/collections/wijken").await;
    assert!(col["crs"].as_array().unwrap().iter().any(|x| x == RD));
    assert!(col["storageCrs"].is_string());
    let enc = |s: &str| s.replace(':', "%3A").replace('/', "%2F");
    let (status, headers, body) = get(&format!(
        "/v1/collections/wijken/items/WK098325?crs={}",
        enc(RD)
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("content-crs").unwrap(), &format!("<{RD}>"));
    let rd: Value = serde_json::from_slice(&body).unwrap();
    let wgs = get_json("/v1/collections/wijken/items/WK098325").await;
    let first = |f: &Value| -> Vec<f64> {
        let g = &f["geometry"];
        let ring = if g["type"] == "Polygon" {
            &g["coordinates"][0]
        } else {
            &g["coordinates"][0][0]
        };
        ring[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (p, q) = (first(&rd), first(&wgs));
    // Klingerberg lies in the east of Venlo: x about 209 km, y about 376 km, x east first.
    assert!(
        (205_000.0..215_000.0).contains(&p[0]) && (370_000.0..380_000.0).contains(&p[1]),
        "{p:?}"
    );
    let (x, y) = wijkradar::spatial::wgs84_to_rd(q[0], q[1]);
    assert!((x - p[0]).abs() < 0.01 && (y - p[1]).abs() < 0.01);
    // A bbox in RD New around that point finds Klingerberg; the page links keep the CRS.
    let bbox = format!(
        "{},{},{},{}",
        p[0] - 50.0,
        p[1] - 50.0,
        p[0] + 50.0,
        p[1] + 50.0
    );
    let fc = get_json(&format!(
        "/v1/collections/wijken/items?bbox={bbox}&bbox-crs={}&crs={}",
        enc(RD),
        enc(RD)
    ))
    .await;
    assert!(fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "WK098325"));
    assert!(fc["links"][0]["href"].as_str().unwrap().contains("crs="));
    let (status, headers, _) = get("/v1/collections/wijken/items?crs=EPSG%3A3857").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
}

/// Exports hold exactly what the map and the OGC API show, as CSV for Dutch Excel and as
/// GeoJSON with its metadata; every export is recorded; GDAL reads both.
#[tokio::test]
async fn exports_match_the_api_value_by_value_and_are_recorded() {
    let (_dir, db) = copy_db("export.duckdb");
    let f = fixture();
    let s = AppState::new(&db, f.dir.path().join("web-none"));
    let (status, headers, body) = send(
        s.clone(),
        Request::get("/v1/exports?collection=wijken&format=csv")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers
        .get(header::CONTENT_DISPOSITION)
        .unwrap()
        .to_str()
        .unwrap()
        .contains(".csv"));
    assert!(headers
        .get(header::LINK)
        .unwrap()
        .to_str()
        .unwrap()
        .contains("exports/metadata"));
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.starts_with('\u{feff}'), "UTF-8 with BOM");
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let head: Vec<&str> = lines.next().unwrap().split(';').collect();
    assert_eq!(
        &head[..5],
        ["code", "naam", "niveau", "gemeente", "periode"]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(';').collect()).collect();
    assert_eq!(rows.len(), 21);
    assert!(text.contains("onderdrukt"), "suppression written as a word");
    assert!(!text.contains(";;"), "no empty cells");
    // Value by value against the OGC API.
    let items = get_json("/v1/collections/wijken/items?limit=1000").await;
    let mut compared = 0;
    for feat in items["features"].as_array().unwrap() {
        let p = &feat["properties"];
        let row = rows
            .iter()
            .find(|r| r[0] == p["code"].as_str().unwrap())
            .unwrap();
        assert_eq!(row[1], p["naam"].as_str().unwrap());
        for (i, name) in head.iter().enumerate().skip(5) {
            let (id, what) = name.rsplit_once('_').unwrap();
            let key = match what {
                "aantal" => format!("{id}_count"),
                "noemer" => format!("{id}_denominator"),
                _ => format!("{id}_rate"),
            };
            match &p[&key] {
                Value::Null => assert_eq!(row[i], "onderdrukt", "{} {key}", row[0]),
                v => {
                    assert!(!row[i].contains('.'), "decimal comma: {}", row[i]);
                    let got: f64 = row[i].replace(',', ".").parse().unwrap();
                    assert_eq!(got, v.as_f64().unwrap(), "{} {key}", row[0]);
                }
            }
            compared += 1;
        }
    }
    assert!(compared > 1000);
    // GeoJSON with its metadata.
    let (status, _, body) = send(
        s.clone(),
        Request::get(
            "/v1/exports?collection=wijken&format=geojson&indicators=overlast,overbewoning",
        )
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let gj: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(gj["features"].as_array().unwrap().len(), 21);
    let meta = &gj["metadata"];
    assert_eq!(meta["disclosure"]["k"], 10);
    assert_eq!(meta["indicators"].as_array().unwrap().len(), 2);
    assert!(meta["attribution"]
        .as_str()
        .unwrap()
        .contains("Kadaster / CBS, 2024"));
    assert!(meta["indicators"][0]["legal_basis"].is_string());
    let kb_api = items["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "WK098325")
        .unwrap();
    let kb = gj["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "WK098325")
        .unwrap();
    for k in [
        "overlast_count",
        "overlast_rate",
        "overbewoning_denominator",
        "overbewoning_suppressed",
    ] {
        assert_eq!(kb["properties"][k], kb_api["properties"][k], "{k}");
    }
    // Both were recorded in the audit log, with who asked and without any address.
    s.auth.audit.flush();
    let log: Vec<_> = s
        .auth
        .audit
        .files
        .entries(None, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "export")
        .collect();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|e| e.actor.starts_with(common::TEST_USER)));
    assert!(log
        .iter()
        .any(|e| e.detail.contains("\"format\":\"csv\"") && e.detail.contains("\"rows\":21")));
    // GDAL reads both files.
    if std::process::Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok()
    {
        let dir = tempfile::tempdir().unwrap();
        let gpath = dir.path().join("wijken.geojson");
        std::fs::write(&gpath, &body).unwrap();
        let out = std::process::Command::new("ogrinfo")
            .args(["-ro", "-al", "-so"])
            .arg(&gpath)
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && t.contains("Feature Count: 21") && t.contains("overlast_rate"),
            "{t}"
        );
        let cpath = dir.path().join("wijken.csv");
        std::fs::write(&cpath, text.as_bytes()).unwrap();
        let out = std::process::Command::new("ogrinfo")
            .args(["-ro", "-al", "-so", "-oo", "SEPARATOR=SEMICOLON"])
            .arg(&cpath)
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && t.contains("Feature Count: 21") && t.contains("overlast_rate"),
            "{t}"
        );
    }
    // Bad parameters: every problem listed.
    let (status, _, body) = send(
        s,
        Request::get("/v1/exports?format=xls&indicators=nope")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let b = String::from_utf8_lossy(&body);
    assert!(
        b.contains("collection") && b.contains("format") && b.contains("nope"),
        "{b}"
    );
}

#[test]
fn the_export_command_writes_the_csv_and_its_metadata_and_records_it() {
    let (dir, db) = copy_db("cli-export.duckdb");
    let out = dir.path().join("buurten.csv");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_wijkradar"))
        .args([
            "export",
            "--collection",
            "buurten",
            "--indicators",
            "overlast,woz_waarde",
            "--db",
        ])
        .arg(&db)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with("woz_waarde_aantal;woz_waarde_noemer;woz_waarde_rate"));
    assert!(csv.lines().count() > 100);
    let mut meta = out.as_os_str().to_owned();
    meta.push(".metadata.json");
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(std::path::PathBuf::from(meta)).unwrap())
            .unwrap();
    assert_eq!(meta["collection"], "buurten");
    assert_eq!(meta["disclosure"]["suppressed_as"], "onderdrukt");
    let log = wijkradar::auth::audit::Files::beside(&db);
    let e = &log.entries(None, 1).unwrap()[0];
    assert_eq!(
        (e.actor.as_str(), e.action.as_str(), e.target.as_str()),
        ("cli", "export", "buurten")
    );
    assert!(wijkradar::auth::audit::verify(&log, None).is_ok());
}

#[tokio::test]
async fn a_chart_is_rendered_once_and_its_format_is_part_of_its_etag() {
    let s = state();
    let ds = s.dataset().unwrap();
    let uri = |f: &str| format!("/v1/charts/trend/wijken/WK098325?indicator=overlast&f={f}");
    let (_, h1, b1) = send(
        s.clone(),
        Request::get(uri("png")).body(Body::empty()).unwrap(),
    )
    .await;
    let after_first = ds.cache_use().1;
    let (_, h2, b2) = send(
        s.clone(),
        Request::get(uri("png")).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        ds.cache_use().1,
        after_first,
        "the second request renders nothing new"
    );
    assert_eq!(b1, b2);
    assert_eq!(h1.get(header::ETAG), h2.get(header::ETAG));
    let (_, h3, _) = send(s, Request::get(uri("svg")).body(Body::empty()).unwrap()).await;
    assert_ne!(
        h1.get(header::ETAG),
        h3.get(header::ETAG),
        "PNG and SVG differ in ETag"
    );
}

#[tokio::test]
async fn the_contributions_chart_differs_by_reference() {
    let uri = |r: &str| format!("/v1/charts/contributions/wijken/WK098325?f=svg&reference={r}");
    let (_, a, _) = get(&uri("alle")).await;
    let (_, b, _) = get(&uri("gemeente")).await;
    assert_ne!(a.get(header::ETAG), b.get(header::ETAG));
}

/// GDAL reads `path` (a layer, or all) as GeoJSON through `ogr2ogr` (to `/vsistdout/`), with
/// `extra` arguments (`-t_srs EPSG:28992`, `-where …`).
fn ogr_geojson(path: &std::path::Path, extra: &[&str]) -> Value {
    let out = std::process::Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", "-lco", "RFC7946=NO", "/vsistdout/"])
        .arg(path)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn centroid(feature: &Value) -> (f64, f64) {
    use geo::Centroid;
    let g: geojson::Geometry = serde_json::from_value(feature["geometry"].clone()).unwrap();
    let g: geo::Geometry<f64> = g.try_into().unwrap();
    let c = g.centroid().unwrap();
    (c.x(), c.y())
}

/// The GeoPackage export: RD New with an R-tree, the figures of the map value by value, the
/// metadata inside; GDAL reads it without a warning and its validator passes; Klingerberg lies
/// where PROJ puts it.
#[tokio::test]
async fn the_geopackage_export_is_rd_new_valid_and_holds_the_published_figures() {
    if std::process::Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("WIJKRADAR_SKIP_GDAL").is_ok(),
            "ogrinfo (gdal-bin) is not installed"
        );
        return;
    }
    let (dir, db) = copy_db("gpkg.duckdb");
    let s = AppState::new(&db, fixture().dir.path().join("web-none"));
    let (status, headers, body) = send(
        s.clone(),
        Request::get("/v1/exports?collection=wijken&format=gpkg")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/geopackage+sqlite3"
    );
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("wijken.gpkg"));
    let gpkg = dir.path().join("wijken.gpkg");
    std::fs::write(&gpkg, &body).unwrap();
    // GDAL: no warning, RD New, 21 wijken, the columns per indicator.
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(&gpkg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    assert!(
        text.contains("Amersfoort / RD New") && text.contains("28992"),
        "{text}"
    );
    assert!(text.contains("Feature Count: 21"), "{text}");
    for c in [
        "overlast_aantal",
        "overlast_noemer",
        "overlast_rate",
        "overlast_onderdrukt",
    ] {
        assert!(text.contains(c), "{c}: {text}");
    }
    // The R-tree index is there.
    let out = std::process::Command::new("ogrinfo")
        .args([
            "-ro",
            "-q",
            "-sql",
            "SELECT count(*) AS n FROM sqlite_master WHERE name = 'rtree_wijken_geom'",
        ])
        .arg(&gpkg)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("n (Integer) = 1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The metadata, in gpkg_metadata and readable.
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-al"])
        .arg(&gpkg)
        .arg("wijkradar_metadata")
        .output()
        .unwrap();
    let meta = String::from_utf8_lossy(&out.stdout);
    assert!(
        meta.contains("Kadaster / CBS")
            && meta.contains("disclosure")
            && meta.contains("indicator overlast"),
        "{meta}"
    );
    // GDAL's own GeoPackage validator, when python3-gdal is installed.
    let validator = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py";
    if std::path::Path::new(validator).exists() && std::path::Path::new("/usr/bin/python3").exists()
    {
        let out = std::process::Command::new("/usr/bin/python3")
            .arg(validator)
            .arg(&gpkg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "validate_gpkg.py: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // PDOK's GeoPackage validator (PyPI `pdok-geopackage-validator`; scripts/test.sh installs
    // it and names it in WIJKRADAR_GPKG_VALIDATOR): every requirement and recommendation it
    // checks, no error and no warning.
    if let Ok(pdok) = std::env::var("WIJKRADAR_GPKG_VALIDATOR") {
        let out = std::process::Command::new(&pdok)
            .args(["validate", "--gpkg-path"])
            .arg(&gpkg)
            .output()
            .unwrap_or_else(|e| panic!("{pdok}: {e}"));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(report["success"], true, "{report}");
        assert!(report["results"].as_array().unwrap().is_empty(), "{report}");
        assert!(
            report["validations_executed"].as_array().unwrap().len() >= 20,
            "{report}"
        );
    }
    // Value by value the same figures as the GeoJSON export (which a test ties to the map).
    let (_, _, gj) = send(
        s.clone(),
        Request::get("/v1/exports?collection=wijken&format=geojson")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let gj: Value = serde_json::from_slice(&gj).unwrap();
    let from_gpkg = ogr_geojson(&gpkg, &["wijken"]);
    let by_code = |v: &Value| -> std::collections::HashMap<String, Value> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["properties"]["code"].as_str().unwrap().to_string(),
                    f.clone(),
                )
            })
            .collect()
    };
    let (a, b) = (by_code(&gj), by_code(&from_gpkg));
    assert_eq!(a.len(), b.len());
    for (code, f) in &a {
        let g = &b[code];
        for id in ["overlast", "overbewoning", "woz_waarde"] {
            assert_eq!(
                f["properties"][format!("{id}_rate")],
                g["properties"][format!("{id}_rate")],
                "{code} {id}"
            );
            assert_eq!(
                f["properties"][format!("{id}_count")].as_f64(),
                g["properties"][format!("{id}_aantal")].as_f64(),
                "{code} {id}"
            );
            assert_eq!(
                f["properties"][format!("{id}_suppressed")]
                    .as_bool()
                    .unwrap(),
                {
                    let v = &g["properties"][format!("{id}_onderdrukt")];
                    v.as_bool().unwrap_or(v.as_i64() == Some(1))
                },
                "{code} {id}"
            );
        }
    }
    // Klingerberg in RD New: our transformation against PROJ's (via ogr2ogr) within a metre.
    let ours = centroid(&b["WK098325"]);
    let geojson_path = dir.path().join("wijken.geojson");
    std::fs::write(&geojson_path, serde_json::to_vec(&gj).unwrap()).unwrap();
    let proj = ogr_geojson(
        &geojson_path,
        &["-t_srs", "EPSG:28992", "-where", "code = 'WK098325'"],
    );
    let theirs = centroid(&proj["features"][0]);
    let d = ((ours.0 - theirs.0).powi(2) + (ours.1 - theirs.1).powi(2)).sqrt();
    assert!(
        d < 1.0,
        "Klingerberg's centroid {ours:?} vs PROJ {theirs:?}: {d:.2} m"
    );
    assert!(
        (200_000.0..215_000.0).contains(&ours.0) && (370_000.0..385_000.0).contains(&ours.1),
        "{ours:?} is not in Venlo"
    );
    // Every quarter in one file: a row per wijk and quarter, told apart by `periode`; only
    // as GeoPackage.
    let (status, _, body) = send(
        s.clone(),
        Request::get("/v1/exports?collection=wijken&format=gpkg&datetime=alle")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let all = dir.path().join("alle.gpkg");
    std::fs::write(&all, &body).unwrap();
    let quarters = s.dataset().unwrap().periods.len();
    let rows = ogr_geojson(&all, &["wijken"]);
    let rows = rows["features"].as_array().unwrap();
    assert_eq!(rows.len(), 21 * quarters);
    let last = s.dataset().unwrap().periods.last().unwrap().clone();
    let k_last = rows
        .iter()
        .find(|f| {
            f["properties"]["code"] == "WK098325" && f["properties"]["periode"] == last.as_str()
        })
        .unwrap();
    assert_eq!(
        k_last["properties"]["overlast_rate"],
        b["WK098325"]["properties"]["overlast_rate"]
    );
    let (status, _, _) = send(
        s.clone(),
        Request::get("/v1/exports?collection=wijken&format=csv&datetime=alle")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // And in CRS84 on request.
    let (status, _, body) = send(
        s,
        Request::get("/v1/exports?collection=wijken&format=gpkg&crs=CRS84")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let p = dir.path().join("crs84.gpkg");
    std::fs::write(&p, &body).unwrap();
    let c = centroid(&ogr_geojson(&p, &["wijken", "-where", "code = 'WK098325'"])["features"][0]);
    assert!(
        (6.0..6.3).contains(&c.0) && (51.3..51.5).contains(&c.1),
        "{c:?}"
    );
}

/// With the index chosen on the map, the trend and distribution charts show the index (not the
/// first indicator).
#[tokio::test]
async fn the_charts_follow_the_index() {
    for uri in [
        "/v1/charts/trend/wijken/WK098325?indicator=index&f=svg",
        "/v1/charts/distribution/wijken/WK098325?indicator=index&f=svg",
    ] {
        let (status, h, body) = get(uri).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(h[header::CONTENT_TYPE], "image/svg+xml");
        let svg = String::from_utf8_lossy(&body);
        assert!(
            svg.contains("Drukindex") && svg.contains("standaardscores"),
            "{uri}"
        );
        assert!(
            !svg.contains("Bewoonde adressen"),
            "{uri} shows an indicator"
        );
    }
}
