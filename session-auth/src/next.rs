//! Where to send the user after signing in: only a path on this site. `//evil.example`,
//! `/\evil.example`, `https://evil.example`, their percent-encoded and whitespace-smuggled
//! variants, and anything a browser could read as another origin are refused.

/// The longest `next` kept (longer ones are refused, not cut).
pub const MAX_NEXT_LEN: usize = 2048;

/// `next` if it is a same-site relative path, else `None`.
///
/// ```
/// use session_auth::safe_next;
/// assert_eq!(safe_next("/settings?tab=keys#top"), Some("/settings?tab=keys#top"));
/// assert_eq!(safe_next("//evil.example"), None);
/// assert_eq!(safe_next("/\\evil.example"), None);
/// assert_eq!(safe_next("/%2F%2Fevil.example"), None);
/// assert_eq!(safe_next("https://evil.example/"), None);
/// assert_eq!(safe_next("settings"), None, "relative to nothing we know");
/// ```
pub fn safe_next(next: &str) -> Option<&str> {
    let bytes = next.as_bytes();
    let allowed = next.len() <= MAX_NEXT_LEN
        && bytes.first() == Some(&b'/')
        // Browsers drop tabs and newlines inside URLs and read `\` as `/`, so `/\t/x` and
        // `/\x` are `//x`: another host. No control characters, spaces or backslashes at all.
        && bytes.iter().all(|&b| b > b' ' && b != b'\\' && b != 0x7f)
        && !matches!(bytes.get(1), Some(b'/'))
        && !decoded_prefix_escapes(next);
    allowed.then_some(next)
}

/// Whether percent-decoding (once or repeatedly, as a careless proxy or framework might) turns
/// the start of the path into `//`, `/\` or a control character.
fn decoded_prefix_escapes(next: &str) -> bool {
    let mut current = next.to_owned();
    for _ in 0..4 {
        let decoded = percent_decode(&current);
        if decoded == current {
            return false;
        }
        let b = decoded.as_bytes();
        if matches!(b.get(1), Some(b'/' | b'\\')) || b.iter().any(|&c| c < b' ' || c == b'\\') {
            return true;
        }
        current = decoded;
    }
    // Still changing after four rounds: nothing a real link needs.
    true
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_known_open_redirects_are_refused() {
        for bad in [
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "/%2Fevil.example",
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            " /evil",
            "",
            "evil.example",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
        for good in [
            "/",
            "/a/b?c=d&e=%2F#f",
            "/dashboard",
            "/x:y",
            "/search?q=a%20b",
        ] {
            assert_eq!(safe_next(good), Some(good), "{good:?}");
        }
    }

    fn origin_after_join(next: &str) -> Option<String> {
        let base = url::Url::parse("https://app.example/base/page").unwrap();
        base.join(next)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    }

    proptest! {
        // The WHATWG URL parser (the `url` crate, as browsers resolve links) is the independent
        // judge: whatever is accepted stays on this origin.
        #[test]
        fn whatever_is_accepted_stays_on_this_origin(next in r"[/\\%:a-z0-9.\t\n ?#=&]{0,24}") {
            if safe_next(&next).is_some() {
                let origin = origin_after_join(&next);
                prop_assert_eq!(origin.as_deref(), Some("https://app.example"));
                // And once decoded by a careless layer.
                let decoded = percent_decode(&next);
                let origin = origin_after_join(&decoded);
                prop_assert_eq!(origin.as_deref(), Some("https://app.example"));
            }
        }

        #[test]
        fn any_text_is_judged_without_panicking(next in ".{0,64}") {
            let _ = safe_next(&next);
        }
    }
}
