use super::from_csv::*;
use super::from_parquet::*;
use super::*;

#[test]
fn postcodes() {
    assert_eq!(parse_postcode(b"5925AB"), Some(*b"5925AB"));
    assert_eq!(parse_postcode(b"5925 ab"), Some(*b"5925AB"));
    for bad in [&b"0925AB"[..], b"5925A", b"59251B", b"5925ABC", b""] {
        assert_eq!(
            parse_postcode(bad),
            None,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn numbers_with_decimal_comma() {
    assert_eq!(parse_number(b"209123,5"), Some(209_123.5));
    assert_eq!(parse_number(b" 12.25 "), Some(12.25));
    assert_eq!(parse_number(b"-3"), Some(-3.0));
    assert_eq!(parse_number(b",5"), Some(0.5));
    for bad in [&b""[..], b"1.2.3", b"12a", b"1,", b"-"] {
        assert_eq!(parse_number(bad), None, "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn quoted_fields_split() {
    let mut out = Vec::new();
    split_line(b"a;\"b;c\";d", b';', &mut out);
    assert_eq!(out, vec![&b"a"[..], b"b;c", b"d"]);
}

/// Every row of a planned Parquet extract: the valid ones, and (line, column, rule) of
/// the refused ones.
fn parquet_rows(
    p: &Path,
    plan: &ParquetPlan,
    src: &Source,
) -> (Vec<Parsed>, Vec<(u64, String, String)>) {
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    let bar = indicatif::ProgressBar::hidden();
    read_parquet(p, plan, src, &bar, (0, plan.groups.len()), &mut |r| {
        match r {
            Ok(r) => rows.push(r),
            Err(e) => errors.push((e.line, e.column, e.rule)),
        }
        Ok(())
    })
    .unwrap();
    (rows, errors)
}

#[test]
fn parquet_text_columns_with_few_values_are_decoded_as_dictionaries() {
    use duckdb::arrow::datatypes::DataType;
    let cat = crate::catalogue::Catalogue::builtin().unwrap();
    let src = cat.source("politie").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("politie_x.parquet");
    duckdb::Connection::open_in_memory()
        .unwrap()
        .execute_batch(&format!(
            "COPY (SELECT 'P' || i AS id, '5925AB' AS postcode, i + 1 AS huisnummer,
                          NULL::VARCHAR AS toevoeging, 209500.5 AS x, 376800.25 AS y,
                          DATE '2025-02-15' AS datum, 'geweld' AS categorie
                   FROM range(100) t(i)
                   UNION ALL
                   SELECT 'PX', '5925AB', 1, NULL, 209500.5, 376800.25, DATE '2025-02-15',
                          'onbekend') TO '{}' (FORMAT PARQUET)",
            p.display()
        ))
        .unwrap();
    let plan = plan_parquet(&p, src).unwrap();
    let ty = |name: &str| {
        let schema = plan.meta.schema();
        schema.field_with_name(name).unwrap().data_type().clone()
    };
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    for name in ["postcode", "toevoeging", "categorie"] {
        assert_eq!(ty(name), dict, "{name}");
    }
    // Identifiers are all distinct: plain text.
    assert_eq!(ty("id"), DataType::Utf8);
    let (rows, errors) = parquet_rows(&p, &plan, src);
    for r in &rows {
        assert_eq!(&r.postcode, b"5925AB");
        assert_eq!(r.values[0], 4.0, "geweld is the fifth category");
    }
    assert_eq!(rows.len(), 100);
    // A value outside the catalogue's categories, met through the dictionary.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].0, errors[0].1.as_str()), (102, "categorie"));
    assert!(errors[0].2.contains("is not one of"), "{errors:?}");
    // The message lists the allowed values, never the value found (it may be personal).
    assert!(!errors[0].2.contains("onbekend"), "{errors:?}");
}

#[test]
fn parquet_numbers_outside_their_rules_are_refused_row_by_row() {
    let cat = crate::catalogue::Catalogue::builtin().unwrap();
    let src = cat.source("brp").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // `maanden` as integers or as doubles; batches whose values all keep the rules skip
    // the per-row check, the others must still name each bad row.
    for maanden_type in ["BIGINT", "DOUBLE"] {
        let p = dir.path().join(format!("brp_{maanden_type}.parquet"));
        duckdb::Connection::open_in_memory()
            .unwrap()
            .execute_batch(&format!(
                "COPY (SELECT 'P' || i AS id, '5925AB' AS postcode, i + 1 AS huisnummer,
                              NULL::VARCHAR AS toevoeging, 209500.5 AS x, 376800.25 AS y,
                              DATE '2025-02-15' AS peildatum, 'J' AS volwassene,
                              (CASE i WHEN 20000 THEN 2000 ELSE 12 END)::{maanden_type}
                                  AS maanden_op_adres,
                              CASE i WHEN 30000 THEN 0.5 ELSE 70.25 END AS woonoppervlak_m2
                       FROM range(40000) t(i)
                       UNION ALL
                       SELECT 'PX', '5925AB', 1, NULL, 209500.5, 376800.25,
                              DATE '2025-02-15', 'J', 3.5::{maanden_type}, 70.0)
                 TO '{}' (FORMAT PARQUET, ROW_GROUP_SIZE 10000)",
                p.display()
            ))
            .unwrap();
        let plan = plan_parquet(&p, src).unwrap();
        let (rows, errors) = parquet_rows(&p, &plan, src);
        for r in &rows {
            let want = if r.line == 40_002 {
                [4.0, 70.0]
            } else {
                [12.0, 70.25]
            };
            assert_eq!(r.values[1..3], want, "line {}", r.line);
        }
        let mut expected = vec![
            (
                20_002,
                "maanden_op_adres".to_string(),
                "above the maximum 1500".to_string(),
            ),
            (
                30_002,
                "woonoppervlak_m2".into(),
                "below the minimum 1".into(),
            ),
        ];
        if maanden_type == "DOUBLE" {
            // 3.5 as a double is no whole number; as BIGINT it was rounded when written.
            expected.push((
                40_002,
                "maanden_op_adres".into(),
                "not a whole number".into(),
            ));
        }
        assert_eq!(errors, expected, "{maanden_type}");
        assert_eq!(rows.len() + errors.len(), 40_001, "{maanden_type}");
    }
}

#[test]
fn csv_split_in_parts_reads_every_line_once_with_its_number() {
    let cat = crate::catalogue::Catalogue::builtin().unwrap();
    let src = cat.source("politie").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("politie_x.csv");
    let mut body =
        String::from("\u{feff}id;postcode;huisnummer;toevoeging;x;y;datum;categorie\r\n");
    for i in 0..997 {
        body.push_str(&format!(
            "P{i};5925AB;{};;209500,5;376800,25;15-02-2025;geweld\r\n",
            i + 1
        ));
    }
    body.push_str("PX;5925A;1;;209500;376800;15-02-2025;geweld\r\n");
    std::fs::write(&p, body).unwrap();
    let bar = indicatif::ProgressBar::hidden();
    let collect = |parts: u64| {
        let plan = plan_csv(&p, src, parts).unwrap();
        assert_eq!(plan.pieces.len() as u64, parts);
        let mut out = Vec::new();
        // Lines are numbered per piece; the lines of earlier pieces give the offset.
        let mut offset = 0;
        for piece in 0..plan.pieces.len() {
            let lines = read_csv(&p, &plan, piece, src, &bar, &mut |r| {
                out.push(match r {
                    Ok(x) => (x.line + offset, x.key_hash, true),
                    Err(e) => (e.line + offset, 0, false),
                });
                Ok(())
            })
            .unwrap();
            offset += lines;
        }
        out.sort_unstable();
        out
    };
    let one = collect(1);
    assert_eq!(one.len(), 998);
    assert_eq!(one.last().unwrap(), &(999, 0, false));
    assert_eq!(collect(2), one);
    assert_eq!(collect(3), one);
}

#[test]
fn windows_1252_fields_decode() {
    assert_eq!(text(b"overlast caf\xe9/horeca"), "overlast café/horeca");
    assert_eq!(text("café".as_bytes()), "café");
}
