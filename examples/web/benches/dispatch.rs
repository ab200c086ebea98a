//! A request through a Tony plugin handler vs the same handler as a plain
//! axum route, in-process (`tower::ServiceExt::oneshot`, no sockets).
//!
//! Both answer `GET /hello/{name}` with a greeting from configuration and
//! count the people greeted under a lock; the Tony one goes through
//! `Web::call` (a loan of the plugin, the body through the hot-patch jump
//! table) and the `#[tony_plugin]` method.
//!
//! ```text
//! cargo bench -p tony-web-example --bench dispatch
//! ```
//!
//! After criterion's numbers it prints the ratio measured interleaved (see
//! `interleaved`), in nine fresh processes of this bench, and their median.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use tony_core::{HotReloadConfig, PluginSystem};
use tony_web_example::Web;

// The service's plugins and router, as the binary compiles them (not what
// serves routes added by hot patches: that is not measured here).
#[allow(dead_code)]
#[path = "../src/service/mod.rs"]
mod service;

use service::plugins::greet::{Greet, hello_body};
use service::router;
use tower::ServiceExt;

/// The plain route's state: what the `greet` plugin keeps, behind a lock.
struct PlainGreet {
    greeted: u64,
    greeting: String,
}

async fn plain_hello(
    State(state): State<Arc<Mutex<PlainGreet>>>,
    Path(name): Path<String>,
) -> String {
    let mut g = state.lock().unwrap();
    g.greeted += 1;
    format!("{}, {name}!", g.greeting)
}

/// The plugin's method through Tony's typed access, called from the handler
/// directly (which would block the runtime thread during a reload): what
/// `Web::call` adds on top of tony-core.
async fn direct_hello(State(web): State<Web>, Path(name): Path<String>) -> String {
    web.system()
        .with_mut::<Greet, _>(|g| g.hello(&name))
        .unwrap()
}

fn request(path: &'static str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let plain_state = Arc::new(Mutex::new(PlainGreet {
        greeted: 0,
        greeting: "Hello".to_owned(),
    }));
    let web =
        Web::build(PluginSystem::builder().config(HotReloadConfig::default().with_enabled(false)))
            .unwrap();
    let system = web.system().clone();
    system.initialize().unwrap();
    // One router, so both routes are found in the same routing table: the
    // service's own, plus the plain route.
    let app = router(&web)
        .merge(
            Router::new()
                .route("/plain/{name}", get(plain_hello))
                .with_state(Arc::clone(&plain_state)),
        )
        .merge(
            Router::new()
                .route("/direct/{name}", get(direct_hello))
                .with_state(web.clone()),
        );

    eprintln!(
        "handler future sizes: plain {} bytes, tony {} bytes",
        size_of_val(&plain_hello(
            State(Arc::clone(&plain_state)),
            Path(String::new())
        )),
        size_of_val(&service::plugins::greet::hello(
            State(web.clone()),
            Path(String::new())
        ))
    );
    // Same answer from both.
    for path in ["/plain/bench", "/direct/bench", "/hello/bench"] {
        let r = rt.block_on(app.clone().oneshot(request(path))).unwrap();
        assert!(r.status().is_success());
    }
    if std::env::var_os(CHILD).is_some() {
        // One process of `interleaved_in_processes`: the measurement only.
        let (ratio, direct) = interleaved(&rt, &app);
        // To the parent process, which reads this process's stdout.
        #[allow(clippy::print_stdout)]
        {
            println!("{RESULT} {ratio} {direct}");
        }
        std::process::exit(0);
    }

    let mut group = c.benchmark_group("request");
    group.bench_function("plain_axum", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(app.clone().oneshot(request("/plain/bench")))
                    .unwrap(),
            )
        })
    });
    group.bench_function("tony_plugin", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(app.clone().oneshot(request("/hello/bench")))
                    .unwrap(),
            )
        })
    });
    group.finish();

    // Where the difference goes: the handler's work alone, without axum.
    let mut group = c.benchmark_group("handler_only");
    group.bench_function("plain_mutex", |b| {
        b.iter(|| {
            let mut g = plain_state.lock().unwrap();
            g.greeted += 1;
            black_box(format!("{}, {}!", g.greeting, black_box("bench")))
        })
    });
    group.bench_function("tony_typed_access", |b| {
        b.iter(|| {
            black_box(
                system
                    .with_mut::<Greet, _>(|g| g.hello(black_box("bench")))
                    .unwrap(),
            )
        })
    });
    group.bench_function("tony_loan", |b| {
        b.iter(|| {
            black_box(
                system
                    .try_lend("greet", |mut l| {
                        l.get_mut::<Greet>().map(|g| g.hello(black_box("bench")))
                    })
                    .unwrap(),
            )
        })
    });
    group.bench_function("tony_web_call", |b| {
        b.iter(|| {
            black_box(ready(web.call::<Greet, _, _, _, _>(hello_body, "bench".to_owned())).unwrap())
        })
    });
    // The alternative to calling plugins inline: a blocking-pool round trip.
    group.bench_function("tony_typed_access_via_spawn_blocking", |b| {
        b.iter(|| {
            let system = system.clone();
            black_box(rt.block_on(async move {
                tokio::task::spawn_blocking(move || {
                    system.with_mut::<Greet, _>(|g| g.hello("bench")).unwrap()
                })
                .await
                .unwrap()
            }))
        })
    });
    group.finish();

    // Not when profiling one benchmark (`--profile-time`): it would swamp
    // the profile.
    if !std::env::args().any(|a| a == "--profile-time") {
        interleaved_in_processes();
    }
}

/// Set in the processes `interleaved_in_processes` starts.
const CHILD: &str = "TONY_DISPATCH_INTERLEAVED_CHILD";
/// Padding for the environment of such a process.
const PAD: &str = "TONY_DISPATCH_STACK_PAD";
/// How such a process prints its result.
const RESULT: &str = "interleaved-result";

/// [`interleaved`] in `PROCESSES` fresh processes of this bench, each
/// placed differently, and the median of their ratios. One process gives a
/// ratio that depends on where its code, data and stack landed (the same
/// binary gave 1.043 in one run, 1.072 in the next); the median over
/// several is what the code costs.
///
/// What a process gets from its caller moves it too: the same binary under
/// seven file names gave medians from 1.026 to 1.069 when these processes
/// inherited the name and the environment (docs/performance.md). So on Unix
/// none of that reaches them: each gets an empty environment, a name of
/// its own (`argv[0]`, of a different length) and, on Linux, the same path
/// to the executable; the median then hardly depends on where the bench was
/// built or how it was started.
fn interleaved_in_processes() {
    const PROCESSES: usize = 9;
    // On Linux by `/proc/self/exe`: the path the kernel copies onto the new
    // process's stack is then the same wherever the bench was built.
    let exe = if cfg!(target_os = "linux") {
        std::path::PathBuf::from("/proc/self/exe")
    } else {
        let Ok(exe) = std::env::current_exe() else {
            eprintln!("interleaved: cannot find this bench's executable");
            return;
        };
        exe
    };
    let mut ratios = Vec::new();
    let mut directs = Vec::new();
    for i in 0..PROCESSES {
        let mut command = std::process::Command::new(&exe);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Nothing of the caller's environment or name (see above).
            command
                .env_clear()
                .arg0(format!("dispatch{}", "-".repeat(i * 13)));
        }
        command
            .arg("--bench")
            .env(CHILD, "1")
            // A different environment size for each process: it moves the
            // initial stack, and with it the alignment every request's
            // frames get.
            .env(PAD, "x".repeat(i * 37))
            .stderr(std::process::Stdio::inherit());
        let out = command.output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let parsed = text.ok().and_then(|t| {
            let line = t.lines().find(|l| l.starts_with(RESULT))?.to_owned();
            let mut fields = line.split_whitespace().skip(1).map(str::parse::<f64>);
            Some((fields.next()?.ok()?, fields.next()?.ok()?))
        });
        match parsed {
            Some((ratio, direct)) => {
                ratios.push(ratio);
                directs.push(direct);
            }
            None => eprintln!("interleaved: a measuring process gave no result"),
        }
    }
    if ratios.is_empty() {
        return;
    }
    let list = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    eprintln!(
        "interleaved, {} processes: tony/plain {} -> median {:.3}; typed access in the handler/plain {} -> median {:.3}",
        ratios.len(),
        list(&ratios),
        median(&mut ratios.clone()),
        list(&directs),
        median(&mut directs.clone()),
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Polls a future that is ready at once (`Web::call` waits only for a reload).
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the future waited"),
    }
}

/// The ratio again, measured so that background load on a shared machine
/// hits both sides alike: rounds of `BATCH` plain requests then `BATCH`
/// Tony requests, alternating; the median of the per-round ratios (Tony's,
/// and typed access in the handler's).
fn interleaved(rt: &tokio::runtime::Runtime, app: &Router) -> (f64, f64) {
    const ROUNDS: usize = 200;
    const BATCH: u32 = 2_000;
    let time = |path: &'static str| {
        let t = Instant::now();
        for _ in 0..BATCH {
            black_box(rt.block_on(app.clone().oneshot(request(path))).unwrap());
        }
        t.elapsed().as_nanos() as f64 / f64::from(BATCH)
    };
    let mut ratios = Vec::with_capacity(ROUNDS);
    let mut direct_ratios = Vec::with_capacity(ROUNDS);
    let (mut plain_ns, mut direct_ns, mut tony_ns) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let p = time("/plain/bench");
        let d = time("/direct/bench");
        let t = time("/hello/bench");
        plain_ns.push(p);
        direct_ns.push(d);
        tony_ns.push(t);
        ratios.push(t / p);
        direct_ratios.push(d / p);
    }
    let (ratio, direct) = (median(&mut ratios), median(&mut direct_ratios));
    eprintln!(
        "interleaved ({ROUNDS} rounds of {BATCH} requests each, medians): plain axum {:.0} ns, \
         typed access in the handler {:.0} ns (ratio {:.3}), Tony plugin handler {:.0} ns; \
         ratio tony/plain = {:.3}",
        median(&mut plain_ns),
        median(&mut direct_ns),
        direct,
        median(&mut tony_ns),
        ratio
    );
    (ratio, direct)
}

criterion_group!(benches, bench);
criterion_main!(benches);
