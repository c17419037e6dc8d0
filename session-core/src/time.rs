//! Time as whole UTC Unix seconds, and the injectable [`Clock`].
//!
//! Every expiry decision in this crate takes `now` as an argument, so tests advance a mock clock
//! instead of sleeping, and a clock that jumps backwards can never cause an arithmetic panic: all
//! arithmetic here saturates.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time: whole seconds since the Unix epoch, UTC.
///
/// ```
/// use session_core::UnixTime;
/// use std::time::Duration;
/// let t = UnixTime::from_secs(1_000);
/// assert_eq!(t + Duration::from_secs(60), UnixTime::from_secs(1_060));
/// // Subtraction saturates at zero instead of panicking when the clock went backwards.
/// assert_eq!(UnixTime::from_secs(10).saturating_duration_since(t), Duration::ZERO);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// A time `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// Seconds since the epoch as a signed 64-bit integer, the way SQL databases keep times
    /// (`bigint`, SQLite's `INTEGER`); times past `i64::MAX` seconds saturate.
    ///
    /// ```
    /// use session_core::UnixTime;
    /// assert_eq!(UnixTime::from_secs(1_700_000_000).as_secs_i64(), 1_700_000_000);
    /// assert_eq!(UnixTime::from_secs(u64::MAX).as_secs_i64(), i64::MAX);
    /// ```
    pub fn as_secs_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// The time `secs` signed seconds after the epoch; `None` for a negative value (read back
    /// from a database, a damaged row).
    ///
    /// ```
    /// use session_core::UnixTime;
    /// assert_eq!(UnixTime::from_secs_i64(60), Some(UnixTime::from_secs(60)));
    /// assert_eq!(UnixTime::from_secs_i64(-1), None);
    /// ```
    pub fn from_secs_i64(secs: i64) -> Option<Self> {
        u64::try_from(secs).ok().map(UnixTime)
    }

    /// The current system time (what [`SystemClock`] returns).
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime(secs)
    }

    /// `self - earlier`, or zero when `earlier` is later than `self`.
    pub fn saturating_duration_since(self, earlier: UnixTime) -> Duration {
        Duration::from_secs(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at the largest representable time.
    pub fn saturating_add(self, d: Duration) -> UnixTime {
        UnixTime(self.0.saturating_add(d.as_secs()))
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> UnixTime {
        UnixTime(self.0.saturating_sub(d.as_secs()))
    }
}

impl std::ops::Add<Duration> for UnixTime {
    type Output = UnixTime;
    fn add(self, rhs: Duration) -> UnixTime {
        self.saturating_add(rhs)
    }
}

impl fmt::Debug for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixTime({})", self.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where the manager gets "now" from. Inject a mock in tests (see `testing::MockClock`).
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::now()
    }
}
