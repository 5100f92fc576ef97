//! Open admin pages beside the load (`--admin-pages N`): each plays what an operator's browser
//! does on a company's day view (`/admin/companies/{company}`): fetches the day every second,
//! the companies table every two, the charts every ten, and keeps the live events stream open,
//! all on its own connections. It measures what watching costs the callers: the same run with
//! and without the pages. The server must let the tool in without signing in (the in-process
//! server is open; so is any server without a keys file).

use crate::client::{Connection, Target};
use crate::subscribers::Subscribers;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The running pages.
pub struct AdminPages {
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
    streams: Subscribers,
}

impl AdminPages {
    /// Opens `count` pages on `company`'s day (dated `date`, `YYYY-MM-DD`).
    pub async fn open(
        target: &Arc<Target>,
        company: &str,
        date: &str,
        count: usize,
    ) -> std::io::Result<AdminPages> {
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let polls = [
            (format!("/admin/companies/{company}/day?date={date}"), 1_000),
            ("/admin/companies/table".to_string(), 2_000),
            (format!("/admin/companies/{company}/activity"), 10_000),
        ];
        for page in 0..count {
            for (path, every_ms) in &polls {
                let connection = Connection::new(target.clone());
                let (stop, requests) = (stop.clone(), requests.clone());
                // Pages opened at once would poll in step; spread them over the interval.
                let offset = Duration::from_millis((page as u64 * every_ms) / count.max(1) as u64);
                tasks.push(tokio::spawn(poll(
                    connection,
                    path.clone(),
                    Duration::from_millis(*every_ms),
                    offset,
                    stop,
                    requests,
                )));
            }
        }
        let path = format!("/admin/companies/{company}/events");
        let streams = Subscribers::open_paths(target, &vec![path; count]).await?;
        Ok(AdminPages {
            stop,
            requests,
            tasks,
            streams,
        })
    }

    /// Closes every page; answers how many fetches they made.
    pub async fn close(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        self.streams.close().await;
        self.requests.load(Ordering::SeqCst)
    }
}

async fn poll(
    mut connection: Connection,
    path: String,
    every: Duration,
    offset: Duration,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
) {
    tokio::time::sleep(offset).await;
    let mut interval = tokio::time::interval(every);
    while !stop.load(Ordering::Relaxed) {
        interval.tick().await;
        if connection
            .send(hyper::Method::GET, &path, None)
            .await
            .is_ok()
        {
            requests.fetch_add(1, Ordering::Relaxed);
        }
    }
}
