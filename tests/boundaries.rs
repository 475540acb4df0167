//! Boundaries as data (issue 11): the CBS Wijk- en Buurtkaart layout, built here from `data/`
//! with GDAL's `ogr2ogr` (GeoPackage in RD New, layers gemeenten, wijken, buurten), imported
//! with `wijkradar boundaries import`, and used by the next ingest; bad files are refused
//! with file, layer, feature, field and rule, and nothing is stored.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use wijkradar::spatial::{import, Boundaries, Level};

const BIN: &str = env!("CARGO_BIN_EXE_wijkradar");

fn data(name: &str) -> String {
    format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Generates the demo for `gemeente` into `extracts` (in the boundaries imported into `db`,
/// if given) and returns its files.
fn demo(extracts: &Path, gemeente: &str, db: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "demo",
        "--out",
        extracts.to_str().unwrap(),
        "--gemeente",
        gemeente,
    ];
    if let Some(db) = db {
        args.extend(["--db", db]);
    }
    let (ok, _, err) = run(&args);
    assert!(ok, "{err}");
    std::fs::read_dir(extracts)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect()
}

/// Runs GDAL's `ogr2ogr`; returns what it wrote to stdout.
fn ogr2ogr(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ogr2ogr").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Haarlem as CBS distributes a Wijk- en Buurtkaart for 2025: its gemeente, its 21 wijken,
/// and one buurt per wijk (the shipped data have no Haarlem buurten), plus a water-only buurt;
/// RD New, CBS's field names, the year in `jaarstatcode`.
fn haarlem_gpkg(dir: &Path) -> PathBuf {
    let gpkg = dir.join("wijkbuurtkaart_2025_haarlem.gpkg");
    let g = gpkg.to_str().unwrap();
    let wijken = data("wijken_2024_selected_gemeenten.geojson");
    ogr2ogr(&[
        "-f", "GPKG", "-t_srs", "EPSG:28992", g, &data("nl_gemeenten_2023.geojson"),
        "-nln", "gemeenten", "-dialect", "SQLite", "-sql",
        "SELECT gemeentecode, gemeentenaam, '2025' || gemeentecode AS jaarstatcode, 'NEE' AS water, geometry \
         FROM nl_gemeenten_2023 WHERE gemeentecode = 'GM0392'",
    ]);
    ogr2ogr(&[
        "-f", "GPKG", "-update", "-t_srs", "EPSG:28992", g, &wijken, "-nln", "wijken",
        "-dialect", "SQLite", "-sql",
        "SELECT wijkcode, wijknaam, gemeentecode, '2025' || wijkcode AS jaarstatcode, 'NEE' AS water, \
         woningvoorraad_2024 AS woningvoorraad, inwoners_2024 AS aantal_inwoners, geometry \
         FROM wijken_2024_selected_gemeenten WHERE gemeentecode = 'GM0392'",
    ]);
    ogr2ogr(&[
        "-f", "GPKG", "-update", "-t_srs", "EPSG:28992", g, &wijken, "-nln", "buurten",
        "-dialect", "SQLite", "-sql",
        "SELECT 'BU' || substr(wijkcode, 3) || '01' AS buurtcode, 'Buurt ' || wijknaam AS buurtnaam, \
         wijkcode, gemeentecode, '2025BU' || substr(wijkcode, 3) || '01' AS jaarstatcode, 'NEE' AS water, geometry \
         FROM wijken_2024_selected_gemeenten WHERE gemeentecode = 'GM0392' \
         UNION ALL \
         SELECT 'BU' || substr(wijkcode, 3) || '99', 'Spaarne (water)', wijkcode, gemeentecode, \
         '2025BU' || substr(wijkcode, 3) || '99', 'JA', geometry \
         FROM wijken_2024_selected_gemeenten WHERE wijkcode = 'WK039201'",
    ]);
    gpkg
}

/// Every vertex of every Haarlem wijk (one feature per wijk) as GDAL reads `layer` of `file`,
/// by code: RD New x/y as the file holds them.
fn vertices(file: &Path, layer: &str, code_field: &str) -> Vec<(String, Vec<[f64; 2]>)> {
    let filter = format!("{code_field} LIKE 'WK0392%'");
    let stdout = ogr2ogr(&[
        "-f",
        "GeoJSON",
        "/vsistdout/",
        file.to_str().unwrap(),
        layer,
        "-where",
        &filter,
        "-lco",
        "COORDINATE_PRECISION=15",
    ]);
    let fc: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let mut v: Vec<(String, Vec<[f64; 2]>)> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let code = f["properties"][code_field].as_str().unwrap().to_string();
            let mut pts = Vec::new();
            fn walk(v: &serde_json::Value, pts: &mut Vec<[f64; 2]>) {
                match v.as_array() {
                    Some(a) if a.len() >= 2 && a[0].is_number() => {
                        pts.push([a[0].as_f64().unwrap(), a[1].as_f64().unwrap()]);
                    }
                    Some(a) => a.iter().for_each(|x| walk(x, pts)),
                    None => {}
                }
            }
            walk(&f["geometry"]["coordinates"], &mut pts);
            (code, pts)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Issue 14: the outlines of an RD New source come out in RD New as the source gave them, not
/// through WGS84 and back: the GeoPackage export (RD New) of the imported wijken holds the
/// CBS file's own vertices, to the micrometre, as GDAL reads both.
fn assert_rd_output_is_the_source(dir: &Path, db: &Path, source: &Path) {
    let out = dir.join("wijken_rd.gpkg");
    let (ok, _, err) = run(&[
        "export",
        "--db",
        db.to_str().unwrap(),
        "--collection",
        "wijken",
        "--format",
        "gpkg",
        "--gemeente",
        "GM0392",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let want = vertices(source, "wijken", "wijkcode");
    let got = vertices(&out, "wijken", "code");
    assert_eq!(want.len(), 21);
    assert_eq!(
        want.iter().map(|w| &w.0).collect::<Vec<_>>(),
        got.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
    for ((code, w), (_, g)) in want.iter().zip(&got) {
        assert_eq!(w.len(), g.len(), "{code}: vertex count");
        let worst = w
            .iter()
            .zip(g)
            .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
            .fold(0.0_f64, f64::max);
        assert!(
            worst < 1e-6,
            "{code}: a vertex moved {worst} m on the way through"
        );
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = wijkradar::store::open_read_only(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_cbs_geopackage_is_imported_and_the_next_ingest_locates_addresses_in_its_buurten() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wijkradar.duckdb");
    let dbs = db.to_str().unwrap();
    let extracts = dir.path().join("extracts");

    // Before the import: the Haarlem demo has wijken but no buurten.
    let files = demo(&extracts, "GM0392", None);
    let mut ingest = vec!["ingest", "--db", dbs];
    ingest.extend(files.iter().map(String::as_str));
    let (ok, _, err) = run(&ingest);
    assert!(ok, "{err}");
    let haarlem_buurten =
        "SELECT count(*) FROM unit WHERE level = 'buurten' AND gemeente = 'GM0392'";
    assert_eq!(count(&db, &format!("{haarlem_buurten} AND version = 1")), 0);

    // The import: three layers, the water-only buurt left out, the levels reported.
    let gpkg = haarlem_gpkg(dir.path());
    let (ok, out, err) = run(&["boundaries", "import", "--db", dbs, gpkg.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("21 buurten (2025)"), "{out}");
    assert!(out.contains("1 watergebieden overgeslagen"), "{out}");
    assert!(out.contains("Haarlem (GM0392): alle niveaus"), "{out}");
    assert_eq!(count(&db, "SELECT count(*) FROM boundary_import"), 3);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM boundary_area WHERE code LIKE 'BU%99'"
        ),
        0
    );
    // Importing the same file again changes nothing.
    let before = wijkradar::store::sha256_file(&db).unwrap();
    let (ok, out, _) = run(&["boundaries", "import", "--db", dbs, gpkg.to_str().unwrap()]);
    assert!(ok && out.contains("al geïmporteerd"), "{out}");
    assert_eq!(wijkradar::store::sha256_file(&db).unwrap(), before);
    let (ok, out, _) = run(&["boundaries", "list", "--db", dbs]);
    assert!(
        ok && out.contains("wijkbuurtkaart_2025_haarlem.gpkg#buurten"),
        "{out}"
    );
    // Venlo (shipped) and Haarlem (imported) have every level now.
    assert!(out.contains("2 gemeenten: alle niveaus"), "{out}");

    // The same extracts again: a new version (the boundaries changed), located in the
    // imported buurten, with the boundary year and imports recorded.
    let (ok, _, err) = run(&ingest);
    assert!(ok, "{err}");
    assert_eq!(count(&db, "SELECT max(version) FROM dataset_version"), 2);
    assert!(count(&db, &format!("{haarlem_buurten} AND version = 2")) >= 15);
    assert_eq!(
        count(
            &db,
            "SELECT boundary_year FROM dataset_version WHERE version = 2"
        ),
        2025
    );
    let conn = wijkradar::store::open_read_only(&db).unwrap();
    let imports: String = conn
        .query_row(
            "SELECT boundary_imports FROM dataset_version WHERE version = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(imports, "1,2,3");
    // Every Haarlem buurt of version 2 nests in its wijk by code, and the old version is not
    // re-mapped: it still has no Haarlem buurten and says 2024.
    let bad: i64 = count(
        &db,
        "SELECT count(*) FROM unit WHERE version = 2 AND level = 'buurten' AND gemeente = 'GM0392' \
         AND (wijk IS NULL OR substr(code, 3, 6) <> substr(wijk, 3, 6))",
    );
    assert_eq!(bad, 0);
    assert_eq!(count(&db, &format!("{haarlem_buurten} AND version = 1")), 0);
    assert_eq!(
        count(
            &db,
            "SELECT boundary_year FROM dataset_version WHERE version = 1"
        ),
        2024
    );

    // RD New → WGS84 on import: the imported outline of Haarlem lies where the shipped one
    // (WGS84) does, within a few metres at its centroid.
    let shipped = Boundaries::embedded().unwrap();
    let layers = wijkradar::store::boundaries::stored_layers(&db).unwrap();
    let imported = shipped.with_imports(layers);
    let a = imported.gemeenten.get("GM0392").unwrap();
    let b = Boundaries::embedded().unwrap();
    let s = b.gemeenten.get("GM0392").unwrap();
    let (ax, ay) = wijkradar::spatial::centroid(&a.geometry);
    let (sx, sy) = wijkradar::spatial::centroid(&s.geometry);
    let metres = ((ax - sx) * 67_000.0).hypot((ay - sy) * 111_000.0);
    assert!(metres < 5.0, "centroid {metres:.1} m off");
    assert_eq!(imported.year, 2025);
    assert_rd_output_is_the_source(dir.path(), &db, &gpkg);
    let (with, without) = imported.levels_of("GM0392");
    assert!(with.contains(&Level::Buurt) && without.is_empty());
    // Venlo keeps its shipped buurten.
    assert_eq!(
        imported
            .buurten
            .areas
            .iter()
            .filter(|a| a.gemeente.as_deref() == Some("GM0983"))
            .count(),
        114
    );
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn feature(props: &str, ring: &str) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{{props}}},"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}"#
    )
}

/// A small square (0.002°) around the interior point of Haarlem's wijk Oude Stad (WK039201),
/// in WGS84, and the corners of that square.
fn square() -> (String, [f64; 4]) {
    use geo::InteriorPoint;
    let b = Boundaries::embedded().unwrap();
    let p = b
        .wijken
        .get("WK039201")
        .unwrap()
        .geometry
        .interior_point()
        .unwrap();
    let (x0, y0, x1, y1) = (p.x() - 0.001, p.y() - 0.001, p.x() + 0.001, p.y() + 0.001);
    (
        format!("[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]"),
        [x0, y0, x1, y1],
    )
}

#[test]
fn bad_boundary_files_name_file_layer_feature_field_and_rule_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (sq, _) = square();
    let fc = |features: &[String]| {
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        )
    };
    let buurten = write(
        dir.path(),
        "buurten_2025.geojson",
        &fc(&[
            // A well-formed buurt.
            feature(
                r#""buurtcode":"BU03920101","buurtnaam":"Goed","wijkcode":"WK039201","gemeentecode":"GM0392","jaar":2025"#,
                &sq,
            ),
            // A code that is not a buurt code.
            feature(
                r#""buurtcode":"BU123","buurtnaam":"Kort","wijkcode":"WK039201","gemeentecode":"GM0392","jaar":2025"#,
                &sq,
            ),
            // A wijkcode that does not contain the buurt.
            feature(
                r#""buurtcode":"BU03920202","buurtnaam":"Verkeerd","wijkcode":"WK039201","gemeentecode":"GM0392","jaar":2025"#,
                &sq,
            ),
            // A ring of two distinct points: it cannot be mended into a polygon.
            feature(
                r#""buurtcode":"BU03920103","buurtnaam":"Streep","wijkcode":"WK039201","gemeentecode":"GM0392","jaar":2025"#,
                "[4.63,52.38],[4.64,52.39],[4.64,52.39],[4.63,52.38]",
            ),
            // A ring along one line: valid by the rules, but without area.
            feature(
                r#""buurtcode":"BU03920104","buurtnaam":"Lijn","wijkcode":"WK039201","gemeentecode":"GM0392","jaar":2025"#,
                "[4.63,52.38],[4.64,52.39],[4.65,52.40],[4.63,52.38]",
            ),
            // In wijk 02 by its code, but lying in Oude Stad (wijk 01).
            feature(
                r#""buurtcode":"BU03920205","buurtnaam":"Elders","wijkcode":"WK039202","gemeentecode":"GM0392","jaar":2025"#,
                &sq,
            ),
            // A wijk nobody knows.
            feature(
                r#""buurtcode":"BU03929901","buurtnaam":"Nergens","wijkcode":"WK039299","gemeentecode":"GM0392","jaar":2025"#,
                &sq,
            ),
            // The same code twice.
            feature(
                r#""buurtcode":"BU03920101","buurtnaam":"Dubbel","wijkcode":"WK039201","gemeentecode":"GM0392","jaar":2025"#,
                &sq,
            ),
        ]),
    );
    // RD New coordinates in a file that says nothing of its CRS (so WGS84 by RFC 7946).
    let rd = write(
        dir.path(),
        "wijken_rd.geojson",
        &fc(&[feature(
            r#""wijkcode":"WK039201","wijknaam":"Oude Stad","gemeentecode":"GM0392","jaar":2025"#,
            "[103000,488000],[104000,488000],[104000,489000],[103000,489000],[103000,488000]",
        )]),
    );
    // No year anywhere.
    let undated = write(
        dir.path(),
        "gemeenten.geojson",
        &fc(&[feature(
            r#""gemeentecode":"GM0392","gemeentenaam":"Haarlem""#,
            &sq,
        )]),
    );
    let b = Boundaries::embedded().unwrap();
    let err = import::read(&[buurten.clone(), rd.clone(), undated.clone()], &b, None).unwrap_err();
    let import::ImportError::Invalid(problems) = &err else {
        panic!("{err}")
    };
    let has = |feature: &str, field: &str, rule: &str| {
        assert!(
            problems
                .iter()
                .any(|p| p.feature == feature && p.field == field && p.rule.contains(rule)),
            "no problem {feature}/{field}/{rule} in:\n{err}"
        );
    };
    has("#2", "buurtcode", "not a buurten code (BU and 8 digits)");
    has(
        "BU03920202",
        "wijkcode",
        "WK039201 does not contain BU03920202: its code says WK039202",
    );
    has(
        "BU03920103",
        "geometry",
        "not a valid polygon, and it cannot be mended",
    );
    has("BU03920104", "geometry", "the outline has no area");
    has(
        "BU03929901",
        "wijkcode",
        "wijk WK039299 is neither in this import nor among the known",
    );
    has("BU03920101", "buurtcode", "occurs twice");
    has(
        "WK039201",
        "geometry",
        "lies outside the Netherlands in WGS84",
    );
    has("GM0392", "jaarstatcode", "no year");
    assert!(problems
        .iter()
        .all(|p| p.file.ends_with(".geojson") && !p.layer.is_empty()));
    assert!(
        err.to_string().contains(
            "buurten_2025.geojson, layer 'buurten_2025', feature BU03920202, field 'wijkcode'"
        ),
        "{err}"
    );
    // The good buurt alone passes.
    // BU03920202 also lies outside the wijk its code names.
    assert_eq!(problems.len(), 10, "{err}");

    // Through the command line: exit code 1, the problems on stderr, the database unchanged.
    let db = dir.path().join("w.duckdb");
    let (ok, _, _) = run(&[
        "boundaries",
        "import",
        "--db",
        db.to_str().unwrap(),
        "--year",
        "2025",
        undated.to_str().unwrap(),
    ]);
    assert!(ok, "--year gives the year");
    let before = wijkradar::store::sha256_file(&db).unwrap();
    let (ok, _, err) = run(&[
        "boundaries",
        "import",
        "--db",
        db.to_str().unwrap(),
        buurten.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("nothing was imported") && err.contains("'wijkcode'"),
        "{err}"
    );
    assert_eq!(wijkradar::store::sha256_file(&db).unwrap(), before);
    assert_eq!(count(&db, "SELECT count(*) FROM boundary_import"), 1);
}

/// Wijken for a gemeente that ships none (Heemstede, four quadrants of its outline built with
/// GDAL/SpatiaLite), imported; the demo for Haarlem and Heemstede together; a RIEC analyst
/// granted their region sees both side by side in the region ranking and briefing.
#[test]
fn a_region_sets_two_gemeenten_side_by_side_once_the_second_has_imported_wijken() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wijkradar.duckdb");
    let dbs = db.to_str().unwrap();
    let gpkg = dir.path().join("heemstede_wijken.gpkg");
    let quadrant = |n: &str, naam: &str, mbr: &str| {
        format!(
            "SELECT 'WK0397{n}' AS wijkcode, 'Heemstede {naam}' AS wijknaam, gemeentecode, \
             '2025WK0397{n}' AS jaarstatcode, 3000 AS woningvoorraad, 6500 AS aantal_inwoners, \
             ST_Intersection(geometry, BuildMbr({mbr}, 4326)) AS geometry \
             FROM nl_gemeenten_2023 WHERE gemeentecode = 'GM0397'"
        )
    };
    let (x0, x1, y0, y1) = (
        "MbrMinX(geometry)",
        "MbrMaxX(geometry)",
        "MbrMinY(geometry)",
        "MbrMaxY(geometry)",
    );
    let (xm, ym) = (
        "(MbrMinX(geometry) + MbrMaxX(geometry)) / 2",
        "(MbrMinY(geometry) + MbrMaxY(geometry)) / 2",
    );
    let sql = [
        quadrant("01", "Zuidwest", &format!("{x0}, {y0}, {xm}, {ym}")),
        quadrant("02", "Zuidoost", &format!("{xm}, {y0}, {x1}, {ym}")),
        quadrant("03", "Noordwest", &format!("{x0}, {ym}, {xm}, {y1}")),
        quadrant("04", "Noordoost", &format!("{xm}, {ym}, {x1}, {y1}")),
    ]
    .join(" UNION ALL ");
    ogr2ogr(&[
        "-f",
        "GPKG",
        "-t_srs",
        "EPSG:28992",
        gpkg.to_str().unwrap(),
        &data("nl_gemeenten_2023.geojson"),
        "-nln",
        "wijken",
        "-dialect",
        "SQLite",
        "-sql",
        &sql,
    ]);
    let (ok, out, err) = run(&["boundaries", "import", "--db", dbs, gpkg.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Heemstede (GM0397): geen grenzen voor buurten"),
        "{out}"
    );
    let extracts = dir.path().join("extracts");
    let files = demo(&extracts, "GM0392,GM0397", Some(dbs));
    let mut ingest = vec!["ingest", "--db", dbs];
    ingest.extend(files.iter().map(String::as_str));
    let (ok, _, err) = run(&ingest);
    assert!(ok, "{err}");

    // A RIEC analyst of Noord-Holland, granted by region, with a token.
    let out = Command::new(BIN)
        .args(["user", "add", "analist-nh", "--db", dbs])
        .env("WIJKRADAR_PASSWORD", "analist-wachtwoord-lang")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, out, err) = run(&[
        "user",
        "grant",
        "analist-nh",
        "--db",
        dbs,
        "--role",
        "riec-analist",
        "--region",
        "noord-holland",
    ]);
    assert!(ok && out.contains("32 gemeente(n)"), "{out}{err}");
    let (ok, out, err) = run(&[
        "token",
        "create",
        "--db",
        dbs,
        "--user",
        "analist-nh",
        "--scope",
        "read",
        "--name",
        "t",
        "--days",
        "1",
    ]);
    assert!(ok, "{err}");
    let token = out.lines().nth(1).unwrap().trim().to_string();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let state = wijkradar::api::AppState::new(&db, dir.path().join("web-none"));
    let get = |uri: &str| {
        use tower::ServiceExt;
        let req = axum::http::Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        rt.block_on(async {
            let res = wijkradar::api::app(state.clone())
                .oneshot(req)
                .await
                .unwrap();
            let status = res.status();
            let body = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        })
    };
    let (status, body) = get("/v1/regions/noord-holland/ranking");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let gemeenten: HashSet<&str> = v["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["gemeente"].as_str().unwrap())
        .collect();
    assert_eq!(gemeenten, HashSet::from(["GM0392", "GM0397"]), "{body}");
    let (status, html) = get("/briefing/region/noord-holland");
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Haarlem") && html.contains("Heemstede"),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/briefing/GM0397">"#));
}

/// A self-intersecting outline (a bow tie, as generalised CBS outlines sometimes have) is
/// mended into valid parts with the same footprint and reported; the rest of the layer stays.
#[test]
fn a_self_intersecting_outline_is_mended_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (sq, [x0, y0, x1, y1]) = square();
    let bow_tie = format!("[{x0},{y0}],[{x1},{y1}],[{x1},{y0}],[{x0},{y1}],[{x0},{y0}]");
    let f = write(
        dir.path(),
        "buurten.geojson",
        &format!(
            r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
            feature(
                r#""buurtcode":"BU03920101","buurtnaam":"Goed","wijkcode":"WK039201","gemeentecode":"GM0392","jaar":2025"#,
                &sq,
            ),
            feature(
                r#""buurtcode":"BU03920103","buurtnaam":"Strik","wijkcode":"WK039201","gemeentecode":"GM0392","jaar":2025"#,
                &bow_tie,
            ),
        ),
    );
    let b = Boundaries::embedded().unwrap();
    let layers = import::read(&[f], &b, None).unwrap();
    assert_eq!(layers.len(), 1);
    let l = &layers[0];
    assert_eq!(l.areas.len(), 2);
    assert_eq!(l.repaired, ["BU03920103"]);
    let strik = l.areas.iter().find(|a| a.code == "BU03920103").unwrap();
    use geo::{Area as _, Validation as _};
    assert!(strik.geometry.is_valid());
    // The two triangles of the bow tie, a quarter of the 0.002° square each.
    let area = strik.geometry.unsigned_area();
    assert!((area - 2e-6).abs() < 1e-10, "{area} {:?}", strik.geometry);
}
