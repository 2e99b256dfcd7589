//! Charts as server-rendered SVG (plotters' SVG backend): no script, no CDN.
//!
//! An SVG scales as a picture, text included: one drawn for a desktop column is unreadable
//! on a phone. So each chart is drawn twice, wide and narrow (fewer dates, larger type), and
//! the stylesheet (admin.css) shows the one that fits the screen.

use chrono::NaiveDate;
use plotters::prelude::*;

/// One drawing of a chart: its size in pixels, type sizes and how many labels fit.
struct Layout {
    size: (u32, u32),
    caption_font: u32,
    label_font: u32,
    x_labels: usize,
    y_label_area: u32,
}

/// Desktop columns, 560 px and wider.
const WIDE: Layout = Layout {
    size: (640, 260),
    caption_font: 18,
    label_font: 12,
    x_labels: 8,
    y_label_area: 56,
};

/// Phones: drawn about as wide as it is shown, so the type stays near its size.
const NARROW: Layout = Layout {
    size: (360, 240),
    caption_font: 17,
    label_font: 14,
    x_labels: 4,
    y_label_area: 40,
};

/// A bar per day, with dates under the bars and counts on the left: the wide and the narrow
/// drawing, each in its own `<div>` (`chart-wide`, `chart-narrow`).
pub fn daily_bars(caption: &str, days: &[(NaiveDate, i64)], colour: RGBColor) -> String {
    let wide = drawn(caption, days, colour, &WIDE);
    let narrow = drawn(caption, days, colour, &NARROW);
    format!(r#"<div class="chart-wide">{wide}</div><div class="chart-narrow">{narrow}</div>"#)
}

fn drawn(caption: &str, days: &[(NaiveDate, i64)], colour: RGBColor, layout: &Layout) -> String {
    match draw_daily_bars(caption, days, colour, layout) {
        Ok(svg) => svg,
        Err(e) => {
            tracing::warn!(error = %e, caption, "could not draw a chart");
            String::new()
        }
    }
}

fn draw_daily_bars(
    caption: &str,
    days: &[(NaiveDate, i64)],
    colour: RGBColor,
    layout: &Layout,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, layout.size).into_drawing_area();
        root.fill(&WHITE)?;
        let top = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
        let count = i32::try_from(days.len()).unwrap_or(i32::MAX).max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", layout.caption_font))
            .margin(10)
            .x_label_area_size(layout.label_font * 2 + 4)
            .y_label_area_size(layout.y_label_area)
            .build_cartesian_2d(0..count, 0..top + top / 10 + 1)?;
        let label = |i: &i32| {
            usize::try_from(*i)
                .ok()
                .and_then(|i| days.get(i))
                .map(|d| d.0.format("%d %b").to_string())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(layout.x_labels)
            .x_label_formatter(&label)
            .y_labels(5)
            .label_style(("sans-serif", layout.label_font))
            .draw()?;
        chart.draw_series(days.iter().enumerate().map(|(i, (_, value))| {
            let x = i32::try_from(i).unwrap_or(i32::MAX);
            let mut bar = Rectangle::new([(x, 0), (x + 1, *value)], colour.filled());
            bar.set_margin(0, 0, 2, 2);
            bar
        }))?;
        root.present()?;
    }
    Ok(svg)
}

/// The green of the brand, for message charts.
pub const MESSAGES: RGBColor = RGBColor(37, 160, 92);
/// A blue, for sign-ups.
pub const SIGNUPS: RGBColor = RGBColor(52, 110, 200);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_one_bar_per_day() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let days: Vec<_> = (0..5)
            .map(|i| (start + chrono::Duration::days(i), i * 10))
            .collect();
        let html = daily_bars("Messages per day", &days, MESSAGES);
        for (class, size) in [("chart-wide", "640"), ("chart-narrow", "360")] {
            let start = html.find(&format!(r#"<div class="{class}"><svg"#));
            let svg = &html[start.expect(class)..];
            let svg = &svg[..svg.find("</svg>").expect("a whole svg")];
            assert!(svg.contains(&format!(r#"width="{size}""#)), "{svg}");
            assert!(svg.contains("Messages per day"));
            assert!(svg.contains("01 Nov"));
            // One filled rectangle per non-empty day (the first day is 0: zero height).
            let bars = svg.matches("fill=\"#25A05C\"").count();
            assert!(bars >= 4, "{bars} bars in {svg}");
        }
    }
}
