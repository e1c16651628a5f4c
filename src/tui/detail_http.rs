//! The HTTP tab: request and response heads as received (every field, in order, escaped),
//! and each body's preview (de-chunked and decoded from gzip/deflate by the HTTP layer) as
//! text or, with `x`, as a hex dump. Previews come from the re-read capture when the load did
//! not keep them.

use super::app::{App, FetchState};
use super::theme::Theme;
use crate::model::{Exchange, Message};
use crate::report::escape::{escape, escape_bytes};
use crate::report::timefmt::bytes;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// Bytes of a body shown at most (the preview is capped by the HTTP layer anyway).
const SHOW: usize = 16 * 1024;

/// `00000010  48 54 54 50 2f 31 2e 31  20 32 30 30 20 4f 4b 0d  |HTTP/1.1 200 OK.|`
pub fn hex_lines(b: &[u8]) -> Vec<String> {
    b.chunks(16)
        .enumerate()
        .map(|(i, c)| {
            let mut hex = String::new();
            for (j, x) in c.iter().enumerate() {
                if j == 8 {
                    hex.push(' ');
                }
                hex.push_str(&format!("{x:02x} "));
            }
            let text: String = c
                .iter()
                .map(|&x| {
                    if (0x20..0x7f).contains(&x) {
                        x as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {hex:<49} |{text}|", i * 16)
        })
        .collect()
}

/// Text lines of captured bytes, split at LF (a CR before it dropped), each escaped.
pub fn text_lines(b: &[u8]) -> Vec<String> {
    b.split(|&x| x == b'\n')
        .map(|l| escape_bytes(l.strip_suffix(b"\r").unwrap_or(l)))
        .collect()
}

fn body(
    msg: &Message,
    full: Option<&Message>,
    hex: bool,
    theme: Theme,
    out: &mut Vec<Line<'static>>,
) {
    let preview = match full {
        Some(f) if f.body_preview.len() > msg.body_preview.len() => f,
        _ => msg,
    };
    if msg.body_len == 0 {
        return;
    }
    let mut about = format!("body {}", bytes(msg.body_len));
    if msg.gap_bytes > 0 {
        about.push_str(&format!(", {} lost to capture gaps", bytes(msg.gap_bytes)));
    }
    if let Some(note) = preview.preview_note {
        about.push_str(&format!(" ({note})"));
    }
    if preview.body_preview.is_empty() {
        about.push_str(" — preview not kept; it is read again from the capture (TCP tab)");
    } else {
        about.push_str(&format!(
            ", preview {}",
            bytes(preview.body_preview.len() as u64)
        ));
    }
    out.push(Line::from(Span::styled(about, theme.dim())));
    let b = &preview.body_preview[..preview.body_preview.len().min(SHOW)];
    if hex {
        out.extend(hex_lines(b).into_iter().map(Line::raw));
    } else {
        out.extend(text_lines(b).into_iter().map(Line::raw));
    }
}

fn head(msg: &Message, theme: Theme, out: &mut Vec<Line<'static>>) {
    for (n, v) in msg.headers() {
        out.push(Line::from(vec![
            Span::styled(format!("{}: ", escape(n)), theme.key()),
            Span::raw(escape(v).into_owned()),
        ]));
    }
}

/// The tab's lines for `ex`; `full` is the same exchange parsed again with its whole preview.
pub fn lines(
    ex: &Exchange,
    full: Option<&Exchange>,
    hex: bool,
    theme: Theme,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    match &ex.request {
        Some(q) => {
            out.push(Line::from(Span::styled(
                format!(
                    "{} {} {}",
                    escape(&q.method),
                    escape(&q.target),
                    q.msg.version.as_str()
                ),
                theme.header(),
            )));
            head(&q.msg, theme, &mut out);
            out.push(Line::raw(""));
            let f = full.and_then(|f| f.request.as_ref()).map(|q| &q.msg);
            body(&q.msg, f, hex, theme, &mut out);
        }
        None => out.push(Line::from(Span::styled(
            "no request (the capture missed it)",
            theme.warn(),
        ))),
    }
    out.push(Line::raw(""));
    match &ex.response {
        Some(r) => {
            for code in &r.informational {
                out.push(Line::from(Span::styled(
                    format!("({code} informational)"),
                    theme.dim(),
                )));
            }
            out.push(Line::from(Span::styled(
                format!(
                    "{} {} {}",
                    r.msg.version.as_str(),
                    r.status,
                    escape(&r.reason)
                ),
                theme.status(Some(r.status)),
            )));
            head(&r.msg, theme, &mut out);
            out.push(Line::raw(""));
            let f = full.and_then(|f| f.response.as_ref()).map(|r| &r.msg);
            body(&r.msg, f, hex, theme, &mut out);
        }
        None => out.push(Line::from(Span::styled("no response", theme.warn()))),
    }
    if !ex.notes.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::from(Span::styled(
            format!("notes: {}", ex.notes.join(", ")),
            theme.warn(),
        )));
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (Some(r), Some((l, Some(e)))) = (&app.results, app.detail) else {
        f.render_widget(Paragraph::new("no HTTP on this connection"), area);
        return;
    };
    let Some(ex) = r.legs.get(l).and_then(|leg| leg.exchanges.get(e)) else {
        return;
    };
    let full = match &app.fetch {
        FetchState::Ready(fl, got) if *fl == l => got.exchanges.get(e),
        _ => None,
    };
    f.render_widget(
        Paragraph::new(lines(ex, full, app.hex, theme))
            .wrap(Wrap { trim: false })
            .scroll((app.scroll, 0)),
        area,
    );
}
