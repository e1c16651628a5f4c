//! Target resolution: kubectl Pod JSON from real clusters (tests/data/third-party/k8s, k9s's
//! testdata), crictl and docker inspect output in the shape their projects document (no
//! licensed real sample was found; the fields read are the ones the seeds' runbooks use), and
//! `/proc` checks on real processes.

use super::*;

fn k8s(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/third-party/k8s")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn pod_with_a_native_sidecar_gives_its_running_app_container() {
    // Init container `init` terminated, native sidecar `sidecar` running, app `sleep` running.
    let c = pod_container(&k8s("k9s-testdata-po_sidecar.json")).unwrap();
    assert_eq!(
        c.id,
        "containerd://a1848056a183e40afe3189fc4920bd565930180ebdf2f9e2daf778ea8105f93e"
    );
    assert_eq!(c.name, "sleep");
    assert_eq!(c.node.as_deref(), Some("kind-control-plane"));
    assert!(!c.host_network);
}

#[test]
fn docker_era_pod_gives_a_docker_id() {
    let c = pod_container(&k8s("k9s-testdata-p1.json")).unwrap();
    assert_eq!(split_runtime(&c.id).0, "docker://");
    assert_eq!(c.name, "nginx");
    assert_eq!(
        c.node.as_deref(),
        Some("gke-k9s-default-pool-0fa2fb89-lbtf")
    );
}

#[test]
fn a_pod_list_is_not_a_pod() {
    let e = pod_container(&k8s("victoriametrics-minikube-podlist-etcd.json")).unwrap_err();
    assert!(e.contains("expected a Pod, got PodList"), "{e}");
}

#[test]
fn a_pod_without_running_containers_says_its_phase() {
    let mut v: Value = serde_json::from_str(&k8s("k9s-testdata-p1.json")).unwrap();
    v["status"]["phase"] = "Pending".into();
    v["status"]["containerStatuses"][0]["state"] = serde_json::json!({"waiting": {}});
    let e = pod_container(&v.to_string()).unwrap_err();
    assert!(e.contains("no running container (phase Pending)"), "{e}");
    assert!(pod_container("{").unwrap_err().starts_with("not JSON"));
}

#[test]
fn runtime_prefixes() {
    assert_eq!(split_runtime("containerd://abc"), ("containerd://", "abc"));
    assert_eq!(split_runtime("cri-o://abc"), ("cri-o://", "abc"));
    assert_eq!(split_runtime("abc"), ("", "abc"));
    assert_eq!(
        short("containerd://0123456789abcdef"),
        "containerd://0123456789abc"
    );
    assert!(container_pid("containerd://").is_err());
    assert!(container_pid("rkt://x")
        .unwrap_err()
        .message
        .contains("not supported"));
}

#[test]
fn crictl_inspect_pid() {
    // containerd (containerd/cri PR 475's example output, trimmed to the fields read).
    let running = r#"{"status": {"id": "98ad5842a628", "state": "CONTAINER_RUNNING",
        "labels": {"io.kubernetes.pod.name": "nginx"}}, "info": {"pid": 28834, "sandboxID": "x"}}"#;
    assert_eq!(crictl_pid(running), Ok(28834));
    let exited = r#"{"status": {"state": "CONTAINER_EXITED"}, "info": {"pid": 0}}"#;
    assert_eq!(
        crictl_pid(exited),
        Err("the container is not running (state CONTAINER_EXITED)".into())
    );
    // A runtime without the verbose info map.
    let bare = r#"{"status": {"state": "CONTAINER_RUNNING"}}"#;
    assert!(crictl_pid(bare).unwrap_err().contains("no info.pid"));
    assert!(crictl_pid(r#"{"info": {"pid": 99999999999}}"#).is_err());
    assert!(crictl_pid("").unwrap_err().starts_with("not JSON"));
}

#[test]
fn docker_inspect_pid() {
    assert_eq!(
        docker_pid(r#"[{"State": {"Running": true, "Pid": 4242}}]"#),
        Ok(4242)
    );
    assert!(docker_pid(r#"[{"State": {"Running": false, "Pid": 0}}]"#)
        .unwrap_err()
        .contains("not running"));
    assert!(docker_pid("[]").is_err());
}

#[test]
fn pids_are_checked_in_proc() {
    let me = std::process::id();
    let r = resolve(&Target::Pid(me)).unwrap();
    assert_eq!(r.netns, Some(PathBuf::from(format!("/proc/{me}/ns/net"))));
    assert_eq!(r.pid, Some(me));
    for pid in [0, u32::MAX - 1] {
        let e = resolve(&Target::Pid(pid)).unwrap_err();
        assert!(e.message.starts_with(&format!("no process {pid} ")), "{e}");
        assert_eq!(e.exit_code(), 2);
    }
}

#[test]
fn a_zombie_is_refused() {
    let mut child = Command::new("true").spawn().expect("true runs");
    let pid = child.id();
    // Not waited for: once it exits it stays a zombie until `wait`.
    let proc = PathBuf::from(format!("/proc/{pid}"));
    for _ in 0..200 {
        if is_zombie(&proc) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let e = resolve(&Target::Pid(pid)).unwrap_err();
    assert!(e.message.contains("has exited"), "{e}");
    child.wait().unwrap();
}

#[test]
fn a_missing_netns_file_is_usage() {
    let e = resolve(&Target::Netns("/var/run/netns/hs-no-such-netns".into())).unwrap_err();
    assert!(e.message.contains("ip netns list"), "{e}");
    assert_eq!(e.exit_code(), 2);
}
