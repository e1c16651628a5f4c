//! The journey screen: every leg that carried the selected request (same connection seen
//! twice, x-request-id, trace id, or forwarded through a sidecar: the join's links), in time
//! order across capture points, each with its flow, request line and hops. Enter opens the
//! selected leg's detail.

use super::app::App;
use super::detail_path::path_lines;
use super::rows::exchange_time;
use super::theme::Theme;
use crate::report::escape::escape;
use crate::report::timefmt::{clock, duration};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// The journey the journey screen shows: that of the detail's exchange.
pub fn current(app: &App) -> Option<usize> {
    let r = app.results.as_ref()?;
    let (l, e) = app.detail?;
    r.journey_of(l, e?)
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let Some(r) = &app.results else { return };
    let Some(j) = current(app).and_then(|j| r.joined.journeys.get(j).map(|x| (j, x))) else {
        f.render_widget(
            Paragraph::new("select a request first: the journey is the selected request's"),
            area,
        );
        return;
    };
    let (n, journey) = j;
    let links: Vec<&str> = journey.links.iter().map(|l| l.as_str()).collect();
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("JOURNEY #{} ", n + 1), theme.header()),
        Span::raw(format!("{} legs", journey.members.len())),
        Span::styled(
            if links.is_empty() {
                String::new()
            } else {
                format!("  joined by {}", links.join(", "))
            },
            theme.dim(),
        ),
    ])];
    lines.push(Line::raw(""));
    for (i, &(l, e)) in journey.members.iter().enumerate() {
        let (Some(leg), Some(class)) = (r.legs.get(l), r.joined.classes.get(l)) else {
            continue;
        };
        let Some(ex) = leg.exchanges.get(e) else {
            continue;
        };
        let c = &leg.conn;
        let q = ex.request.as_ref();
        let line = format!(
            "{}  {:<34} {:<18} {} → {}  {} {} {} {}",
            clock(exchange_time(ex, leg)),
            escape(r.point_of(l)),
            class.as_str(),
            r.cluster.describe(c.client),
            r.cluster.describe(c.original_dst.unwrap_or(c.server)),
            q.map_or("-".into(), |q| escape(&q.method).into_owned()),
            q.map_or("-".into(), |q| escape(&q.target).into_owned()),
            ex.response
                .as_ref()
                .map_or("-".into(), |s| s.status.to_string()),
            ex.latency().map_or("-".into(), duration),
        );
        let style = if i == app.journey_selected {
            theme.selected()
        } else {
            theme.header()
        };
        lines.push(Line::from(Span::styled(line, style)));
        if let Some(p) = r.joined.exchange_paths.get(l).and_then(|p| p.get(e)) {
            let hops = path_lines(p, &r.cluster, theme);
            lines.extend(hops.into_iter().map(|mut h| {
                h.spans.insert(0, Span::raw("      "));
                h
            }));
        }
        lines.push(Line::raw(""));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.scroll, 0)),
        area,
    );
}
