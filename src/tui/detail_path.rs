//! The Path tab: the selected request's (or connection's) hops as a vertical chain, each with
//! its addresses before and after, the rules or config objects it passed, its candidates with
//! probabilities when the capture cannot show the choice, and its evidence. A candidate is
//! never drawn as the hop's destination.

use super::app::App;
use super::theme::Theme;
use crate::join::Cluster;
use crate::model::{Hop, Path};
use crate::report::escape::escape;
use crate::report::path::percent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

fn hop_lines(hop: &Hop, last: bool, cluster: &Cluster, theme: Theme, out: &mut Vec<Line<'static>>) {
    let bar = if last { "   " } else { " │ " };
    out.push(Line::from(vec![
        Span::styled(" ● ", theme.key()),
        Span::styled(format!("{:<13}", hop.kind.as_str()), theme.header()),
        Span::raw(match (hop.to, hop.candidates.is_empty()) {
            (Some(to), _) => cluster.describe(to),
            (None, false) => "one of the candidates below".into(),
            (None, true) => "? (not known)".into(),
        }),
    ]));
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(bar.to_string(), theme.dim()),
            Span::styled(format!("  {name:<11}"), theme.dim()),
            Span::raw(value),
        ])
    };
    if !hop.via.is_empty() {
        let via: Vec<String> = hop.via.iter().map(|v| escape(v).into_owned()).collect();
        out.push(field("via", via.join(" → ")));
    }
    if let Some(from) = hop.from {
        let to = hop.to.map_or("?".into(), |t| cluster.describe(t));
        out.push(field(
            "addresses",
            format!("{} → {to}", cluster.describe(from)),
        ));
    }
    if let Some(snat) = hop.snat {
        out.push(field("source NAT", cluster.describe(snat)));
    }
    if !hop.candidates.is_empty() {
        let what = if hop.to.is_some() {
            "configured"
        } else {
            "candidates"
        };
        for (i, c) in hop.candidates.iter().enumerate() {
            let name = if i == 0 { what } else { "" };
            let via = if c.via.is_empty() {
                String::new()
            } else {
                format!("  ({})", escape(&c.via))
            };
            out.push(field(
                name,
                format!(
                    "p = {:<6} {}{via}",
                    percent(c.probability),
                    cluster.describe(c.addr)
                ),
            ));
        }
    }
    let mut ev = vec![
        Span::styled(bar.to_string(), theme.dim()),
        Span::styled(format!("  {:<11}", "evidence"), theme.dim()),
        Span::styled(
            hop.evidence.as_str().to_string(),
            theme.evidence(hop.evidence),
        ),
    ];
    if !hop.note.is_empty() {
        ev.push(Span::raw(format!(": {}", escape(&hop.note))));
    }
    out.push(Line::from(ev));
    if !last {
        out.push(Line::from(Span::styled(" ▼", theme.dim())));
    }
}

/// The lines of a path (also used by the journey screen).
pub fn path_lines(path: &Path, cluster: &Cluster, theme: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let n = path.hops.len();
    for (i, hop) in path.hops.iter().enumerate() {
        hop_lines(hop, i + 1 == n, cluster, theme, &mut out);
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (Some(r), Some((l, e))) = (&app.results, app.detail) else {
        return;
    };
    let path = match e {
        Some(e) => r.joined.exchange_paths.get(l).and_then(|p| p.get(e)),
        None => r.joined.paths.get(l),
    };
    let mut lines = Vec::new();
    match path {
        Some(p) if !p.hops.is_empty() => {
            lines.push(Line::from(vec![
                Span::styled("confidence ", theme.dim()),
                Span::styled(
                    p.confidence().as_str().to_string(),
                    theme.evidence(p.confidence()),
                ),
                Span::styled("  (a path is as sure as its least sure hop)", theme.dim()),
            ]));
            if !r.bundle {
                lines.push(Line::from(Span::styled(
                    "no cluster bundle given: only what the capture shows (--cluster DIR)",
                    theme.warn(),
                )));
            }
            lines.push(Line::raw(""));
            lines.extend(path_lines(p, &r.cluster, theme));
        }
        _ => lines.push(Line::from(Span::styled(
            "no path for this row",
            theme.dim(),
        ))),
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.scroll, 0)),
        area,
    );
}
