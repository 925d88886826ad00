//! The fault run's driver; `scripts/chaos.sh` builds and runs it. For each scenario: start
//! the Redis processes, start the demo server on them, drive the load, inject the fault,
//! check every logged-out and live session afterwards, report. Loopback only; every run is
//! bounded in time (warm-up + observation per scenario, bounded checks) and in requests.
//!
//! ```text
//! charon-chaos --server target/release/examples/axum_server --work DIR
//!     [--scenarios a,b] [--users 24] [--access-users 4] [--warmup 3] [--observe 10]
//!     [--max-requests 200000]
//! ```

mod load;
mod procs;
mod proxy;
mod report;
mod scenario;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use load::{Http, User, UserResult};
use procs::{Demo, Work};
use report::Row;
use scenario::{Plan, Topology};

/// The demo's base secret in these runs (a test value, loopback only).
const SECRET: &str = "charon-auth chaos run secret: loopback only, never in production";

struct Args {
    server: PathBuf,
    work: PathBuf,
    scenarios: Option<Vec<String>>,
    users: usize,
    access_users: usize,
    warmup: u64,
    observe: u64,
    max_requests: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        server: PathBuf::new(),
        work: PathBuf::new(),
        scenarios: None,
        users: 24,
        access_users: 4,
        warmup: 3,
        observe: 10,
        max_requests: 200_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|_| format!("{flag}: {v:?}"));
        match flag.as_str() {
            "--server" => args.server = value()?.into(),
            "--work" => args.work = value()?.into(),
            "--scenarios" => {
                args.scenarios = Some(value()?.split(',').map(str::to_owned).collect());
            }
            "--users" => args.users = number(value()?)? as usize,
            "--access-users" => args.access_users = number(value()?)? as usize,
            "--warmup" => args.warmup = number(value()?)?.clamp(2, 30),
            "--observe" => args.observe = number(value()?)?.clamp(3, 60),
            "--max-requests" => args.max_requests = number(value()?)? as usize,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.server.as_os_str().is_empty() || args.work.as_os_str().is_empty() {
        return Err("--server and --work are required".into());
    }
    if args.users > 500 || args.access_users > 100 {
        return Err("at most 500 looping users and 100 access-only users".into());
    }
    Ok(args)
}

async fn run_plan(plan: &Plan, args: &Args, work: &Work, waitaof: bool) -> Result<Row, String> {
    if plan.durable.contains("fsync") && !waitaof {
        return Ok(Row {
            name: plan.name.to_owned(),
            durable: plan.durable.to_owned(),
            skipped: Some(format!(
                "local fsync needs WAITAOF (Redis >= 7.2); this redis-server is {}",
                scenario::redis_version()
            )),
            ..Row::default()
        });
    }
    let topology = {
        let (plan, work) = (plan.clone(), work.clone());
        tokio::task::spawn_blocking(move || Topology::start(&plan, &work))
            .await
            .map_err(|e| e.to_string())??
    };
    let mut env = topology.env.clone();
    env.extend(
        [
            ("CHARON_SECRET", SECRET),
            ("CHARON_ACCESS_TTL", "900"),
            ("RUST_LOG", "warn"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let log = work.dir.join(format!("{}/demo.log", plan.name));
    let mut demo = Demo::start(work, &args.server, &env, &log).map_err(|e| e.to_string())?;

    let t0 = Instant::now();
    let warmup = Duration::from_secs(args.warmup);
    let end = t0 + warmup + Duration::from_secs(args.observe);
    let http = Http::new(demo.port, t0);
    let per_user = args.max_requests / (args.users + args.access_users).max(1);
    let mut tasks = Vec::new();
    for i in 0..args.users + args.access_users {
        let user = User {
            http: http.clone(),
            end,
            max_requests: per_user,
            result: UserResult::default(),
        };
        tasks.push(if i < args.users {
            tokio::spawn(user.looping(i))
        } else {
            tokio::spawn(user.access_only(i))
        });
    }
    let fault = {
        let plan = plan.clone();
        let mut topology = topology;
        tokio::task::spawn_blocking(move || {
            let faulted = topology.inject(&plan, t0, warmup);
            (topology, faulted)
        })
    };
    let mut users = Vec::new();
    for t in tasks {
        users.push(t.await.map_err(|e| e.to_string())?);
    }
    let (topology, faulted) = fault.await.map_err(|e| e.to_string())?;
    let faulted = faulted?;
    let logged_out: Vec<String> = users
        .iter_mut()
        .flat_map(|u| std::mem::take(&mut u.logged_out))
        .collect();
    let live: Vec<String> = users.iter_mut().filter_map(|u| u.live.take()).collect();
    eprintln!(
        "  checking {} logged-out and {} live sessions",
        logged_out.len(),
        live.len()
    );
    let checked = load::check(
        &http,
        logged_out,
        live,
        Instant::now() + Duration::from_secs(30),
    )
    .await;
    let metrics = http
        .text("/metrics")
        .await
        .map(|text| report::store_errors(&text))
        .unwrap_or_default();
    let warnings = demo.warnings();
    demo.stop();
    drop(topology);
    let mut row = report::row(
        plan.name,
        plan.durable,
        &users,
        &checked,
        &faulted,
        warnings,
    );
    row.store_errors = metrics;
    Ok(row)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("charon-chaos: {e}");
            std::process::exit(2);
        }
    };
    let work = Work {
        dir: args.work.clone(),
    };
    let plans: Vec<Plan> = scenario::all()
        .into_iter()
        .filter(|p| {
            args.scenarios
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == p.name))
        })
        .collect();
    if plans.is_empty() {
        let names: Vec<&str> = scenario::all().iter().map(|p| p.name).collect();
        eprintln!(
            "charon-chaos: no such scenario; known: {}",
            names.join(", ")
        );
        std::process::exit(2);
    }
    let waitaof = {
        let work = work.clone();
        tokio::task::spawn_blocking(move || scenario::has_waitaof(&work))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false)
    };
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut failed = false;
    for plan in &plans {
        eprintln!(
            "[{:>5.1} s] {} (durable deletes {})",
            started.elapsed().as_secs_f64(),
            plan.name,
            plan.durable
        );
        match run_plan(plan, &args, &work, waitaof).await {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("  {}: FAILED: {e}", plan.name);
                failed = true;
            }
        }
    }
    println!(
        "{} looping users + {} access-only users, {} s warm-up then the fault, {} s observed; \
         redis-server {}; {} s in all",
        args.users,
        args.access_users,
        args.warmup,
        args.observe,
        scenario::redis_version(),
        started.elapsed().as_secs()
    );
    println!();
    print!("{}", report::tables(&rows));
    if failed {
        std::process::exit(1);
    }
}
