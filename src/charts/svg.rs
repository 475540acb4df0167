//! The briefing's SVG pictures: the choropleth map of a gemeente (drawn with plotters) and
//! the table's sparklines (SVG text).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Fill colours of the nine index classes (blue = less pressure, red = more).
pub const CLASS_COLORS: [&str; 9] = [
    "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d",
    "#b2182b",
];

/// An area on the briefing map.
#[derive(Debug, Clone)]
pub struct MapArea {
    pub outline: geo::MultiPolygon<f64>,
    /// Index class 1–9; none when the index is suppressed (drawn grey).
    pub class: Option<u8>,
    /// An index of low confidence: drawn faint, as on the map.
    pub faint: bool,
    /// The label; empty for none.
    pub name: String,
}

/// The opacity of a faint area's fill (the map's is the same).
pub const FAINT_OPACITY: f64 = 0.3;

/// The gemeente's areas coloured by index class, drawn with plotters as SVG (for the briefing).
#[must_use]
pub fn choropleth_svg(title: &str, areas: &[MapArea], w: u32, h: u32) -> String {
    use geo::BoundingRect;
    ensure_font();
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for a in areas {
        if let Some(r) = a.outline.bounding_rect() {
            bbox = [
                bbox[0].min(r.min().x),
                bbox[1].min(r.min().y),
                bbox[2].max(r.max().x),
                bbox[3].max(r.max().y),
            ];
        }
    }
    // Equirectangular with cos(lat), so that shapes are not stretched.
    let k = ((bbox[1] + bbox[3]) / 2.0).to_radians().cos();
    let (gw, gh) = (
        ((bbox[2] - bbox[0]) * k).max(1e-9),
        (bbox[3] - bbox[1]).max(1e-9),
    );
    let top = 28.0;
    let sc = (f64::from(w) / gw).min((f64::from(h) - top) / gh);
    // As wide as the drawing needs (a tall gemeente gets a narrow map, not white margins).
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "pixels"
    )]
    let w = ((gw * sc).ceil() as u32).clamp(w.min(320), w);
    #[expect(clippy::cast_possible_truncation, reason = "pixel coordinates")]
    let tx = |x: f64, y: f64| {
        (
            ((x - bbox[0]) * k * sc).round() as i32,
            (top + (bbox[3] - y) * sc).round() as i32,
        )
    };
    let hex = |c: &str| {
        let v = u32::from_str_radix(c.trim_start_matches('#'), 16).unwrap_or(0xcc_cccc);
        #[expect(clippy::cast_possible_truncation, reason = "bytes of a colour")]
        RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
    };
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let _ = root.draw(&Text::new(
            title.to_string(),
            (0, 4),
            ("sans-serif", 15.0).into_font().color(&BLACK),
        ));
        for a in areas {
            let fill = hex(a
                .class
                .map_or("#cccccc", |c| CLASS_COLORS[usize::from(c.clamp(1, 9) - 1)]))
            .mix(if a.faint { FAINT_OPACITY } else { 1.0 });
            for poly in &a.outline.0 {
                let pts: Vec<(i32, i32)> = poly.exterior().coords().map(|c| tx(c.x, c.y)).collect();
                let _ = root.draw(&Polygon::new(pts.clone(), fill.filled()));
                let _ = root.draw(&PathElement::new(pts, RGBColor(85, 85, 85).stroke_width(1)));
            }
        }
        let label = ("sans-serif", 11.0)
            .into_font()
            .color(&RGBColor(17, 17, 17))
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
        // Names in the order given (the most important first); an empty name is not drawn,
        // and a name that would overlap one already drawn is left out.
        let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
        for a in areas {
            let name = &a.name;
            if name.is_empty() {
                continue;
            }
            let (cx, cy) = crate::spatial::centroid(&a.outline);
            let (x, y) = tx(cx, cy);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_possible_wrap,
                reason = "pixels"
            )]
            let half = (name.chars().count() as i32 * 6 + 4) / 2;
            let r = (x - half, y - 7, x + half, y + 7);
            if placed
                .iter()
                .any(|p| r.0 < p.2 && r.2 > p.0 && r.1 < p.3 && r.3 > p.1)
            {
                continue;
            }
            placed.push(r);
            let _ = root.draw(&Text::new(name.clone(), (x, y), label.clone()));
        }
        let _ = root.present();
    }
    text
}

/// A small SVG sparkline.
#[must_use]
pub fn sparkline(values: &[Option<f64>], w: f64, h: f64) -> String {
    use std::fmt::Write as _;
    let vals: Vec<f64> = values.iter().flatten().copied().collect();
    let (lo, hi) = vals
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let span = if vals.is_empty() || hi - lo < 1e-9 {
        1.0
    } else {
        hi - lo
    };
    #[expect(clippy::cast_precision_loss, reason = "small")]
    let step = w / (values.len().max(2) - 1) as f64;
    let mut d = String::new();
    let mut pen_up = true;
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            #[expect(clippy::cast_precision_loss, reason = "small")]
            let x = i as f64 * step;
            let y = h - 2.0 - (v - if vals.is_empty() { 0.0 } else { lo }) / span * (h - 4.0);
            let _ = write!(d, "{}{x:.1},{y:.1}", if pen_up { "M" } else { "L" });
            pen_up = false;
        } else {
            pen_up = true;
        }
    }
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\"><path d=\"{d}\" fill=\"none\" stroke=\"#b2182b\" stroke-width=\"1.5\"/></svg>")
}

/// Escapes text for HTML and SVG.
#[must_use]
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
