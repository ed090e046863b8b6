//! Issue 5: the overlay and the console in a real browser.
//!
//! Starts the real `livecue serve --demo --listen 127.0.0.1:0`, reads its address from stderr,
//! and runs `tests/browser/run.mjs` (playwright-core driving Debian's headless Chromium) against
//! it. The script POSTs comments to make cues appear, checks what both pages show and that
//! console actions reach a second console and the overlay, that a `<script>` comment stays
//! text, that the overlay fits 1920×1080 and 1080×1920, and that the pages reconnect when the
//! server restarts: it prints `RESTART`, this harness kills the server and starts a new one
//! on the same address, and answers `RESTARTED`.
//!
//! Needs `node`, `tests/browser/node_modules` (`npm ci --prefix tests/browser`), Chromium at
//! `/usr/bin/chromium` (or `LIVECUE_CHROMIUM`) and the fonts-noto-cjk fonts; `.ci/run`
//! installs them all. Without them the test fails and says what is missing; set
//! `LIVECUE_SKIP_BROWSER=1` to skip it on purpose. Screenshots land in
//! `target/tmp/browser-screenshots/` (or `LIVECUE_SHOTS`). Every wait is bounded; only
//! loopback is used.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// Longest time the whole browser run may take.
const RUN_DEADLINE: Duration = Duration::from_secs(240);
/// Longest wait for the server to say where it listens.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// The running server; killed when dropped, so a failing test leaves nothing behind.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `livecue serve --demo` on `listen`, keeping its data in `data`, and waits for
    /// its address.
    fn start(listen: &str, data: &Path) -> Result<Server, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_livecue"))
            .args(["serve", "--demo", "--listen", listen, "--data-dir"])
            .arg(data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start livecue: {e}"))?;
        let addr = match child.stderr.take() {
            Some(stderr) => wait_for_address(stderr),
            None => Err("no stderr".into()),
        };
        match addr {
            Ok(addr) => Ok(Server { child, addr }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("livecue did not start on {listen}: {e}"))
            }
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the server's stderr until `livecue: serving on http://ADDR/…`; keeps draining it
/// afterwards so the server never blocks on a full pipe.
fn wait_for_address(stderr: std::process::ChildStderr) -> Result<SocketAddr, String> {
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + START_DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            return Err(format!(
                "no address within {START_DEADLINE:?}; it said:\n{}",
                seen.join("\n")
            ));
        };
        if let Some(rest) = line.strip_prefix("livecue: serving on http://") {
            let addr = rest.split('/').next().unwrap_or_default();
            return addr
                .parse()
                .map_err(|e| format!("bad address in {line:?}: {e}"));
        }
        seen.push(line);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a server on the address the previous one had (the pages reconnect to it).
fn restart(server: &mut Server, data: &Path) -> Result<(), String> {
    let addr = server.addr.to_string();
    server.stop();
    let mut last = String::new();
    for _ in 0..20 {
        match Server::start(&addr, data) {
            Ok(new) => {
                *server = new;
                return Ok(());
            }
            Err(e) => {
                last = e;
                thread::sleep(Duration::from_millis(250));
            }
        }
    }
    Err(format!("could not restart the server on {addr}: {last}"))
}

/// What the browser run needs, or why it cannot run.
fn prerequisites(dir: &Path) -> Result<PathBuf, String> {
    let chromium = std::env::var_os("LIVECUE_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let mut missing = Vec::new();
    if !chromium.exists() {
        missing.push(format!(
            "Chromium at {} (apt-get install chromium)",
            chromium.display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node (apt-get install nodejs npm)".into());
    }
    if !dir.join("node_modules/playwright-core").exists() {
        missing.push("playwright-core (npm ci --prefix tests/browser)".into());
    }
    if !Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists() {
        missing.push("Chinese fonts (apt-get install fonts-noto-cjk)".into());
    }
    if missing.is_empty() {
        Ok(chromium)
    } else {
        Err(format!(
            "the browser test needs: {}. `bash .ci/run` installs them; set LIVECUE_SKIP_BROWSER=1 to skip this test.",
            missing.join(", ")
        ))
    }
}

/// Kills the script when dropped (a panic must not leave a browser running).
struct Script(Child);

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn issue_5_overlay_and_console_in_chromium() {
    if std::env::var_os("LIVECUE_SKIP_BROWSER").is_some_and(|v| v == "1") {
        eprintln!("LIVECUE_SKIP_BROWSER=1: browser test skipped");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = prerequisites(&dir).unwrap_or_else(|e| panic!("{e}"));
    let shots = std::env::var_os("LIVECUE_SHOTS").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots"),
        PathBuf::from,
    );

    // The store's files go to a scratch folder, never into the work tree.
    let data =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut server = Server::start("127.0.0.1:0", &data).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}/", server.addr);
    let mut child = Command::new("node")
        .arg(dir.join("run.mjs"))
        .current_dir(&dir)
        .env("LIVECUE_URL", &url)
        .env("LIVECUE_SHOTS", &shots)
        .env("LIVECUE_CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let mut stdin: ChildStdin = child.stdin.take().expect("piped stdin");
    let lines = read_lines(child.stdout.take().expect("piped stdout"));
    let errors = read_lines(child.stderr.take().expect("piped stderr"));
    let mut script = Script(child);

    let deadline = Instant::now() + RUN_DEADLINE;
    let mut output = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if line.trim() == "RESTART" {
                    output.push("(harness: restarting the server)".to_string());
                    let answer = match restart(&mut server, &data) {
                        Ok(()) => "RESTARTED\n".to_string(),
                        Err(e) => {
                            output.push(e);
                            "FAILED\n".to_string()
                        }
                    };
                    let _ = stdin.write_all(answer.as_bytes());
                    let _ = stdin.flush();
                }
                output.push(line);
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                output.push(format!(
                    "(harness: the browser run took longer than {RUN_DEADLINE:?}; killed)"
                ));
                break;
            }
        }
    }
    let status = finish(&mut script.0, Duration::from_secs(10));
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
    let stderr: Vec<String> = errors.try_iter().collect();
    let report = format!("{}\n{}", output.join("\n"), stderr.join("\n"));
    println!("{report}");
    println!("screenshots: {}", shots.display());
    let last = output
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .cloned()
        .unwrap_or_default();
    assert!(
        status.success() && last.ends_with("passed, 0 failed"),
        "browser checks failed ({status}):\n{report}"
    );
}

/// Waits for the script to exit (it closes stdout just before), killing it after `grace`.
fn finish(child: &mut Child, grace: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().expect("wait for node")
}

/// Reads a pipe line by line on its own thread.
fn read_lines(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
