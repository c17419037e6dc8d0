//! Part `passwords`: what one password check costs, in CPU milliseconds per verification, for
//! the cases `session_auth::password` meets at sign-in: a bcrypt cost-10 hash imported from the
//! Node apps (the `bcrypt` crate alone, and `verify_and_upgrade`, which also makes the Argon2id
//! hash that replaces it), a current Argon2id hash, and an unknown user (the dummy Argon2id
//! verification), plus hashing a new password.

use std::hint::black_box;

use session_auth::password::{self, Verification};

use crate::timing::{per_op, Spread};
use crate::{context, fail, BoxError, Options, Report, Section, Table, Target};

/// The bcrypt cost of the imported hashes (bcryptjs's `genSaltSync(10)`, what the apps used).
const BCRYPT_COST: u32 = 10;

/// How far an unknown user's check may be from a known Argon2id user's. Both run the same
/// Argon2id code with the same parameters, so any gap is noise (memory-bound work on a shared
/// machine: about 10% between rows of one run at worst, seen in `--quick` runs); a dummy hash
/// with other parameters would be far outside it (one pass instead of two: 50%).
const TARGET_UNKNOWN_USER_SPREAD: f64 = 0.25;

const PASSWORD: &str = "correct horse battery staple";

pub(crate) fn run(options: Options) -> Result<Report, BoxError> {
    // Tens of milliseconds per call: a few calls per repetition are plenty.
    let (iters, reps) = if options.quick { (1, 2) } else { (4, 7) };
    let bcrypt_hash = bcrypt::hash(PASSWORD, BCRYPT_COST).map_err(context("bcrypt hash"))?;
    let argon2id = password::hash(PASSWORD).map_err(context("Argon2id hash"))?;

    // The answers first: a figure for the wrong outcome would be meaningless.
    if !bcrypt::verify(PASSWORD, &bcrypt_hash).map_err(context("bcrypt verify"))? {
        return Err(fail("the bcrypt hash does not verify"));
    }
    match password::verify_and_upgrade(PASSWORD, &bcrypt_hash)
        .map_err(context("verify_and_upgrade on bcrypt"))?
    {
        Verification::ValidUpgrade { .. } => {}
        other => return Err(fail(format!("bcrypt gave {other:?}, not an upgrade"))),
    }
    let current = password::verify_and_upgrade(PASSWORD, &argon2id)
        .map_err(context("verify_and_upgrade on Argon2id"))?;
    if current != Verification::Valid {
        return Err(fail(format!("a current Argon2id hash gave {current:?}")));
    }
    let unknown = password::verify_user(PASSWORD, None).map_err(context("verify_user(None)"))?;
    if unknown != Verification::Invalid {
        return Err(fail(format!("an unknown user gave {unknown:?}")));
    }

    let bcrypt_raw = per_op(iters, reps, || {
        bcrypt::verify(black_box(PASSWORD), &bcrypt_hash)
    });
    let bcrypt_upgrade = per_op(iters, reps, || {
        password::verify_and_upgrade(black_box(PASSWORD), &bcrypt_hash)
    });
    let argon2id_verify = per_op(iters, reps, || {
        password::verify_and_upgrade(black_box(PASSWORD), &argon2id)
    });
    let unknown_user = per_op(iters, reps, || {
        password::verify_user(black_box(PASSWORD), None)
    });
    let new_hash = per_op(iters, reps, || password::hash(black_box(PASSWORD)));

    let mut table = Table::new(&[
        "operation",
        "CPU ms/op median (min..max)",
        "x Argon2id verify",
    ]);
    for (name, s) in [
        (
            format!("bcrypt cost {BCRYPT_COST}: `bcrypt::verify` (the crate alone)"),
            &bcrypt_raw,
        ),
        (
            format!("bcrypt cost {BCRYPT_COST}: `verify_and_upgrade` (verify + new Argon2id hash)"),
            &bcrypt_upgrade,
        ),
        (
            "Argon2id (m=19456, t=2, p=1): `verify_and_upgrade`, current hash".to_owned(),
            &argon2id_verify,
        ),
        (
            "unknown user: `verify_user(_, None)` (dummy Argon2id)".to_owned(),
            &unknown_user,
        ),
        ("new password: `hash` (Argon2id)".to_owned(), &new_hash),
    ] {
        table.row(vec![
            name,
            ms(s),
            ratio(s.ratio_of_medians(&argon2id_verify)),
        ]);
    }
    let section = Section {
        title: "Password verification".into(),
        intro: vec![format!(
            "`session_auth::password` at sign-in, one password of {} bytes. The bcrypt hash is made \
             by the `bcrypt` crate at cost {BCRYPT_COST} (what bcryptjs's `genSaltSync(10)` made \
             for the Node apps); the Argon2id hash by `password::hash` (OWASP's 19 MiB, 2 passes, \
             1 lane). {iters} verifications x {reps} repetitions per row, timed with the thread's \
             CPU clock; each operation runs on one thread.",
            PASSWORD.len()
        )],
        table,
        notes: vec![
            "An imported user's first sign-in pays bcrypt plus one Argon2id hash; later sign-ins \
             cost one Argon2id verification."
                .into(),
            "Until that first sign-in, a bcrypt user's check takes a different time from an \
             Argon2id user's or an unknown user's: timing tells not-yet-migrated accounts apart."
                .into(),
        ],
    };
    let spread = (unknown_user.ratio_of_medians(&argon2id_verify) - 1.0).abs();
    let target = Target {
        name: format!(
            "an unknown user's check within {:.0}% of a known Argon2id user's",
            TARGET_UNKNOWN_USER_SPREAD * 100.0
        ),
        met: spread <= TARGET_UNKNOWN_USER_SPREAD,
        figure: format!(
            "{} ms against {} ms (medians), {:.1}% apart.",
            ms_median(&unknown_user),
            ms_median(&argon2id_verify),
            spread * 100.0
        ),
        detail: vec![
            "Both are one Argon2id verification with the default parameters; the unknown user's \
             is against a dummy hash made once per process."
                .into(),
        ],
    };
    Ok(Report {
        sections: vec![section],
        targets: vec![target],
    })
}

fn ms(s: &Spread) -> String {
    format!(
        "{:.1} ({:.1}..{:.1})",
        s.median / 1e6,
        s.min / 1e6,
        s.max / 1e6
    )
}

fn ms_median(s: &Spread) -> String {
    format!("{:.1}", s.median / 1e6)
}

fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}x")
    } else {
        "n/a".into()
    }
}
