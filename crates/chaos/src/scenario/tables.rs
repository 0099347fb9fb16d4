//! The `[[fault.resource]]` tables of a scenario file and their
//! parse-time validation: each bad value is refused with the field's name.

use serde::Deserialize;

use super::{Load, LoadSpec, ResourceSpec, TargetAction};

/// Most hog threads a `cpu_hog` may ask for.
pub const MAX_CPU_HOG_THREADS: u32 = 64;
/// Largest `memory_balloon` `cap_mb` (16 GiB, as the injector allows).
pub const MAX_BALLOON_MB: u64 = 16 << 10;
/// Fastest `memory_balloon` growth, in MiB per second.
pub const MAX_BALLOON_RATE_MB_PER_SEC: u64 = 16 << 10;
/// Largest `fd_exhaustion` `reserve`.
pub const MAX_FD_RESERVE: u64 = 65_536;
/// Most `lock_contention` threads.
pub const MAX_LOCK_CONTENTION_THREADS: u32 = 64;
/// Longest `lock_contention` `hold_ms`.
pub const MAX_LOCK_HOLD_MS: u64 = 10_000;
/// Most `thread_starvation` `hogs`.
pub const MAX_STARVATION_HOGS: u32 = 64;
/// Longest `disk_slow` `delay_ms`.
pub const MAX_DISK_DELAY_MS: u64 = 60_000;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum RawResource {
    CpuHog {
        threads: u32,
        duty_percent: u32,
    },
    MemoryBalloon {
        cap_mb: u64,
        rate_mb_per_sec: u64,
    },
    FdExhaustion {
        reserve: u64,
    },
    LockContention {
        threads: u32,
        duty_percent: u32,
        hold_ms: u64,
    },
    ThreadStarvation {
        hogs: u32,
    },
    DiskSlow {
        delay_ms: u64,
    },
    DiskFail {
        probability: f64,
    },
    DiskFull {},
}

/// A field and what is wrong with it.
pub(super) type FieldError = (&'static str, String);

fn within<T: PartialOrd + std::fmt::Display>(
    field: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<T, FieldError> {
    if value < min || value > max {
        return Err((
            field,
            format!("{field} = {value} is not in {min} ..= {max}"),
        ));
    }
    Ok(value)
}

/// Validates one `[[fault.resource]]` table.
pub(super) fn resource(raw: RawResource) -> Result<ResourceSpec, FieldError> {
    Ok(match raw {
        RawResource::CpuHog {
            threads,
            duty_percent,
        } => ResourceSpec::CpuHog {
            threads: within("threads", threads, 1, MAX_CPU_HOG_THREADS)?,
            duty_percent: within("duty_percent", duty_percent, 1, 100)?,
        },
        RawResource::MemoryBalloon {
            cap_mb,
            rate_mb_per_sec,
        } => ResourceSpec::MemoryBalloon {
            cap_mb: within("cap_mb", cap_mb, 1, MAX_BALLOON_MB)?,
            rate_mb_per_sec: within(
                "rate_mb_per_sec",
                rate_mb_per_sec,
                1,
                MAX_BALLOON_RATE_MB_PER_SEC,
            )?,
        },
        RawResource::FdExhaustion { reserve } => ResourceSpec::FdExhaustion {
            reserve: within("reserve", reserve, 0, MAX_FD_RESERVE)?,
        },
        RawResource::LockContention {
            threads,
            duty_percent,
            hold_ms,
        } => ResourceSpec::LockContention {
            threads: within("threads", threads, 1, MAX_LOCK_CONTENTION_THREADS)?,
            duty_percent: within("duty_percent", duty_percent, 1, 100)?,
            hold_ms: within("hold_ms", hold_ms, 1, MAX_LOCK_HOLD_MS)?,
        },
        RawResource::ThreadStarvation { hogs } => ResourceSpec::ThreadStarvation {
            hogs: within("hogs", hogs, 0, MAX_STARVATION_HOGS)?,
        },
        RawResource::DiskSlow { delay_ms } => ResourceSpec::DiskSlow {
            delay_ms: within("delay_ms", delay_ms, 1, MAX_DISK_DELAY_MS)?,
        },
        RawResource::DiskFail { probability } => {
            if probability.is_nan() || probability <= 0.0 || probability > 1.0 {
                return Err((
                    "probability",
                    format!("probability = {probability} is not in (0, 1]"),
                ));
            }
            ResourceSpec::DiskFail { probability }
        }
        RawResource::DiskFull {} => ResourceSpec::DiskFull,
    })
}

/// Largest `clock_jump` `offset_ms` either way: one year.
pub const MAX_CLOCK_JUMP_MS: i64 = 365 * 24 * 3_600 * 1_000;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum RawTargetAction {
    Kill {},
    Restart {},
    Misroute {
        to: String,
    },
    ClockJump {
        offset_ms: i64,
        #[serde(default)]
        permanent: bool,
    },
    ClockSkew {
        rate: f64,
    },
    ExpiredCertificate {},
}

/// Validates one `[[fault.target]]` table.
pub(super) fn target_action(raw: RawTargetAction) -> Result<TargetAction, FieldError> {
    Ok(match raw {
        RawTargetAction::Kill {} => TargetAction::Kill,
        RawTargetAction::Restart {} => TargetAction::Restart,
        RawTargetAction::Misroute { to } => {
            if to.trim().is_empty() {
                return Err(("to", "misroute needs the name of another link".into()));
            }
            TargetAction::Misroute { to }
        }
        RawTargetAction::ClockJump {
            offset_ms,
            permanent,
        } => TargetAction::ClockJump {
            offset_ms: within(
                "offset_ms",
                offset_ms,
                -MAX_CLOCK_JUMP_MS,
                MAX_CLOCK_JUMP_MS,
            )?,
            permanent,
        },
        RawTargetAction::ClockSkew { rate } => {
            let (min, max) = (ballast_clock::MIN_SKEW_RATE, ballast_clock::MAX_SKEW_RATE);
            if !(min..=max).contains(&rate) {
                return Err(("rate", format!("rate = {rate} is not in {min} ..= {max}")));
            }
            TargetAction::ClockSkew { rate }
        }
        RawTargetAction::ExpiredCertificate {} => TargetAction::ExpiredCertificate,
    })
}

/// Most extra clients one `clients` load starts.
pub const MAX_LOAD_CLIENTS: u64 = 256;
/// Longest `think_time_ms` / `interval_ms` of a load.
pub const MAX_LOAD_INTERVAL_MS: u64 = 60_000;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum RawLoad {
    Clients {
        link: Option<String>,
        count: u64,
        think_time_ms: Option<u64>,
    },
    ReconnectStorm {
        link: Option<String>,
        threads: u32,
        max_connections: u64,
    },
    Slowloris {
        link: Option<String>,
        connections: u32,
        interval_ms: u64,
    },
    SynBurst {
        link: Option<String>,
        connections: u32,
    },
}

/// Validates one `[[fault.load]]` table.
pub(super) fn load(raw: RawLoad) -> Result<LoadSpec, FieldError> {
    use crate::resource::{
        MAX_SLOWLORIS_CONNECTIONS, MAX_STORM_CONNECTIONS, MAX_STORM_THREADS, MAX_SYN_BURST,
    };
    let (link, load) = match raw {
        RawLoad::Clients {
            link,
            count,
            think_time_ms,
        } => {
            let think_time_ms = match think_time_ms {
                Some(t) => Some(within("think_time_ms", t, 0, MAX_LOAD_INTERVAL_MS)?),
                None => None,
            };
            let count = within("count", count, 1, MAX_LOAD_CLIENTS)?;
            (
                link,
                Load::Clients {
                    count,
                    think_time_ms,
                },
            )
        }
        RawLoad::ReconnectStorm {
            link,
            threads,
            max_connections,
        } => (
            link,
            Load::ReconnectStorm {
                threads: within("threads", threads, 1, MAX_STORM_THREADS)?,
                max_connections: within(
                    "max_connections",
                    max_connections,
                    1,
                    MAX_STORM_CONNECTIONS,
                )?,
            },
        ),
        RawLoad::Slowloris {
            link,
            connections,
            interval_ms,
        } => (
            link,
            Load::Slowloris {
                connections: within("connections", connections, 1, MAX_SLOWLORIS_CONNECTIONS)?,
                interval_ms: within("interval_ms", interval_ms, 1, MAX_LOAD_INTERVAL_MS)?,
            },
        ),
        RawLoad::SynBurst { link, connections } => (
            link,
            Load::SynBurst {
                connections: within("connections", connections, 1, MAX_SYN_BURST)?,
            },
        ),
    };
    Ok(LoadSpec { link, load })
}
