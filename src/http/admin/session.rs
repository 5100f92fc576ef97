//! The admin page's sessions: signing in with a key makes a session, named by a random token
//! in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/admin`, that lasts
//! [`limits::ADMIN_SESSION_SECONDS`]. The key itself never goes back to the browser. Sessions
//! are in memory: a restart signs everyone out, which is the safe direction.

use crate::http::auth::Role;
use crate::limits;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use parking_lot::Mutex;
use rand::RngCore;
use std::collections::{HashMap, VecDeque};

/// The session cookie's name.
pub const COOKIE: &str = "holdfast_session";

/// Every signed-in session.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Role, whether it may act, and when the session ends.
    by_token: HashMap<String, (Role, bool, i64)>,
    /// Tokens oldest first, to end the oldest past the bound.
    order: VecDeque<String>,
}

impl Sessions {
    /// A new session for `role` (acting or only looking) at `now_ms`; answers its token.
    pub fn open(&self, role: Role, may_act: bool, now_ms: i64) -> String {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let mut inner = self.inner.lock();
        let ends_ms = now_ms + limits::ADMIN_SESSION_SECONDS * 1_000;
        inner
            .by_token
            .insert(token.clone(), (role, may_act, ends_ms));
        inner.order.push_back(token.clone());
        while inner.order.len() > limits::ADMIN_SESSIONS_MAX {
            if let Some(oldest) = inner.order.pop_front() {
                inner.by_token.remove(&oldest);
            }
        }
        token
    }

    /// The role of a live session, and whether it may act.
    pub fn role(&self, token: &str, now_ms: i64) -> Option<(Role, bool)> {
        let inner = self.inner.lock();
        let (role, may_act, ends_ms) = inner.by_token.get(token)?;
        (now_ms < *ends_ms).then(|| (role.clone(), *may_act))
    }

    /// Ends a session.
    pub fn close(&self, token: &str) {
        let mut inner = self.inner.lock();
        inner.by_token.remove(token);
        inner.order.retain(|t| t != token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a session knows its role until it ends, and not after; closing ends it.
    #[test]
    fn sessions_end() {
        let sessions = Sessions::default();
        let token = sessions.open(Role::Admin, true, 0);
        assert_eq!(sessions.role(&token, 1), Some((Role::Admin, true)));
        let end = limits::ADMIN_SESSION_SECONDS * 1_000;
        assert_eq!(sessions.role(&token, end), None);
        let other = sessions.open(Role::Company("acme".into()), false, 0);
        assert_eq!(
            sessions.role(&other, 1),
            Some((Role::Company("acme".into()), false))
        );
        sessions.close(&other);
        assert_eq!(sessions.role(&other, 1), None);
        assert_eq!(sessions.role("forged", 1), None);
    }
}
