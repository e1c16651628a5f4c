//! The Timing tab: a waterfall of the journey's legs (each leg's exchange as a bar on the
//! journey's time axis), then the selected exchange's phases on its connection.

use super::app::App;
use super::theme::Theme;
use super::timeline::{journey_phases_label, journey_spans, phases, Span as TSpan};
use crate::report::timefmt::duration;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// One bar line: `label  ░░░████████░░  12.3ms`.
fn bar(
    s: &TSpan,
    total: i64,
    label_w: usize,
    width: usize,
    style: ratatui::style::Style,
    theme: Theme,
) -> Line<'static> {
    let bar_w = width.saturating_sub(label_w + 12).max(10);
    let total = total.max(1) as f64;
    let from = ((s.start.max(0) as f64 / total) * bar_w as f64) as usize;
    let to = match s.end {
        Some(e) => (((e.max(0) as f64) / total) * bar_w as f64).ceil() as usize,
        None => bar_w,
    };
    let from = from.min(bar_w.saturating_sub(1));
    let to = to.clamp(from + 1, bar_w);
    let mut label: String = s.label.chars().take(label_w).collect();
    while label.chars().count() < label_w {
        label.push(' ');
    }
    let len = match s.end {
        Some(e) => duration(e - s.start),
        None => "incomplete".into(),
    };
    Line::from(vec![
        Span::raw(label),
        Span::raw(" "),
        Span::styled("·".repeat(from), theme.dim()),
        Span::styled("█".repeat(to - from), style),
        Span::styled("·".repeat(bar_w - to), theme.dim()),
        Span::raw(format!(" {len}")),
    ])
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (Some(r), Some((l, e))) = (&app.results, app.detail) else {
        return;
    };
    let width = area.width as usize;
    let mut lines = Vec::new();
    let Some(e) = e else {
        lines.push(Line::raw("a connection without HTTP: see the TCP tab"));
        f.render_widget(Paragraph::new(lines), area);
        return;
    };
    let label_w = (width / 3).clamp(12, 48);
    if let Some(j) = r.journey_of(l, e).and_then(|j| r.joined.journeys.get(j)) {
        let name = |leg: usize| journey_phases_label(r, leg);
        let (spans, total) = journey_spans(j, &r.legs, &name);
        lines.push(Line::from(vec![
            Span::styled("JOURNEY ", theme.header()),
            Span::styled(
                format!("{} legs over {}", spans.len(), duration(total)),
                theme.dim(),
            ),
        ]));
        for (i, s) in spans.iter().enumerate() {
            let me = j.members.get(i) == Some(&(l, e));
            let style = if me { theme.key() } else { theme.bar(i) };
            lines.push(bar(s, total, label_w, width, style, theme));
        }
        lines.push(Line::raw(""));
    }
    if let Some(leg) = r.legs.get(l) {
        if let Some(ex) = leg.exchanges.get(e) {
            let ph = phases(leg, ex);
            let total = ph
                .iter()
                .map(|s| s.end.unwrap_or(s.start))
                .max()
                .unwrap_or(0);
            lines.push(Line::from(vec![
                Span::styled("THIS EXCHANGE ", theme.header()),
                Span::styled(
                    format!("on connection {} (this leg)", leg.conn.id),
                    theme.dim(),
                ),
            ]));
            for (i, s) in ph.iter().enumerate() {
                lines.push(bar(s, total, label_w, width, theme.bar(i), theme));
            }
            if let Some(rtt) = leg.conn.stats.handshake_rtt() {
                lines.push(Line::from(Span::styled(
                    format!(
                        "handshake round trip at this capture point: {}",
                        duration(rtt)
                    ),
                    theme.dim(),
                )));
            }
        }
    }
    f.render_widget(Paragraph::new(lines).scroll((app.scroll, 0)), area);
}
