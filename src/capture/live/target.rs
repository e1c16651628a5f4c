//! Which network namespace to capture in: a netns path, a process, a container (through
//! `crictl inspect`, or `docker inspect` for `docker://` IDs) or a pod (its container IDs
//! through `kubectl get pod -o json`, then as a container), resolved to the namespace file
//! that `setns(2)` enters: `/var/run/netns/NAME` or `/proc/PID/ns/net`.
//!
//! This is the nsenter workflow of the seeds (`crictl inspect ID | grep pid`, `nsenter -n
//! --target PID tcpdump`) done in one step. All containers of a pod share the pod sandbox's
//! namespace, so any running container of the pod leads to it.
//!
//! The JSON parsers are pure (tested on real kubectl output and on crictl's documented shape);
//! [`resolve`] runs the tools and checks `/proc`.

use super::error::LiveError;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the user named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The namespace hopscope runs in.
    Current,
    Netns(PathBuf),
    Pid(u32),
    /// A container ID, with or without its runtime prefix (`containerd://`, `cri-o://`,
    /// `docker://`).
    Container(String),
    Pod {
        namespace: String,
        name: String,
    },
}

/// Where the capture goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The namespace file to enter; `None`: stay in the current namespace.
    pub netns: Option<PathBuf>,
    /// The process whose namespace it is, when known.
    pub pid: Option<u32>,
    /// The pod, when named (for `--auto-cluster` and the capture point).
    pub pod: Option<(String, String)>,
    /// How to name the target in messages: `pid 1234`, `pod default/x (container …)`.
    pub label: String,
}

/// A running container of a pod, from `kubectl get pod -o json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodContainer {
    /// `containerd://…`, `cri-o://…` or `docker://…`, as kubectl shows it.
    pub id: String,
    pub name: String,
    pub node: Option<String>,
    pub host_network: bool,
}

/// Resolves `target` to a namespace file, checking that the process exists.
pub fn resolve(target: &Target) -> Result<Resolved, LiveError> {
    match target {
        Target::Current => Ok(Resolved {
            netns: None,
            pid: None,
            pod: None,
            label: "the current network namespace".into(),
        }),
        Target::Netns(path) => {
            if !path.exists() {
                return Err(LiveError::usage(format!(
                    "no network namespace file {}: list them with `ip netns list` or `lsns -t net`, \
                     or give --pid PID",
                    path.display()
                )));
            }
            Ok(Resolved {
                netns: Some(path.clone()),
                pid: None,
                pod: None,
                label: path.display().to_string(),
            })
        }
        Target::Pid(pid) => from_pid(*pid, format!("pid {pid}"), None),
        Target::Container(id) => {
            let pid = container_pid(id)?;
            from_pid(pid, format!("container {} (pid {pid})", short(id)), None)
        }
        Target::Pod { namespace, name } => {
            let json = run_tool(
                "kubectl",
                &["get", "pod", "-n", namespace, name, "-o", "json"],
                "install kubectl and point KUBECONFIG at the cluster, or give --container ID \
                 or --pid PID",
            )?;
            let c = pod_container(&json)
                .map_err(|e| LiveError::usage(format!("pod {namespace}/{name}: {e}")))?;
            let pid = container_pid(&c.id).map_err(|mut e| {
                if let Some(node) = &c.node {
                    e.message.push_str(&format!(
                        " (the pod runs on node {node}: run hopscope on that node)"
                    ));
                }
                e
            })?;
            let label = format!(
                "pod {namespace}/{name} (container {} {}, pid {pid}{})",
                c.name,
                short(&c.id),
                if c.host_network {
                    ", hostNetwork: the node's namespace"
                } else {
                    ""
                }
            );
            from_pid(pid, label, Some((namespace.clone(), name.clone())))
        }
    }
}

/// `/proc/PID/ns/net` of a live process.
fn from_pid(pid: u32, label: String, pod: Option<(String, String)>) -> Result<Resolved, LiveError> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    if pid == 0 || !proc.exists() {
        return Err(LiveError::usage(format!(
            "no process {pid} (it exited, or the PID is wrong): find the container's PID with \
             `crictl inspect ID` (info.pid), or give --container ID or --pod NS/NAME"
        )));
    }
    if is_zombie(&proc) {
        return Err(LiveError::usage(format!(
            "process {pid} has exited (a zombie has no network namespace): give the PID of a \
             running process of the pod"
        )));
    }
    Ok(Resolved {
        netns: Some(proc.join("ns/net")),
        pid: Some(pid),
        pod,
        label,
    })
}

/// State `Z` in `/proc/PID/stat` (after the parenthesised command, which may hold spaces).
fn is_zombie(proc: &Path) -> bool {
    std::fs::read_to_string(proc.join("stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// The first 13 characters of an ID, as crictl shows them, with its runtime prefix.
fn short(id: &str) -> String {
    let (prefix, bare) = split_runtime(id);
    format!("{prefix}{}", bare.get(..13).unwrap_or(bare))
}

/// Splits `containerd://ID`, `cri-o://ID`, `docker://ID` into (prefix, ID); a bare ID has an
/// empty prefix.
pub fn split_runtime(id: &str) -> (&str, &str) {
    match id.find("://") {
        Some(i) => id.split_at(i + 3),
        None => ("", id),
    }
}

/// The PID of a running container: `docker inspect` for `docker://` IDs, else `crictl
/// inspect` (containerd and CRI-O).
pub fn container_pid(id: &str) -> Result<u32, LiveError> {
    let (prefix, bare) = split_runtime(id);
    if bare.is_empty() || bare.starts_with('-') {
        return Err(LiveError::usage(format!("bad container ID {id:?}")));
    }
    let (tool, parsed) = match prefix {
        "docker://" => {
            let json = run_tool(
                "docker",
                &["inspect", bare],
                "install the docker CLI, or give --pid (docker inspect -f '{{.State.Pid}}' ID)",
            )?;
            ("docker inspect", docker_pid(&json))
        }
        "" | "containerd://" | "cri-o://" => {
            let json = run_tool(
                "crictl",
                &["inspect", bare],
                "install cri-tools (crictl) and set its runtime endpoint, or give --pid (crictl \
                 inspect ID | jq .info.pid)",
            )?;
            ("crictl inspect", crictl_pid(&json))
        }
        other => {
            return Err(LiveError::usage(format!(
            "container runtime {other} not supported: give the bare ID (for crictl) or --pid PID"
        )))
        }
    };
    parsed.map_err(|e| LiveError::usage(format!("{tool} {}: {e}", short(bare))))
}

/// Runs `tool args`, returning its stdout; a missing tool or a failure is one line with `fix`.
fn run_tool(tool: &str, args: &[&str], fix: &str) -> Result<String, LiveError> {
    let out = Command::new(tool).args(args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            LiveError::failure(format!("{tool} not found on PATH: {fix}"))
        } else {
            LiveError::failure(format!("running {tool}: {e}"))
        }
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        return Err(LiveError::usage(format!(
            "{tool} {} failed ({}): {}",
            args.join(" "),
            out.status,
            crate::report::escape::escape(first)
        )));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| LiveError::failure(format!("{tool} {} printed invalid UTF-8", args.join(" "))))
}

/// `info.pid` of `crictl inspect ID` (containerd and CRI-O both put the container's init
/// process there; containerd/cri's container status info, crictl's default JSON output).
pub fn crictl_pid(json: &str) -> Result<u32, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON ({e})"))?;
    let pid = v.pointer("/info/pid").and_then(Value::as_u64).unwrap_or(0);
    let state = v.pointer("/status/state").and_then(Value::as_str);
    match (u32::try_from(pid), state) {
        (Ok(pid), None | Some("CONTAINER_RUNNING")) if pid > 0 => Ok(pid),
        (_, Some(state)) if state != "CONTAINER_RUNNING" => {
            Err(format!("the container is not running (state {state})"))
        }
        _ => Err("no info.pid in the output (is crictl's runtime endpoint the node's CRI?)".into()),
    }
}

/// `[0].State.Pid` of `docker inspect ID`.
pub fn docker_pid(json: &str) -> Result<u32, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON ({e})"))?;
    let state = v.pointer("/0/State").ok_or("no State in the output")?;
    if state.get("Running").and_then(Value::as_bool) == Some(false) {
        return Err("the container is not running".into());
    }
    state
        .get("Pid")
        .and_then(Value::as_u64)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|&p| p > 0)
        .ok_or_else(|| "no State.Pid in the output".into())
}

/// A running container of the Pod in `kubectl get pod -o json`: regular containers first,
/// then running init containers (native sidecars, `restartPolicy: Always`).
pub fn pod_container(json: &str) -> Result<PodContainer, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON ({e})"))?;
    match v.get("kind").and_then(Value::as_str) {
        Some("Pod") => {}
        other => {
            return Err(format!(
                "expected a Pod, got {}",
                other.unwrap_or("no kind")
            ))
        }
    }
    let status = v.get("status");
    let statuses = ["containerStatuses", "initContainerStatuses"]
        .into_iter()
        .flat_map(|k| {
            status
                .and_then(|s| s.get(k))
                .and_then(Value::as_array)
                .map(|a| a.iter())
                .into_iter()
                .flatten()
        });
    let running = statuses
        .filter(|c| c.pointer("/state/running").is_some())
        .find_map(|c| {
            let id = c.get("containerID").and_then(Value::as_str)?;
            (!id.is_empty()).then(|| (id, c.get("name").and_then(Value::as_str).unwrap_or("")))
        });
    let Some((id, name)) = running else {
        let phase = status
            .and_then(|s| s.get("phase"))
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        return Err(format!(
            "no running container (phase {phase}): wait until it runs"
        ));
    };
    let spec = v.get("spec");
    Ok(PodContainer {
        id: id.to_string(),
        name: name.to_string(),
        node: spec
            .and_then(|s| s.get("nodeName"))
            .and_then(Value::as_str)
            .map(str::to_string),
        host_network: spec
            .and_then(|s| s.get("hostNetwork"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
