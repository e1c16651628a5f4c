//! The requests table: one row per exchange (and per connection without HTTP when shown),
//! only the rows on screen are built into widgets, so a million rows draw as fast as twenty.
//! Narrow terminals drop the Host and Path columns first.

use super::app::{App, Column};
use super::rows::Row;
use super::theme::Theme;
use crate::report::timefmt::{clock, duration};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table};
use ratatui::Frame;

/// Which columns fit in `width`, with their constraints.
fn columns(width: u16) -> Vec<(Column, Constraint)> {
    let mut v = vec![
        (Column::Time, Constraint::Length(15)),
        (Column::Source, Constraint::Fill(2)),
        (Column::Destination, Constraint::Fill(2)),
        (Column::Method, Constraint::Length(6)),
    ];
    if width >= 120 {
        v.push((Column::Host, Constraint::Fill(1)));
    }
    v.push((Column::Target, Constraint::Fill(2)));
    v.push((Column::Status, Constraint::Length(3)));
    v.push((Column::Latency, Constraint::Length(8)));
    if width >= 100 {
        v.push((Column::Path, Constraint::Fill(4)));
    }
    v.push((Column::Flags, Constraint::Length(5)));
    v
}

fn cell<'a>(col: Column, row: &'a Row, theme: Theme) -> Cell<'a> {
    match col {
        Column::Time => Cell::from(clock(row.time)),
        Column::Source => Cell::from(&*row.src),
        Column::Destination => Cell::from(&*row.dst),
        Column::Method => Cell::from(&*row.method),
        Column::Host => Cell::from(&*row.host),
        Column::Target => Cell::from(&*row.target),
        Column::Status => Cell::from(row.status.map_or("-".into(), |s| s.to_string()))
            .style(theme.status(row.status)),
        Column::Latency => Cell::from(row.latency.map_or("-".into(), duration)),
        Column::Path => Cell::from(&*row.path),
        Column::Flags => Cell::from(row.flags.letters()).style(theme.warn()),
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let cols = columns(area.width);
    let header = TableRow::new(cols.iter().map(|(c, _)| {
        let mut t = c.title().to_string();
        if *c == app.sort {
            t.push(if app.descending { '▼' } else { '▲' });
        }
        Cell::from(t)
    }))
    .style(theme.header());
    let page = area.height.saturating_sub(1) as usize;
    let end = (app.offset + page).min(app.visible.len());
    let rows = app.visible[app.offset.min(end)..end]
        .iter()
        .enumerate()
        .filter_map(|(i, &r)| {
            let row = app.rows.get(r as usize)?;
            let style = if app.offset + i == app.selected {
                theme.selected()
            } else {
                Style::default()
            };
            Some(TableRow::new(cols.iter().map(|(c, _)| cell(*c, row, theme))).style(style))
        });
    let table = Table::new(rows, cols.iter().map(|(_, w)| *w))
        .header(header)
        .column_spacing(1);
    f.render_widget(table, area);
    if app.visible.is_empty() {
        let msg = if app.rows.is_empty() && app.progress.active {
            "reading the captures…"
        } else if app.rows.is_empty() {
            "no exchanges or connections in the captures"
        } else {
            "no row matches the filter"
        };
        let y = area
            .y
            .saturating_add(2)
            .min(area.bottom().saturating_sub(1));
        let r = Rect::new(area.x + 1, y, area.width.saturating_sub(2), 1);
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(msg, theme.dim()))),
            r,
        );
    }
}
