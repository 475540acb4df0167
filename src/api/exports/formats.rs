//! CSV for Dutch Excel and GeoJSON, written row by row to any writer (a file, or the
//! response as it is sent).

use super::*;

/// A number with a decimal comma (CSV for Dutch Excel).
fn nl(v: f64) -> String {
    let s = format!("{v}");
    s.replace('.', ",")
}

/// Quotes a CSV field when it holds the separator, a quote or a line break; text that a
/// spreadsheet would read as a formula is kept text ([`formula_safe`]).
fn field(s: &str) -> String {
    let s = formula_safe(s);
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

/// Text for a CSV cell that Excel or LibreOffice opens: a value starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return is read there as a formula, even in quotes (CSV formula
/// injection, CWE-1236), so it gets a leading apostrophe and stays text. Such text can come
/// from an imported boundary file (an area's name), an intervention's name or a path someone
/// asked for (in the audit log).
pub(crate) fn formula_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The CSV (with BOM) and its number of rows.
///
/// # Errors
/// Database errors.
pub fn csv(ds: &Dataset, r: &Request) -> Result<(String, usize), ApiError> {
    let mut out = Vec::new();
    let n = write_csv(ds, r, &mut out)?;
    Ok((String::from_utf8_lossy(&out).into_owned(), n))
}

/// Writes the CSV row by row to `w` (a file, or the response as it is sent): memory does not
/// grow with the layer. Returns the number of rows.
///
/// # Errors
/// Database errors; a write that fails (a client that went away).
pub fn write_csv(
    ds: &Dataset,
    r: &Request,
    w: &mut impl std::io::Write,
) -> Result<usize, ApiError> {
    let layer = ds.layer(r.level, r.period)?;
    let units = r.units(ds);
    let mut out = String::from("\u{feff}code;naam;niveau;gemeente;periode");
    for &j in &r.indicators {
        let id = &ds.indicators[j].id;
        let _ = write!(out, ";{id}_aantal;{id}_noemer;{id}_rate");
    }
    out.push_str("\r\n");
    for &u in &units {
        let unit = &ds.units[u];
        let _ = write!(
            out,
            "{};{};{};{};{}",
            field(&unit.code),
            field(unit.naam.as_deref().unwrap_or("")),
            r.level.id(),
            field(&unit.gemeente),
            ds.periods[r.period]
        );
        let pos = ds.pos_in_level[u];
        for &j in &r.indicators {
            let f = layer.get(pos, j);
            let word = |v: Option<String>| v.unwrap_or_else(|| SUPPRESSED.to_string());
            let _ = write!(
                out,
                ";{};{};{}",
                word(f.count.map(|c| c.to_string())),
                word(f.denominator.map(|d| d.to_string())),
                word(f.rate.map(nl))
            );
        }
        out.push_str("\r\n");
        if out.len() >= CHUNK {
            w.write_all(out.as_bytes()).map_err(gone)?;
            out.clear();
        }
    }
    w.write_all(out.as_bytes()).map_err(gone)?;
    Ok(units.len())
}

/// The GeoJSON FeatureCollection (CRS84) with the metadata as a foreign member.
///
/// # Errors
/// Database errors.
pub fn geojson(ds: &Dataset, r: &Request, generated: &str) -> Result<(String, usize), ApiError> {
    let mut out = Vec::new();
    let n = write_geojson(ds, r, generated, &mut out)?;
    Ok((String::from_utf8_lossy(&out).into_owned(), n))
}

/// Writes the GeoJSON feature by feature to `w`, as [`write_csv`] does.
///
/// # Errors
/// Database errors; a write that fails.
pub fn write_geojson(
    ds: &Dataset,
    r: &Request,
    generated: &str,
    w: &mut impl std::io::Write,
) -> Result<usize, ApiError> {
    let layer = ds.layer(r.level, r.period)?;
    let units = r.units(ds);
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, &u) in units.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let unit = &ds.units[u];
        let mut props = serde_json::Map::new();
        props.insert("code".into(), json!(unit.code));
        props.insert("naam".into(), json!(unit.naam));
        props.insert("level".into(), json!(r.level.id()));
        props.insert("gemeente".into(), json!(unit.gemeente));
        props.insert("period".into(), json!(ds.periods[r.period]));
        let pos = ds.pos_in_level[u];
        for &j in &r.indicators {
            let (id, f) = (&ds.indicators[j].id, layer.get(pos, j));
            props.insert(format!("{id}_count"), json!(f.count));
            props.insert(format!("{id}_denominator"), json!(f.denominator));
            props.insert(format!("{id}_rate"), json!(f.rate));
            props.insert(
                format!("{id}_suppressed"),
                json!(crate::disclosure::served_suppressed(
                    f.present,
                    f.rate.is_some()
                )),
            );
        }
        let _ = write!(
            out,
            "{{\"type\":\"Feature\",\"id\":{},\"geometry\":{},\"properties\":{}}}",
            json!(unit.code),
            unit.geometry,
            Value::Object(props)
        );
        if out.len() >= CHUNK {
            w.write_all(out.as_bytes()).map_err(gone)?;
            out.clear();
        }
    }
    let meta = metadata_of(ds, r, units.len(), generated);
    let _ = write!(out, "],\"metadata\":{meta}}}");
    w.write_all(out.as_bytes()).map_err(gone)?;
    Ok(units.len())
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn text_that_reads_as_a_formula_stays_text_and_separators_are_quoted() {
        assert_eq!(field("Klingerberg"), "Klingerberg");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("=1+1"), "'=1+1");
        for s in ["+31", "-Noord", "@SUM(A1)", "\tx"] {
            assert_eq!(field(s), format!("'{s}"), "{s:?}");
        }
        assert_eq!(field("Noord; Zuid"), "\"Noord; Zuid\"");
        assert_eq!(field("'s-Hertogenbosch"), "'s-Hertogenbosch");
    }
}
