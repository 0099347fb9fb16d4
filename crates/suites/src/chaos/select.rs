//! Which scenarios a `chaos` run executes.

use std::time::Duration;

use ballast_chaos::scenario::{self, Scenario};

use super::ChaosArgs;

/// The representative subset `--quick` runs: at least one scenario of
/// each of the seven categories, the two-fault timeline and the faults
/// that found or guard real bugs (a clock stepped back, a SIGKILL).
pub const QUICK: &[&str] = &[
    "latency-spike",
    "slow-then-reset",
    "connection-reset",
    "black-hole",
    "malformed-orders",
    "disk-failing",
    "connection-spike",
    "misroute",
    "clock-jump-back",
    "host-kill-restart",
];

/// `s` with each `clients` load fault sized for `clients` regular clients
/// when its `load_clients_per_client` setting asks for N per client (a
/// connection spike at 10× the clients is 9 extra per client), capped at
/// [`MAX_LOAD_CLIENTS`](scenario::MAX_LOAD_CLIENTS).
pub fn scale_loads(mut s: Scenario, clients: u64) -> Scenario {
    let per_client = s
        .workload
        .settings
        .get("load_clients_per_client")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if per_client == 0 {
        return s;
    }
    let clients = s.workload.clients.unwrap_or(clients).max(1);
    let extra = per_client
        .saturating_mul(clients)
        .clamp(1, scenario::MAX_LOAD_CLIENTS);
    for fault in &mut s.timeline {
        for spec in &mut fault.loads {
            if let scenario::Load::Clients { count, .. } = &mut spec.load {
                *count = extra;
            }
        }
    }
    s
}

/// The scenarios `args` ask for, in catalog order, scaled to `--duration`.
///
/// # Errors
///
/// One line naming the bad scenario file, unknown scenario or category
/// (with a suggestion), or a bad duration.
pub fn select(args: &ChaosArgs) -> Result<Vec<Scenario>, String> {
    let catalog = scenario::catalog();
    let mut files = Vec::new();
    for path in &args.scenario_files {
        files.push(scenario::load_file(path).map_err(|e| e.to_string())?);
    }
    let all: Vec<Scenario> = catalog.iter().chain(&files).cloned().collect();
    let mut chosen: Vec<Scenario> = if !args.scenarios.is_empty() {
        let mut chosen = Vec::new();
        for name in &args.scenarios {
            let found = all
                .iter()
                .find(|s| &s.name == name)
                .ok_or_else(|| unknown("scenario", name, all.iter().map(|s| s.name.as_str())))?;
            chosen.push(found.clone());
        }
        chosen
    } else if !files.is_empty() && args.category.is_none() {
        files
    } else {
        all.clone()
    };
    if let Some(category) = &args.category {
        if !all.iter().any(|s| &s.category == category) {
            return Err(unknown(
                "category",
                category,
                all.iter().map(|s| s.category.as_str()),
            ));
        }
        chosen.retain(|s| &s.category == category);
    }
    if args.quick && args.scenarios.is_empty() {
        chosen.retain(|s| {
            QUICK.contains(&s.name.as_str()) || !catalog.iter().any(|c| c.name == s.name)
        });
    }
    if let Some(secs) = args.duration {
        if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
            return Err(format!(
                "--duration must be between 0 and 3600 seconds, not {secs}"
            ));
        }
        chosen = chosen
            .into_iter()
            .map(|s| s.with_total(Duration::from_secs_f64(secs)))
            .collect();
    }
    if let Some(client) = &args.client {
        for s in &mut chosen {
            s.workload.settings.insert("client".into(), client.clone());
        }
    }
    if let Some(sweep) = &args.sweep {
        chosen = sweep_levels(chosen, sweep)?;
    }
    for axis in &args.grid {
        chosen = grid_axis(chosen, axis)?;
    }
    if chosen.is_empty() {
        return Err("no scenario matches; see --list".into());
    }
    Ok(chosen)
}

/// Each scenario that has the swept attribute, once per level.
fn sweep_levels(chosen: Vec<Scenario>, sweep: &str) -> Result<Vec<Scenario>, String> {
    let (attribute, levels) = sweep
        .split_once('=')
        .ok_or_else(|| format!("--sweep wants ATTR=V1,V2,…, not `{sweep}`"))?;
    let levels: Vec<f64> = levels
        .split(',')
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| format!("--sweep: `{v}` is not a number"))
        })
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for s in chosen {
        for level in &levels {
            match s.clone().with_attribute(attribute, *level) {
                Ok(l) => out.push(l),
                Err(ballast_chaos::Error::InvalidAttribute { name: "sweep", .. }) => break,
                Err(e) => return Err(format!("--sweep {attribute}={level} on {}: {e}", s.name)),
            }
        }
    }
    if out.is_empty() {
        return Err(format!(
            "--sweep: no chosen scenario has a toxic with attribute `{attribute}`"
        ));
    }
    Ok(out)
}

fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str> + Clone) -> String {
    let hint = scenario::suggest(name, known).map_or_else(
        || "; see --list".to_owned(),
        |s| format!(" (did you mean `{s}`?)"),
    );
    format!("unknown {what} `{name}`{hint}")
}

/// Each scenario once per value of one grid axis `SETTING=V1,V2,…`, the
/// setting added to its workload settings and to its name (`+SETTING=V`).
fn grid_axis(chosen: Vec<Scenario>, axis: &str) -> Result<Vec<Scenario>, String> {
    let (key, values) = axis
        .split_once('=')
        .ok_or_else(|| format!("--grid wants SETTING=V1,V2,…, not `{axis}`"))?;
    let known = crate::tn3270::SETTINGS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !crate::tn3270::SHAPE_SETTINGS.contains(k));
    if !known.clone().any(|k| k == key) {
        return Err(unknown("--grid setting", key, known));
    }
    let mut out = Vec::new();
    for s in chosen {
        for v in values.split(',').map(str::trim) {
            if v.parse::<u64>().is_err() {
                return Err(format!("--grid: `{v}` is not a whole number"));
            }
            let mut variant = s.clone();
            variant
                .workload
                .settings
                .insert(key.to_owned(), v.to_owned());
            variant.name = format!("{}+{key}={v}", s.name);
            out.push(variant);
        }
    }
    Ok(out)
}
