//! Any Envoy admin or istioctl output, told apart by shape, for callers that were handed a file
//! without being told what it is (a bundle's `pod/NS/POD/*.json`, `clusters.txt`):
//!
//! - text that is not JSON: `/clusters` text;
//! - `{"cluster_statuses": …}` or a bare array of host statuses: `/clusters?format=json`, or
//!   the old `istioctl proxy-config endpoints -o json`;
//! - anything else: a config dump in one of the shapes `parse_config_dump` accepts
//!   (`/config_dump`, `istioctl proxy-config all|bootstrap|listeners|routes|clusters|endpoints
//!   -o json`).

use super::clusters_text::{parse_clusters, ClustersText};
use super::config_dump::ConfigDump;
use super::json_view::{parse_json, At};
use super::EnvoyError;

/// What an admin file held.
#[derive(Clone, Debug, PartialEq)]
pub enum AdminDoc {
    /// Configuration: listeners, routes, clusters, endpoints, the node.
    Config(Box<ConfigDump>),
    /// Upstream host status (`/clusters`).
    Clusters(ClustersText),
}

/// Parses an Envoy admin or istioctl output of any kind above.
pub fn parse_admin(text: &str) -> Result<AdminDoc, EnvoyError> {
    let text = text.trim_start_matches('\u{feff}');
    let body = text.trim_start();
    if body.is_empty() {
        return Err(EnvoyError::Line {
            line: 1,
            expected: "an Envoy admin or istioctl output (the file is empty)".into(),
        });
    }
    if !(body.starts_with('{') || body.starts_with('[')) {
        // Not JSON: it can only be /clusters text; say so if it is not that either (an HTML
        // error page saved as config_dump.json).
        return parse_clusters(text)
            .map(AdminDoc::Clusters)
            .map_err(|e| match e {
                EnvoyError::Line { line, expected } => EnvoyError::Line {
                    line,
                    expected: format!("{expected} (/clusters text), or a JSON document"),
                },
                other => other,
            });
    }
    let v = parse_json(text)?;
    let root = At::root(&v);
    let statuses =
        root.field("cluster_statuses").is_some() || super::istioctl::is_cluster_statuses(&root);
    if statuses {
        super::clusters_json::from_value(&v).map(AdminDoc::Clusters)
    } else {
        super::config_dump::from_value(&v).map(|d| AdminDoc::Config(Box::new(d)))
    }
}

impl ClustersText {
    /// Adds the clusters of `other` that `self` does not list (a pod with both `/clusters`
    /// forms collected).
    pub fn merge(&mut self, other: ClustersText) {
        for c in other.clusters {
            if self.cluster(&c.name).is_none() {
                self.clusters.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(matches!(
            parse_admin("c::10.0.0.1:80::cx_active::1\n"),
            Ok(AdminDoc::Clusters(_))
        ));
        assert!(matches!(
            parse_admin(r#" {"cluster_statuses": []}"#),
            Ok(AdminDoc::Clusters(_))
        ));
        assert!(matches!(
            parse_admin(r#"[{"name": "c", "hostStatuses": []}]"#),
            Ok(AdminDoc::Clusters(_))
        ));
        assert!(matches!(
            parse_admin(r#"{"configs": []}"#),
            Ok(AdminDoc::Config(_))
        ));
        assert!(matches!(
            parse_admin(r#"[{"name": "l", "filterChains": []}]"#),
            Ok(AdminDoc::Config(d)) if d.listeners.len() == 1
        ));
        assert!(parse_admin(" \n").is_err());
        assert_eq!(
            parse_admin("<html>503</html>\n").unwrap_err().to_string(),
            "line 1: expected `<cluster>::<field>::<value>` (/clusters text), or a JSON document"
        );
        assert!(matches!(
            parse_admin("{\n  oops"),
            Err(EnvoyError::Syntax { line: 2, .. })
        ));
    }
}
