//! `kubectl get pods -o wide` tables: the [3rd] sample of domain.md section 5 and variants.

use super::super::*;
use super::ip;

const WIDE_ALL: &str = "\
NAMESPACE       NAME                                       READY   STATUS             RESTARTS         AGE     IP            NODE      NOMINATED NODE   READINESS GATES
kube-flannel    kube-flannel-ds-hrzrx                      0/1     CrashLoopBackOff   10 (3m55s ago)   52m     10.128.0.25   worker1   <none>           <none>
default         pending-x                                  0/1     Pending            0                1s      <none>        <none>    <none>           <none>
";

#[test]
fn pods_wide() {
    // The first data row is the [3rd] sample quoted in domain.md section 5, hand-copied.
    let pods = parse_pods_wide(WIDE_ALL).unwrap();
    assert_eq!(pods.len(), 2);
    let p = &pods[0];
    assert_eq!(
        (p.namespace.as_str(), p.name.as_str()),
        ("kube-flannel", "kube-flannel-ds-hrzrx")
    );
    assert_eq!(p.pod_ips, vec![ip("10.128.0.25")]);
    assert_eq!(p.node.as_deref(), Some("worker1"));
    assert_eq!(p.phase.as_deref(), Some("Running"));
    assert!(pods[1].pod_ips.is_empty() && pods[1].node.is_none());
    assert_eq!(pods[1].phase.as_deref(), Some("Pending"));
    let no_ns = "NAME    READY   STATUS    RESTARTS   AGE   IP           NODE\nweb-1   1/1     Running   0          5d    10.0.0.5     n1\n";
    let pods = parse_pods_wide(no_ns).unwrap();
    assert_eq!(
        (pods[0].namespace.as_str(), pods[0].name.as_str()),
        ("default", "web-1")
    );
    let bad = "NAME    IP\nweb-1   10.0.0.x\n";
    assert_eq!(
        parse_pods_wide(bad).unwrap_err().to_string(),
        "line 2: expected an IP address or <none> under IP, found \"10.0.0.x\""
    );
    assert!(matches!(
        parse_pods_wide("FOO BAR\n"),
        Err(KubeError::Table { line: 1, .. })
    ));
    assert!(
        parse_pods_wide("No resources found in default namespace.\n")
            .unwrap()
            .is_empty()
    );
}
