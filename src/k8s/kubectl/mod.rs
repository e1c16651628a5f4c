//! Kubernetes objects from `kubectl get … -o json|yaml` (or the API's list responses) into the
//! few typed fields the join needs, and an [`Inventory`] that names IP addresses with them.
//!
//! Accepted shapes: one object, a `List`/`PodList`/`ServiceList`/… with `items` (API list items
//! carry no `kind`; it is taken from the list's kind minus `List`), a bare JSON array, several
//! YAML documents (`---`) or concatenated JSON values. Typed kinds: Pod, Service, EndpointSlice
//! (discovery.k8s.io v1 and v1beta1; the v1beta1 `topology` field is ignored), Endpoints (v1,
//! each subset read as an EndpointSlice-shaped value) and Node. Any other kind is kept as
//! [`Object::Other`], never an error. Missing fields read as absent (a pending pod has no
//! `podIP`); a field of the wrong type is a [`KubeError::Type`] naming its JSON pointer.
//!
//! What it does not do: validate objects the way the API server does, read `kubectl describe`
//! text, or resolve a namespace from a kubeconfig (an object without `metadata.namespace` is put
//! in `default`, the namespace kubectl applies without `-n`). `kubectl get pods -o wide` text is
//! read by [`parse_pods_wide`], with fewer fields.

mod endpoints;
mod field;
mod inventory;
mod istio;
mod node;
mod pod;
mod service;
mod wide;
mod yaml;

#[cfg(test)]
mod tests;

pub use endpoints::{AddressType, Endpoint, EndpointPort, EndpointSlice, Endpoints, TargetRef};
pub use inventory::{
    legacy_service_port_name, service_port_name, Inventory, IpName, ServiceEndpoint,
};
pub use istio::{Interception, IstioInitArgs, SidecarKind};
pub use node::{Node, NodeAddress};
pub use pod::{Container, ContainerPort, Pod};
pub use service::{Service, ServicePort, ServiceType, SessionAffinity, TargetPort};
pub use wide::parse_pods_wide;

use serde_json::Value;

use crate::k8s::walk::Proto;
use field::At;

/// Why a listing could not be read. Every variant says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    #[error("json: line {line} column {column}: {msg}")]
    Json {
        line: usize,
        column: usize,
        msg: String,
    },
    #[error("yaml: line {line} column {column}: {msg}")]
    Yaml {
        line: usize,
        column: usize,
        msg: String,
    },
    /// A field of the wrong type; `pointer` is RFC 6901 within the document that starts on
    /// `doc_line` (YAML) or within the only JSON value.
    #[error("{}{}: expected {expected}, found {found}", doc_prefix(*.doc_line), pointer_text(.pointer))]
    Type {
        doc_line: Option<usize>,
        pointer: String,
        expected: &'static str,
        found: &'static str,
    },
    /// A line of `kubectl get pods -o wide` text.
    #[error("line {line}: {msg}")]
    Table { line: usize, msg: String },
}

fn doc_prefix(line: Option<usize>) -> String {
    match line {
        Some(l) => format!("yaml document at line {l}: "),
        None => String::new(),
    }
}

fn pointer_text(p: &str) -> &str {
    if p.is_empty() {
        "(root)"
    } else {
        p
    }
}

/// One Kubernetes object, typed when the join needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// Boxed: a pod is by far the largest variant.
    Pod(Box<Pod>),
    Service(Service),
    EndpointSlice(EndpointSlice),
    Endpoints(Endpoints),
    Node(Node),
    /// Any other kind (Deployment, ConfigMap, …): kept so a caller can count what was skipped.
    Other {
        kind: String,
        name: String,
    },
}

/// Parse a kubectl JSON or YAML listing (detected from the first non-blank character: `{` or
/// `[` is JSON, anything else YAML).
pub fn parse(text: &str) -> Result<Vec<Object>, KubeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    if matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'[')) {
        let stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        for value in stream {
            let value = value.map_err(|e| KubeError::Json {
                line: e.line(),
                column: e.column(),
                msg: e.to_string(),
            })?;
            objects_of(At::root(&value, "", None), None, &mut out)?;
        }
    } else {
        for doc in yaml::documents(text)? {
            objects_of(At::root(&doc.value, "", Some(doc.line)), None, &mut out)?;
        }
    }
    Ok(out)
}

/// Flatten lists and read each object; `item_kind` is the kind a list implies for its items.
fn objects_of(
    at: At<'_, '_>,
    item_kind: Option<&str>,
    out: &mut Vec<Object>,
) -> Result<(), KubeError> {
    match at.value {
        Value::Null => return Ok(()),
        Value::Array(_) => {
            for child in at.elements()? {
                objects_of(child.at(), item_kind, out)?;
            }
            return Ok(());
        }
        Value::Object(_) => {}
        _ => return Err(at.error("an object")),
    }
    let kind = at.str_opt("kind")?;
    let kind = kind.as_deref().or(item_kind).unwrap_or("");
    if let Some(items) = at.get("items") {
        if kind.ends_with("List") || kind.is_empty() {
            let implied = kind.strip_suffix("List").filter(|k| !k.is_empty());
            return objects_of(items.at(), implied, out);
        }
    }
    out.push(object(at, kind)?);
    Ok(())
}

fn object(at: At<'_, '_>, kind: &str) -> Result<Object, KubeError> {
    Ok(match kind {
        "Pod" => Object::Pod(Box::new(pod::parse(at)?)),
        "Service" => Object::Service(service::parse(at)?),
        "EndpointSlice" => Object::EndpointSlice(endpoints::parse_slice(at)?),
        "Endpoints" => Object::Endpoints(endpoints::parse_endpoints(at)?),
        "Node" => Object::Node(node::parse(at)?),
        other => Object::Other {
            kind: other.to_string(),
            name: Meta::read(at)?.name,
        },
    })
}

/// The `metadata` fields every kind shares.
pub(crate) struct Meta {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) uid: Option<String>,
    pub(crate) labels: std::collections::BTreeMap<String, String>,
    pub(crate) annotations: std::collections::BTreeMap<String, String>,
}

impl Meta {
    pub(crate) fn read(at: At<'_, '_>) -> Result<Meta, KubeError> {
        let Some(m) = at.get("metadata") else {
            return Ok(Meta {
                namespace: "default".into(),
                name: String::new(),
                uid: None,
                labels: Default::default(),
                annotations: Default::default(),
            });
        };
        let m = m.at();
        Ok(Meta {
            namespace: m.str_opt("namespace")?.unwrap_or_else(|| "default".into()),
            name: m.string("name")?,
            uid: m.str_opt("uid")?,
            labels: m.str_map("labels")?,
            annotations: m.str_map("annotations")?,
        })
    }
}

/// `protocol` of a port entry; Kubernetes defaults it to TCP.
pub(crate) fn protocol(at: At<'_, '_>) -> Result<Proto, KubeError> {
    let Some(c) = at.get("protocol") else {
        return Ok(Proto::Tcp);
    };
    let c = c.at();
    match c.as_str()?.to_ascii_uppercase().as_str() {
        "TCP" => Ok(Proto::Tcp),
        "UDP" => Ok(Proto::Udp),
        "SCTP" => Ok(Proto::Sctp),
        _ => Err(c.error("TCP, UDP or SCTP")),
    }
}
