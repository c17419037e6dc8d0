//! The session claims every stateless codec carries and checks the same way, whatever the
//! envelope (a JWS signature or a JWE encryption): how a [`SessionRecord`] becomes claims and
//! back, and the rules a token's registered claims must meet.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{EncodeError, RejectReason, RESERVED_CLAIMS};
use crate::id::{SessionId, SessionKey, UserId};
use crate::record::{SessionMetadata, SessionRecord};
use crate::time::UnixTime;

/// The longest `jti` of another issuer accepted (a UUID is 36 characters).
const MAX_FOREIGN_JTI_LEN: usize = 128;

/// What a token's registered claims must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimRules {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub(crate) leeway: u64,
    /// Issue and require this `iss`.
    pub(crate) issuer: Option<String>,
    /// Issue and require this `aud`.
    pub(crate) audience: Option<String>,
    /// Whether `nbf` must be present.
    pub(crate) require_nbf: bool,
    /// Whether `iat` must be present.
    pub(crate) require_iat: bool,
    /// Whether a `jti` that is not one of ours (another issuer's UUID, say) is accepted: the
    /// session key is then derived from it. Otherwise it is a schema error.
    pub(crate) foreign_jti: bool,
    /// Where another app's tokens keep what our `ses` and `sub` claims hold.
    pub(crate) foreign: ForeignClaims,
}

/// Where another application's tokens keep the session's creation time, sign-in provider and
/// user, so its cookies read as sessions with those fields set (and the cookies this codec writes
/// carry them where that application reads them).
///
/// The claims stay in the session data as well, so handlers read them as the other app wrote
/// them. A token with our own `ses` and `sub` claims uses those.
///
/// ```
/// use session_core::codec::ForeignClaims;
/// // `{created: <ms>, authProvider: "github", user: {id, ...}}`
/// let claims = ForeignClaims::new()
///     .created_ms("created")
///     .auth_provider("authProvider")
///     .user_id_at("/user/id");
/// # let _ = claims;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForeignClaims {
    created_ms: Option<String>,
    auth_provider: Option<String>,
    user_id: Option<String>,
}

impl ForeignClaims {
    /// Nothing mapped: only our own claims count.
    pub fn new() -> Self {
        ForeignClaims::default()
    }

    /// The claim holding the creation time in milliseconds since the epoch.
    pub fn created_ms(mut self, claim: impl Into<String>) -> Self {
        self.created_ms = Some(claim.into());
        self
    }

    /// The claim naming how the user signed in (the session's auth provider).
    pub fn auth_provider(mut self, claim: impl Into<String>) -> Self {
        self.auth_provider = Some(claim.into());
        self
    }

    /// Where the user id is, as a path into the claims (`/user/id`: the `id` of the `user`
    /// object); a string or a number there signs that user in.
    pub fn user_id_at(mut self, pointer: impl Into<String>) -> Self {
        self.user_id = Some(pointer.into());
        self
    }

    /// Fills `record` from the mapped claims of its `data` where our own claims said nothing.
    fn read(&self, record: &mut SessionRecord, had_ses: bool) {
        let data = &record.data;
        let created = self
            .created_ms
            .as_ref()
            .and_then(|c| data.get(c))
            .and_then(Value::as_u64)
            .filter(|_| !had_ses);
        let provider = self
            .auth_provider
            .as_ref()
            .and_then(|c| data.get(c))
            .and_then(Value::as_str)
            .filter(|_| !had_ses)
            .map(str::to_owned);
        let user = match self.user_id.as_deref().and_then(|p| lookup(data, p)) {
            Some(Value::String(id)) if !id.is_empty() => Some(UserId::new(id.clone())),
            Some(Value::Number(id)) => Some(UserId::new(id.to_string())),
            _ => None,
        };
        if let Some(ms) = created {
            record.created_at = UnixTime::from_secs(ms / 1000);
            record.last_seen_at = record.created_at;
        }
        if provider.is_some() {
            record.metadata.auth_provider = provider;
        }
        if record.user_id.is_none() {
            record.user_id = user;
        }
    }

    /// The mapped claims of `record` that its data does not hold already.
    fn write<M: SerializeMap>(&self, record: &SessionRecord, map: &mut M) -> Result<(), M::Error> {
        if let Some(claim) = self
            .created_ms
            .as_ref()
            .filter(|c| !record.data.contains_key(*c))
        {
            map.serialize_entry(claim, &record.created_at.as_secs().saturating_mul(1000))?;
        }
        if let (Some(claim), Some(provider)) = (
            self.auth_provider
                .as_ref()
                .filter(|c| !record.data.contains_key(*c)),
            &record.metadata.auth_provider,
        ) {
            map.serialize_entry(claim, provider)?;
        }
        Ok(())
    }
}

impl Default for ClaimRules {
    fn default() -> Self {
        ClaimRules {
            leeway: 15,
            issuer: None,
            audience: None,
            require_nbf: true,
            require_iat: true,
            foreign_jti: false,
            foreign: ForeignClaims::default(),
        }
    }
}

impl ClaimRules {
    /// Checks the registered claims at `now`: `exp` required and numeric, `nbf` and `iat` numeric
    /// and not in the future (beyond the leeway), `iss` and `aud` as configured.
    pub(crate) fn check(&self, claims: &Claims, now: UnixTime) -> Result<(), RejectReason> {
        let now = now.as_secs();
        let exp = time_claim(claims, "exp")?.ok_or(RejectReason::Schema)?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(RejectReason::Expired);
        }
        let latest_valid_start = now.saturating_add(self.leeway);
        for (name, required) in [("nbf", self.require_nbf), ("iat", self.require_iat)] {
            match time_claim(claims, name)? {
                Some(t) if t > latest_valid_start => return Err(RejectReason::NotYetValid),
                None if required => return Err(RejectReason::Schema),
                _ => {}
            }
        }
        if let Some(expected) = &self.issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(expected.as_str()) {
                return Err(RejectReason::Schema);
            }
        }
        if let Some(expected) = &self.audience {
            let matches = match claims.get("aud") {
                Some(Value::String(aud)) => aud == expected,
                Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected)),
                _ => false,
            };
            if !matches {
                return Err(RejectReason::Schema);
            }
        }
        Ok(())
    }

    /// The claims of `record` issued at `now`, as JSON: registered claims, `ses`, then the data
    /// at top level (so tokens look like the `{user, expiresAt}` payloads `jose` apps make).
    pub(crate) fn session_claims_json(
        &self,
        record: &SessionRecord,
        now: UnixTime,
    ) -> Result<Vec<u8>, EncodeError> {
        if let Some(reserved) = record
            .data
            .keys()
            .find(|k| RESERVED_CLAIMS.contains(&k.as_str()))
        {
            return Err(EncodeError::ReservedKey(reserved.clone()));
        }
        let claims = SessionClaims {
            rules: self,
            record,
            now,
        };
        serde_json::to_vec(&claims).map_err(EncodeError::Serialize)
    }
}

/// The record that checked `claims` describe. A token from another issuer (an existing `jose`
/// app) may carry no `jti`, `sub`, `iat` or `ses`: it gets a fresh key, no user, and `now` as
/// its creation time.
pub(crate) fn record_from_claims(
    rules: &ClaimRules,
    mut claims: Claims,
    now: UnixTime,
) -> Result<SessionRecord, RejectReason> {
    let key = match claims.take("jti") {
        Some(Value::String(jti)) => match parse_jti(&jti) {
            Some(key) => key,
            None if rules.foreign_jti && !jti.is_empty() && jti.len() <= MAX_FOREIGN_JTI_LEN => {
                let digest = Sha256::new()
                    .chain_update(b"foreign jti\0")
                    .chain_update(jti.as_bytes())
                    .finalize();
                SessionKey::from_bytes(digest.into())
            }
            None => return Err(RejectReason::Schema),
        },
        None => SessionId::generate().key(),
        Some(_) => return Err(RejectReason::Schema),
    };
    let user_id = match claims.take("sub") {
        None => None,
        Some(Value::String(sub)) => Some(UserId::new(sub)),
        Some(_) => return Err(RejectReason::Schema),
    };
    let exp = time_claim(&claims, "exp")?.ok_or(RejectReason::Schema)?;
    let issued = time_claim(&claims, "iat")?.map_or(now, UnixTime::from_secs);
    let ses = claims.take("ses");
    let had_ses = ses.is_some();
    let ses = match ses {
        Some(value) => serde_json::from_value(value).map_err(|_| RejectReason::Schema)?,
        None => SesClaim {
            c: issued,
            l: issued,
            a: None,
            m: SessionMetadata::default(),
        },
    };
    let mut record = SessionRecord {
        key,
        data: claims.data,
        user_id,
        created_at: ses.c,
        last_seen_at: ses.l,
        expires_at: UnixTime::from_secs(exp),
        absolute_expires_at: ses.a,
        version: 1,
        metadata: ses.m,
    };
    rules.foreign.read(&mut record, had_ses);
    Ok(record)
}

/// A NumericDate claim: absent, or a non-negative integer. Any other type (string, float, huge
/// number) is a schema error, never "absent" (CVE-2026-25537).
pub(crate) fn time_claim(claims: &Claims, name: &str) -> Result<Option<u64>, RejectReason> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(RejectReason::Schema),
        Some(_) => Err(RejectReason::Schema),
    }
}

/// Our own session fields, under the `ses` claim, as read.
#[derive(Deserialize)]
struct SesClaim {
    /// created_at
    c: UnixTime,
    /// last_seen_at
    l: UnixTime,
    /// absolute_expires_at
    #[serde(default)]
    a: Option<UnixTime>,
    /// metadata
    #[serde(default)]
    m: SessionMetadata,
}

/// The `ses` claim as written, borrowing the record (no copy of its metadata).
#[derive(Serialize)]
struct SesClaimRef<'a> {
    c: UnixTime,
    l: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    a: Option<UnixTime>,
    #[serde(skip_serializing_if = "is_default_metadata")]
    m: &'a SessionMetadata,
}

fn is_default_metadata(m: &&SessionMetadata) -> bool {
    **m == SessionMetadata::default()
}

struct SessionClaims<'a> {
    rules: &'a ClaimRules,
    record: &'a SessionRecord,
    now: UnixTime,
}

impl Serialize for SessionClaims<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jti", &JtiClaim(&r.key))?;
        if let Some(user) = &r.user_id {
            map.serialize_entry("sub", user.as_str())?;
        }
        if let Some(iss) = &self.rules.issuer {
            map.serialize_entry("iss", iss)?;
        }
        if let Some(aud) = &self.rules.audience {
            map.serialize_entry("aud", aud)?;
        }
        map.serialize_entry("iat", &self.now)?;
        map.serialize_entry("nbf", &self.now)?;
        map.serialize_entry("exp", &r.effective_expiry())?;
        let ses = SesClaimRef {
            c: r.created_at,
            l: r.last_seen_at,
            a: r.absolute_expires_at,
            m: &r.metadata,
        };
        map.serialize_entry("ses", &ses)?;
        self.rules.foreign.write(r, &mut map)?;
        for (k, v) in &r.data {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Our `jti`: the session key as unpadded base64url (43 characters), written without an
/// intermediate `String`.
struct JtiClaim<'a>(&'a SessionKey);

impl Serialize for JtiClaim<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 43];
        let written = base64::engine::Engine::encode_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            self.0.as_bytes(),
            &mut text,
        )
        .map_err(serde::ser::Error::custom)?;
        // base64url output is ASCII.
        let text = std::str::from_utf8(&text[..written]).map_err(serde::ser::Error::custom)?;
        s.serialize_str(text)
    }
}

/// A `jti` of ours: the session key as base64url (43 characters), or as 64 hex digits (tokens
/// issued before the key was written as base64url).
fn parse_jti(jti: &str) -> Option<SessionKey> {
    match jti.len() {
        43 => crate::b64::decode_array::<32>(jti).map(SessionKey::from_bytes),
        64 => SessionKey::from_hex(jti),
        _ => None,
    }
}

/// A token's claims as parsed: the registered claims and our `ses` kept apart (indexed as in
/// [`RESERVED_CLAIMS`]), everything else (the session data) in a map. Parsing straight into this
/// shape spares building, then removing, the map entries of the claims every token carries, and
/// refuses a token that repeats a registered claim (which value would count is ambiguous).
#[derive(Debug, Default)]
pub(crate) struct Claims {
    registered: [Option<Value>; RESERVED_CLAIMS.len()],
    /// The other claims: the session data.
    pub(crate) data: Map<String, Value>,
}

impl Claims {
    /// The claim `name`, registered or not.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        match reserved_index(name) {
            Some(i) => self.registered[i].as_ref(),
            None => self.data.get(name),
        }
    }

    /// Takes the registered claim `name` out.
    fn take(&mut self, name: &str) -> Option<Value> {
        reserved_index(name).and_then(|i| self.registered[i].take())
    }

    /// Every claim in one map, as the token carried them.
    pub(crate) fn into_map(self) -> Map<String, Value> {
        let mut map = self.data;
        for (name, value) in RESERVED_CLAIMS.iter().zip(self.registered) {
            if let Some(value) = value {
                map.insert((*name).to_owned(), value);
            }
        }
        map
    }
}

fn reserved_index(name: &str) -> Option<usize> {
    RESERVED_CLAIMS.iter().position(|r| *r == name)
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ClaimsVisitor)
    }
}

struct ClaimsVisitor;

impl<'de> serde::de::Visitor<'de> for ClaimsVisitor {
    type Value = Claims;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        let mut claims = Claims::default();
        while let Some(key) = map.next_key::<ClaimName>()? {
            match key {
                ClaimName::Reserved(i) => {
                    if claims.registered[i].is_some() {
                        return Err(serde::de::Error::custom("a registered claim is repeated"));
                    }
                    claims.registered[i] = Some(map.next_value()?);
                }
                ClaimName::Other(name) => {
                    claims.data.insert(name, map.next_value()?);
                }
            }
        }
        Ok(claims)
    }
}

/// A claim's name: one of [`RESERVED_CLAIMS`] (by index, nothing allocated) or another.
enum ClaimName {
    Reserved(usize),
    Other(String),
}

impl<'de> Deserialize<'de> for ClaimName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl serde::de::Visitor<'_> for NameVisitor {
            type Value = ClaimName;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a claim name")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<ClaimName, E> {
                Ok(match reserved_index(name) {
                    Some(i) => ClaimName::Reserved(i),
                    None => ClaimName::Other(name.to_owned()),
                })
            }

            fn visit_string<E: serde::de::Error>(self, name: String) -> Result<ClaimName, E> {
                Ok(match reserved_index(&name) {
                    Some(i) => ClaimName::Reserved(i),
                    None => ClaimName::Other(name),
                })
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// The value at `path` (`/a/b`) in `data`, through nested objects.
fn lookup<'a>(data: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.strip_prefix('/')?.split('/');
    let mut value = data.get(segments.next()?)?;
    for segment in segments {
        value = value.as_object()?.get(segment)?;
    }
    Some(value)
}
