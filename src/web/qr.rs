//! QR codes as inline SVG, drawn by the `qrcode` crate.

use qrcode::QrCode;
use qrcode::render::svg;

/// An `<svg>` element encoding `payload`, or `None` if it cannot be encoded.
pub fn svg(payload: &str) -> Option<String> {
    let code = QrCode::new(payload.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML the XML declaration is noise; keep the <svg> element only.
    let start = image.find("<svg")?;
    Some(image[start..].to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_an_svg_element() {
        let image = super::svg("http://localhost:8080/sandbox/pair/abc").unwrap();
        assert!(image.starts_with("<svg"));
        assert!(image.contains("</svg>"));
    }
}
