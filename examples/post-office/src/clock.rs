//! Time: the wall clock in whole seconds (queue times, DSN dates) and waiting until an
//! optional deadline (driver loops whose machine may have no timer running).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Sleeps until `deadline`, or forever without one.
pub async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Now plus `duration` as a deadline; `None` (never) when that overflows the clock.
pub fn deadline_after(duration: std::time::Duration) -> Option<tokio::time::Instant> {
    tokio::time::Instant::now().checked_add(duration)
}
