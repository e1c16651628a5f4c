//! The services screen: per destination and Envoy route the requests, failures (5xx or no
//! response), error rate and latency percentiles; below, the observed vs configured split of
//! each decision with several destinations (kube-proxy endpoints, Envoy clusters).

use super::app::App;
use super::theme::Theme;
use crate::report::escape::escape;
use crate::report::path::percent;
use crate::report::timefmt::duration;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let Some(r) = &app.results else { return };
    let s = &app.services;
    let w = (area.width as usize).saturating_sub(60).clamp(20, 60);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<w$} {:<14} {:>8} {:>7} {:>6} {:>9} {:>9} {:>9}",
            "DESTINATION", "ROUTE", "REQUESTS", "ERRORS", "ERR%", "P50", "P90", "P99"
        ),
        theme.header(),
    ))];
    let ms = |v: Option<i64>| v.map_or("-".into(), duration);
    for (i, row) in s.rows.iter().enumerate() {
        let rate = row.errors as f64 / row.requests.max(1) as f64;
        let name: String = row.service.chars().take(w).collect();
        let route: String = row.route.chars().take(14).collect();
        let text = format!(
            "{name:<w$} {route:<14} {:>8} {:>7} {:>6} {:>9} {:>9} {:>9}",
            row.requests,
            row.errors,
            percent(rate),
            ms(row.p50),
            ms(row.p90),
            ms(row.p99)
        );
        let style = if i == app.services_selected {
            theme.selected()
        } else if row.errors > 0 {
            theme.error()
        } else {
            ratatui::style::Style::default()
        };
        lines.push(Line::styled(text, style));
    }
    if s.rows.is_empty() {
        lines.push(Line::from(Span::styled("no HTTP requests", theme.dim())));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "SPLIT  requests observed per destination vs the configured share",
        theme.header(),
    )));
    if s.splits.is_empty() {
        let why = if r.bundle {
            "no decision with several destinations was observed"
        } else {
            "needs a cluster bundle (--cluster DIR)"
        };
        lines.push(Line::from(Span::styled(why, theme.dim())));
    }
    for sp in &s.splits {
        let total: u64 = sp.destinations.iter().map(|d| d.2).sum::<u64>() + sp.unexpected;
        lines.push(Line::raw(format!(
            "  {}  ({total} requests)",
            escape(&sp.decision)
        )));
        for (addr, p, n) in &sp.destinations {
            let seen = *n as f64 / total.max(1) as f64;
            lines.push(Line::raw(format!(
                "    {:<56} configured {:>6}  observed {n:>5} ({})",
                r.cluster.describe(*addr),
                percent(*p),
                percent(seen)
            )));
        }
        if sp.unexpected > 0 {
            lines.push(Line::styled(
                format!("    outside the configured set: {}", sp.unexpected),
                theme.warn(),
            ));
        }
    }
    f.render_widget(Paragraph::new(lines).scroll((app.scroll, 0)), area);
}
