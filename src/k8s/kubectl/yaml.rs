//! YAML documents (`kubectl get -o yaml`, `---`-separated manifests) to `serde_json::Value`, so
//! the object parsers read one tree shape whatever the input format.
//!
//! Built on yaml-rust2's event parser (pure safe Rust, maintained; `serde_yaml` is deprecated and
//! `serde_yml` was archived). We build the tree from events ourselves rather than use its `Yaml`
//! loader so that (1) each document keeps its start line for error messages, (2) alias expansion
//! is bounded (no "billion laughs"), and (3) plain scalars resolve with the YAML 1.2 core schema
//! that Kubernetes' sigs.k8s.io/yaml (via go-yaml) applies to these fields: `true`/`false`,
//! `null`/`~`/empty, integers, floats; everything quoted stays a string.
//!
//! What it does not do: tags other than the core ones (a `!!str`-tagged scalar is a string, other
//! tags are ignored), merge keys (`<<`), or complex (non-scalar) mapping keys (stringified).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::KubeError;

/// At most this many nodes over all documents, counting each alias expansion in full.
const MAX_NODES: usize = 2_000_000;

/// Deeper nesting is refused (serde_json's own limit is 128), so neither building nor
/// dropping the tree can overflow the stack; Kubernetes objects nest about 15 deep.
const MAX_DEPTH: usize = 128;

/// One YAML document and the 1-based line it starts on.
pub(crate) struct Document {
    pub(crate) value: Value,
    pub(crate) line: usize,
}

enum Collection {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

/// An open collection, its anchor id (0: none) and the nodes inside it so far.
struct Frame {
    collection: Collection,
    anchor: usize,
    size: usize,
}

#[derive(Default)]
struct Builder {
    docs: Vec<Document>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    doc_line: usize,
    nodes: usize,
    error: Option<KubeError>,
}

fn scalar(text: String, style: TScalarStyle, core_str: bool) -> Value {
    if style != TScalarStyle::Plain || core_str {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        t => {
            if let Ok(i) = t.parse::<i64>() {
                return Value::Number(i.into());
            }
            let looks_numeric = t
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
                && t.bytes().any(|b| b.is_ascii_digit());
            if looks_numeric {
                if let Some(n) = t.parse::<f64>().ok().and_then(Number::from_f64) {
                    return Value::Number(n);
                }
            }
            Value::String(text)
        }
    }
}

fn key_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Builder {
    fn fail(&mut self, mark: Marker, msg: &str) {
        if self.error.is_none() {
            self.error = Some(KubeError::Yaml {
                line: mark.line(),
                column: mark.col() + 1,
                msg: msg.to_string(),
            });
        }
    }

    /// Place a finished node into its parent (or make it the document); `size` is its node count.
    fn insert(&mut self, value: Value, anchor: usize, size: usize, mark: Marker) {
        self.nodes = self.nodes.saturating_add(size);
        if self.nodes > MAX_NODES {
            self.fail(mark, "too many nodes (alias expansion?)");
            return;
        }
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(Document {
                value,
                line: self.doc_line,
            }),
            Some(frame) => {
                frame.size = frame.size.saturating_add(size);
                match &mut frame.collection {
                    Collection::Seq(items) => items.push(value),
                    Collection::Map(map, key) => match key.take() {
                        None => *key = Some(key_text(value)),
                        Some(k) => {
                            map.insert(k, value);
                        }
                    },
                }
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentStart => self.doc_line = mark.line().max(1),
            Event::Scalar(text, style, anchor, tag) => {
                let core_str = tag
                    .as_ref()
                    .is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str");
                self.insert(scalar(text, style, core_str), anchor, 1, mark);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fail(mark, "nesting deeper than 128 levels");
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame {
                collection: Collection::Seq(Vec::new()),
                anchor,
                size: 0,
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame {
                collection: Collection::Map(Map::new(), None),
                anchor,
                size: 0,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return self.fail(mark, "unbalanced collection end");
                };
                let value = match frame.collection {
                    Collection::Seq(items) => Value::Array(items),
                    Collection::Map(map, _) => Value::Object(map),
                };
                // Inner nodes were counted as they arrived; count the collection itself.
                self.nodes = self.nodes.saturating_sub(frame.size);
                self.insert(value, frame.anchor, frame.size.saturating_add(1), mark);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((v, size)) => {
                    let (v, size) = (v.clone(), *size);
                    self.insert(v, 0, size, mark);
                }
                None => self.fail(mark, "alias to an unknown anchor"),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// Parse every document of a YAML stream. Empty documents come back as `Value::Null`.
pub(crate) fn documents(text: &str) -> Result<Vec<Document>, KubeError> {
    let mut builder = Builder {
        doc_line: 1,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    // Drive the event parser ourselves: yaml-rust2's `load` recurses once per nesting level.
    while builder.error.is_none() {
        let (event, mark) = parser.next_token().map_err(|e| KubeError::Yaml {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            msg: e.info().to_string(),
        })?;
        if event == Event::StreamEnd {
            break;
        }
        builder.on_event(event, mark);
    }
    match builder.error {
        Some(e) => Err(e),
        None => Ok(builder.docs),
    }
}
