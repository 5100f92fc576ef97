//! A webhook receiver in the test process: a real HTTP server (actix-web, on its own thread and
//! system) on a loopback port, recording every delivery it gets with its headers and body, and
//! answering with a status the test chooses. It can be stopped and started again on the same
//! port, to play a receiver that is down. Signatures are checked here with an HMAC computed
//! independently of holdfast's own signing code, by the Standard Webhooks rule.

#![allow(dead_code)] // each test binary uses its own part of this module

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One delivery as the receiver got it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub webhook_id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: Vec<u8>,
    /// The status the receiver answered.
    pub answered: u16,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a delivery's body is JSON")
    }

    pub fn seq(&self) -> u64 {
        self.json()["seq"].as_u64().expect("an event's seq")
    }

    /// Whether the signature is `v1,` + base64 of HMAC-SHA256 with the secret's bytes over
    /// `{id}.{timestamp}.{body}` (one of the space-separated signatures, as the spec allows).
    pub fn signed_with(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
            .expect("base64");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.webhook_id, self.timestamp).as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

struct Shared {
    deliveries: Mutex<Vec<Delivery>>,
    answer: AtomicU16,
}

/// The receiver; dropped, it stops.
pub struct Receiver {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    server: Option<(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>)>,
}

impl Receiver {
    /// A receiver on a free loopback port, answering 200.
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            deliveries: Mutex::new(Vec::new()),
            answer: AtomicU16::new(200),
        });
        let mut receiver = Receiver {
            address,
            shared,
            server: None,
        };
        receiver.serve(listener);
        receiver
    }

    fn serve(&mut self, listener: TcpListener) {
        let shared = self.shared.clone();
        let (sender, handle) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                let state = web::Data::from(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .default_service(web::to(receive))
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .listen(listener)
                .expect("the receiver listens")
                .run();
                sender.send(server.handle()).unwrap();
                let _ = server.await;
            });
        });
        self.server = Some((handle.recv().expect("the receiver starts"), thread));
    }

    /// The URL deliveries go to.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.address)
    }

    /// Answer every delivery from now on with `status`.
    pub fn answer(&self, status: u16) {
        self.shared.answer.store(status, Ordering::SeqCst);
    }

    /// Everything received so far, in arrival order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.lock().unwrap().clone()
    }

    /// The deliveries acknowledged (answered 2xx), in arrival order.
    pub fn acknowledged(&self) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| (200..300).contains(&d.answered))
            .collect()
    }

    /// Stops listening (connections are refused until [`Receiver::restart`]).
    pub fn stop(&mut self) {
        if let Some((handle, thread)) = self.server.take() {
            futures::executor::block_on(handle.stop(false));
            thread.join().unwrap();
        }
    }

    /// Listens again on the same port.
    pub fn restart(&mut self) {
        let listener = TcpListener::bind(self.address).expect("the same port again");
        self.serve(listener);
    }

    /// Waits (real time, polling) until `done` holds of the acknowledged deliveries, calling
    /// `between` between looks (to move a manual clock, say); panics after `limit`.
    pub async fn wait_until(
        &self,
        limit: Duration,
        mut between: impl FnMut(),
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        let started = std::time::Instant::now();
        loop {
            let acknowledged = self.acknowledged();
            if done(&acknowledged) {
                return acknowledged;
            }
            assert!(
                started.elapsed() < limit,
                "not done within {limit:?}; received: {:?}",
                self.deliveries()
                    .iter()
                    .map(|d| (d.webhook_id.clone(), d.answered))
                    .collect::<Vec<_>>()
            );
            between();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let answered = shared.answer.load(Ordering::SeqCst);
    shared.deliveries.lock().unwrap().push(Delivery {
        webhook_id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body: body.to_vec(),
        answered,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).finish()
}

/// Strictly increasing `seq`s without a gap, from `first`: what arrived is exactly in order.
pub fn assert_in_order_from(deliveries: &[Delivery], first: u64) {
    let seqs: Vec<u64> = deliveries.iter().map(Delivery::seq).collect();
    let expected: Vec<u64> = (first..first + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "deliveries in seq order without a gap");
}
