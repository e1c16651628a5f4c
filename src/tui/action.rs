//! Keys and mouse events → actions (pure). Vim and arrow keys both work; what a key means
//! depends only on the screen and on whether the filter prompt is open. `help.rs` lists the
//! same bindings.

use super::app::{App, Screen};
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Move the selection (or scroll) by rows; `i32::MIN/MAX` = to the top/bottom.
    Move(i32),
    PageDown,
    PageUp,
    /// Open the selected row (requests → detail, journey member → its detail).
    Open,
    /// Back to the previous screen (detail → requests), or close help.
    Back,
    NextTab,
    PrevTab,
    Tab(usize),
    FilterStart,
    FilterChar(char),
    FilterBackspace,
    FilterClear,
    FilterAccept,
    FilterCancel,
    SortNext,
    SortReverse,
    ToggleConns,
    ToggleMesh,
    ToggleHex,
    Help,
    Journey,
    Services,
    ExportJson,
    ExportJourneyJson,
    ExportPcap,
    ExportJourneyPcap,
    /// A click on screen line `y` (table rows select).
    Click(u16),
    Resize(u16, u16),
}

/// The action of a terminal event, if any.
pub fn map_event(ev: &Event, app: &App) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => map_key(k, app),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => Some(Action::Move(3)),
            MouseEventKind::ScrollUp => Some(Action::Move(-3)),
            MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(m.row)),
            _ => None,
        },
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

fn map_key(k: &KeyEvent, app: &App) -> Option<Action> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(k.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    if app.filter_editing {
        return match k.code {
            KeyCode::Enter => Some(Action::FilterAccept),
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char('u') if ctrl => Some(Action::FilterClear),
            KeyCode::Char(c) if !ctrl => Some(Action::FilterChar(c)),
            KeyCode::Down => Some(Action::Move(1)),
            KeyCode::Up => Some(Action::Move(-1)),
            _ => None,
        };
    }
    if app.help {
        return match k.code {
            KeyCode::Char('q') => Some(Action::Quit),
            _ => Some(Action::Help),
        };
    }
    let detail = app.screen == Screen::Detail;
    Some(match k.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('j') | KeyCode::Down => Action::Move(1),
        KeyCode::Char('k') | KeyCode::Up => Action::Move(-1),
        KeyCode::Char('d') if ctrl => Action::PageDown,
        KeyCode::Char('u') if ctrl => Action::PageUp,
        KeyCode::Char('f') if ctrl => Action::PageDown,
        KeyCode::Char('b') if ctrl => Action::PageUp,
        KeyCode::PageDown | KeyCode::Char(' ') => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::Char('g') | KeyCode::Home => Action::Move(i32::MIN),
        KeyCode::Char('G') | KeyCode::End => Action::Move(i32::MAX),
        KeyCode::Enter => Action::Open,
        KeyCode::Esc | KeyCode::Backspace => Action::Back,
        KeyCode::Tab => Action::NextTab,
        KeyCode::BackTab => Action::PrevTab,
        KeyCode::Char('l') | KeyCode::Right if detail => Action::NextTab,
        KeyCode::Char('h') | KeyCode::Left if detail => Action::PrevTab,
        KeyCode::Char(c @ '1'..='5') if detail => Action::Tab(c as usize - '1' as usize),
        KeyCode::Char('/') => Action::FilterStart,
        KeyCode::Char('s') => Action::SortNext,
        KeyCode::Char('r') => Action::SortReverse,
        KeyCode::Char('c') => Action::ToggleConns,
        KeyCode::Char('m') => Action::ToggleMesh,
        KeyCode::Char('x') => Action::ToggleHex,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Char('J') => Action::Journey,
        KeyCode::Char('S') => Action::Services,
        KeyCode::Char('e') => Action::ExportJson,
        KeyCode::Char('E') => Action::ExportJourneyJson,
        KeyCode::Char('p') => Action::ExportPcap,
        KeyCode::Char('P') => Action::ExportJourneyPcap,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> Event {
        Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    #[test]
    fn keys_depend_on_the_prompt_and_screen() {
        let mut app = App::new((80, 24), false);
        assert_eq!(
            map_event(&key(KeyCode::Char('j')), &app),
            Some(Action::Move(1))
        );
        assert_eq!(map_event(&key(KeyCode::Char('2')), &app), None);
        app.screen = Screen::Detail;
        assert_eq!(
            map_event(&key(KeyCode::Char('2')), &app),
            Some(Action::Tab(1))
        );
        assert_eq!(map_event(&key(KeyCode::Right), &app), Some(Action::NextTab));
        app.filter_editing = true;
        assert_eq!(
            map_event(&key(KeyCode::Char('j')), &app),
            Some(Action::FilterChar('j'))
        );
        assert_eq!(
            map_event(&key(KeyCode::Esc), &app),
            Some(Action::FilterCancel)
        );
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(map_event(&ctrl_c, &app), Some(Action::Quit));
        assert_eq!(
            map_event(&Event::Resize(100, 30), &app),
            Some(Action::Resize(100, 30))
        );
    }
}
