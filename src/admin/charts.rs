//! Charts as server-rendered SVG (plotters' SVG backend): no script, no CDN.

use chrono::NaiveDate;
use plotters::prelude::*;

/// A bar per day, with dates under the bars and counts on the left.
pub fn daily_bars(caption: &str, days: &[(NaiveDate, i64)], colour: RGBColor) -> String {
    match draw_daily_bars(caption, days, colour) {
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
) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
        let count = i32::try_from(days.len()).unwrap_or(i32::MAX).max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(56)
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
            .x_labels(8)
            .x_label_formatter(&label)
            .y_labels(5)
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
        let svg = daily_bars("Messages per day", &days, MESSAGES);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("Messages per day"));
        assert!(svg.contains("01 Nov"));
        // One filled rectangle per non-empty day (the first day is 0: zero height).
        let bars = svg.matches("fill=\"#25A05C\"").count();
        assert!(bars >= 4, "{bars} bars in {svg}");
    }
}
