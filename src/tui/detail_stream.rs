//! The Stream tab: the connection's reassembled bytes both ways in the order they were
//! delivered, like Wireshark's Follow TCP Stream, escaped (or as hex with `x`); gaps the
//! capture missed are marked. Bounded by `fetch::MAX_STREAM`.

use super::app::{App, FetchState};
use super::detail_http::{hex_lines, text_lines};
use super::fetch::MAX_STREAM;
use super::theme::Theme;
use crate::model::Dir;
use crate::report::timefmt::{bytes, clock};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (Some(_), Some((l, _))) = (&app.results, app.detail) else {
        return;
    };
    let mut lines = Vec::new();
    match &app.fetch {
        FetchState::Ready(fl, got) if *fl == l => {
            if got.stream_total as usize > MAX_STREAM {
                lines.push(Line::from(Span::styled(
                    format!(
                        "showing the first {} of {} (at most {} are kept)",
                        bytes(MAX_STREAM as u64),
                        bytes(got.stream_total),
                        bytes(MAX_STREAM as u64)
                    ),
                    theme.warn(),
                )));
            }
            if got.stream.is_empty() {
                lines.push(Line::from(Span::styled(
                    "no payload on this connection",
                    theme.dim(),
                )));
            }
            for c in &got.stream {
                let to_server = c.dir == Dir::ToServer;
                let arrow = if to_server {
                    "client → server"
                } else {
                    "server → client"
                };
                if c.gap > 0 {
                    lines.push(Line::from(Span::styled(
                        format!(
                            "[{} {arrow}: {} missing from the capture]",
                            clock(c.ts),
                            bytes(c.gap)
                        ),
                        theme.error(),
                    )));
                    continue;
                }
                lines.push(Line::from(Span::styled(
                    format!("── {} {arrow} {}", clock(c.ts), bytes(c.bytes.len() as u64)),
                    theme.dim(),
                )));
                let style = theme.direction(to_server);
                if app.hex {
                    lines.extend(
                        hex_lines(&c.bytes)
                            .into_iter()
                            .map(|l| Line::styled(l, style)),
                    );
                } else {
                    let text = text_lines(&c.bytes);
                    lines.extend(text.into_iter().map(|l| Line::styled(l, style)));
                }
            }
        }
        FetchState::Pending(fl) if *fl == l => lines.push(Line::from(Span::styled(
            "reading the stream from the capture…",
            theme.dim(),
        ))),
        FetchState::Failed(fl, e) if *fl == l => lines.push(Line::from(Span::styled(
            format!("could not read the stream: {e}"),
            theme.error(),
        ))),
        _ => lines.push(Line::from(Span::styled("stream not read yet", theme.dim()))),
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.scroll, 0)),
        area,
    );
}
