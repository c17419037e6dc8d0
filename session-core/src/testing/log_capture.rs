//! [`LogCapture`]: records `tracing` events so tests can assert on reasons and prove that no
//! secret was ever logged (C2, S-30).

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One captured event: its level, target and fields rendered as text.
#[derive(Debug, Clone)]
pub struct CapturedEvent {
    /// `TRACE` .. `ERROR`.
    pub level: tracing::Level,
    /// The event's target (module path).
    pub target: String,
    /// Field name and rendered value, in order; the message is the field `message`.
    pub fields: Vec<(String, String)>,
}

impl CapturedEvent {
    /// The rendered value of field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every field as one line, for "contains no secret" scans.
    pub fn render(&self) -> String {
        let mut out = format!("{} {}", self.level, self.target);
        for (n, v) in &self.fields {
            let _ = write!(out, " {n}={v}");
        }
        out
    }
}

/// Captures every event on the current thread while its guard lives.
///
/// ```
/// use session_core::testing::LogCapture;
/// let capture = LogCapture::new();
/// {
///     let _guard = capture.install();
///     tracing::warn!(reason = "expired", "session cookie rejected");
/// }
/// assert_eq!(capture.events()[0].field("reason"), Some("expired"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<CapturedEvent>>>);

impl LogCapture {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the capture as this thread's default subscriber until the guard drops. Use a
    /// current-thread runtime so async code runs on this thread.
    ///
    /// The first call also installs a global subscriber that drops everything (unless the test
    /// binary set its own): `tracing` caches per call site whether anyone is interested, and a
    /// site first hit on a thread with no subscriber would otherwise be cached as "never", hiding
    /// its events from every capture installed later on other threads.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        });
        let subscriber = tracing_subscriber::registry().with(CaptureLayer(self.0.clone()));
        tracing::subscriber::set_default(subscriber)
    }

    /// The events captured so far.
    pub fn events(&self) -> Vec<CapturedEvent> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Events whose field `reason` equals `reason`.
    pub fn with_reason(&self, reason: &str) -> Vec<CapturedEvent> {
        self.events()
            .into_iter()
            .filter(|e| e.field("reason") == Some(reason))
            .collect()
    }

    /// Panics naming the event if any captured event contains `secret` (empty secrets ignored).
    pub fn assert_never_contains(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        for e in self.events() {
            let line = e.render();
            assert!(
                !line.contains(secret),
                "a log event contains a secret: {} {}",
                e.level,
                e.target
            );
        }
    }
}

struct CaptureLayer(Arc<Mutex<Vec<CapturedEvent>>>);

impl<S: Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut visitor = FieldsVisitor(Vec::new());
        event.record(&mut visitor);
        let captured = CapturedEvent {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields: visitor.0,
        };
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(captured);
    }
}

struct FieldsVisitor(Vec<(String, String)>);

impl Visit for FieldsVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}
