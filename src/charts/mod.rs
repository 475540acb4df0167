//! Charts with plotters: trend, distribution, contributions, and the briefing's map.
//! Returns SVG text or PNG bytes (at 2× pixel density), nothing else.

use plotters::coord::Shift;
use plotters::prelude::*;

mod svg;

pub use svg::{choropleth_svg, html_escape, sparkline, MapArea, CLASS_COLORS};

static FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");

fn ensure_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT);
    });
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    /// Parses `f=svg|png`.
    #[must_use]
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s.unwrap_or("svg") {
            "svg" => Some(Self::Svg),
            "png" => Some(Self::Png),
            _ => None,
        }
    }

    /// The MIME type.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
        }
    }
}

/// Chart errors.
#[derive(Debug, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(String);

fn e<E: std::fmt::Debug>(err: E) -> ChartError {
    ChartError(format!("{err:?}"))
}

const ACCENT: RGBColor = RGBColor(200, 60, 40);
const REF: RGBColor = RGBColor(90, 90, 90);
const GRID: RGBColor = RGBColor(225, 225, 225);

macro_rules! render_with {
    ($fmt:expr, $w:expr, $h:expr, |$root:ident, $s:ident| $body:expr) => {{
        ensure_font();
        match $fmt {
            Format::Svg => {
                let mut text = String::new();
                {
                    let $root = SVGBackend::with_string(&mut text, ($w, $h)).into_drawing_area();
                    let $s = 1.0f64;
                    $body?;
                    $root.present().map_err(e)?;
                }
                Ok::<Vec<u8>, ChartError>(text.into_bytes())
            }
            Format::Png => {
                let (w2, h2) = ($w * 2, $h * 2);
                let mut buf = vec![0u8; (w2 * h2 * 3) as usize];
                {
                    let $root = BitMapBackend::with_buffer(&mut buf, (w2, h2)).into_drawing_area();
                    let $s = 2.0f64;
                    $body?;
                    $root.present().map_err(e)?;
                }
                let mut png = Vec::new();
                let enc = image::codecs::png::PngEncoder::new(&mut png);
                image::ImageEncoder::write_image(enc, &buf, w2, h2, image::ColorType::Rgb8)
                    .map_err(e)?;
                Ok(png)
            }
        }
    }};
}

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The series legend, drawn the same way on every chart.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    s: f64,
    pos: SeriesLabelPosition,
) -> Result<(), ChartError> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font(font(s, 11.0))
        .position(pos)
        .draw()
        .map_err(e)
}

fn px(s: f64, v: f64) -> i32 {
    #[expect(clippy::cast_possible_truncation, reason = "pixel sizes")]
    let r = (v * s).round() as i32;
    r
}

fn font(s: f64, size: f64) -> TextStyle<'static> {
    // Charts are shown at about two thirds of their width in the side panel: sizes allow for it.
    ("sans-serif", size * 1.35 * s).into_font().color(&BLACK)
}

#[expect(clippy::too_many_arguments, reason = "chart parameters")]
fn draw_trend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: f64,
    title: &str,
    y_label: &str,
    periods: &[String],
    series: &[Option<f64>],
    reference: &[Option<f64>],
    names: (&str, &str),
    marks: &[(usize, String)],
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(e)?;
    let vals: Vec<f64> = series.iter().chain(reference).flatten().copied().collect();
    let (lo, hi) = vals
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = if vals.is_empty() {
        (0.0, 1.0)
    } else {
        (
            (lo * 0.9).min(0.0_f64.max(lo - (hi - lo) * 0.2)),
            hi * 1.1 + 1e-9,
        )
    };
    let n = periods.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(s, 13.0))
        .margin(px(s, 10.0))
        .x_label_area_size(px(s, 34.0))
        .y_label_area_size(px(s, 52.0))
        .build_cartesian_2d(0f64..(n as f64 - 0.5).max(1.0), lo..hi)
        .map_err(e)?;
    let labels: Vec<String> = periods.to_vec();
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID)
        .x_labels(n.min(8))
        .x_label_formatter(&|x| {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "index"
            )]
            let i = x.round().max(0.0) as usize;
            labels.get(i).cloned().unwrap_or_default()
        })
        .y_label_formatter(&|v| axis_num(*v))
        .y_desc(y_label)
        .label_style(font(s, 11.0))
        .axis_desc_style(font(s, 11.0))
        .draw()
        .map_err(e)?;
    // The project's start and end, between the quarters before and after.
    for (i, text) in marks {
        #[expect(clippy::cast_precision_loss, reason = "index")]
        let x = *i as f64 - 0.5;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, lo), (x, hi)],
                ShapeStyle {
                    color: RGBColor(60, 110, 180).to_rgba(),
                    filled: false,
                    stroke_width: px(s, 1.5).unsigned_abs(),
                },
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Text::new(
                text.clone(),
                (x + 0.05, hi - (hi - lo) * 0.04),
                font(s, 10.0).color(&RGBColor(60, 110, 180)),
            )))
            .map_err(e)?;
    }
    let points = |v: &[Option<f64>]| -> Vec<Vec<(f64, f64)>> {
        // Break the line at suppressed periods.
        let mut runs = vec![Vec::new()];
        for (i, x) in v.iter().enumerate() {
            match x {
                #[expect(clippy::cast_precision_loss, reason = "index")]
                Some(y) => runs
                    .last_mut()
                    .map(|r| r.push((i as f64, *y)))
                    .unwrap_or(()),
                None => runs.push(Vec::new()),
            }
        }
        runs.into_iter().filter(|r| !r.is_empty()).collect()
    };
    let mut first = true;
    for run in points(reference) {
        let series = chart
            .draw_series(LineSeries::new(
                run,
                ShapeStyle {
                    color: REF.to_rgba(),
                    filled: false,
                    stroke_width: px(s, 1.5).unsigned_abs(),
                },
            ))
            .map_err(e)?;
        if first {
            series
                .label(names.1.to_string())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], REF));
            first = false;
        }
    }
    let mut first = true;
    for run in points(series) {
        let pts = run.clone();
        let line = chart
            .draw_series(LineSeries::new(
                run,
                ShapeStyle {
                    color: ACCENT.to_rgba(),
                    filled: false,
                    stroke_width: px(s, 2.5).unsigned_abs(),
                },
            ))
            .map_err(e)?;
        if first {
            line.label(names.0.to_string()).legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 18, y)],
                    ShapeStyle {
                        color: ACCENT.to_rgba(),
                        filled: false,
                        stroke_width: 3,
                    },
                )
            });
            first = false;
        }
        chart
            .draw_series(
                pts.into_iter()
                    .map(|p| Circle::new(p, px(s, 3.5), ACCENT.filled())),
            )
            .map_err(e)?;
    }
    legend(&mut chart, s, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// An indicator's trend for an area, with the gemeente as reference line and, where given,
/// marks (a project's start and end: the index of the first quarter after the mark, and its
/// label).
///
/// # Errors
/// Drawing or encoding errors.
#[expect(clippy::too_many_arguments, reason = "chart parameters")]
pub fn trend(
    fmt: Format,
    title: &str,
    y_label: &str,
    periods: &[String],
    series: &[Option<f64>],
    reference: &[Option<f64>],
    names: (&str, &str),
    marks: &[(usize, String)],
) -> Result<Vec<u8>, ChartError> {
    render_with!(fmt, 640u32, 320u32, |root, s| draw_trend(
        &root, s, title, y_label, periods, series, reference, names, marks
    ))
}

fn draw_distribution<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: f64,
    title: &str,
    x_label: &str,
    values: &[f64],
    selected: Option<(f64, &str)>,
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(e)?;
    let (lo, hi) = values
        .iter()
        .chain(selected.iter().map(|x| &x.0))
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = if values.is_empty() {
        (0.0, 1.0)
    } else if (hi - lo).abs() < 1e-9 {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    };
    let bins = 12usize;
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for v in values {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "bin index"
        )]
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let top = f64::from(counts.iter().copied().max().unwrap_or(1)) * 1.15 + 0.5;
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(s, 13.0))
        .margin(px(s, 10.0))
        .x_label_area_size(px(s, 40.0))
        .y_label_area_size(px(s, 44.0))
        .build_cartesian_2d(lo..hi + width * 0.001, 0f64..top)
        .map_err(e)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID)
        .x_label_formatter(&|v| axis_num(*v))
        .y_label_formatter(&|v| axis_num(*v))
        .x_desc(x_label)
        .y_desc("aantal gebieden")
        .label_style(font(s, 11.0))
        .axis_desc_style(font(s, 11.0))
        .draw()
        .map_err(e)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &c)| {
            #[expect(clippy::cast_precision_loss, reason = "bin index")]
            let x0 = lo + i as f64 * width;
            Rectangle::new(
                [(x0, 0.0), (x0 + width * 0.95, f64::from(c))],
                RGBColor(150, 170, 200).filled(),
            )
        }))
        .map_err(e)?;
    if let Some((v, name)) = selected {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(v, 0.0), (v, top)],
                ShapeStyle {
                    color: ACCENT.to_rgba(),
                    filled: false,
                    stroke_width: px(s, 3.0).unsigned_abs(),
                },
            )))
            .map_err(e)?
            .label(format!("{name}: {}", fmt_num(v)))
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 18, y)],
                    ShapeStyle {
                        color: ACCENT.to_rgba(),
                        filled: false,
                        stroke_width: 3,
                    },
                )
            });
        legend(&mut chart, s, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

/// An axis tick in Dutch: decimal comma, no trailing zeros, never "-0".
#[must_use]
pub fn axis_num(v: f64) -> String {
    let v = if v.abs() < 1e-9 { 0.0 } else { v };
    let d = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{v:.d$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s.replace('.', ",")
}

/// Dutch number formatting with a decimal comma.
#[must_use]
pub fn fmt_num(v: f64) -> String {
    let s = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    s.replace('.', ",")
}

/// The distribution of an indicator over the gemeente's areas, the selected area marked.
///
/// # Errors
/// Drawing or encoding errors.
pub fn distribution(
    fmt: Format,
    title: &str,
    x_label: &str,
    values: &[f64],
    selected: Option<(f64, &str)>,
) -> Result<Vec<u8>, ChartError> {
    render_with!(fmt, 640u32, 320u32, |root, s| draw_distribution(
        &root, s, title, x_label, values, selected
    ))
}

fn draw_contributions<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: f64,
    title: &str,
    items: &[(String, f64)],
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(e)?;
    let m = items.iter().map(|x| x.1.abs()).fold(0.05, f64::max) * 1.1;
    let n = items.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(s, 13.0))
        .margin(px(s, 10.0))
        .x_label_area_size(px(s, 34.0))
        .y_label_area_size(px(s, 250.0))
        .build_cartesian_2d(-m..m, 0f64..n as f64)
        .map_err(e)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID)
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(5)
        .x_label_formatter(&|v| axis_num(*v))
        .x_desc("bijdrage aan de index")
        .label_style(font(s, 10.0))
        .axis_desc_style(font(s, 10.0))
        .draw()
        .map_err(e)?;
    chart
        .draw_series(items.iter().enumerate().map(|(i, (_, v))| {
            #[expect(clippy::cast_precision_loss, reason = "index")]
            let y = (n - 1 - i) as f64;
            let color = if *v >= 0.0 {
                ACCENT
            } else {
                RGBColor(60, 110, 180)
            };
            Rectangle::new([(0.0, y + 0.15), (*v, y + 0.85)], color.filled())
        }))
        .map_err(e)?;
    // Labels beside each bar, in the label area, right-aligned.
    let style = font(s, 10.0).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Right,
        plotters::style::text_anchor::VPos::Center,
    ));
    for (i, (label, _)) in items.iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "index")]
        let y = (n - 1 - i) as f64 + 0.5;
        let (x_px, y_px) = chart.backend_coord(&(-m, y));
        root.draw(&Text::new(
            label.clone(),
            (x_px - px(s, 6.0), y_px),
            style.clone(),
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// A horizontal bar chart of contributions (positive = more pressure).
///
/// # Errors
/// Drawing or encoding errors.
pub fn contributions(
    fmt: Format,
    title: &str,
    items: &[(String, f64)],
) -> Result<Vec<u8>, ChartError> {
    #[expect(clippy::cast_possible_truncation, reason = "small")]
    let h = 80 + 26 * items.len().max(1) as u32;
    render_with!(fmt, 640u32, h, |root, s| draw_contributions(
        &root, s, title, items
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_of_low_confidence_is_drawn_faint_on_the_briefing_map() {
        let square = |x: f64| {
            geo::MultiPolygon::new(vec![geo::Polygon::new(
                geo::LineString::from(vec![
                    (x, 51.0),
                    (x + 0.01, 51.0),
                    (x + 0.01, 51.01),
                    (x, 51.01),
                    (x, 51.0),
                ]),
                vec![],
            )])
        };
        let area = |x: f64, faint: bool| MapArea {
            outline: square(x),
            class: Some(9),
            faint,
            name: String::new(),
        };
        let svg = choropleth_svg("t", &[area(6.0, false), area(6.02, true)], 320, 200);
        // Both in class 9's colour; only the second at the faint opacity.
        let fills: Vec<&str> = svg
            .lines()
            .filter(|l| l.contains("<polygon") && l.contains("#B2182B"))
            .collect();
        assert_eq!(fills.len(), 2, "{svg}");
        assert!(!fills[0].contains("opacity=\"0.3\""), "{}", fills[0]);
        assert!(fills[1].contains("opacity=\"0.3\""), "{}", fills[1]);
    }

    #[test]
    fn trend_svg_has_dutch_labels_and_png_is_2x() {
        let periods: Vec<String> = ["2025-Q1", "2025-Q2", "2025-Q3"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let svg = trend(
            Format::Svg,
            "Overlast in Klingerberg",
            "per 1000 inwoners",
            &periods,
            &[Some(10.0), None, Some(14.0)],
            &[Some(8.0), Some(8.5), Some(9.0)],
            ("Klingerberg", "gemeente Venlo"),
            &[(1, "start project".to_string())],
        )
        .unwrap();
        let text = String::from_utf8(svg).unwrap();
        assert!(
            text.contains("<svg")
                && text.contains("Overlast in Klingerberg")
                && text.contains("gemeente Venlo")
                && text.contains("start project")
        );
        // Every number the chart prints has a decimal comma, and none is "-0".
        for label in text.split('>').filter_map(|t| t.split('<').next()) {
            let t = label.trim();
            if t.chars().any(|c| c.is_ascii_digit()) && !t.contains("Q") {
                assert!(!t.contains('.'), "{t}");
                assert!(t != "-0" && !t.starts_with("-0,0"), "{t}");
            }
        }
        let png = trend(
            Format::Png,
            "t",
            "y",
            &periods,
            &[Some(1.0), Some(2.0), Some(3.0)],
            &[None, None, None],
            ("a", "b"),
            &[],
        )
        .unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (1280, 640));
    }

    #[test]
    fn distribution_marks_selection() {
        let svg = distribution(
            Format::Svg,
            "Verdeling",
            "%",
            &[1.0, 2.0, 2.5, 7.0],
            Some((7.0, "Klingerberg")),
        )
        .unwrap();
        assert!(String::from_utf8(svg)
            .unwrap()
            .contains("Klingerberg: 7,00"));
    }

    #[test]
    fn axis_numbers_are_dutch() {
        assert_eq!(axis_num(18.0), "18");
        assert_eq!(axis_num(-0.0), "0");
        assert_eq!(axis_num(-1e-12), "0");
        assert_eq!(axis_num(0.5), "0,5");
        assert_eq!(axis_num(12.26), "12,3");
        assert_eq!(axis_num(1234.0), "1234");
    }

    #[test]
    fn sparkline_breaks_at_gaps() {
        let s = sparkline(&[Some(1.0), None, Some(2.0), Some(3.0)], 60.0, 16.0);
        assert_eq!(s.matches('M').count(), 2);
    }
}
