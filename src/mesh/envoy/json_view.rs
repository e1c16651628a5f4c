//! A read-only view of a `serde_json::Value` that knows its own JSON pointer (RFC 6901) and
//! accepts both spellings of a protobuf field: Envoy's admin output prints proto field names
//! (`socket_address`), `istioctl -o json` prints protobuf-JSON lowerCamelCase (`socketAddress`).
//!
//! Lookups are given the snake_case name and try it, then its lowerCamelCase form; this is the
//! key normalisation camel→snake done at lookup time, so map *data* keys (node metadata such as
//! `INTERCEPTION_MODE`, filter-metadata namespaces such as `envoy.lb`) are never rewritten.
//! Absent and `null` fields are the proto default ("not set"); a present field of the wrong JSON
//! type is an [`EnvoyError::Json`] naming the pointer and the expected type.
//!
//! It does not deserialize into structs: the dumps are large (2.4 MB) and mostly irrelevant to
//! the join, so walking the parsed `Value` and picking fields is cheaper and keeps unknown
//! fields harmless.

use serde_json::Value;

use super::EnvoyError;

/// Parses a document, mapping a syntax error to [`EnvoyError::Syntax`] (line and column).
pub(crate) fn parse_json(text: &str) -> Result<Value, EnvoyError> {
    serde_json::from_str(text).map_err(|e| EnvoyError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// A JSON value and the pointer it was reached by.
#[derive(Clone, Debug)]
pub(crate) struct At<'a> {
    pub(crate) v: &'a Value,
    pub(crate) ptr: String,
}

/// `socket_address` → `socketAddress` (protobuf JSON name).
fn lower_camel(snake: &str) -> Option<String> {
    if !snake.contains('_') {
        return None;
    }
    let mut out = String::with_capacity(snake.len());
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// RFC 6901 escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl<'a> At<'a> {
    pub(crate) fn root(v: &'a Value) -> Self {
        At {
            v,
            ptr: String::new(),
        }
    }

    /// The pointer, `/` for the root.
    pub(crate) fn pointer(&self) -> String {
        if self.ptr.is_empty() {
            "/".to_string()
        } else {
            self.ptr.clone()
        }
    }

    pub(crate) fn err(&self, expected: &str) -> EnvoyError {
        EnvoyError::Json {
            pointer: self.pointer(),
            expected: expected.to_string(),
        }
    }

    /// The child `snake` (or its lowerCamelCase spelling); `None` when absent or null, or
    /// when `self` is not an object.
    pub(crate) fn field(&self, snake: &str) -> Option<At<'a>> {
        let map = self.v.as_object()?;
        let (key, v) = match map.get_key_value(snake) {
            Some(kv) => kv,
            None => {
                let camel = lower_camel(snake)?;
                map.get_key_value(camel.as_str())?
            }
        };
        if v.is_null() {
            return None;
        }
        Some(At {
            v,
            ptr: format!("{}/{}", self.ptr, escape(key)),
        })
    }

    /// `snake`, or else the name Envoy 1.14-1.17 print a v2 field under once v3 deprecated it
    /// (`hidden_envoy_deprecated_tls_context`, `hiddenEnvoyDeprecatedUseOriginalDst`), when
    /// only that one is present. Pass the result to the typed getters.
    pub(crate) fn v2_name(&self, snake: &str) -> String {
        let hidden = format!("hidden_envoy_deprecated_{snake}");
        if self.field(snake).is_none() && self.field(&hidden).is_some() {
            hidden
        } else {
            snake.to_string()
        }
    }

    /// The child `snake`, which must be an object when present.
    pub(crate) fn obj(&self, snake: &str) -> Result<Option<At<'a>>, EnvoyError> {
        match self.field(snake) {
            Some(a) if a.v.is_object() => Ok(Some(a)),
            Some(a) => Err(a.err("an object")),
            None => Ok(None),
        }
    }

    /// The child `snake`, which must be a string when present.
    pub(crate) fn str(&self, snake: &str) -> Result<Option<&'a str>, EnvoyError> {
        match self.field(snake) {
            Some(a) => a.v.as_str().map(Some).ok_or_else(|| a.err("a string")),
            None => Ok(None),
        }
    }

    /// A string child as an owned `String`, empty when absent.
    pub(crate) fn string(&self, snake: &str) -> Result<String, EnvoyError> {
        Ok(self.str(snake)?.unwrap_or_default().to_string())
    }

    /// The child `snake` as a bool; protobuf JSON prints `BoolValue` wrappers as plain bools.
    pub(crate) fn bool(&self, snake: &str) -> Result<Option<bool>, EnvoyError> {
        match self.field(snake) {
            Some(a) => match a.v {
                Value::Bool(b) => Ok(Some(*b)),
                Value::Object(_) => a.bool("value"),
                _ => Err(a.err("a boolean")),
            },
            None => Ok(None),
        }
    }

    /// The child `snake` as an unsigned integer: a JSON number, or a decimal string (protobuf
    /// JSON prints 64-bit integers as strings), or a `{"value": N}` wrapper.
    pub(crate) fn u64(&self, snake: &str) -> Result<Option<u64>, EnvoyError> {
        match self.field(snake) {
            Some(a) => match a.v {
                Value::Number(n) => n
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| a.err("an unsigned integer")),
                Value::String(s) => s
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| a.err("an unsigned integer")),
                Value::Object(_) => a.u64("value"),
                _ => Err(a.err("an unsigned integer")),
            },
            None => Ok(None),
        }
    }

    /// Like [`At::u64`], limited to `u32`.
    pub(crate) fn u32(&self, snake: &str) -> Result<Option<u32>, EnvoyError> {
        match self.u64(snake)? {
            Some(n) => u32::try_from(n).map(Some).map_err(|_| {
                // `field` is Some here, since u64 returned a value.
                match self.field(snake) {
                    Some(a) => a.err("an integer at most 4294967295"),
                    None => self.err("an integer at most 4294967295"),
                }
            }),
            None => Ok(None),
        }
    }

    /// The child `snake` as an array of views; empty when absent.
    pub(crate) fn arr(&self, snake: &str) -> Result<Vec<At<'a>>, EnvoyError> {
        match self.field(snake) {
            Some(a) => match a.v.as_array() {
                Some(items) => Ok(items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| At {
                        v,
                        ptr: format!("{}/{}", a.ptr, i),
                    })
                    .collect()),
                None => Err(a.err("an array")),
            },
            None => Ok(Vec::new()),
        }
    }

    /// The child `snake` as an array of strings; empty when absent.
    pub(crate) fn strings(&self, snake: &str) -> Result<Vec<String>, EnvoyError> {
        self.arr(snake)?
            .into_iter()
            .map(|a| {
                a.v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| a.err("a string"))
            })
            .collect()
    }

    /// `self` must be an object (used on array items).
    pub(crate) fn expect_obj(self) -> Result<At<'a>, EnvoyError> {
        if self.v.is_object() {
            Ok(self)
        } else {
            Err(self.err("an object"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_pointer() {
        let v: Value = serde_json::json!({"a": [{"socketAddress": {"port_value": "15001"}}]});
        let root = At::root(&v);
        let item = root.arr("a").unwrap().remove(0);
        let sa = item.obj("socket_address").unwrap().unwrap();
        assert_eq!(sa.ptr, "/a/0/socketAddress");
        assert_eq!(sa.u32("port_value").unwrap(), Some(15001));
    }

    #[test]
    fn wrong_type_names_pointer() {
        let v: Value = serde_json::json!({"a~b/c": {"x": 5}});
        let e = At::root(&v)
            .obj("a~b/c")
            .unwrap()
            .unwrap()
            .str("x")
            .unwrap_err();
        assert_eq!(e.to_string(), "/a~0b~1c/x: expected a string");
        let e = At::root(&v).arr("a~b/c").unwrap_err();
        assert_eq!(e.to_string(), "/a~0b~1c: expected an array");
    }

    #[test]
    fn hidden_deprecated_names() {
        let v: Value =
            serde_json::json!({"hiddenEnvoyDeprecatedUseOriginalDst": true, "hosts": []});
        let r = At::root(&v);
        let n = r.v2_name("use_original_dst");
        assert_eq!(n, "hidden_envoy_deprecated_use_original_dst");
        assert_eq!(r.bool(&n).unwrap(), Some(true));
        assert_eq!(r.v2_name("hosts"), "hosts");
        assert_eq!(r.v2_name("tls_context"), "tls_context");
    }

    #[test]
    fn null_is_absent_and_wrappers_unwrap() {
        let v: Value = serde_json::json!({"n": null, "w": {"value": 7}, "b": {"value": true}});
        let r = At::root(&v);
        assert!(r.field("n").is_none());
        assert_eq!(r.u32("w").unwrap(), Some(7));
        assert_eq!(r.bool("b").unwrap(), Some(true));
        assert!(r.u32("n").unwrap().is_none());
    }
}
