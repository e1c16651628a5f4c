//! The whole screen: a title line (what is loaded, sort, toggles, load progress), the body of
//! the current screen, a status line (filter prompt, messages, errors) and a key hint line;
//! the help overlay on top. Pure: draws `App` into a frame.

use super::app::{App, Screen, Tab};
use super::theme::Theme;
use super::{
    detail_http, detail_path, detail_stream, detail_tcp, detail_timing, help, journey, requests,
    services,
};
use crate::report::escape::escape;
use crate::report::timefmt::{clock, duration};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;

fn title(app: &App, theme: Theme) -> Line<'static> {
    let exchanges = app.requests;
    let mut spans = vec![
        Span::styled("hopscope ", theme.title()),
        Span::raw(format!(
            "{exchanges} requests, {} of {} rows",
            app.visible.len(),
            app.rows.len()
        )),
    ];
    let mut tags = Vec::new();
    if app.refreshing {
        tags.push("filtering…");
    }
    if app.hide_mesh {
        tags.push("mesh hidden");
    }
    if app.show_conns {
        tags.push("+connections");
    }
    if !tags.is_empty() {
        spans.push(Span::styled(
            format!("  [{}]", tags.join(", ")),
            theme.dim(),
        ));
    }
    let p = &app.progress;
    if p.active {
        let pct = (p.ratio() * 100.0) as u32;
        let filled = (pct / 5) as usize;
        let what = if p.joining {
            "joining to the bundle".to_string()
        } else {
            format!(
                "reading {} ({}/{})",
                escape(&p.name),
                p.input + 1,
                p.inputs.max(1)
            )
        };
        spans.push(Span::styled(
            format!(
                "  [{}{}] {pct:>3}% {what}",
                "#".repeat(filled),
                "-".repeat(20 - filled.min(20))
            ),
            theme.warn(),
        ));
    } else if let Some(r) = &app.results {
        let n = r.labels.len();
        spans.push(Span::styled(
            format!(
                "  {} capture point{}{}",
                n,
                if n == 1 { "" } else { "s" },
                if r.bundle {
                    ", joined to the bundle"
                } else {
                    ", no bundle"
                }
            ),
            theme.dim(),
        ));
    }
    Line::from(spans)
}

fn status(app: &App, theme: Theme) -> Line<'static> {
    if app.filter_editing {
        let mut v = vec![
            Span::styled("/", theme.key()),
            Span::raw(app.filter_text.clone()),
            Span::styled("█", theme.dim()),
        ];
        if let Some(e) = &app.filter_error {
            v.push(Span::styled(format!("  {e}"), theme.error()));
        }
        return Line::from(v);
    }
    if let Some(s) = &app.status {
        return Line::from(Span::styled(escape(s).into_owned(), theme.warn()));
    }
    if let Some(e) = app.load_errors.first() {
        let more = app.load_errors.len() - 1;
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        return Line::from(Span::styled(format!("{}{tail}", escape(e)), theme.error()));
    }
    if !app.filter_text.is_empty() {
        return Line::from(vec![
            Span::styled("filter: ", theme.dim()),
            Span::raw(app.filter_text.clone()),
        ]);
    }
    Line::raw("")
}

fn hints(app: &App, theme: Theme) -> Line<'static> {
    let keys: &[(&str, &str)] = match app.screen {
        Screen::Requests => &[
            ("Enter", "open"),
            ("/", "filter"),
            ("s/r", "sort"),
            ("m", "mesh"),
            ("c", "conns"),
            ("J", "journey"),
            ("S", "services"),
            ("p", "pcap"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Screen::Detail => &[
            ("Tab", "next tab"),
            ("Esc", "back"),
            ("J", "journey"),
            ("x", "hex"),
            ("e/E", "json"),
            ("p/P", "pcap"),
            ("?", "help"),
        ],
        Screen::Journey => &[
            ("Enter", "open leg"),
            ("Esc", "back"),
            ("E", "json"),
            ("P", "pcap"),
        ],
        Screen::Services => &[("Esc", "back"), ("?", "help"), ("q", "quit")],
    };
    let mut v = Vec::new();
    for (k, what) in keys {
        v.push(Span::styled(k.to_string(), theme.key()));
        v.push(Span::styled(format!(" {what}  "), theme.dim()));
    }
    Line::from(v)
}

/// The detail's first line: what is shown.
fn detail_head(app: &App, theme: Theme) -> Line<'static> {
    let (Some(r), Some((l, e))) = (&app.results, app.detail) else {
        return Line::raw("");
    };
    let Some(leg) = r.legs.get(l) else {
        return Line::raw("");
    };
    let class = r.joined.classes.get(l).map_or("", |c| c.as_str());
    let c = &leg.conn;
    let flow = format!(
        "{} → {}",
        r.cluster.describe(c.client),
        r.cluster.describe(c.original_dst.unwrap_or(c.server))
    );
    let ex = e.and_then(|e| leg.exchanges.get(e));
    let mut v = Vec::new();
    match ex {
        Some(ex) => {
            let q = ex.request.as_ref();
            let status = ex.response.as_ref().map(|s| s.status);
            v.push(Span::styled(
                format!(
                    "{} {}{} ",
                    q.map_or("-".into(), |q| escape(&q.method).into_owned()),
                    q.and_then(|q| q.msg.header("host"))
                        .map_or(String::new(), |h| escape(h).into_owned()),
                    q.map_or("-".into(), |q| escape(&q.target).into_owned()),
                ),
                theme.header(),
            ));
            v.push(Span::styled(
                status.map_or("-".into(), |s| s.to_string()),
                theme.status(status),
            ));
            v.push(Span::raw(format!(
                " {}  at {}",
                ex.latency().map_or("-".into(), duration),
                clock(super::rows::exchange_time(ex, leg))
            )));
        }
        None => v.push(Span::styled(
            format!("connection {} ", c.id),
            theme.header(),
        )),
    }
    v.push(Span::styled(
        format!("  {} · {class} · {flow}", escape(r.point_of(l))),
        theme.dim(),
    ));
    Line::from(v)
}

fn detail(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let [head, tabs, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(detail_head(app, theme)), head);
    let titles = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {}", i + 1, t.title()));
    f.render_widget(
        Tabs::new(titles)
            .select(app.tab.index())
            .highlight_style(theme.selected()),
        tabs,
    );
    match app.tab {
        Tab::Path => detail_path::draw(f, body, app, theme),
        Tab::Timing => detail_timing::draw(f, body, app, theme),
        Tab::Http => detail_http::draw(f, body, app, theme),
        Tab::Tcp => detail_tcp::draw(f, body, app, theme),
        Tab::Stream => detail_stream::draw(f, body, app, theme),
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let theme = Theme { color: app.color };
    let [top, body, stat, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(Paragraph::new(title(app, theme)), top);
    match app.screen {
        Screen::Requests => requests::draw(f, body, app, theme),
        Screen::Detail => detail(f, body, app, theme),
        Screen::Journey => journey::draw(f, body, app, theme),
        Screen::Services => services::draw(f, body, app, theme),
    }
    f.render_widget(Paragraph::new(status(app, theme)), stat);
    f.render_widget(Paragraph::new(hints(app, theme)), keys);
    if app.help {
        help::draw(f, f.area(), theme);
    }
}
