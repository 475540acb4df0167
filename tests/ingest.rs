//! Demo → ingest into a real DuckDB file: coverage, privacy, planted patterns, idempotence,
//! atomicity and the errors a user sees on bad input.

mod common;

use common::{copy_db, extract, fixture, sha};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use wijkradar::ingest::{self, IngestError, Options, Split};
use wijkradar::spatial::Level;
use wijkradar::store;

fn ro(db: &Path) -> duckdb::Connection {
    store::open_read_only(db).unwrap()
}

#[test]
fn every_level_indicator_and_period_is_filled() {
    let f = fixture();
    let c = ro(&f.db);
    let periods: i64 = c
        .query_row(
            "SELECT count(DISTINCT period) FROM aggregate WHERE version = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(periods, 8);
    for level in Level::ALL {
        for ind in &f.cat.indicators {
            let (n, published): (i64, i64) = c
                .query_row(
"SELECT count(DISTINCT period), sum(published) FROM coverage WHERE version = 1 AND level = ? AND indicator = ?",
                    duckdb::params![level.id(), ind.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(n, 8, "{} / {}", level.id(), ind.id);
            if matches!(level, Level::Gemeente | Level::Wijk) {
                assert!(
                    published > 0,
                    "nothing published for {} at {}",
                    ind.id,
                    level.id()
                );
            }
        }
    }
    // Venlo's 21 wijken and 114 buurten all appear as units.
    let wijken: i64 = c
        .query_row(
            "SELECT count(*) FROM unit WHERE version = 1 AND level = 'wijken'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let buurten: i64 = c
        .query_row(
            "SELECT count(*) FROM unit WHERE version = 1 AND level = 'buurten'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((wijken, buurten), (21, 114));
}

#[test]
fn published_counts_respect_thresholds_and_rounding() {
    let f = fixture();
    let c = ro(&f.db);
    let (k, k_fine, round_to): (i64, i64, i64) = c
        .query_row(
            "SELECT k, k_fine, round_to FROM dataset_version WHERE version = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((k, k_fine, round_to), (10, 20, 5));
    // Rounded to 5 from at least k units: a published count is at least k − 2 after rounding.
    let bad: i64 = c
        .query_row(
            "SELECT count(*) FROM aggregate WHERE count % 5 <> 0 OR count < CASE WHEN level IN ('pc6','h3-10') THEN 20 - 2 ELSE 10 - 2 END",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0, "published counts below k or not rounded");
    // Coverage accounts for every area with data, and rows exist only for published figures.
    let (published, rows): (i64, i64) = c
        .query_row("SELECT (SELECT sum(published) FROM coverage WHERE version = 1), (SELECT count(*) FROM aggregate WHERE version = 1)", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(published, rows);
    let suppressed: i64 = c
        .query_row(
            "SELECT sum(suppressed) FROM coverage WHERE version = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(suppressed > 0);
}

/// Collects values of the input that must never reach the database.
fn input_values() -> (HashSet<String>, HashSet<String>, HashSet<u64>) {
    let mut ids = HashSet::new();
    let mut addresses = HashSet::new();
    let mut coords = HashSet::new();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    for p in &fixture().extracts {
        let lit = p.display().to_string();
        let src = if lit.ends_with(".parquet") {
            format!("read_parquet('{lit}')")
        } else {
            format!(
                "read_csv('{lit}', delim=';', header=true, all_varchar=true, encoding='{}')",
                if lit.contains("corporatie") || lit.contains("meldingen") || lit.contains("svb") {
                    "latin-1"
                } else {
                    "utf-8"
                }
            )
        };
        let mut st = conn
            .prepare(&format!("SELECT DISTINCT CAST(id AS VARCHAR), replace(CAST(postcode AS VARCHAR), ' ', '') || CAST(huisnummer AS VARCHAR), CAST(x AS VARCHAR), CAST(y AS VARCHAR) FROM {src}"))
            .unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (id, addr, x, y) = row.unwrap();
            ids.insert(id);
            addresses.insert(addr);
            for v in [x, y] {
                let v: f64 = v.replace(',', ".").parse().unwrap();
                coords.insert(((v * 100.0).round() as i64) as u64);
            }
        }
    }
    (ids, addresses, coords)
}

#[test]
fn no_table_holds_any_identifier_address_or_coordinate_of_the_input() {
    let f = fixture();
    let (ids, addresses, coords) = input_values();
    assert!(
        ids.len() > 100_000 && addresses.len() > 20_000,
        "{} ids, {} addresses",
        ids.len(),
        addresses.len()
    );
    let c = ro(&f.db);
    let mut st = c.prepare("SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main'").unwrap();
    let cols: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(cols.len() > 30);
    let mut checked = 0;
    for (table, column, ty) in &cols {
        let mut st = c.prepare(&format!("SELECT DISTINCT CAST(\"{column}\" AS VARCHAR) FROM \"{table}\" WHERE \"{column}\" IS NOT NULL")).unwrap();
        let values: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for v in &values {
            checked += 1;
            assert!(!ids.contains(v), "{table}.{column} holds an input id");
            assert!(
                !addresses.contains(v),
                "{table}.{column} holds a postcode + house number"
            );
            if ty == "DOUBLE" {
                let x: f64 = v.parse().unwrap();
                assert!(
                    !coords.contains(&(((x * 100.0).round() as i64) as u64)) || x.abs() < 1000.0,
                    "{table}.{column} holds an input coordinate {x}"
                );
            }
            if column != "geometry" && ty == "VARCHAR" {
                for id in ids.iter().take(300) {
                    assert!(
                        !v.contains(id.as_str()),
                        "{table}.{column} contains an input id"
                    );
                }
            }
        }
    }
    assert!(checked > 1000);
    // And no geometry vertex coincides with an address location.
    let mut addr_points: HashSet<(i64, i64)> = HashSet::new();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let brp = extract("brp");
    let mut st = conn
        .prepare(&format!(
            "SELECT DISTINCT x, y FROM read_parquet('{}')",
            brp.display()
        ))
        .unwrap();
    for r in st
        .query_map([], |r| Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?)))
        .unwrap()
    {
        let (x, y) = r.unwrap();
        let (lon, lat) = wijkradar::spatial::rd_to_wgs84(x, y);
        addr_points.insert(((lon * 1e6).round() as i64, (lat * 1e6).round() as i64));
    }
    let mut st = c
        .prepare("SELECT geometry FROM unit WHERE level IN ('pc6', 'h3-10')")
        .unwrap();
    for g in st.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let g: geojson::Geometry = g.unwrap().parse().unwrap();
        let geom: geo::Geometry<f64> = g.try_into().unwrap();
        use geo::CoordsIter;
        for p in geom.coords_iter() {
            assert!(
                !addr_points.contains(&((p.x * 1e6).round() as i64, (p.y * 1e6).round() as i64)),
                "a geometry vertex sits on an address"
            );
        }
    }
}

fn wijk_rates(db: &Path, indicator: &str, period: &str) -> Vec<(String, f64)> {
    let c = ro(db);
    let mut st = c
        .prepare("SELECT code, rate FROM aggregate WHERE version = (SELECT max(version) FROM dataset_version) AND level = 'wijken' AND indicator = ? AND period = ? AND rate IS NOT NULL ORDER BY rate DESC")
        .unwrap();
    st.query_map(duckdb::params![indicator, period], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn klingerberg_overcrowding_and_ownership_rank_at_the_top_of_venlo() {
    let f = fixture();
    for ind in [
        "adresdrukte",
        "overbewoning",
        "eigendomsconcentratie",
        "kort_ingeschreven",
    ] {
        // (Disclosure control that holds against differencing hides more: at least half of
        // the 21 wijken; docs/disclosure.md gives the cost.)
        let rates = wijk_rates(&f.db, ind, "2025-Q4");
        assert!(
            rates.len() >= 11,
            "{ind}: only {} wijken published",
            rates.len()
        );
        let pos = rates.iter().position(|(c, _)| c == "WK098325");
        assert!(
            pos.is_some_and(|p| p < 2),
            "{ind}: Klingerberg at {pos:?} of {rates:?}"
        );
    }
    // Overlast rose in Klingerberg through 2024.
    let q1 = wijk_rates(&f.db, "overlast", "2024-Q1")
        .into_iter()
        .find(|r| r.0 == "WK098325")
        .unwrap()
        .1;
    let q4 = wijk_rates(&f.db, "overlast", "2024-Q4")
        .into_iter()
        .find(|r| r.0 == "WK098325")
        .unwrap()
        .1;
    assert!(q4 > q1 * 1.5, "overlast {q1} → {q4}");
}

#[test]
fn ingesting_the_same_extracts_again_changes_nothing() {
    let f = fixture();
    let (_d, db) = copy_db("again.duckdb");
    let before = sha(&db);
    let s = ingest::ingest(&db, &f.extracts, &f.cat, &f.bounds, &Options::default()).unwrap();
    assert_eq!(s.version, None);
    assert_eq!(sha(&db), before);
}

fn with_bad_line(src: &Path, dir: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let text = std::fs::read(src).unwrap();
    let text = String::from_utf8_lossy(&text).into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len() - 2;
    lines[n] = edit(&lines[n]);
    let out = dir.join(name);
    std::fs::write(&out, lines.join("\n")).unwrap();
    out
}

#[test]
fn a_bad_row_fails_the_ingest_naming_file_line_column_and_rule_and_keeps_the_previous_version() {
    let f = fixture();
    let (dir, db) = copy_db("bad.duckdb");
    let before = sha(&db);
    let politie = extract("politie");
    let bad = with_bad_line(&politie, dir.path(), "politie_2025.csv", |l| {
        let mut parts: Vec<&str> = l.split(';').collect();
        parts[1] = "59250AB";
        parts.join(";")
    });
    let lines = std::fs::read_to_string(&bad).unwrap().lines().count();
    let mut files: Vec<PathBuf> = f
        .extracts
        .iter()
        .filter(|p| !p.to_string_lossy().contains("politie"))
        .cloned()
        .collect();
    files.push(bad.clone());
    let err = ingest::ingest(&db, &files, &f.cat, &f.bounds, &Options::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, IngestError::Row { .. }));
    assert!(
        msg.contains("politie_2025.csv")
            && msg.contains(&format!("line {}", lines - 1))
            && msg.contains("column 'postcode'")
            && msg.contains("1234AB"),
        "{msg}"
    );
    assert!(
        !msg.contains("59250AB"),
        "the error repeats the personal value: {msg}"
    );
    assert_eq!(sha(&db), before, "the database changed");
    let (v, _) = store::latest_version(&ro(&db)).unwrap().unwrap();
    assert_eq!(v, 1);
}

fn write_csv(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(body.as_bytes()).unwrap();
    p
}

const H: &str = "id;postcode;huisnummer;toevoeging;x;y;datum;categorie\n";
const OK: &str = "PL1;5925AB;12;;209500,5;376800,25;15-02-2025;geweld\n";

#[test]
fn bad_input_table_gives_the_rule() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, String, &str, &str); 9] = [
        (
            "postcode",
            format!("{H}{OK}PL2;5925A;12;;209500;376800;15-02-2025;geweld\n"),
            "line 3, column 'postcode'",
            "1234AB",
        ),
        (
            "datum",
            format!("{H}{OK}PL2;5925AB;12;;209500;376800;31-02-2025;geweld\n"),
            "line 3, column 'datum'",
            "not a date",
        ),
        (
            "outside bbox",
            format!("{H}{OK}PL2;5925AB;12;;900000;376800;15-02-2025;geweld\n"),
            "line 3, column 'x,y'",
            "outside the Netherlands",
        ),
        (
            "sea",
            format!("{H}{OK}PL2;5925AB;13;;-3400;615279;15-02-2025;geweld\n"),
            "line 3, column 'x,y'",
            "no Dutch gemeente",
        ),
        (
            "duplicate",
            format!("{H}{OK}{OK}"),
            "line 3, column 'id'",
            "duplicate",
        ),
        (
            "category",
            format!("{H}{OK}PL2;5925AB;12;;209500;376800;15-02-2025;brandstichting\n"),
            "line 3, column 'categorie'",
            "is not one of",
        ),
        (
            "huisnummer",
            format!("{H}{OK}PL2;5925AB;twaalf;;209500;376800;15-02-2025;geweld\n"),
            "line 3, column 'huisnummer'",
            "house number",
        ),
        (
            "missing column",
            "id;postcode;huisnummer;x;y;datum\nPL1;5925AB;1;209500;376800;15-02-2025\n".to_string(),
            "line 1, column 'categorie'",
            "required column is missing",
        ),
        (
            "protected column",
            format!(
                "id;postcode;huisnummer;toevoeging;x;y;datum;categorie;nationaliteit\n{}",
                OK.replace('\n', ";NL\n")
            ),
            "line 1, column 'nationaliteit'",
            "protected",
        ),
    ];
    for (name, body, want_where, want_rule) in cases {
        let p = write_csv(dir.path(), "politie_test.csv", &body);
        let db = dir
            .path()
            .join(format!("{}.duckdb", name.replace(' ', "_")));
        let err = match ingest::ingest(&db, &[p], &f.cat, &f.bounds, &Options::default()) {
            Ok(s) => panic!("{name}: accepted: {s:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("politie_test.csv") && err.contains(want_where) && err.contains(want_rule),
            "{name}: {err}"
        );
        assert!(!db.exists(), "{name}: a database was written");
    }
    let p = write_csv(dir.path(), "politie_alleen.csv", &format!("{H}{OK}"));
    let err = ingest::ingest(
        &dir.path().join("y.duckdb"),
        &[p],
        &f.cat,
        &f.bounds,
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("compute no indicator") && err.contains("overlast (politie + brp)"),
        "{err}"
    );
    let p = write_csv(dir.path(), "onbekend_2025.csv", &format!("{H}{OK}"));
    let err = ingest::ingest(
        &dir.path().join("x.duckdb"),
        &[p],
        &f.cat,
        &f.bounds,
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("cannot tell which partner source"), "{err}");
}

#[test]
fn reject_file_lists_lines_and_reasons_without_values_and_the_threshold_holds() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from(H);
    for i in 0..300 {
        body.push_str(&format!(
            "PL{i};5925AB;{};;209500,5;376800,25;15-02-2025;geweld\n",
            i + 1
        ));
    }
    body.push_str("PLX;5925A;7;;209501;376801;15-02-2025;geweld\n");
    let p = write_csv(dir.path(), "politie_r.csv", &body);
    let rf = dir.path().join("afgewezen.csv");
    let db = dir.path().join("r.duckdb");
    let brp = extract("brp");
    let opts = Options {
        reject_file: Some(rf.clone()),
        max_reject_share: 0.01,
        ..Options::default()
    };
    let s = ingest::ingest(&db, &[brp.clone(), p.clone()], &f.cat, &f.bounds, &opts).unwrap();
    assert_eq!(s.rows_rejected, 1);
    assert_eq!(s.files[1].rows, 301);
    let report = std::fs::read_to_string(&rf).unwrap();
    assert!(report.contains(";302;postcode;"), "{report}");
    assert!(
        !report.contains("PLX") && !report.contains("5925A;") && !report.contains("209501"),
        "{report}"
    );
    // Above the threshold: nothing written.
    let db2 = dir.path().join("r2.duckdb");
    let opts = Options {
        reject_file: Some(rf),
        max_reject_share: 0.0,
        ..Options::default()
    };
    let err = ingest::ingest(&db2, &[brp, p], &f.cat, &f.bounds, &opts).unwrap_err();
    assert!(
        matches!(err, IngestError::TooManyRejects { rejected: 1, .. }),
        "{err}"
    );
    assert!(!db2.exists());
}

#[test]
fn windows_1252_bom_and_dutch_dates_are_read() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"id;postcode;huisnummer;toevoeging;x;y;datum;categorie\r\n".to_vec();
    for i in 0..12 {
        bytes.extend_from_slice(
            format!(
                "M{i};5911AA;{};;210300,5;376100,25;0{}-01-2025;overlast caf",
                i + 1,
                1 + i % 9
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(b"\xe9/horeca\r\n");
    }
    let p = dir.path().join("meldingen_cp1252.csv");
    std::fs::write(&p, &bytes).unwrap();
    let ua = ingest::aggregate_files(&[p], &f.cat, &f.bounds, Split::default()).unwrap();
    assert!(!ua.rows.is_empty());
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(format!("{H}{OK}").as_bytes());
    let p = dir.path().join("politie_bom.csv");
    std::fs::write(&p, &bom).unwrap();
    assert!(ingest::aggregate_files(&[p], &f.cat, &f.bounds, Split::default()).is_ok());
}

#[test]
fn killed_ingest_leaves_the_previous_version_served() {
    let f = fixture();
    let (_d, db) = copy_db("kill.duckdb");
    let before = sha(&db);
    // Different extracts (another seed) so that the ingest would write a new version.
    let dir = tempfile::tempdir().unwrap();
    let files = wijkradar::demo::generate(
        dir.path(),
        &wijkradar::demo::Options {
            seed: 7,
            ..Default::default()
        },
        &f.bounds,
        &f.cat,
    )
    .unwrap();
    let mut killed_before_the_write = 0;
    for delay_ms in [150u64, 700, 1500] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wijkradar"))
            .arg("ingest")
            .arg("--db")
            .arg(&db)
            .args(files.iter().map(|x| &x.0))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if finished {
            break;
        }
        let (v, _) = store::latest_version(&ro(&db)).unwrap().unwrap();
        if sha(&db) != before {
            // The rename that puts the new version in place is the write's last step: a
            // process killed between it and its exit leaves the whole new version.
            assert_eq!(
                v, 2,
                "killed after {delay_ms} ms: the database changed but holds no whole new version"
            );
            break;
        }
        assert_eq!(v, 1);
        killed_before_the_write += 1;
    }
    assert!(
        killed_before_the_write > 0,
        "no kill came before the write: the test proves nothing"
    );
}

#[test]
fn aggregates_before_disclosure_equal_a_plain_group_by() {
    let f = fixture();
    let politie = extract("politie");
    let kadaster = extract("kadaster");
    let brp = extract("brp");
    // Small pieces over three threads: the merge of partial aggregates is part of what is
    // compared.
    let ua = ingest::aggregate_files(
        &[politie.clone(), kadaster.clone(), brp.clone()],
        &f.cat,
        &f.bounds,
        FINE,
    )
    .unwrap();
    let codes: Vec<String> = ua.units.iter().map(|u| ingest::unit_code(*u)).collect();
    let mine = |indicator: &str, numerator: bool, value: bool| -> HashMap<(String, String), f64> {
        let ind = f.cat.indicator(indicator).unwrap();
        let m = ua
            .measure_index(if numerator {
                &ind.numerator
            } else {
                &ind.denominator
            })
            .unwrap();
        let mut out = HashMap::new();
        for (r, &(u, q)) in ua.rows.iter().enumerate() {
            if ua.units[u as usize].level != Level::Pc4 {
                continue;
            }
            let (v, n) = ua.value(r, m);
            if n > 0.0 {
                out.insert(
                    (
                        codes[u as usize].clone(),
                        wijkradar::period::period_label(q),
                    ),
                    if value { v } else { n },
                );
            }
        }
        out
    };
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let reference = |sql: &str| -> HashMap<(String, String), f64> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                r.get::<_, f64>(2)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let q = |col: &str| format!("year({col}) || '-Q' || quarter({col})");
    let overlast = reference(&format!(
        "SELECT left(postcode, 4), {}, count(*)::DOUBLE FROM read_csv('{}', delim=';', header=true, dateformat='%Y-%m-%d')
         WHERE categorie IN ('woonoverlast', 'drugsoverlast', 'jeugdoverlast') GROUP BY ALL",
        q("datum"),
        politie.display()
    ));
    assert!(overlast.len() > 100);
    assert_eq!(mine("overlast", true, false), overlast);
    let woz = reference(&format!(
        "SELECT left(postcode, 4), {}, sum(woz_waarde) FROM read_parquet('{}') GROUP BY ALL",
        q("peildatum"),
        kadaster.display()
    ));
    let ours = mine("woz_waarde", true, true);
    assert_eq!(ours.len(), woz.len());
    for (k, v) in &woz {
        assert!(
            (ours[k] - v).abs() < 1e-6 * v.abs().max(1.0),
            "{k:?}: {} vs {v}",
            ours[k]
        );
    }
    let drukte = reference(&format!(
        "SELECT left(postcode, 4), {}, count(*)::DOUBLE FROM (
            SELECT postcode, huisnummer, toevoeging, peildatum, count(*) FILTER (WHERE volwassene = 'J') AS a
            FROM read_parquet('{}') GROUP BY ALL) WHERE a >= 5 GROUP BY ALL",
        q("peildatum"),
        brp.display()
    ));
    assert_eq!(mine("adresdrukte", true, false), drukte);
    let bewoond = reference(&format!(
        "SELECT left(postcode, 4), {}, count(DISTINCT (postcode, huisnummer, toevoeging))::DOUBLE FROM read_parquet('{}') GROUP BY ALL",
        q("peildatum"),
        brp.display()
    ));
    assert_eq!(mine("adresdrukte", false, false), bewoond);
}

/// Every level at once: the aggregates of every unit (gemeente, wijk, buurt, PC4, PC6, H3
/// res 7–10) and quarter equal the sums of the rows located in it, each distinct coordinate
/// located here on its own (RD → WGS84, H3, point in polygon) and summed per unit. This checks
/// the table per unit and quarter: rows filled in at each location's finest units, then
/// summed into the parents, over threads and pieces.
#[test]
fn aggregates_of_every_level_equal_the_rows_located_in_each_unit() {
    let f = fixture();
    let kadaster = extract("kadaster");
    let ua =
        ingest::aggregate_files(std::slice::from_ref(&kadaster), &f.cat, &f.bounds, FINE).unwrap();
    let codes = ingest::unit_codes(&ua, &f.bounds);
    let woz = f.cat.indicator("woz_waarde").unwrap();
    let m = ua.measure_index(&woz.numerator).unwrap();
    let mut ours: HashMap<(Level, String, String), (f64, f64)> = HashMap::new();
    for (r, &(u, q)) in ua.rows.iter().enumerate() {
        let (sum, n) = ua.value(r, m);
        if n > 0.0 {
            let key = (
                ua.units[u as usize].level,
                codes[u as usize].clone(),
                wijkradar::period::period_label(q),
            );
            assert!(
                ours.insert(key, (n, sum)).is_none(),
                "one row per unit and quarter"
            );
        }
    }
    // The rows per distinct coordinate and quarter, from DuckDB.
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let mut st = conn
        .prepare(&format!(
            "SELECT postcode, x, y, year(peildatum) || '-Q' || quarter(peildatum), count(*)::DOUBLE, sum(woz_waarde)::DOUBLE
             FROM read_parquet('{}') GROUP BY ALL",
            kadaster.display()
        ))
        .unwrap();
    let groups: Vec<(String, f64, f64, String, f64, f64)> = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(groups.len() > 1000, "{}", groups.len());
    let code = |level: Level, i: usize| f.bounds.set(level).unwrap().areas[i].code.clone();
    let mut expected: HashMap<(Level, String, String), (f64, f64)> = HashMap::new();
    for (postcode, x, y, q, n, sum) in &groups {
        let (lon, lat) = wijkradar::spatial::rd_to_wgs84(*x, *y);
        let cells = wijkradar::spatial::h3_cells(lon, lat).unwrap();
        let place = f.bounds.locate(lon, lat).unwrap();
        let pc: String = postcode.chars().filter(|c| !c.is_whitespace()).collect();
        let mut units = vec![
            (Level::Gemeente, code(Level::Gemeente, place.gemeente)),
            (Level::Pc4, pc[..4].to_string()),
            (Level::Pc6, pc.to_uppercase()),
        ];
        units.extend(place.wijk.map(|w| (Level::Wijk, code(Level::Wijk, w))));
        units.extend(place.buurt.map(|b| (Level::Buurt, code(Level::Buurt, b))));
        for (level, cell) in [Level::H3_7, Level::H3_8, Level::H3_9, Level::H3_10]
            .into_iter()
            .zip(cells)
        {
            units.push((level, cell.to_string()));
        }
        for (level, unit) in units {
            let e = expected.entry((level, unit, q.clone())).or_default();
            e.0 += n;
            e.1 += sum;
        }
    }
    for level in Level::ALL {
        let of = |m: &HashMap<(Level, String, String), (f64, f64)>| {
            m.keys().filter(|k| k.0 == level).count()
        };
        assert!(of(&expected) > 0, "{level:?}");
        assert_eq!(of(&ours), of(&expected), "{level:?}: units × quarters");
    }
    for (k, (n, sum)) in &expected {
        let (on, osum) = ours.get(k).unwrap_or_else(|| panic!("{k:?} missing"));
        assert_eq!(on, n, "{k:?}: rows");
        assert!(
            (osum - sum).abs() < 1e-6 * sum.abs().max(1.0),
            "{k:?}: {osum} vs {sum}"
        );
    }
}

#[test]
fn k_below_five_is_refused() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        params: wijkradar::disclosure::Params {
            k: 3,
            k_fine: 10,
            round_to: 5,
        },
        ..Options::default()
    };
    let err = ingest::ingest(
        &dir.path().join("k.duckdb"),
        &f.extracts,
        &f.cat,
        &f.bounds,
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("below the floor of 5"), "{err}");
}

/// Many small pieces over three threads.
const FINE: Split = Split {
    threads: 3,
    csv_piece_bytes: 4 << 10,
    parquet_piece_rows: 1,
};

/// One thread reading every file whole.
const WHOLE: Split = Split {
    threads: 1,
    csv_piece_bytes: u64::MAX,
    parquet_piece_rows: u64::MAX,
};

fn table_rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = ro(db);
    let mut st = conn.prepare(sql).unwrap();
    let mut rows = st.query([]).unwrap();
    let n = rows.as_ref().unwrap().column_count();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let mut line = Vec::with_capacity(n);
        for i in 0..n {
            let v: duckdb::types::Value = r.get(i).unwrap();
            line.push(format!("{v:?}"));
        }
        out.push(line.join("|"));
    }
    out
}

#[test]
fn the_published_dataset_does_not_depend_on_how_reading_is_split_over_threads() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut dbs = Vec::new();
    for (name, split) in [("whole.duckdb", WHOLE), ("fine.duckdb", FINE)] {
        let db = dir.path().join(name);
        let s = ingest::ingest(
            &db,
            &f.extracts,
            &f.cat,
            &f.bounds,
            &Options {
                split,
                ..Options::default()
            },
        )
        .unwrap();
        assert!(s.rows_read > 100_000);
        dbs.push((db, s));
    }
    let (a, b) = (&dbs[0], &dbs[1]);
    assert_eq!(a.1.rows_read, b.1.rows_read);
    assert_eq!(
        a.1.files.iter().map(|f| f.rows).collect::<Vec<_>>(),
        b.1.files.iter().map(|f| f.rows).collect::<Vec<_>>()
    );
    for sql in [
        "SELECT level, code, period, indicator, count, rate FROM aggregate ORDER BY ALL",
        "SELECT level, code, naam, parent, wijk, gemeente, geometry FROM unit ORDER BY ALL",
        "SELECT level, period, indicator, areas, published, suppressed, rates FROM coverage ORDER BY ALL",
    ] {
        let (x, y) = (table_rows(&a.0, sql), table_rows(&b.0, sql));
        assert!(x.len() > 100, "{sql}");
        let only = |p: &[String], q: &[String]| -> Vec<String> {
            p.iter().filter(|l| !q.contains(l)).take(8).cloned().collect()
        };
        assert!(
            x == y,
            "{sql}: {} vs {} rows differ; only whole: {:?}; only fine: {:?}",
            x.len(),
            y.len(),
            only(&x, &y),
            only(&y, &x)
        );
    }
}

/// A politie extract of `n` good rows with bad postcodes at the given (1-based) lines.
fn politie_with_bad_lines(dir: &Path, name: &str, n: usize, bad: &[u64]) -> PathBuf {
    let mut body = String::from(H);
    for i in 0..n {
        let line = i as u64 + 2;
        let pc = if bad.contains(&line) {
            "5925A"
        } else {
            "5925AB"
        };
        body.push_str(&format!(
            "PS{i};{pc};{};;209500,5;376800,25;15-02-2025;geweld\n",
            i + 1
        ));
    }
    write_csv(dir, name, &body)
}

#[test]
fn bad_rows_in_later_pieces_are_reported_at_their_line_in_the_file() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let bad = [2u64, 777, 1500, 2999, 3001];
    let p = politie_with_bad_lines(dir.path(), "politie_pieces.csv", 3000, &bad);
    assert!(std::fs::metadata(&p).unwrap().len() > 30 * (4 << 10));
    let brp = extract("brp");
    // Tolerant: every bad line in the reject file, in order, with its line in the file.
    let rf = dir.path().join("afgewezen.csv");
    let opts = Options {
        reject_file: Some(rf.clone()),
        max_reject_share: 0.5,
        split: FINE,
        ..Options::default()
    };
    let s = ingest::ingest(
        &dir.path().join("t.duckdb"),
        &[brp.clone(), p.clone()],
        &f.cat,
        &f.bounds,
        &opts,
    )
    .unwrap();
    assert_eq!(s.files[1].rows, 3000);
    assert_eq!(s.rows_rejected, bad.len() as u64);
    let report = std::fs::read_to_string(&rf).unwrap();
    let lines: Vec<u64> = report
        .lines()
        .skip(1)
        .map(|l| l.split(';').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, bad);
    // Strict: the first bad line in file order, however the pieces were scheduled.
    let p = politie_with_bad_lines(dir.path(), "politie_strict.csv", 3000, &[1500, 2999]);
    for _ in 0..3 {
        let err = ingest::ingest(
            &dir.path().join("s.duckdb"),
            &[brp.clone(), p.clone()],
            &f.cat,
            &f.bounds,
            &Options {
                split: FINE,
                ..Options::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 1500, column 'postcode'"), "{err}");
    }
}

#[test]
fn a_duplicate_key_in_a_later_piece_names_its_line() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let p = politie_with_bad_lines(dir.path(), "politie_dup.csv", 3000, &[]);
    // Line 3002 repeats the key of line 12 (id PS10).
    let mut file = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    file.write_all(b"PS10;5925AB;9;;209500,5;376800,25;16-02-2025;geweld\n")
        .unwrap();
    let err = ingest::ingest(
        &dir.path().join("d.duckdb"),
        &[extract("brp"), p.clone()],
        &f.cat,
        &f.bounds,
        &Options {
            split: FINE,
            ..Options::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("politie_dup.csv, line 3002, column 'id'") && err.contains("duplicate"),
        "{err}"
    );
    // Tolerant: the later occurrence is rejected and the rest is ingested.
    let rf = dir.path().join("afgewezen.csv");
    let s = ingest::ingest(
        &dir.path().join("d2.duckdb"),
        &[extract("brp"), p],
        &f.cat,
        &f.bounds,
        &Options {
            split: FINE,
            reject_file: Some(rf.clone()),
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(s.files[1].rows, 3001);
    assert_eq!(s.rows_rejected, 1);
    let report = std::fs::read_to_string(&rf).unwrap();
    assert!(report.contains(";3002;id;duplicate"), "{report}");
}

#[test]
fn parquet_with_text_coordinates_and_dates_and_narrow_integers_is_read() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("politie_typed.parquet");
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "COPY (SELECT 'PT' || i AS id, '5925 ab' AS postcode, (i + 1)::INTEGER AS huisnummer,
                      NULL::VARCHAR AS toevoeging, '209500,5' AS x, '376800.25' AS y,
                      '15-02-2025' AS datum, 'geweld' AS categorie
               FROM range(40) t(i)
               UNION ALL
               SELECT 'PTX', '5925A', 1, NULL, '209500', '376800', '2025-02-15', 'geweld')
         TO '{}' (FORMAT PARQUET)",
        p.display()
    ))
    .unwrap();
    let err = aggregate_error(&p);
    assert!(err.contains("line 42, column 'postcode'"), "{err}");
    let rf = dir.path().join("afgewezen.csv");
    let s = ingest::ingest(
        &dir.path().join("t.duckdb"),
        &[extract("brp"), p],
        &f.cat,
        &f.bounds,
        &Options {
            reject_file: Some(rf.clone()),
            max_reject_share: 0.5,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!((s.files[1].rows, s.files[1].rejected), (41, 1));
    assert!(std::fs::read_to_string(&rf)
        .unwrap()
        .contains(";42;postcode;"));
}

/// The error of aggregating one extract that must be refused.
fn aggregate_error(p: &Path) -> String {
    let f = fixture();
    ingest::aggregate_files(&[p.to_path_buf()], &f.cat, &f.bounds, Split::default())
        .err()
        .expect("the extract is refused")
        .to_string()
}

/// `src` with its data lines in a fixed pseudo-random order (header kept first).
fn shuffled_csv(src: &Path, dir: &Path) -> PathBuf {
    let bytes = std::fs::read(src).unwrap();
    let mut lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let header = lines.remove(0);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..lines.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        #[expect(clippy::cast_possible_truncation, reason = "index below len")]
        lines.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let out = dir.join(src.file_name().unwrap());
    let mut body = header.to_vec();
    for l in lines {
        body.push(b'\n');
        body.extend_from_slice(l);
    }
    body.push(b'\n');
    std::fs::write(&out, body).unwrap();
    out
}

#[test]
fn the_published_dataset_does_not_depend_on_the_order_of_rows_or_the_file_format() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    // The fixture's extracts again, every one as CSV, with the rows of each shuffled: the
    // dwellings of the BRP no longer come in runs and every address count is combined.
    let csv = wijkradar::demo::generate(
        &dir.path().join("csv"),
        &wijkradar::demo::Options {
            format: wijkradar::demo::Format::Csv,
            ..wijkradar::demo::Options::default()
        },
        &f.bounds,
        &f.cat,
    )
    .unwrap();
    let shuffled_dir = dir.path().join("shuffled");
    std::fs::create_dir(&shuffled_dir).unwrap();
    let extracts: Vec<PathBuf> = csv
        .iter()
        .map(|(p, ..)| shuffled_csv(p, &shuffled_dir))
        .collect();
    assert_eq!(extracts.len(), f.extracts.len());
    let db = dir.path().join("shuffled.duckdb");
    ingest::ingest(&db, &extracts, &f.cat, &f.bounds, &Options::default()).unwrap();
    for sql in [
        "SELECT level, code, period, indicator, count, rate FROM aggregate ORDER BY ALL",
        "SELECT level, code, naam, parent, wijk, gemeente, geometry FROM unit ORDER BY ALL",
    ] {
        let (x, y) = (table_rows(&f.db, sql), table_rows(&db, sql));
        assert!(x.len() > 100, "{sql}");
        let only_x: Vec<_> = x.iter().filter(|r| !y.contains(r)).take(5).collect();
        assert!(x == y, "{sql}: differs, e.g. {only_x:?}");
    }
}

/// The fixture's Parquet BRP extract written again by arrow-rs with row groups of
/// 4096 rows, its text columns dictionary-encoded or plain; `null_flag_at` empties the
/// `volwassene` flag of one row (0-based).
fn rewritten_brp(dir: &Path, dictionary: bool, null_flag_at: Option<usize>) -> PathBuf {
    use duckdb::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    let brp = extract("brp");
    assert_eq!(
        brp.extension().unwrap(),
        "parquet",
        "the demo writes the BRP as Parquet"
    );
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&brp).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let sub = dir.join(format!("{dictionary}-{null_flag_at:?}"));
    std::fs::create_dir_all(&sub).unwrap();
    let out = sub.join(brp.file_name().unwrap());
    let mut w = None;
    let mut row = 0;
    for batch in reader {
        // Every column nullable, as other writers declare them.
        let batch = batch.unwrap();
        let schema = Arc::new(duckdb::arrow::datatypes::Schema::new(
            batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        let mut batch = RecordBatch::try_new(schema, batch.columns().to_vec()).unwrap();
        if let Some(at) = null_flag_at.filter(|&at| (row..row + batch.num_rows()).contains(&at)) {
            let i = batch.schema().index_of("volwassene").unwrap();
            let old = batch.column(i).as_string::<i32>();
            let new: StringArray = (0..old.len())
                .map(|r| (r + row != at).then(|| old.value(r)))
                .collect();
            let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
            cols[i] = Arc::new(new);
            batch = RecordBatch::try_new(batch.schema(), cols).unwrap();
        }
        row += batch.num_rows();
        let w = w.get_or_insert_with(|| {
            let props = WriterProperties::builder()
                .set_dictionary_enabled(dictionary)
                .set_max_row_group_row_count(Some(4096))
                .build();
            ArrowWriter::try_new(
                std::fs::File::create(&out).unwrap(),
                batch.schema(),
                Some(props),
            )
            .unwrap()
        });
        w.write(&batch).unwrap();
    }
    w.unwrap().close().unwrap();
    out
}

#[test]
fn parquet_text_columns_are_read_alike_dictionary_encoded_or_plain() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let aggregate =
        |p: PathBuf| ingest::aggregate_files(&[p], &f.cat, &f.bounds, Split::default()).unwrap();
    let original = aggregate(extract("brp"));
    for dictionary in [true, false] {
        let ua = aggregate(rewritten_brp(dir.path(), dictionary, None));
        assert_eq!(ua.units, original.units, "dictionary {dictionary}");
        assert_eq!(ua.rows, original.rows, "dictionary {dictionary}");
        for r in 0..ua.rows.len() {
            for m in 0..ua.n_measures {
                assert_eq!(ua.value(r, m), original.value(r, m), "row {r} measure {m}");
            }
        }
        // An empty flag is refused with its line (data rows start at line 2).
        let err = aggregate_error(&rewritten_brp(dir.path(), dictionary, Some(5000)));
        assert!(
            err.contains("line 5002, column 'volwassene'"),
            "dictionary {dictionary}: {err}"
        );
    }
}

/// The digest of everything the demo publishes (figures, units with their geometry, coverage),
/// kept in `tests/snapshots/demo_published.sha256`. A change of layout must leave it as it is;
/// a deliberate change of what is published (a disclosure rule, the demo) updates the file in
/// the same commit, with the reason in the commit message. On a difference the new digest and
/// the rows behind it are written to `test-output/` for review.
#[test]
fn the_published_figures_of_the_demo_match_the_snapshot() {
    let f = fixture();
    let mut all = Vec::new();
    for sql in [
        "SELECT level, code, period, indicator, count, rate FROM aggregate ORDER BY ALL",
        "SELECT level, code, naam, parent, wijk, gemeente, geometry FROM unit ORDER BY ALL",
        "SELECT level, period, indicator, areas, published, suppressed, rates FROM coverage ORDER BY ALL",
    ] {
        let rows = table_rows(&f.db, sql);
        assert!(rows.len() > 100, "{sql}");
        all.push(sql.to_string());
        all.extend(rows);
    }
    let text = all.join("\n");
    let digest = store::sha256_hex(text.as_bytes());
    let snap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/demo_published.sha256");
    let want = std::fs::read_to_string(&snap).unwrap_or_default();
    if want.trim() != digest {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-output");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("demo_published.txt"), &text).unwrap();
        std::fs::write(out.join("demo_published.sha256"), &digest).unwrap();
    }
    assert_eq!(
        want.trim(),
        digest,
        "the demo's published figures changed (rows in test-output/demo_published.txt)"
    );
}

#[test]
fn two_identical_ingests_started_together_write_one_version() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("twice.duckdb");
    let files = vec![extract("brp"), extract("politie")];
    let results: Vec<ingest::Summary> = std::thread::scope(|sc| {
        let a = sc
            .spawn(|| ingest::ingest(&db, &files, &f.cat, &f.bounds, &Options::default()).unwrap());
        let b = sc
            .spawn(|| ingest::ingest(&db, &files, &f.cat, &f.bounds, &Options::default()).unwrap());
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let written = results.iter().filter(|s| s.version.is_some()).count();
    assert_eq!(written, 1, "{results:?}");
    let versions = table_rows(&db, "SELECT version FROM dataset_version");
    assert_eq!(versions.len(), 1);
}

/// The command turns transparent huge pages off for its process (src/main.rs): with them, the
/// national ingest spent a third of its CPU time in the kernel zeroing 2 MiB pages. Checked
/// on the running binary: `user add` waits for a password on stdin, after `main` has started.
#[cfg(target_os = "linux")]
#[test]
fn the_command_runs_without_transparent_huge_pages() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wijkradar"))
        .args([
            "user",
            "add",
            "probe",
            "--role",
            "adviseur",
            "--gemeente",
            "GM0983",
        ])
        .arg("--db")
        .arg(dir.path().join("a.duckdb"))
        .env_remove("WIJKRADAR_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut prompt = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut prompt)
        .unwrap();
    assert!(prompt.starts_with("Wachtwoord"), "{prompt}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    // A short password ends the command with an error; nothing is written.
    drop(child.stdin.take());
    let _ = child.wait();
    let thp = status
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .map(str::trim);
    assert_eq!(thp, Some("0"), "{status}");
}
