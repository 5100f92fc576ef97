//! Event readers beside the load: `--subscribers N` opens N Server-Sent Event streams on each
//! company the scenario uses (`GET /v1/companies/{company}/events`, `Accept:
//! text/event-stream`) before the load starts, and reads them until it ends, counting the
//! events they were handed. It measures what readers cost the callers: the same run with and
//! without them. `--stalled-subscribers N` opens N more that never read a byte: the server's
//! buffers for them fill, and it must neither slow the company nor its other readers.

use crate::client::Target;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The readers of a run.
pub struct Subscribers {
    stop: Arc<AtomicBool>,
    events: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
    /// Streams asked for and never read.
    stalled: Vec<TcpStream>,
}

impl Subscribers {
    /// Opens `per_company` streams on each of `companies`; answers once every stream has its
    /// answer's head, so the load that follows runs with all of them open.
    pub async fn open(
        target: &Target,
        companies: &[String],
        per_company: usize,
        stalled_per_company: usize,
    ) -> std::io::Result<Subscribers> {
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let mut stalled = Vec::new();
        for company in companies {
            for _ in 0..per_company {
                let stream = ask(target, company).await?;
                let (stop, events) = (stop.clone(), events.clone());
                tasks.push(tokio::spawn(read(stream, stop, events)));
            }
            for _ in 0..stalled_per_company {
                stalled.push(ask(target, company).await?);
            }
        }
        Ok(Subscribers {
            stop,
            events,
            tasks,
            stalled,
        })
    }

    /// Opens one stream on each of `paths` (any Server-Sent Events route), read like the
    /// company streams.
    pub async fn open_paths(target: &Target, paths: &[String]) -> std::io::Result<Subscribers> {
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for path in paths {
            let stream = ask_path(target, path).await?;
            let (stop, events) = (stop.clone(), events.clone());
            tasks.push(tokio::spawn(read(stream, stop, events)));
        }
        Ok(Subscribers {
            stop,
            events,
            tasks,
            stalled: Vec::new(),
        })
    }

    /// Waits until the streams stop receiving (the last events of the load are still on
    /// their way when it ends: an event goes out once its change is durable), then closes every
    /// stream; answers how many events they were handed in all.
    pub async fn close(self) -> u64 {
        drop(self.stalled);
        if !self.tasks.is_empty() {
            let quiet = std::time::Duration::from_millis(250);
            let limit = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let before = self.events.load(Ordering::SeqCst);
                tokio::time::sleep(quiet).await;
                let after = self.events.load(Ordering::SeqCst);
                if after == before || std::time::Instant::now() > limit {
                    break;
                }
            }
        }
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        self.events.load(Ordering::SeqCst)
    }
}

/// Connects and asks for `company`'s event stream.
async fn ask(target: &Target, company: &str) -> std::io::Result<TcpStream> {
    ask_path(target, &format!("/v1/companies/{company}/events")).await
}

/// Connects and asks for the event stream at `path`.
async fn ask_path(target: &Target, path: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(target.address).await?;
    let authorization = target
        .authorization
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n{authorization}\r\n",
        target.authority
    );
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}

/// Reads a stream until it ends or the run stops, counting `id:` lines (one per event).
async fn read(mut stream: TcpStream, stop: Arc<AtomicBool>, events: Arc<AtomicU64>) {
    let mut buffer = vec![0u8; 64 * 1024];
    // An `id:` line may be cut between two reads: the tail of the last read is kept.
    let mut carry: Vec<u8> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let read = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        carry.extend_from_slice(&buffer[..read]);
        let found = carry.windows(4).filter(|w| w == b"\nid:").count();
        events.fetch_add(found as u64, Ordering::Relaxed);
        let keep = carry.len().min(3);
        carry.drain(..carry.len() - keep);
    }
}
