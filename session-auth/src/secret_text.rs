//! Token text in clear, kept out of `Debug`, logs and error messages, and wiped when dropped.

use std::fmt;

use zeroize::Zeroizing;

macro_rules! secret_text {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps token text.
            pub fn new(text: impl Into<String>) -> Self {
                $name(Zeroizing::new(text.into()))
            }

            /// The token itself, to put in an `Authorization` header. Never log it.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(redacted)"))
            }
        }
    };
}

secret_text!(
    /// A provider's access token, in clear.
    ///
    /// ```
    /// use session_auth::AccessToken;
    /// let token = AccessToken::new("gho_16C7e42F292c6912E7710c838347Ae178B4a");
    /// assert_eq!(format!("{token:?}"), "AccessToken(redacted)");
    /// assert!(token.secret().starts_with("gho_"));
    /// ```
    AccessToken
);

secret_text!(
    /// A provider's refresh token, in clear.
    RefreshToken
);
