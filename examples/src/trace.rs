//! What the tour shows: who called whom, with which token, and what came back.
//!
//! Services record their outgoing calls and their request outcomes into a [`Trace`] when one
//! is configured (the tour and tests do; the binaries do not: they log with `tracing`). A
//! token appears only as a [`TokenSummary`] of its claims, never itself.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use auth_layer::authority::Guid;
use base64::Engine as _;
use serde_json::Value;

/// The display-only reading of an access token's claims: what the tour prints about a token.
///
/// Built by decoding the payload **without verifying anything**: for showing, never for
/// deciding (the services decide with auth-layer's validator).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenSummary {
    /// `delegated` (a user is present) or `app` (app-only).
    pub kind: String,
    /// `ver`: `1.0` or `2.0`.
    pub version: String,
    /// `aud`.
    pub audience: String,
    /// `scp`, split.
    pub scopes: Vec<String>,
    /// `roles`.
    pub roles: Vec<String>,
    /// `name`.
    pub name: Option<String>,
    /// `preferred_username` or `upn`.
    pub username: Option<String>,
    /// `oid`.
    pub oid: Option<String>,
    /// `azp` (v2) or `appid` (v1): the client the token was issued to.
    pub client_id: Option<String>,
    /// `exp`, Unix seconds.
    pub expires_at: Option<i64>,
}

impl TokenSummary {
    /// Reads a compact JWT's payload; `None` when it is not one.
    pub fn from_jwt(token: &str) -> Option<TokenSummary> {
        let payload = token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: Value = serde_json::from_slice(&bytes).ok()?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let scopes: Vec<String> = text("scp")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let roles: Vec<String> = claims
            .get("roles")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let kind = match text("idtyp").as_deref() {
            Some("app") => "app",
            Some("user") => "delegated",
            _ if claims.get("scp").is_some() => "delegated",
            _ => "app",
        };
        let audience = match claims.get("aud") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => String::new(),
        };
        Some(TokenSummary {
            kind: kind.to_owned(),
            version: text("ver").unwrap_or_default(),
            audience,
            scopes,
            roles,
            name: text("name"),
            username: text("preferred_username").or_else(|| text("upn")),
            oid: text("oid"),
            client_id: text("azp").or_else(|| text("appid")),
            expires_at: claims.get("exp").and_then(Value::as_i64),
        })
    }

    /// A one-line rendering, with GUIDs turned into names by `name_of`.
    pub fn render(&self, name_of: &dyn Fn(&str) -> String) -> String {
        let mut parts = vec![format!("{} v{}", self.kind, self.version)];
        parts.push(format!("aud {}", name_of(&self.audience)));
        if !self.scopes.is_empty() {
            parts.push(format!("scp {}", self.scopes.join(" ")));
        }
        if !self.roles.is_empty() {
            parts.push(format!("roles {}", self.roles.join(" ")));
        } else if self.kind == "app" {
            parts.push("no roles".to_owned());
        }
        if self.kind == "delegated" {
            let user = self
                .name
                .clone()
                .or_else(|| self.username.clone())
                .unwrap_or_else(|| "?".to_owned());
            parts.push(format!(
                "user {user} (oid {})",
                self.oid.as_deref().map_or("?", short)
            ));
        }
        if let Some(client) = &self.client_id {
            parts.push(format!("client {}", name_of(client)));
        }
        parts.join(", ")
    }
}

impl fmt::Display for TokenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&|s| s.to_owned()))
    }
}

/// The first 8 characters of an id, then `…`.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// One recorded event, in the order they happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A service starts calling another (or the identity provider).
    Call {
        /// Pairs the call with its [`Event::Return`].
        id: u64,
        /// The caller, e.g. `auth-code-client`.
        from: String,
        /// The callee: a URL or a name such as `Entra token endpoint`.
        to: String,
        /// What is asked, e.g. `POST /create-case` or `authorization_code`.
        request: String,
        /// The token sent, if any.
        token: Option<Box<TokenSummary>>,
    },
    /// The call `id` returned.
    Return {
        /// The [`Event::Call`]'s id.
        id: u64,
        /// What came back.
        outcome: String,
        /// The token received (token requests).
        token: Option<Box<TokenSummary>>,
    },
    /// A resource API's log line for one request.
    Served {
        /// The API.
        service: String,
        /// `GET /docs` etc.
        request: String,
        /// The status it answered with.
        status: u16,
        /// `delegated`, `app` or `-`.
        kind: String,
        /// The calling client id, or `-`.
        client: String,
        /// Why it refused, or `-`.
        reason: String,
    },
}

#[derive(Debug, Default)]
struct Recorder {
    events: Vec<Event>,
    next_id: u64,
}

/// A shared recorder of [`Event`]s; [`Trace::off`] (the default) records nothing.
#[derive(Clone, Debug, Default)]
pub struct Trace(Option<Arc<Mutex<Recorder>>>);

/// A call being made; [`Hop::finish`] records what came back. Dropped unfinished, it records
/// `(no answer)`.
#[derive(Debug)]
#[must_use]
pub struct Hop {
    trace: Trace,
    id: Option<u64>,
}

impl Trace {
    /// A recorder.
    pub fn recording() -> Self {
        Trace(Some(Arc::default()))
    }

    /// No recording.
    pub fn off() -> Self {
        Trace(None)
    }

    fn lock(recorder: &Mutex<Recorder>) -> MutexGuard<'_, Recorder> {
        // A panic while holding this lock leaves only a partial trace: keep going.
        recorder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the start of a call.
    pub fn call(
        &self,
        from: &str,
        to: impl Into<String>,
        request: impl Into<String>,
        token: Option<&str>,
    ) -> Hop {
        let id = self.0.as_ref().map(|recorder| {
            let mut recorder = Trace::lock(recorder);
            recorder.next_id += 1;
            let id = recorder.next_id;
            recorder.events.push(Event::Call {
                id,
                from: from.to_owned(),
                to: to.into(),
                request: request.into(),
                token: token.and_then(TokenSummary::from_jwt).map(Box::new),
            });
            id
        });
        Hop {
            trace: self.clone(),
            id,
        }
    }

    /// Records a request a resource API served.
    pub fn served(&self, event: Event) {
        if let Some(recorder) = &self.0 {
            Trace::lock(recorder).events.push(event);
        }
    }

    /// Takes every event recorded so far.
    pub fn take(&self) -> Vec<Event> {
        self.0
            .as_ref()
            .map(|recorder| std::mem::take(&mut Trace::lock(recorder).events))
            .unwrap_or_default()
    }
}

impl Hop {
    /// Records the outcome of the call.
    pub fn finish(self, outcome: impl Into<String>) {
        self.finish_with(outcome, None);
    }

    /// Records the outcome and the token that came back (for token requests).
    pub fn finish_with(mut self, outcome: impl Into<String>, received: Option<&str>) {
        self.record(outcome.into(), received);
    }

    fn record(&mut self, outcome: String, received: Option<&str>) {
        let (Some(recorder), Some(id)) = (&self.trace.0, self.id.take()) else {
            return;
        };
        Trace::lock(recorder).events.push(Event::Return {
            id,
            outcome,
            token: received.and_then(TokenSummary::from_jwt).map(Box::new),
        });
    }
}

impl Drop for Hop {
    fn drop(&mut self) {
        self.record("(no answer)".to_owned(), None);
    }
}

/// Shortens a response body for display: a JSON object as its members on one line (nested
/// values elided, ids shortened), other text as its first line; at most 160 characters.
pub fn excerpt(body: &str) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(members)) => {
            let parts: Vec<String> = members
                .iter()
                .map(|(key, value)| format!("{key}: {}", scalar(value)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        _ => body.lines().next().unwrap_or_default().trim().to_owned(),
    };
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Object(_) => "{…}".to_owned(),
        Value::Array(items) => format!("[{} items]", items.len()),
        Value::String(s) if Guid::parse(s).is_ok() => format!("\"{}…\"", short(s)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_testkit::TokenBuilder;

    #[test]
    fn summaries_read_delegated_and_app_tokens() {
        let user = TokenBuilder::delegated()
            .scopes("Case.Create Case.Read")
            .sign();
        let summary = TokenSummary::from_jwt(&user).unwrap();
        assert_eq!(summary.kind, "delegated");
        assert_eq!(summary.scopes, ["Case.Create", "Case.Read"]);
        assert_eq!(summary.name.as_deref(), Some(auth_testkit::ids::USER_NAME));
        let text = summary.to_string();
        assert!(text.starts_with("delegated v2.0"), "{text}");
        assert!(!text.contains(&user), "{text}");

        let app = TokenSummary::from_jwt(&TokenBuilder::app().sign()).unwrap();
        assert_eq!(
            (app.kind.as_str(), app.roles.as_slice()),
            ("app", &["Files.Write".to_owned()][..])
        );
        assert!(TokenSummary::from_jwt("not a token").is_none());
    }

    #[test]
    fn excerpts_are_short_and_json_aware() {
        assert_eq!(excerpt("first line\nsecond"), "first line");
        assert_eq!(
            excerpt(
                r#"{"id":1,"oid":"0d4b7f2e-9c1a-4e63-8b5d-2f7a1c9e6b30","docs":[1,2],"x":{"y":1}}"#
            ),
            r#"{docs: [2 items], id: 1, oid: "0d4b7f2e…", x: {…}}"#
        );
        assert_eq!(excerpt(&"a".repeat(500)).chars().count(), 161);
    }

    #[test]
    fn a_trace_nests_calls_and_an_off_trace_records_nothing() {
        let trace = Trace::recording();
        let outer = trace.call("a", "b", "GET /", None);
        trace.call("b", "c", "GET /x", None).finish("200");
        outer.finish("200");
        let events = trace.take();
        assert_eq!(events.len(), 4);
        assert!(matches!(&events[1], Event::Call { from, .. } if from == "b"));
        assert!(matches!(&events[3], Event::Return { id: 1, .. }));

        let off = Trace::off();
        off.call("a", "b", "GET /", None).finish("200");
        assert!(off.take().is_empty());
    }
}
