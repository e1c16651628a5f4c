//! The TCP tab: the connection's counters per direction (from the pipeline), then its packets
//! both ways as read again from the capture: time from the first packet, direction, flags,
//! relative sequence and acknowledgement numbers, length, window, and what the sequence space
//! says (retransmission, bytes skipped, the round trip an ACK closed).

use super::app::{App, FetchState};
use super::fetch::MAX_PACKETS;
use super::packets::flag_letters;
use super::theme::Theme;
use crate::model::{Connection, Dir};
use crate::report::timefmt::{bytes, duration};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

fn counters(c: &Connection, theme: Theme) -> Vec<Line<'static>> {
    let mut v = vec![Line::from(vec![
        Span::styled(format!("connection {} ", c.id), theme.header()),
        Span::raw(format!(
            "{} → {}  ended: {}  roles: {:?}",
            c.client,
            c.original_dst.unwrap_or(c.server),
            c.end.as_str(),
            c.roles
        )),
    ])];
    for (name, d) in [
        ("client → server", &c.stats.dir[0]),
        ("server → client", &c.stats.dir[1]),
    ] {
        v.push(Line::raw(format!(
            "  {name}: {} packets, {} on the wire, {} payload, {} retransmitted, {} out of order, {} zero windows, {} lost",
            d.packets,
            bytes(d.bytes),
            bytes(d.payload),
            d.retransmissions,
            d.out_of_order,
            d.zero_windows,
            bytes(d.gap_bytes)
        )));
    }
    if let Some(rtt) = c.stats.handshake_rtt() {
        v.push(Line::raw(format!(
            "  handshake round trip: {}",
            duration(rtt)
        )));
    }
    v
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (Some(r), Some((l, _))) = (&app.results, app.detail) else {
        return;
    };
    let Some(leg) = r.legs.get(l) else { return };
    let mut lines = counters(&leg.conn, theme);
    lines.push(Line::raw(""));
    match &app.fetch {
        FetchState::Ready(fl, got) if *fl == l => {
            if got.packets_total as usize > got.packets.len() {
                lines.push(Line::from(Span::styled(
                    format!(
                        "showing the first {} of {} packets (at most {MAX_PACKETS} are kept)",
                        got.packets.len(),
                        got.packets_total
                    ),
                    theme.warn(),
                )));
            }
            lines.push(Line::from(Span::styled(
                format!(
                    "{:>12}  {:<3} {:<5} {:>10} {:>10} {:>6} {:>6}  notes",
                    "time", "dir", "flags", "seq", "ack", "len", "win"
                ),
                theme.header(),
            )));
            let t0 = got.packets.first().map(|p| p.ts);
            for p in &got.packets {
                let t = t0.map_or(0, |t0| p.ts.since(t0));
                let mut notes = Vec::new();
                if p.retransmission {
                    notes.push("retransmission".to_string());
                }
                if p.skipped > 0 {
                    notes.push(format!("{} skipped", bytes(p.skipped as u64)));
                }
                if let Some(rtt) = p.rtt {
                    notes.push(format!("rtt {}", duration(rtt)));
                }
                let style = if p.retransmission || p.skipped > 0 {
                    theme.warn()
                } else {
                    theme.direction(p.dir == Dir::ToServer)
                };
                lines.push(Line::from(Span::styled(
                    format!(
                        "{:>12}  {:<3} {:<5} {:>10} {:>10} {:>6} {:>6}  {}",
                        duration(t),
                        if p.dir == Dir::ToServer { "→" } else { "←" },
                        flag_letters(p.flags),
                        p.seq,
                        p.ack,
                        p.len,
                        p.window,
                        notes.join(", ")
                    ),
                    style,
                )));
            }
        }
        FetchState::Pending(fl) if *fl == l => lines.push(Line::from(Span::styled(
            "reading the packets from the capture…",
            theme.dim(),
        ))),
        FetchState::Failed(fl, e) if *fl == l => lines.push(Line::from(Span::styled(
            format!("could not read the packets: {e}"),
            theme.error(),
        ))),
        _ => lines.push(Line::from(Span::styled(
            "packets not read yet",
            theme.dim(),
        ))),
    }
    f.render_widget(Paragraph::new(lines).scroll((app.scroll, 0)), area);
}
