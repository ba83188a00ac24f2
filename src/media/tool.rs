//! Running ffprobe / ffmpeg as child processes with a deadline: output collected, the child killed and
//! reaped on timeout, on error and on unwind, so no stray or zombie process outlives the call.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{MediaError, MediaErrorKind};

/// What a finished tool left behind.
pub(crate) struct ToolOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ToolOutput {
    /// The last few distinct lines of stderr, without ffmpeg's `[demuxer @ 0x...]` prefixes, for error
    /// messages ("moov atom not found; Invalid data found when processing input").
    pub fn stderr_reason(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let mut lines: Vec<&str> = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let line = match (line.starts_with('['), line.find("] ")) {
                (true, Some(end)) => &line[end + 2..],
                _ => line,
            };
            lines.retain(|l| *l != line);
            lines.push(line);
        }
        let tail = &lines[lines.len().saturating_sub(3)..];
        let reason: String = tail.join("; ").chars().take(400).collect();
        if reason.is_empty() {
            format!("exited with {}", self.status)
        } else {
            reason
        }
    }
}

/// Kills and reaps the child unless it was waited for: covers early returns and panics alike.
struct ChildGuard {
    child: Child,
    reaped: bool,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `program args` with stdin closed, collecting at most `max_stdout` bytes of stdout (more is an
/// error: a frame grab never needs more) and the tail of stderr, and kills it at `deadline`.
/// `what` names the step in messages ("video frame", "video probe").
pub(crate) fn run_tool(
    program: &Path,
    args: &[&std::ffi::OsStr],
    deadline: Instant,
    timeout: Duration,
    max_stdout: usize,
    what: &str,
) -> Result<ToolOutput, MediaError> {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tool".into());
    let child = spawn_tool(program, args, &name, what)?;
    let mut guard = ChildGuard {
        child,
        reaped: false,
    };

    let stdout = guard.child.stdout.take().expect("stdout is piped");
    let stderr = guard.child.stderr.take().expect("stderr is piped");
    // Readers on their own threads: a child blocked on a full pipe would otherwise never exit.
    let out_reader: JoinHandle<std::io::Result<Vec<u8>>> = std::thread::spawn(move || {
        let mut buf = Vec::new();
        // One byte more than allowed tells "too much" apart from "exactly the limit".
        stdout.take(max_stdout as u64 + 1).read_to_end(&mut buf)?;
        Ok(buf)
    });
    let err_reader: JoinHandle<Vec<u8>> = std::thread::spawn(move || read_stderr_tail(stderr));

    let mut pause = Duration::from_millis(1);
    let status = loop {
        match guard.child.try_wait() {
            Ok(Some(status)) => {
                guard.reaped = true;
                break status;
            }
            Ok(None) => {}
            Err(e) => {
                return Err(MediaError::new(
                    MediaErrorKind::Io,
                    format!("{what}: waiting for {name}: {e}"),
                ));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = guard.child.kill();
            let _ = guard.child.wait();
            guard.reaped = true;
            // The pipes close with the child: the readers end on their own.
            let _ = out_reader.join();
            let _ = err_reader.join();
            return Err(MediaError::new(
                MediaErrorKind::Timeout,
                format!(
                    "{what}: {name} timed out after {}",
                    describe_duration(timeout)
                ),
            ));
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    };

    let stdout = match out_reader.join() {
        Ok(Ok(buf)) => buf,
        Ok(Err(e)) => {
            return Err(MediaError::new(
                MediaErrorKind::Io,
                format!("{what}: reading {name} output: {e}"),
            ));
        }
        Err(_) => {
            return Err(MediaError::new(
                MediaErrorKind::Io,
                format!("{what}: reading {name} output failed"),
            ));
        }
    };
    let stderr = err_reader.join().unwrap_or_default();
    if stdout.len() > max_stdout {
        return Err(MediaError::new(
            MediaErrorKind::Corrupt,
            format!(
                "{what}: {name} wrote more than {} MB",
                max_stdout / 1_000_000
            ),
        ));
    }
    Ok(ToolOutput {
        status,
        stdout,
        stderr,
    })
}

/// Starts `program args` with stdin closed and stdout and stderr piped.
fn spawn_tool(
    program: &Path,
    args: &[&std::ffi::OsStr],
    name: &str,
    what: &str,
) -> Result<Child, MediaError> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            let message = if e.kind() == std::io::ErrorKind::NotFound {
                format!("{what}: {name} not found (looked for {:?}; install ffmpeg or set [media] {name})", program)
            } else {
                format!("{what}: could not start {name} ({}): {e}", program.display())
            };
            MediaError::new(MediaErrorKind::Tool, message)
        })
}

/// Reads stderr to its end, keeping only the last 16 KiB or so.
fn read_stderr_tail(mut stderr: std::process::ChildStderr) -> Vec<u8> {
    const KEEP: usize = 16 * 1024;
    let mut tail = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut chunk) {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&chunk[..n]);
        if tail.len() > 2 * KEEP {
            tail.drain(..tail.len() - KEEP);
        }
    }
    tail
}

/// "60 s", "1.5 s", "250 ms": how an admin reads a timeout.
pub(crate) fn describe_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        let s = d.as_secs_f64();
        if s.fract() == 0.0 {
            format!("{} s", s as u64)
        } else {
            format!("{s:.1} s")
        }
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn a_child_past_its_deadline_is_killed_and_reaped() {
        let marker = format!("{}", 86_400 + std::process::id()); // a sleep length no other test uses
        let start = Instant::now();
        let timeout = Duration::from_millis(200);
        let err = run_tool(
            Path::new("sleep"),
            &[OsStr::new(&marker)],
            start + timeout,
            timeout,
            1024,
            "test step",
        )
        .err()
        .expect("sleep must time out");
        assert_eq!(err.kind, MediaErrorKind::Timeout, "{err}");
        assert_eq!(err.message, "test step: sleep timed out after 200 ms");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "took {:?}",
            start.elapsed()
        );
        assert!(err.retryable());
        // The child is gone, not even a zombie: no process of ours runs `sleep <marker>`.
        assert!(
            processes_with_arg(&marker).is_empty(),
            "left behind: {:?}",
            processes_with_arg(&marker)
        );
    }

    #[test]
    fn a_missing_tool_is_a_tool_error() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = run_tool(
            Path::new("/nonexistent/ffmpeg"),
            &[],
            deadline,
            Duration::from_secs(5),
            10,
            "video frame",
        )
        .err()
        .unwrap();
        assert_eq!(err.kind, MediaErrorKind::Tool);
        assert!(
            err.message.starts_with("video frame: ffmpeg not found"),
            "{}",
            err.message
        );
        assert!(err.retryable());
    }

    #[test]
    fn output_over_the_cap_is_refused_and_stderr_tail_is_kept() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = run_tool(
            Path::new("sh"),
            &[OsStr::new("-c"), OsStr::new("head -c 5000 /dev/zero")],
            deadline,
            Duration::from_secs(10),
            1000,
            "step",
        )
        .err()
        .unwrap();
        assert_eq!(err.kind, MediaErrorKind::Corrupt);
        let out = run_tool(
            Path::new("sh"),
            &[
                OsStr::new("-c"),
                OsStr::new("echo first >&2; echo 'the reason' >&2; exit 3"),
            ],
            deadline,
            Duration::from_secs(10),
            1000,
            "step",
        )
        .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stderr_reason(), "first; the reason");
    }

    /// Processes (running or zombie) that are children of this test process and carry `arg`.
    pub(crate) fn processes_with_arg(arg: &str) -> Vec<String> {
        let me = std::process::id().to_string();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let path = entry.path();
            let Ok(cmdline) = std::fs::read(path.join("cmdline")) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
                continue;
            };
            // stat: pid (comm) state ppid ...
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let fields: Vec<&str> = after.split_whitespace().collect();
            let is_child = fields.get(1) == Some(&me.as_str());
            let zombie = fields.first() == Some(&"Z");
            let has_arg = cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes());
            if has_arg || (is_child && zombie && stat.contains("(sleep)")) {
                found.push(stat);
            }
        }
        found
    }
}
