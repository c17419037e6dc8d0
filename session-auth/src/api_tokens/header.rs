//! Reading the `Authorization` header: whether a request presents a bearer token, and whether
//! the header is well-formed (RFC 6750 §2.1), before any token is checked.

/// What a request's `Authorization` headers present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    /// No `Authorization` header: the request may authenticate with its session cookie.
    Nothing,
    /// One `Authorization: Bearer <token>` header; the token is not checked yet.
    Bearer(&'a str),
    /// An `Authorization` header that is not one well-formed bearer credential. The client
    /// meant to authenticate with it, so the request is refused, not served from its cookie.
    Malformed(MalformedHeader),
}

/// How an `Authorization` header is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MalformedHeader {
    /// More than one `Authorization` header: which one counts would be a guess.
    Repeated,
    /// Another scheme than `Bearer` (`Basic ...`, `Token ...`).
    OtherScheme,
    /// `Bearer` with no token after it.
    NoToken,
    /// The credential has characters outside RFC 6750's `b64token` (spaces inside, non-ASCII,
    /// control characters).
    NotB64Token,
}

impl MalformedHeader {
    /// The reason as logged: `repeated_header`, `other_scheme`, `no_token` or `not_b64token`.
    pub fn as_str(self) -> &'static str {
        match self {
            MalformedHeader::Repeated => "repeated_header",
            MalformedHeader::OtherScheme => "other_scheme",
            MalformedHeader::NoToken => "no_token",
            MalformedHeader::NotB64Token => "not_b64token",
        }
    }
}

/// Reads the values of a request's `Authorization` headers (every one the request has, in any
/// order).
///
/// The scheme is matched without regard to case, as RFC 9110 §11.1 says of every
/// authentication scheme (`bearer x` is `Bearer x`); one or more spaces may follow it. The
/// token itself is returned as sent.
///
/// ```
/// use session_auth::api_tokens::{presented, MalformedHeader, Presented};
///
/// assert_eq!(presented([]), Presented::Nothing);
/// assert_eq!(presented([&b"Bearer sat_abc"[..]]), Presented::Bearer("sat_abc"));
/// assert_eq!(presented([&b"bearer  sat_abc"[..]]), Presented::Bearer("sat_abc"));
/// assert_eq!(
///     presented([&b"Basic YWxpY2U6cHc="[..]]),
///     Presented::Malformed(MalformedHeader::OtherScheme)
/// );
/// assert_eq!(
///     presented([&b"Bearer a"[..], &b"Bearer b"[..]]),
///     Presented::Malformed(MalformedHeader::Repeated)
/// );
/// ```
pub fn presented<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Presented<'a> {
    let mut values = values.into_iter();
    let Some(value) = values.next() else {
        return Presented::Nothing;
    };
    if values.next().is_some() {
        return Presented::Malformed(MalformedHeader::Repeated);
    }
    match parse(value) {
        Ok(token) => Presented::Bearer(token),
        Err(why) => Presented::Malformed(why),
    }
}

fn parse(value: &[u8]) -> Result<&str, MalformedHeader> {
    let value = value.trim_ascii();
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(space) => value.split_at(space),
        None => (value, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(MalformedHeader::OtherScheme);
    }
    let token = rest.trim_ascii_start();
    if token.is_empty() {
        return Err(MalformedHeader::NoToken);
    }
    if !is_b64token(token) {
        return Err(MalformedHeader::NotB64Token);
    }
    // Invariant: `is_b64token` admits only ASCII.
    std::str::from_utf8(token).map_err(|_| MalformedHeader::NotB64Token)
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let body_end = token
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(0, |last| last + 1);
    body_end > 0
        && token[..body_end]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(value: &str) -> Presented<'_> {
        presented([value.as_bytes()])
    }

    #[test]
    fn well_formed_headers() {
        assert_eq!(one("Bearer abc"), Presented::Bearer("abc"));
        assert_eq!(one("BEARER abc"), Presented::Bearer("abc"));
        assert_eq!(one("  Bearer   abc  "), Presented::Bearer("abc"));
        assert_eq!(one("Bearer a-._~+/b=="), Presented::Bearer("a-._~+/b=="));
    }

    #[test]
    fn malformed_headers() {
        use MalformedHeader::*;
        let cases = [
            ("", OtherScheme),
            ("Bearer", NoToken),
            ("Bearer    ", NoToken),
            ("Bearerabc", OtherScheme),
            ("Basic abc", OtherScheme),
            ("Token abc", OtherScheme),
            ("Bearer a b", NotB64Token),
            ("Bearer ==", NotB64Token),
            ("Bearer a=b", NotB64Token),
            ("Bearer a\tb", NotB64Token),
            ("Bearer é", NotB64Token),
        ];
        for (value, why) in cases {
            assert_eq!(one(value), Presented::Malformed(why), "{value:?}");
        }
        assert_eq!(
            presented([&b"Bearer a"[..], &b""[..]]),
            Presented::Malformed(Repeated)
        );
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = presented([bytes.as_slice()]);
        }

        #[test]
        fn a_returned_token_is_a_b64token(value in "[ -~]{0,80}") {
            if let Presented::Bearer(token) = one(&value) {
                prop_assert!(is_b64token(token.as_bytes()));
                prop_assert!(value.contains(token));
            }
        }
    }
}
