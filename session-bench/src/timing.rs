//! A deliberately small timing module (no benchmark framework: compile time on 2 cores matters).
//!
//! - [`per_op`] / [`per_op_batched`]: run `iters` iterations, repeat `reps` times, and report the
//!   time per iteration as the median over the repetitions with their spread (min..max).
//!   [`per_op`] times with [`CpuTimer`], the measuring thread's own CPU clock, so time the thread
//!   spends preempted by other work on a shared machine is not counted.
//! - [`Samples`]: individual wall-clock latencies (stores, HTTP) with median and percentiles.

use std::hint::black_box;
use std::time::Duration;

/// The median of a set of repeated measurements and their spread (min..max).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// The median and min..max of `values`; all zero when there are none.
    pub(crate) fn of(values: &[f64]) -> Spread {
        if values.is_empty() {
            return Spread {
                median: 0.0,
                min: 0.0,
                max: 0.0,
            };
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Spread {
            median: median_sorted(&sorted),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        }
    }

    /// `self / other`, element by element (for ratios of medians).
    pub(crate) fn ratio_of_medians(&self, floor: &Spread) -> f64 {
        if floor.median > 0.0 {
            self.median / floor.median
        } else {
            f64::NAN
        }
    }

    /// The spread as `median (min..max)` with `decimals` digits.
    pub(crate) fn show(&self, decimals: usize) -> String {
        format!(
            "{:.d$} ({:.d$}..{:.d$})",
            self.median,
            self.min,
            self.max,
            d = decimals
        )
    }
}

/// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): it does not advance while the
/// thread waits or is preempted, which makes CPU-bound figures far steadier on a busy machine
/// than wall-clock time. Only meaningful for work done on this thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuTimer(Duration);

impl CpuTimer {
    pub(crate) fn start() -> Self {
        CpuTimer(thread_cpu_time())
    }

    pub(crate) fn elapsed(&self) -> Duration {
        thread_cpu_time().saturating_sub(self.0)
    }
}

fn thread_cpu_time() -> Duration {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// CPU nanoseconds per call of `f` (see [`CpuTimer`]): one warm-up pass, then `reps` timed passes
/// of `iters` calls.
pub(crate) fn per_op<R>(iters: u64, reps: usize, mut f: impl FnMut() -> R) -> Spread {
    per_op_batched(iters, reps, |n| {
        let start = CpuTimer::start();
        for _ in 0..n {
            black_box(f());
        }
        start.elapsed()
    })
}

/// Like [`per_op`] for code that must time itself, e.g. an async loop inside `block_on`:
/// `run(n)` performs `n` iterations and returns how long they took.
pub(crate) fn per_op_batched(
    iters: u64,
    reps: usize,
    mut run: impl FnMut(u64) -> Duration,
) -> Spread {
    let iters = iters.max(1);
    run(iters.min(1_000)); // warm-up: caches, allocator, lazy initialisation
    let per_rep: Vec<f64> = (0..reps.max(1))
        .map(|_| run(iters).as_nanos() as f64 / iters as f64)
        .collect();
    Spread::of(&per_rep)
}

/// Individual latencies in nanoseconds.
#[derive(Debug, Default, Clone)]
pub(crate) struct Samples(Vec<f64>);

impl Samples {
    /// Room for `n` samples.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Samples(Vec::with_capacity(n))
    }

    /// Records one latency.
    pub(crate) fn push(&mut self, d: Duration) {
        self.0.push(d.as_nanos() as f64);
    }

    /// The `p`-th percentile (0..=100) in nanoseconds, nearest-rank; 0 when empty.
    pub(crate) fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        percentile_sorted(&sorted, p)
    }
}

fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile of sorted values; 0 when empty.
pub(crate) fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_and_percentiles() {
        let s = Spread::of(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 10.0));
        let mut samples = Samples::default();
        for i in 1..=100 {
            samples.push(Duration::from_nanos(i));
        }
        assert_eq!(samples.percentile(50.0), 50.0);
        assert_eq!(samples.percentile(99.0), 99.0);
        assert_eq!(samples.percentile(100.0), 100.0);
        assert_eq!(Samples::default().percentile(99.0), 0.0);
    }

    #[test]
    fn cpu_timer_advances_with_work_only() {
        let t = CpuTimer::start();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let busy = t.elapsed();
        assert!(busy > Duration::ZERO);
        let t = CpuTimer::start();
        std::thread::sleep(Duration::from_millis(50));
        assert!(t.elapsed() < Duration::from_millis(20));
    }

    #[test]
    fn per_op_counts_iterations() {
        let mut calls = 0u64;
        let s = per_op(10, 3, || calls += 1);
        assert_eq!(calls, 10 + 30);
        assert!(s.median >= 0.0);
    }
}
