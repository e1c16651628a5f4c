//! Colours and emphasis. Only the 16 ANSI colours (they survive any terminal and its
//! palette), and nothing but bold and reverse video when `NO_COLOR` is set
//! (<https://no-color.org>: present and not empty). Selection is reverse video either way, so
//! it shows without colour.

use crate::model::Evidence;
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

/// Whether the environment allows colour.
pub fn color_allowed(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(|v| v.is_empty())
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// A status code: 5xx red, 4xx yellow, 3xx cyan, 2xx green, none dim.
    pub fn status(self, status: Option<u16>) -> Style {
        match status {
            Some(s) if s >= 500 => self.error(),
            Some(s) if s >= 400 => self.warn(),
            Some(s) if s >= 300 => self.fg(Color::Cyan),
            Some(_) => self.fg(Color::Green),
            None => self.dim(),
        }
    }

    /// Evidence, strongest green to unknown red.
    pub fn evidence(self, e: Evidence) -> Style {
        match e {
            Evidence::Observed => self.fg(Color::Green),
            Evidence::Conntrack => self.fg(Color::Green),
            Evidence::ConfigExact => self.fg(Color::Cyan),
            Evidence::Weighted => self.fg(Color::Yellow),
            Evidence::Timing => self.fg(Color::Magenta),
            Evidence::Unknown => self.fg(Color::Red),
        }
    }

    /// The two directions of a stream.
    pub fn direction(self, to_server: bool) -> Style {
        self.fg(if to_server { Color::Red } else { Color::Blue })
    }

    pub fn bar(self, i: usize) -> Style {
        const C: [Color; 4] = [Color::Cyan, Color::Green, Color::Yellow, Color::Magenta];
        if self.color {
            Style::default().fg(C[i % C.len()])
        } else {
            Style::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_means_no_colours() {
        assert!(color_allowed(None));
        assert!(color_allowed(Some("".as_ref())));
        assert!(!color_allowed(Some("1".as_ref())));
        let plain = Theme { color: false };
        assert_eq!(plain.status(Some(503)).fg, None);
        assert!(plain.selected().add_modifier.contains(Modifier::REVERSED));
        assert_eq!(Theme { color: true }.status(Some(503)).fg, Some(Color::Red));
    }
}
