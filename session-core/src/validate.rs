//! [`Validate`]: the checks typed session data must pass after it deserialised, beyond the shape
//! serde checks: ranges, formats, values from a set (what a Zod schema did in the apps this
//! framework grew from).

/// A check run on typed session data once serde has built it. The typed extractors
/// (`SessionData<T>` in every adapter, [`Session::typed_or_invalidate`]) require it: data that
/// fails is "no session" with reason `schema` (a tracing event with this check's message, the
/// cookie cleared), never a 500.
///
/// The message must not quote the data (it is logged).
///
/// A typed domain struct mapped to the flat claims of a JWT session (`{userId, role,
/// expiresAt}`, as a `jose` app signs them) and back with serde:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use session_core::testing::detached_session;
/// use session_core::Validate;
///
/// #[derive(Debug, Serialize, Deserialize, PartialEq)]
/// #[serde(rename_all = "lowercase")]
/// enum Role { Admin, User, Guest }
///
/// #[derive(Debug, Serialize, Deserialize, PartialEq)]
/// #[serde(rename_all = "camelCase")]
/// struct Claims {
///     user_id: String,
///     role: Role,
///     expires_at: u64, // milliseconds
/// }
///
/// impl Validate for Claims {
///     fn validate(&self) -> Result<(), &'static str> {
///         if self.user_id.len() != 36 {
///             return Err("userId is not a UUID");
///         }
///         Ok(())
///     }
/// }
///
/// let session = detached_session();
/// let claims = Claims {
///     user_id: "6f1c1a4e-1d1b-4c8e-9d4e-0a0b0c0d0e0f".into(),
///     role: Role::Admin,
///     expires_at: 1_767_225_600_000,
/// };
/// session.set_data(&claims)?; // stored flat: {"userId": .., "role": "admin", "expiresAt": ..}
/// assert_eq!(session.get::<String>("role")?.as_deref(), Some("admin"));
/// assert_eq!(session.typed_or_invalidate::<Claims>(), Some(claims));
///
/// session.insert("userId", "not-a-uuid")?;
/// assert_eq!(session.typed_or_invalidate::<Claims>(), None, "fails its check: no session");
/// assert!(!session.exists());
/// # Ok::<(), session_core::DataError>(())
/// ```
///
/// [`Session::typed_or_invalidate`]: crate::Session::typed_or_invalidate
pub trait Validate {
    /// `Ok(())` when the value is acceptable, otherwise why not.
    fn validate(&self) -> Result<(), &'static str>;
}
