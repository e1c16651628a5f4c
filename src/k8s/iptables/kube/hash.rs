//! kube-proxy's chain-name hashes (proxier.go `portProtoHash`, `servicePortEndpointChainName`;
//! domain.md §1.3), for both eras of the service port name, and the check that a chain's name
//! still hashes from the service it serves (a mismatch means a stale or edited snapshot).

use super::service_hash;

fn hash16(input: &str) -> String {
    crate::k8s::chain_hash::sha256_base32(input, 16)
}

/// `<H>` of `KUBE-SVC-H` etc. (proxier.go `portProtoHash`): base32(sha256(spn + proto))[:16].
/// `spn` is `ns/svc:port`, `ns/svc` (v1.19+, unnamed port) or `ns/svc:` (before v1.19).
pub fn svc_chain_hash(spn: &str, proto: &str) -> String {
    hash16(&format!("{spn}{}", proto.to_ascii_lowercase()))
}

/// `<E>` of `KUBE-SEP-E` (proxier.go `servicePortEndpointChainName`):
/// base32(sha256(spn + proto + endpoint))[:16], endpoint `ip:port` or `[v6]:port`.
pub fn sep_chain_hash(spn: &str, proto: &str, endpoint: &str) -> String {
    hash16(&format!("{spn}{}{endpoint}", proto.to_ascii_lowercase()))
}

/// Both eras' spellings of a service port name: an unnamed port is `ns/svc` from v1.19 and
/// `ns/svc:` before (submariner-io/submariner#1092).
pub(super) fn spn_forms(spn: &str) -> Vec<String> {
    match spn.strip_suffix(':') {
        Some(bare) => vec![spn.to_string(), bare.to_string()],
        None if !spn.contains(':') => vec![spn.to_string(), format!("{spn}:")],
        None => vec![spn.to_string()],
    }
}

/// Whether `chain` (`KUBE-SVC-H`…, or `KUBE-SEP-E` with `endpoint`) is what kube-proxy of
/// either era names for `spn`/`proto`.
pub fn check(chain: &str, spn: &str, proto: &str, endpoint: Option<&str>) -> bool {
    let got = match endpoint {
        Some(_) => chain.strip_prefix("KUBE-SEP-"),
        None => service_hash(chain),
    };
    let Some(got) = got else {
        return false;
    };
    spn_forms(spn).iter().any(|s| match endpoint {
        Some(ep) => sep_chain_hash(s, proto, ep) == got,
        None => svc_chain_hash(s, proto) == got,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_hash_vectors() {
        // domain.md §1.3: upstream fixtures and real dumps.
        assert_eq!(svc_chain_hash("ns1/svc1:p80", "tcp"), "XPGD46QRK7WJZT7O");
        assert_eq!(
            sep_chain_hash("ns1/svc1:p80", "tcp", "10.180.0.1:80"),
            "SXIVWICOYRO3J4NJ"
        );
        assert_eq!(svc_chain_hash("default/nginx:", "tcp"), "4N57TFCL4MD7ZTDA");
        assert_eq!(svc_chain_hash("default/nginx", "TCP"), "2CMXP7HKUVJN7L6M");
        assert_eq!(
            svc_chain_hash("default/php-apache-svc:http", "tcp"),
            "TLHPL6Z5YI33DALW"
        );
    }

    #[test]
    fn check_tries_both_eras() {
        assert!(check(
            "KUBE-SVC-4N57TFCL4MD7ZTDA",
            "default/nginx",
            "tcp",
            None
        ));
        assert!(check(
            "KUBE-SVC-4N57TFCL4MD7ZTDA",
            "default/nginx:",
            "tcp",
            None
        ));
        assert!(check(
            "KUBE-FW-2CMXP7HKUVJN7L6M",
            "default/nginx:",
            "tcp",
            None
        ));
        assert!(!check(
            "KUBE-SVC-4N57TFCL4MD7ZTDA",
            "default/nginx",
            "udp",
            None
        ));
        assert!(check(
            "KUBE-SEP-SXIVWICOYRO3J4NJ",
            "ns1/svc1:p80",
            "tcp",
            Some("10.180.0.1:80")
        ));
        assert!(!check(
            "KUBE-SEP-SXIVWICOYRO3J4NJ",
            "ns1/svc1:p80",
            "tcp",
            Some("10.180.0.2:80")
        ));
        assert!(!check("KUBE-SVC-short", "ns1/svc1:p80", "tcp", None));
    }
}
