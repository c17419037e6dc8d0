//! The demo's HTML pages, rendered as strings (no template engine to compile).

use std::fmt::Write as _;
use std::time::Duration;

use session_adapters::auth::{GrantInfo, Profile};
use session_adapters::UserId;
use session_core::{handler::SessionInfo, UnixTime};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}\
td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;font-size:.9rem}\
form{display:inline-block;margin:0 .4rem .4rem 0}button{padding:.4rem .8rem;cursor:pointer}\
.error{color:#b00020}.ok{color:#1b5e20}.muted{color:#666;font-size:.85rem}input{padding:.35rem;margin:.2rem 0 .6rem;width:16rem}";

pub(crate) fn page(title: &str, body: &str) -> String {
    format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body>{body}</body></html>")
}

/// Escapes text for HTML element content and attribute values.
/// `html` with the session's CSRF token as a hidden `csrf` field in every POST form, which the
/// handlers check ([`crate::CsrfField`]). The token is base64url: nothing to escape.
pub(crate) fn with_csrf(html: String, token: &str) -> String {
    let field = format!("<input type=\"hidden\" name=\"csrf\" value=\"{token}\">");
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<form method=\"post\"") {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        out.push_str(&rest[..start + end + 1]);
        out.push_str(&field);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The provider part of the dashboard (see `provider_view` in main.rs).
pub(crate) struct ProviderView {
    /// The provider is the local stand-in.
    pub(crate) simulated: bool,
    /// "Now" on the token clock.
    pub(crate) now: UnixTime,
    pub(crate) profile: Profile,
    pub(crate) grant: Option<GrantInfo>,
    /// What asking for a fresh access token gave.
    pub(crate) token: Result<String, String>,
}

/// "Sign in with GitHub / Vercel" buttons (GET forms: starting a sign-in changes nothing).
fn provider_buttons(simulated: &[&str]) -> String {
    let mut out = String::from("<h2>Or sign in with a provider</h2>");
    for (id, label) in [("github", "GitHub"), ("vercel", "Vercel")] {
        let _ = write!(
            out,
            "<form method=\"get\" action=\"/auth/{id}/sign-in\"><input type=\"hidden\" name=\"next\" value=\"/\">\
             <button type=\"submit\">Sign in with {label}</button></form>"
        );
    }
    if !simulated.is_empty() {
        let _ = write!(
            out,
            "<p class=\"muted\">{} signs in through the local stand-in provider (no network). Set \
             GITHUB_CLIENT_ID/GITHUB_CLIENT_SECRET or VERCEL_CLIENT_ID/VERCEL_CLIENT_SECRET for the real ones.</p>",
            escape(&simulated.join(" and "))
        );
    }
    out
}

/// The login form, with an error message after a failed attempt, and the provider buttons.
pub(crate) fn login(error: Option<&str>, simulated: &[&str]) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>{error}<form method=\"post\" action=\"/login\">\
             <label>Username<br><input name=\"username\" autocomplete=\"username\" required></label><br>\
             <label>Password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label><br>\
             <button type=\"submit\">Sign in</button></form>\
             <p class=\"muted\">Demo users: alice / wonderland, bob / builder.</p>{}",
            provider_buttons(simulated)
        ),
    )
}

/// The signed-in provider, its profile, the stored grant and the fresh-token check.
fn provider_part(view: &ProviderView) -> String {
    let p = &view.profile;
    let field = |v: &Option<String>| escape(v.as_deref().unwrap_or("(none)"));
    let mut out = format!(
        "<h2>Signed in with {provider}</h2><table id=\"provider\">\
         <tr><th>provider</th><td id=\"provider-name\">{provider}</td></tr>\
         <tr><th>account id</th><td>{account}</td></tr><tr><th>user name</th><td id=\"provider-username\">{username}</td></tr>\
         <tr><th>name</th><td>{name}</td></tr><tr><th>verified email</th><td id=\"provider-email\">{email}</td></tr>",
        provider = escape(&p.provider),
        account = escape(&p.account),
        username = field(&p.username),
        name = field(&p.name),
        email = field(&p.email),
    );
    if let Some(grant) = &view.grant {
        let expiry = match grant.expires_at {
            Some(at) if at > view.now => format!(
                "{} (in {})",
                utc(at),
                human(at.saturating_duration_since(view.now))
            ),
            Some(at) => format!("{} (expired)", utc(at)),
            None => "never (the provider gives tokens without expiry)".to_owned(),
        };
        let _ = write!(
            out,
            "<tr><th>token obtained</th><td id=\"token-obtained\">{}</td></tr><tr><th>access token expires</th><td id=\"token-expires\">{}</td></tr>\
             <tr><th>refresh token kept</th><td>{}</td></tr><tr><th>times refreshed</th><td id=\"token-refreshes\">{}</td></tr>",
            utc(grant.obtained_at),
            escape(&expiry),
            if grant.refreshable { "yes" } else { "no" },
            grant.version.saturating_sub(1),
        );
    }
    let (class, text) = match &view.token {
        Ok(text) => ("ok", format!("yes: {text}")),
        Err(text) => ("error", format!("no: {text}")),
    };
    let _ = write!(
        out,
        "<tr><th>fresh access token</th><td id=\"token-status\" class=\"{class}\">{}</td></tr></table>",
        escape(&text)
    );
    if view.simulated {
        out.push_str(
            "<form method=\"post\" action=\"/dev/advance-provider-clock\"><button>Let the access token expire \
             (move the stand-in provider's clock 1 hour on)</button></form>",
        );
    }
    out
}

/// The signed-in page: who, the session's lifetime, the counter, and the user's sessions.
pub(crate) fn dashboard(
    store: &str,
    user: &UserId,
    session: &session_core::Session,
    count: u64,
    sessions: &[SessionInfo],
    provider: Option<&ProviderView>,
    password: Option<&(String, Option<String>)>,
) -> String {
    let mut body = format!(
        "<h1>Signed in as {}</h1><p class=\"muted\">Session store: {}</p>",
        escape(user.as_str()),
        escape(store)
    );
    if let Some(status) = session.status() {
        let _ = write!(
            body,
            "<table><tr><th>created</th><td>{}</td></tr><tr><th>last seen (last write)</th><td>{}</td></tr>\
             <tr><th>expires</th><td>{} (in {})</td></tr><tr><th>next refresh</th><td>from {}</td></tr></table>",
            utc(status.created_at),
            utc(status.last_seen_at),
            utc(status.expires_at),
            human(status.remaining),
            utc(status.refresh_from),
        );
    }
    if let Some((scheme, note)) = password {
        let note = note
            .as_deref()
            .map(|n| {
                format!(
                    " <span class=\"ok\" id=\"password-note\">{}</span>",
                    escape(n)
                )
            })
            .unwrap_or_default();
        let _ = write!(
            body,
            "<p>Password hash: <code id=\"password-hash\">{}</code>{note}</p>",
            escape(scheme)
        );
    }
    let _ = write!(
        body,
        "<p>Counter: <strong>{count}</strong></p>\
         <form method=\"post\" action=\"/count\"><button>+1 (writes the session)</button></form>\
         <form method=\"post\" action=\"/renew\"><button>Renew session id</button></form>\
         <form method=\"post\" action=\"/auth/sign-out\"><button>Log out</button></form>\
         <form method=\"post\" action=\"/logout-everywhere\"><button>Log out everywhere</button></form>\
         <form method=\"post\" action=\"/logout-everywhere\"><input type=\"hidden\" name=\"revoke_tokens\" value=\"1\">\
         <button>Log out everywhere and revoke API tokens</button></form>\
         <p><a href=\"/tokens\" id=\"tokens-link\">API tokens</a> (for <code>curl</code> and scripts: <code>/api/me</code>)</p>"
    );
    if let Some(view) = provider {
        body.push_str(&provider_part(view));
    }
    let _ = write!(body, "<h2>Your active sessions ({})</h2>", sessions.len());
    if sessions.is_empty() {
        body.push_str("<p class=\"muted\">Stateless (JWT) sessions are not stored, so they cannot be listed.</p>");
    } else {
        body.push_str("<table><tr><th>created</th><th>last seen</th><th>expires</th><th>browser</th><th>address</th><th></th></tr>");
        for s in sessions {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                utc(s.created_at),
                utc(s.last_seen_at),
                utc(s.expires_at),
                escape(s.user_agent.as_deref().unwrap_or("?")),
                escape(s.ip.as_deref().unwrap_or("?")),
                if s.is_current { "this session" } else { "" },
            );
        }
        body.push_str("</table>");
    }
    page("Session demo", &body)
}

/// `2026-11-23 16:05:00 UTC`.
pub(crate) fn utc(t: UnixTime) -> String {
    let secs = t.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `23h 59m`, `4m 10s`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations_read_well() {
        assert_eq!(utc(UnixTime::from_secs(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            utc(UnixTime::from_secs(1_795_449_600)),
            "2026-11-23 16:00:00 UTC"
        );
        assert_eq!(human(Duration::from_secs(86_399)), "23h 59m");
        assert_eq!(human(Duration::from_secs(250)), "4m 10s");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
    }
}
