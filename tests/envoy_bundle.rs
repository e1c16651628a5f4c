//! A bundle whose pod has no `/config_dump`, only what `istioctl proxy-config … -o json` and
//! `/clusters?format=json` printed (docs/bundle.md): `hopscope path` walks the sidecar with
//! them as it does with a config dump.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/third-party/envoy")
        .join(name)
}

/// pod/default/details-v1/ with the istioctl files under their bundle names.
fn bundle(name: &str, with_status: bool) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let pod = root.join("pod/default/details-v1");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&pod).unwrap();
    let mut files = vec![
        ("istio-testdata-istioctl-listeners.json", "listeners.json"),
        ("istio-testdata-istioctl-routes.json", "routes.json"),
        ("istio-testdata-istioctl-clusters.json", "clusters.json"),
        ("istio-testdata-istioctl-endpoints.json", "endpoints.json"),
    ];
    if with_status {
        // /clusters?format=json under the name the text form has: read by shape.
        files.push(("istio-testdata-clusters-format-json.json", "clusters.txt"));
    }
    for (from, to) in files {
        std::fs::copy(fixture(from), pod.join(to)).unwrap();
    }
    std::fs::write(pod.join("addresses.txt"), "10.244.1.5\n").unwrap();
    root
}

fn path(bundle: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .arg("path")
        .args(args)
        .args(["--from", "10.244.1.5", "--cluster"])
        .arg(bundle)
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn istioctl_files_give_the_sidecar_path() {
    let b = bundle("envoy-istioctl-bundle", true);
    let (out, err) = path(
        &b,
        &[
            "172.21.245.9:8080",
            "--host",
            "istio-pilot.istio-system:8080",
        ],
    );
    assert!(err.is_empty(), "{err}");
    for hop in [
        "pod default/details-v1: sidecar outbound",
        "listener 0.0.0.0_8080",
        "route-config 8080",
        "virtual-host istio-pilot.istio-system.svc.cluster.local:8080",
        "cluster outbound|8080||istio-pilot.istio-system.svc.cluster.local 100.0%",
    ] {
        assert!(out.contains(hop), "{hop} not in\n{out}");
    }
    assert!(!out.contains("missing: Envoy config"), "{out}");
    // A v1 TCP proxy listener; its cluster is in no config file, so its host comes from
    // the /clusters status.
    let (out, _) = path(&b, &["172.21.134.116:443"]);
    assert!(out.contains("listener 172.21.134.116_443"), "{out}");
    assert!(
        out.contains(
            "endpoint 172.17.0.19:443 100.0% (outbound|443||istio-galley.istio-system.svc.cluster.local)"
        ),
        "{out}"
    );
    // Without the status, the same route ends at the cluster: no endpoint is invented.
    let b = bundle("envoy-istioctl-bundle-no-status", false);
    let (out, _) = path(&b, &["172.21.134.116:443"]);
    assert!(out.contains("cluster outbound|443||istio-galley"), "{out}");
    assert!(!out.contains("endpoint 172.17.0.19"), "{out}");
}

#[test]
fn a_bad_envoy_file_is_named_and_the_others_still_count() {
    let b = bundle("envoy-istioctl-bundle-bad", false);
    let pod = b.join("pod/default/details-v1");
    std::fs::write(
        pod.join("routes.json"),
        "[{\"name\": \"15004\", \"virtualHosts\": 5}]",
    )
    .unwrap();
    let (out, err) = path(&b, &["172.21.134.116:443"]);
    assert!(out.contains("listener 172.21.134.116_443"), "{out}");
    let routes = pod.join("routes.json");
    assert!(
        err.contains(&format!(
            "{}: /0/virtualHosts: expected an array",
            routes.display()
        )),
        "{err}"
    );
}
