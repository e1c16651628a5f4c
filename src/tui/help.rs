//! The help overlay (`?`): every key, and the filter language.

use super::filter::FIELDS;
use super::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// (keys, what they do), in the order shown.
pub const KEYS: &[(&str, &str)] = &[
    ("j k ↓ ↑", "move (scroll in the detail)"),
    ("PgDn PgUp ^d ^u", "page"),
    ("g G Home End", "first, last"),
    ("Enter", "open the request (the leg, in the journey)"),
    ("Esc Backspace", "back"),
    (
        "Tab ← → h l 1-5",
        "detail tabs: Path Timing HTTP TCP Stream",
    ),
    ("/", "filter as you type (Enter keeps it, Esc clears it)"),
    ("s r", "sort by the next column, reverse"),
    ("c", "show connections without HTTP"),
    ("m", "hide mesh noise (Envoy admin, agent, xDS, health)"),
    ("J S", "journey of the request, services"),
    ("x", "hex / text body and stream"),
    ("e E", "export the exchange / journey as JSON"),
    ("p P", "export the connection / journey as pcap"),
    ("mouse", "click selects, click again opens, wheel scrolls"),
    ("? q ^c", "help, quit"),
];

pub fn draw(f: &mut Frame, area: Rect, theme: Theme) {
    let w = area.width.saturating_sub(4).min(76);
    let h = area.height.saturating_sub(2).min(KEYS.len() as u16 + 9);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>16}  "), theme.key()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled("Filter", theme.header())));
    lines.push(Line::raw(
        "words match anywhere; all must match; -word excludes",
    ));
    lines.push(Line::raw(format!(
        "fields: {} (status:5xx status:404 status:-)",
        FIELDS.join(": ") + ":"
    )));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" help: any key closes "),
        ),
        r,
    );
}
