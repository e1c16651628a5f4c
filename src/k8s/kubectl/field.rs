//! Typed, pointer-tracking reads of a `serde_json::Value` tree (a kubectl object, from JSON or
//! YAML): each read says where it was (RFC 6901 JSON pointer) when the value has the wrong type.
//!
//! What it does not do: decide defaults. A missing or `null` field reads as absent (`None`, an
//! empty list or map); the object parsers pick the Kubernetes default. Why lenient on missing and
//! strict on wrong types: `kubectl get` omits empty fields freely (a pending pod has no `podIP`),
//! but a string where a port number belongs means the input is not what we think it is.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::KubeError;

/// A node of the object tree and its JSON pointer.
#[derive(Clone, Copy)]
pub(crate) struct At<'v, 'p> {
    pub(crate) value: &'v Value,
    ptr: &'p str,
    doc_line: Option<usize>,
}

/// Owned pointer for a child, so `At` can borrow it.
pub(crate) struct Child<'a> {
    value: &'a Value,
    ptr: String,
    doc_line: Option<usize>,
}

impl<'a> Child<'a> {
    pub(crate) fn at(&self) -> At<'a, '_> {
        At {
            value: self.value,
            ptr: &self.ptr,
            doc_line: self.doc_line,
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RFC 6901 escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl<'a, 'p> At<'a, 'p> {
    pub(crate) fn root(value: &'a Value, ptr: &'p str, doc_line: Option<usize>) -> At<'a, 'p> {
        At {
            value,
            ptr,
            doc_line,
        }
    }

    pub(crate) fn error(&self, expected: &'static str) -> KubeError {
        KubeError::Type {
            doc_line: self.doc_line,
            pointer: self.ptr.to_string(),
            expected,
            found: type_name(self.value),
        }
    }

    /// The child `key` of an object; `None` when absent or null (or when `self` is no object).
    pub(crate) fn get(&self, key: &str) -> Option<Child<'a>> {
        match self.value.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(Child {
                value: v,
                ptr: format!("{}/{}", self.ptr, escape(key)),
                doc_line: self.doc_line,
            }),
        }
    }

    pub(crate) fn as_str(&self) -> Result<&'a str, KubeError> {
        self.value.as_str().ok_or_else(|| self.error("a string"))
    }

    pub(crate) fn as_bool(&self) -> Result<bool, KubeError> {
        self.value.as_bool().ok_or_else(|| self.error("a boolean"))
    }

    pub(crate) fn as_u16(&self) -> Result<u16, KubeError> {
        self.value
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| self.error("an integer 0..=65535"))
    }

    pub(crate) fn as_u32(&self) -> Result<u32, KubeError> {
        self.value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.error("a non-negative integer"))
    }

    pub(crate) fn as_ip(&self) -> Result<IpAddr, KubeError> {
        self.as_str()?
            .trim()
            .parse()
            .map_err(|_| self.error("an IP address"))
    }

    /// The elements of the array `key`; empty when absent or null.
    pub(crate) fn items(&self, key: &str) -> Result<Vec<Child<'a>>, KubeError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(c) => c.at().elements(),
        }
    }

    pub(crate) fn elements(&self) -> Result<Vec<Child<'a>>, KubeError> {
        let arr = self
            .value
            .as_array()
            .ok_or_else(|| self.error("an array"))?;
        Ok(arr
            .iter()
            .enumerate()
            .map(|(i, v)| Child {
                value: v,
                ptr: format!("{}/{}", self.ptr, i),
                doc_line: self.doc_line,
            })
            .collect())
    }

    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<String>, KubeError> {
        self.get(key)
            .map(|c| c.at().as_str().map(str::to_string))
            .transpose()
    }

    /// A string field, empty when absent.
    pub(crate) fn string(&self, key: &str) -> Result<String, KubeError> {
        Ok(self.str_opt(key)?.unwrap_or_default())
    }

    pub(crate) fn bool_opt(&self, key: &str) -> Result<Option<bool>, KubeError> {
        self.get(key).map(|c| c.at().as_bool()).transpose()
    }

    pub(crate) fn u16_opt(&self, key: &str) -> Result<Option<u16>, KubeError> {
        self.get(key).map(|c| c.at().as_u16()).transpose()
    }

    pub(crate) fn u32_opt(&self, key: &str) -> Result<Option<u32>, KubeError> {
        self.get(key).map(|c| c.at().as_u32()).transpose()
    }

    /// A list of strings (`args`, `addresses`, `podCIDRs`).
    pub(crate) fn strings(&self, key: &str) -> Result<Vec<String>, KubeError> {
        self.items(key)?
            .iter()
            .map(|c| c.at().as_str().map(str::to_string))
            .collect()
    }

    /// A string-to-string map (`labels`, `annotations`, `selector`).
    pub(crate) fn str_map(&self, key: &str) -> Result<BTreeMap<String, String>, KubeError> {
        let Some(c) = self.get(key) else {
            return Ok(BTreeMap::new());
        };
        let at = c.at();
        let obj = at.value.as_object().ok_or_else(|| at.error("an object"))?;
        let mut out = BTreeMap::new();
        for (k, v) in obj {
            let child = Child {
                value: v,
                ptr: format!("{}/{}", at.ptr, escape(k)),
                doc_line: self.doc_line,
            };
            let s = match v {
                // YAML `port: 80` under annotations is still a string to Kubernetes' decoder
                // only when quoted; accept scalars as their text rather than fail a listing.
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                _ => return Err(child.at().error("a string")),
            };
            out.insert(k.clone(), s);
        }
        Ok(out)
    }
}
